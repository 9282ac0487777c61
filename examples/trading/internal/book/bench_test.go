package book_test

import (
	"testing"

	"github.com/orrery-go/orrery/examples/trading/internal/book"
)

const (
	benchMid    = 10_000
	benchLevels = 50 // per side
	benchDepth  = 10 // orders per level
)

// benchBook returns a book with benchLevels levels of benchDepth orders on
// each side of benchMid, one tick apart, and the next free order ID.
func benchBook(b *testing.B) (*book.Book, book.OrderID) {
	bk := book.New()
	id := book.OrderID(1)
	for l := range int64(benchLevels) {
		for range benchDepth {
			for _, o := range []book.Order{
				{ID: id, Side: book.Buy, Price: benchMid - 1 - l, Qty: 10},
				{ID: id + 1, Side: book.Sell, Price: benchMid + 1 + l, Qty: 10},
			} {
				if _, _, err := bk.Submit(o, false, nil); err != nil {
					b.Fatal(err)
				}
			}
			id += 2
		}
	}
	return bk, id
}

// BenchmarkSubmitCancel rests an order at a price cycling through the 64
// ticks on either side of the mid (new levels, the best level, deep levels)
// and cancels it, in a book of 1,000 orders.
func BenchmarkSubmitCancel(b *testing.B) {
	bk, id := benchBook(b)
	submitCancel := func(i int) {
		side, price := book.Buy, int64(benchMid-1-i%64)
		if i&64 != 0 {
			side, price = book.Sell, benchMid+1+int64(i%64)
		}
		if _, _, err := bk.Submit(book.Order{ID: id, Side: side, Price: price, Qty: 5}, false, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := bk.Cancel(id); err != nil {
			b.Fatal(err)
		}
		id++
	}
	for i := range 10_000 { // warm up: the ID map reaches its working size
		submitCancel(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		submitCancel(i)
	}
}

// BenchmarkMatch sends an IOC order that sweeps the best three levels on
// one side (30 fills), then puts the taken orders back, alternating sides.
// One op is the sweep plus the 30 resting submits that replenish the book.
func BenchmarkMatch(b *testing.B) {
	bk, id := benchBook(b)
	fills := make([]book.Fill, 0, 64)
	sweep := func(i int) {
		side, limit := book.Buy, int64(benchMid+3)
		if i&1 != 0 {
			side, limit = book.Sell, benchMid-3
		}
		var err error
		fills, _, err = bk.Submit(book.Order{ID: id, Side: side, Price: limit, Qty: 3 * benchDepth * 10}, true, fills[:0])
		if err != nil || len(fills) != 3*benchDepth {
			b.Fatalf("sweep: %d fills, %v", len(fills), err)
		}
		id++
		for _, f := range fills {
			if _, _, err := bk.Submit(book.Order{ID: f.Maker, Side: side.Opposite(), Price: f.Price, Qty: 10}, false, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range 1_000 {
		sweep(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sweep(i)
	}
}

// BenchmarkMatchStop measures Match as a backtest uses it: trade the orders
// queued ahead of a given order, then stop.
func BenchmarkMatchStop(b *testing.B) {
	bk, _ := benchBook(b)
	fills := make([]book.Fill, 0, 64)
	var target book.OrderID
	stop := func(o book.Order) bool { return o.ID == target }
	b.ReportAllocs()
	for b.Loop() {
		// The fifth order of the best bid level; the four ahead of it
		// trade and are put back behind it.
		var n int
		for o := range bk.Orders() {
			if n++; n == 5 {
				target = o.ID
				break
			}
		}
		var left int64
		fills, left = bk.Match(book.Sell, 1, 1000, 0, 0, stop, fills[:0])
		if len(fills) != 4 || left != 960 {
			b.Fatalf("%d fills, %d left", len(fills), left)
		}
		for _, f := range fills {
			if _, _, err := bk.Submit(book.Order{ID: f.Maker, Side: book.Buy, Price: f.Price, Qty: 10}, false, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReplace moves an order between two prices in a deep level and
// back, losing priority each time.
func BenchmarkReplace(b *testing.B) {
	bk, id := benchBook(b)
	if _, _, err := bk.Submit(book.Order{ID: id, Side: book.Buy, Price: benchMid - 5, Qty: 5}, false, nil); err != nil {
		b.Fatal(err)
	}
	prices := [2]int64{benchMid - 5, benchMid - 6}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, err := bk.Replace(id, id, prices[(i+1)&1], 5, nil); err != nil {
			b.Fatal(err)
		}
	}
}
