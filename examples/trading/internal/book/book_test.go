package book_test

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/examples/trading/internal/book"
)

// snapshot is everything observable about a book.
type snapshot struct {
	bids, asks []book.Level
	orders     []book.Order
	len        int
}

func snap(b *book.Book) snapshot {
	return snapshot{
		bids:   b.Levels(book.Buy, nil),
		asks:   b.Levels(book.Sell, nil),
		orders: slices.Collect(b.Orders()),
		len:    b.Len(),
	}
}

func submit(t *testing.T, b *book.Book, id book.OrderID, s book.Side, price, qty int64) []book.Fill {
	t.Helper()
	fills, _, err := b.Submit(book.Order{ID: id, Side: s, Price: price, Qty: qty, Owner: uint32(id)}, false, nil)
	require.NoError(t, err)
	return fills
}

func ids(orders []book.Order) []book.OrderID {
	var out []book.OrderID
	for _, o := range orders {
		out = append(out, o.ID)
	}
	return out
}

func TestSide(t *testing.T) {
	assert.Equal(t, "Buy", book.Buy.String())
	assert.Equal(t, "Sell", book.Sell.String())
	assert.Equal(t, "Side(0)", book.Side(0).String())
	assert.Equal(t, "Side(7)", book.Side(7).String())
	assert.Equal(t, book.Sell, book.Buy.Opposite())
	assert.Equal(t, book.Buy, book.Sell.Opposite())
	assert.Equal(t, book.Side(9), book.Side(9).Opposite())
}

func TestEmptyBook(t *testing.T) {
	b := book.New()
	assert.Equal(t, 0, b.Len())
	_, _, ok := b.Best(book.Buy)
	assert.False(t, ok)
	_, _, ok = b.Best(book.Sell)
	assert.False(t, ok)
	_, _, ok = b.Best(0)
	assert.False(t, ok)
	assert.Empty(t, b.Levels(book.Buy, nil))
	assert.Empty(t, b.Levels(3, nil))
	assert.Empty(t, slices.Collect(b.Orders()))
	_, ok = b.Get(1)
	assert.False(t, ok)
}

func TestRestingAndPriority(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Buy, 99, 5)
	submit(t, b, 2, book.Buy, 100, 1)
	submit(t, b, 3, book.Buy, 99, 2)
	submit(t, b, 4, book.Buy, 98, 7)
	submit(t, b, 5, book.Sell, 102, 3)
	submit(t, b, 6, book.Sell, 101, 4)
	submit(t, b, 7, book.Sell, 102, 1)

	assert.Equal(t, []book.Level{{100, 1, 1}, {99, 7, 2}, {98, 7, 1}}, b.Levels(book.Buy, nil))
	assert.Equal(t, []book.Level{{101, 4, 1}, {102, 4, 2}}, b.Levels(book.Sell, nil))
	assert.Equal(t, []book.OrderID{2, 1, 3, 4, 6, 5, 7}, ids(slices.Collect(b.Orders())))
	assert.Equal(t, 7, b.Len())

	p, q, ok := b.Best(book.Buy)
	assert.True(t, ok)
	assert.Equal(t, [2]int64{100, 1}, [2]int64{p, q})
	p, q, ok = b.Best(book.Sell)
	assert.True(t, ok)
	assert.Equal(t, [2]int64{101, 4}, [2]int64{p, q})

	o, ok := b.Get(3)
	require.True(t, ok)
	assert.Equal(t, book.Order{ID: 3, Side: book.Buy, Owner: 3, Price: 99, Qty: 2, Seq: 3}, o)

	// A sell sweeping to 98 takes 100, then 99 oldest first, then part of 98,
	// each at the maker's price.
	fills, rested, err := b.Submit(book.Order{ID: 8, Side: book.Sell, Price: 98, Qty: 10, Owner: 80}, false, nil)
	require.NoError(t, err)
	assert.False(t, rested)
	assert.Equal(t, []book.Fill{
		{Maker: 2, Taker: 8, MakerOwner: 2, TakerOwner: 80, Side: book.Sell, Price: 100, Qty: 1, MakerLeft: 0},
		{Maker: 1, Taker: 8, MakerOwner: 1, TakerOwner: 80, Side: book.Sell, Price: 99, Qty: 5, MakerLeft: 0},
		{Maker: 3, Taker: 8, MakerOwner: 3, TakerOwner: 80, Side: book.Sell, Price: 99, Qty: 2, MakerLeft: 0},
		{Maker: 4, Taker: 8, MakerOwner: 4, TakerOwner: 80, Side: book.Sell, Price: 98, Qty: 2, MakerLeft: 5},
	}, fills)
	assert.Equal(t, []book.Level{{98, 5, 1}}, b.Levels(book.Buy, nil))
	o, ok = b.Get(4)
	require.True(t, ok)
	assert.Equal(t, int64(5), o.Qty)
	for _, id := range []book.OrderID{1, 2, 3, 8} {
		_, ok := b.Get(id)
		assert.False(t, ok, "order %d", id)
	}
}

func TestTakerRemainderRests(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Sell, 100, 3)
	submit(t, b, 2, book.Sell, 103, 3)
	fills, rested, err := b.Submit(book.Order{ID: 3, Side: book.Buy, Price: 101, Qty: 5}, false, nil)
	require.NoError(t, err)
	assert.True(t, rested)
	require.Len(t, fills, 1)
	assert.Equal(t, int64(3), fills[0].Qty)
	o, ok := b.Get(3)
	require.True(t, ok)
	assert.Equal(t, int64(2), o.Qty)
	assert.Equal(t, int64(101), o.Price)
	assert.Equal(t, []book.Level{{101, 2, 1}}, b.Levels(book.Buy, nil))
	assert.Equal(t, []book.Level{{103, 3, 1}}, b.Levels(book.Sell, nil))
}

func TestIOC(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Sell, 100, 3)
	fills, rested, err := b.Submit(book.Order{ID: 2, Side: book.Buy, Price: 100, Qty: 5}, true, nil)
	require.NoError(t, err)
	assert.False(t, rested)
	require.Len(t, fills, 1)
	assert.Equal(t, int64(3), fills[0].Qty)
	assert.Equal(t, 0, b.Len())

	// An IOC that does not cross leaves nothing behind.
	fills, rested, err = b.Submit(book.Order{ID: 3, Side: book.Buy, Price: 100, Qty: 5}, true, nil)
	require.NoError(t, err)
	assert.False(t, rested)
	assert.Empty(t, fills)
	assert.Equal(t, 0, b.Len())
}

func TestFillsAppendToDst(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Sell, 100, 1)
	submit(t, b, 2, book.Sell, 100, 1)
	dst := make([]book.Fill, 1, 8)
	dst[0].Maker = 42
	fills, _, err := b.Submit(book.Order{ID: 3, Side: book.Buy, Price: 100, Qty: 2}, false, dst)
	require.NoError(t, err)
	require.Len(t, fills, 3)
	assert.Equal(t, book.OrderID(42), fills[0].Maker)
	assert.Same(t, &dst[0], &fills[0], "dst had room, so it is reused")
}

func TestSelfMatchAllowed(t *testing.T) {
	b := book.New()
	_, _, err := b.Submit(book.Order{ID: 1, Side: book.Sell, Price: 100, Qty: 1, Owner: 9}, false, nil)
	require.NoError(t, err)
	fills, _, err := b.Submit(book.Order{ID: 2, Side: book.Buy, Price: 100, Qty: 1, Owner: 9}, false, nil)
	require.NoError(t, err)
	require.Len(t, fills, 1)
	assert.Equal(t, fills[0].MakerOwner, fills[0].TakerOwner)
}

func TestIDReusableAfterOrderLeaves(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Sell, 100, 1)
	submit(t, b, 2, book.Buy, 100, 1) // fills 1
	submit(t, b, 1, book.Sell, 100, 1)
	_, err := b.Cancel(1)
	require.NoError(t, err)
	submit(t, b, 1, book.Buy, 90, 1)
	o, ok := b.Get(1)
	require.True(t, ok)
	assert.Equal(t, book.Buy, o.Side)
}

func TestSeqIncreases(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Buy, 90, 1)
	_, _, err := b.Submit(book.Order{ID: 1, Side: book.Buy, Price: 90, Qty: 1, Seq: 500}, false, nil)
	require.Error(t, err)
	_, _, err = b.Submit(book.Order{ID: 2, Side: book.Buy, Price: 91, Qty: 1, Seq: 500}, false, nil)
	require.NoError(t, err)
	o1, _ := b.Get(1)
	o2, _ := b.Get(2)
	assert.Equal(t, uint64(1), o1.Seq)
	assert.Equal(t, uint64(2), o2.Seq, "Seq is the book's, and rejected orders take none")
}

func TestCancel(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Buy, 99, 5)
	submit(t, b, 2, book.Buy, 99, 2)
	submit(t, b, 3, book.Buy, 99, 4)
	submit(t, b, 4, book.Buy, 98, 1)

	o, err := b.Cancel(2) // middle of a queue
	require.NoError(t, err)
	assert.Equal(t, book.Order{ID: 2, Side: book.Buy, Owner: 2, Price: 99, Qty: 2, Seq: 2}, o)
	assert.Equal(t, []book.OrderID{1, 3, 4}, ids(slices.Collect(b.Orders())))
	assert.Equal(t, []book.Level{{99, 9, 2}, {98, 1, 1}}, b.Levels(book.Buy, nil))

	_, err = b.Cancel(3) // tail
	require.NoError(t, err)
	_, err = b.Cancel(1) // head, last of its level
	require.NoError(t, err)
	assert.Equal(t, []book.Level{{98, 1, 1}}, b.Levels(book.Buy, nil))

	_, err = b.Cancel(1)
	assert.ErrorIs(t, err, book.ErrUnknownOrder)
	_, err = b.Cancel(4)
	require.NoError(t, err)
	assert.Equal(t, 0, b.Len())
	assert.Empty(t, b.Levels(book.Buy, nil))

	// A canceled order is gone for matching too.
	submit(t, b, 5, book.Sell, 100, 1)
	submit(t, b, 6, book.Sell, 100, 1)
	_, err = b.Cancel(5)
	require.NoError(t, err)
	fills := submit(t, b, 7, book.Buy, 100, 1)
	require.Len(t, fills, 1)
	assert.Equal(t, book.OrderID(6), fills[0].Maker)
}

func TestReduce(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Sell, 100, 5)
	submit(t, b, 2, book.Sell, 100, 5)

	left, err := b.Reduce(1, 3)
	require.NoError(t, err)
	assert.Equal(t, int64(2), left)
	assert.Equal(t, []book.Level{{100, 7, 2}}, b.Levels(book.Sell, nil))
	assert.Equal(t, []book.OrderID{1, 2}, ids(slices.Collect(b.Orders())), "reduce keeps priority")

	fills := submit(t, b, 3, book.Buy, 100, 1)
	require.Len(t, fills, 1)
	assert.Equal(t, book.OrderID(1), fills[0].Maker)
	assert.Equal(t, int64(1), fills[0].MakerLeft)

	left, err = b.Reduce(1, 1) // exactly the remainder
	require.NoError(t, err)
	assert.Equal(t, int64(0), left)
	_, ok := b.Get(1)
	assert.False(t, ok)

	left, err = b.Reduce(2, 50) // more than the remainder
	require.NoError(t, err)
	assert.Equal(t, int64(0), left)
	assert.Equal(t, 0, b.Len())
	assert.Empty(t, b.Levels(book.Sell, nil))
}

func TestReplaceKeepsPriority(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Buy, 99, 5)
	submit(t, b, 2, book.Buy, 99, 5)

	fills, rested, err := b.Replace(1, 10, 99, 3, nil)
	require.NoError(t, err)
	assert.True(t, rested)
	assert.Empty(t, fills)
	_, ok := b.Get(1)
	assert.False(t, ok)
	o, ok := b.Get(10)
	require.True(t, ok)
	assert.Equal(t, book.Order{ID: 10, Side: book.Buy, Owner: 1, Price: 99, Qty: 3, Seq: 1}, o)
	assert.Equal(t, []book.OrderID{10, 2}, ids(slices.Collect(b.Orders())))
	assert.Equal(t, []book.Level{{99, 8, 2}}, b.Levels(book.Buy, nil))

	// Same ID, same quantity: nothing changes.
	_, rested, err = b.Replace(10, 10, 99, 3, nil)
	require.NoError(t, err)
	assert.True(t, rested)
	assert.Equal(t, []book.OrderID{10, 2}, ids(slices.Collect(b.Orders())))

	fills = submit(t, b, 3, book.Sell, 99, 1)
	require.Len(t, fills, 1)
	assert.Equal(t, book.OrderID(10), fills[0].Maker)
}

func TestReplaceLosesPriority(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Buy, 99, 5)
	submit(t, b, 2, book.Buy, 99, 5)

	// A larger quantity at the same price goes to the back.
	_, rested, err := b.Replace(1, 1, 99, 6, nil)
	require.NoError(t, err)
	assert.True(t, rested)
	assert.Equal(t, []book.OrderID{2, 1}, ids(slices.Collect(b.Orders())))
	o, _ := b.Get(1)
	assert.Equal(t, uint64(3), o.Seq)
	assert.Equal(t, []book.Level{{99, 11, 2}}, b.Levels(book.Buy, nil))

	// A new price, even with less quantity, goes to the back of that level.
	submit(t, b, 3, book.Buy, 98, 1)
	_, rested, err = b.Replace(2, 20, 98, 1, nil)
	require.NoError(t, err)
	assert.True(t, rested)
	assert.Equal(t, []book.OrderID{1, 3, 20}, ids(slices.Collect(b.Orders())))
	o, _ = b.Get(20)
	assert.Equal(t, book.Order{ID: 20, Side: book.Buy, Owner: 2, Price: 98, Qty: 1, Seq: 5}, o)
	assert.Equal(t, []book.Level{{99, 6, 1}, {98, 2, 2}}, b.Levels(book.Buy, nil))
}

func TestReplaceMatches(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Buy, 99, 5)
	submit(t, b, 2, book.Sell, 101, 2)
	submit(t, b, 3, book.Sell, 102, 2)

	// Moving the bid through the asks trades like a new order.
	fills, rested, err := b.Replace(1, 4, 101, 5, nil)
	require.NoError(t, err)
	assert.True(t, rested)
	assert.Equal(t, []book.Fill{{Maker: 2, Taker: 4, MakerOwner: 2, TakerOwner: 1, Side: book.Buy, Price: 101, Qty: 2}}, fills)
	assert.Equal(t, []book.Level{{101, 3, 1}}, b.Levels(book.Buy, nil))

	// Fully filled: nothing rests.
	fills, rested, err = b.Replace(4, 4, 102, 2, nil)
	require.NoError(t, err)
	assert.False(t, rested)
	assert.Len(t, fills, 1)
	assert.Equal(t, 0, b.Len())
}

func TestExecute(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Sell, 100, 5)
	submit(t, b, 2, book.Sell, 100, 5)

	// Executes out of queue order: order 2 is behind order 1.
	f, err := b.Execute(2, 3)
	require.NoError(t, err)
	assert.Equal(t, book.Fill{Maker: 2, MakerOwner: 2, Side: book.Buy, Price: 100, Qty: 3, MakerLeft: 2}, f)
	assert.Equal(t, []book.Level{{100, 7, 2}}, b.Levels(book.Sell, nil))
	assert.Equal(t, []book.OrderID{1, 2}, ids(slices.Collect(b.Orders())))

	f, err = b.Execute(2, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(0), f.MakerLeft)
	_, ok := b.Get(2)
	assert.False(t, ok)

	before := snap(b)
	_, err = b.Execute(1, 6)
	assert.ErrorIs(t, err, book.ErrInvalidQty)
	_, err = b.Execute(1, 0)
	assert.ErrorIs(t, err, book.ErrInvalidQty)
	_, err = b.Execute(2, 1)
	assert.ErrorIs(t, err, book.ErrUnknownOrder)
	assert.Equal(t, before, snap(b))
}

func TestMatch(t *testing.T) {
	newBook := func() *book.Book {
		b := book.New()
		submit(t, b, 1, book.Buy, 100, 2)
		submit(t, b, 2, book.Buy, 100, 3)
		submit(t, b, 3, book.Buy, 100, 4)
		submit(t, b, 4, book.Buy, 99, 5)
		return b
	}

	t.Run("nil stop", func(t *testing.T) {
		b := newBook()
		fills, left := b.Match(book.Sell, 99, 20, 7, 70, nil, nil)
		assert.Equal(t, int64(6), left)
		assert.Len(t, fills, 4)
		assert.Equal(t, 0, b.Len(), "Match never rests")
		for _, f := range fills {
			assert.Equal(t, book.OrderID(7), f.Taker)
			assert.Equal(t, uint32(70), f.TakerOwner)
			assert.Equal(t, book.Sell, f.Side)
		}
	})

	t.Run("limit", func(t *testing.T) {
		b := newBook()
		fills, left := b.Match(book.Sell, 100, 20, 0, 0, nil, nil)
		assert.Equal(t, int64(11), left)
		assert.Len(t, fills, 3)
		assert.Equal(t, []book.Level{{99, 5, 1}}, b.Levels(book.Buy, nil))
	})

	t.Run("stop before order", func(t *testing.T) {
		b := newBook()
		var seen []book.OrderID
		stop := func(o book.Order) bool {
			seen = append(seen, o.ID)
			return o.ID == 3
		}
		fills, left := b.Match(book.Sell, 1, 20, 0, 0, stop, nil)
		assert.Equal(t, int64(15), left)
		assert.Equal(t, []book.OrderID{1, 2}, []book.OrderID{fills[0].Maker, fills[1].Maker})
		assert.Equal(t, []book.OrderID{1, 2, 3}, seen)
		assert.Equal(t, []book.OrderID{3, 4}, ids(slices.Collect(b.Orders())))
		assert.Equal(t, []book.Level{{100, 4, 1}, {99, 5, 1}}, b.Levels(book.Buy, nil))
	})

	t.Run("stop at first maker", func(t *testing.T) {
		b := newBook()
		before := snap(b)
		fills, left := b.Match(book.Sell, 1, 20, 0, 0, func(book.Order) bool { return true }, nil)
		assert.Empty(t, fills)
		assert.Equal(t, int64(20), left)
		assert.Equal(t, before, snap(b))
	})

	t.Run("stop sees remaining qty", func(t *testing.T) {
		b := newBook()
		_, err := b.Execute(2, 1)
		require.NoError(t, err)
		var got book.Order
		fills, left := b.Match(book.Sell, 1, 3, 0, 0, func(o book.Order) bool {
			if o.ID == 2 {
				got = o
				return true
			}
			return false
		}, nil)
		assert.Len(t, fills, 1)
		assert.Equal(t, int64(1), left)
		assert.Equal(t, book.OrderID(2), got.ID)
		assert.Equal(t, int64(2), got.Qty)
	})

	t.Run("partial maker then stop", func(t *testing.T) {
		b := newBook()
		fills, left := b.Match(book.Sell, 1, 1, 0, 0, func(o book.Order) bool { return o.ID == 2 }, nil)
		assert.Equal(t, int64(0), left)
		require.Len(t, fills, 1)
		assert.Equal(t, int64(1), fills[0].MakerLeft)
	})

	t.Run("buy side", func(t *testing.T) {
		b := book.New()
		submit(t, b, 1, book.Sell, 101, 2)
		submit(t, b, 2, book.Sell, 100, 2)
		fills, left := b.Match(book.Buy, 101, 3, 0, 0, nil, nil)
		assert.Equal(t, int64(0), left)
		assert.Equal(t, []book.OrderID{2, 1}, []book.OrderID{fills[0].Maker, fills[1].Maker})
	})

	t.Run("invalid input does nothing", func(t *testing.T) {
		b := newBook()
		before := snap(b)
		for _, c := range []struct {
			side book.Side
			qty  int64
		}{{0, 5}, {3, 5}, {book.Sell, 0}, {book.Sell, -4}} {
			fills, left := b.Match(c.side, 1, c.qty, 0, 0, nil, nil)
			assert.Empty(t, fills)
			assert.Equal(t, c.qty, left)
		}
		assert.Equal(t, before, snap(b))
	})
}

func TestErrorsLeaveBookUnchanged(t *testing.T) {
	b := book.New()
	submit(t, b, 1, book.Buy, 99, 5)
	submit(t, b, 2, book.Buy, 98, 5)
	submit(t, b, 3, book.Sell, 101, 5)
	submit(t, b, 4, book.Sell, 101, math.MaxInt64-5)
	before := snap(b)

	for _, c := range []struct {
		name string
		o    book.Order
		ioc  bool
		want error
	}{
		{"side 0", book.Order{ID: 10, Side: 0, Price: 101, Qty: 1}, false, book.ErrInvalidSide},
		{"side 3", book.Order{ID: 10, Side: 3, Price: 101, Qty: 1}, true, book.ErrInvalidSide},
		{"zero price", book.Order{ID: 10, Side: book.Sell, Price: 0, Qty: 1}, false, book.ErrInvalidPrice},
		{"negative price", book.Order{ID: 10, Side: book.Sell, Price: -99, Qty: 1}, false, book.ErrInvalidPrice},
		{"zero qty", book.Order{ID: 10, Side: book.Sell, Price: 99, Qty: 0}, false, book.ErrInvalidQty},
		{"negative qty", book.Order{ID: 10, Side: book.Sell, Price: 99, Qty: -1}, true, book.ErrInvalidQty},
		{"duplicate", book.Order{ID: 3, Side: book.Sell, Price: 99, Qty: 1}, false, book.ErrDuplicateID},
		{"level overflow", book.Order{ID: 10, Side: book.Sell, Price: 101, Qty: 1}, false, book.ErrInvalidQty},
	} {
		fills, rested, err := b.Submit(c.o, c.ioc, nil)
		assert.ErrorIs(t, err, c.want, c.name)
		assert.False(t, rested, c.name)
		assert.Empty(t, fills, c.name)
		assert.Equal(t, before, snap(b), c.name)
	}

	// An IOC never rests, so it cannot overflow a level.
	_, _, err := b.Submit(book.Order{ID: 10, Side: book.Sell, Price: 101, Qty: 1}, true, nil)
	require.NoError(t, err)
	assert.Equal(t, before, snap(b))

	for _, c := range []struct {
		name         string
		id, newID    book.OrderID
		price, qty   int64
		want         error
		wantUnchange bool
	}{
		{"unknown", 77, 78, 99, 1, book.ErrUnknownOrder, true},
		{"zero price", 1, 10, 0, 1, book.ErrInvalidPrice, true},
		{"zero qty", 1, 10, 99, 0, book.ErrInvalidQty, true},
		{"duplicate", 1, 2, 99, 1, book.ErrDuplicateID, true},
		{"level overflow", 3, 10, 101, 6, book.ErrInvalidQty, true},
	} {
		fills, rested, err := b.Replace(c.id, c.newID, c.price, c.qty, nil)
		assert.ErrorIs(t, err, c.want, c.name)
		assert.False(t, rested, c.name)
		assert.Empty(t, fills, c.name)
		assert.Equal(t, before, snap(b), c.name)
	}

	_, err = b.Cancel(77)
	assert.ErrorIs(t, err, book.ErrUnknownOrder)
	_, err = b.Reduce(77, 1)
	assert.ErrorIs(t, err, book.ErrUnknownOrder)
	_, err = b.Reduce(1, 0)
	assert.ErrorIs(t, err, book.ErrInvalidQty)
	_, err = b.Reduce(1, -3)
	assert.ErrorIs(t, err, book.ErrInvalidQty)
	_, err = b.Execute(77, 1)
	assert.ErrorIs(t, err, book.ErrUnknownOrder)
	_, err = b.Execute(1, -1)
	assert.ErrorIs(t, err, book.ErrInvalidQty)
	assert.Equal(t, before, snap(b))

	// Replacing order 3 with the same total at its own level does not
	// overflow, since order 3's own quantity leaves the level first.
	_, rested, err := b.Replace(3, 3, 101, 5, nil)
	require.NoError(t, err)
	assert.True(t, rested)
}

func TestOrdersStopsEarly(t *testing.T) {
	b := book.New()
	for i := range 10 {
		submit(t, b, book.OrderID(i+1), book.Buy, int64(90+i%3), 1)
	}
	n := 0
	for range b.Orders() {
		n++
		if n == 4 {
			break
		}
	}
	assert.Equal(t, 4, n)
}

// TestManyLevels checks the level search on both sides with prices entered
// in scrambled order, far from the best level.
func TestManyLevels(t *testing.T) {
	b := book.New()
	const n = 200
	id := book.OrderID(1)
	for i := range n {
		p := int64(i*7919%n + 1) // a permutation of 1..n
		submit(t, b, id, book.Buy, p, p)
		id++
		submit(t, b, id, book.Sell, p+n, p)
		id++
	}
	bids := b.Levels(book.Buy, nil)
	asks := b.Levels(book.Sell, nil)
	require.Len(t, bids, n)
	require.Len(t, asks, n)
	for i := range n {
		assert.Equal(t, book.Level{Price: int64(n - i), Qty: int64(n - i), Orders: 1}, bids[i])
		assert.Equal(t, book.Level{Price: int64(n + 1 + i), Qty: int64(i + 1), Orders: 1}, asks[i])
	}
	bp, bq, _ := b.Best(book.Buy)
	ap, aq, _ := b.Best(book.Sell)
	assert.Equal(t, [4]int64{n, n, n + 1, 1}, [4]int64{bp, bq, ap, aq})

	// Cancel every other order and check the levels went with them.
	for i := book.OrderID(1); i < id; i += 4 {
		_, err := b.Cancel(i)
		require.NoError(t, err)
	}
	got := 0
	for _, lv := range append(b.Levels(book.Buy, nil), b.Levels(book.Sell, nil)...) {
		got += lv.Orders
	}
	assert.Equal(t, b.Len(), got)
	assert.Equal(t, 2*n-n/2, b.Len())
}

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	b := book.New()
	for i := range 100 {
		submit(t, b, book.OrderID(i+1), book.Buy, int64(90+i%10), 10)
		submit(t, b, book.OrderID(i+1001), book.Sell, int64(110-i%10), 10)
	}
	fills := make([]book.Fill, 0, 64)
	id := book.OrderID(1 << 20)
	op := func() {
		id++
		p := int64(95 + id%20) // some prices cross, some open new levels
		side := book.Buy
		if id%2 == 0 {
			side = book.Sell
		}
		var rested bool
		var err error
		fills, rested, err = b.Submit(book.Order{ID: id, Side: side, Price: p, Qty: 3}, false, fills[:0])
		if err != nil {
			panic(err)
		}
		if rested {
			if _, err := b.Cancel(id); err != nil {
				panic(err)
			}
		}
		for _, f := range fills {
			// Put back what was taken, at the same price, so the
			// book keeps its shape.
			if f.MakerLeft == 0 {
				b.Submit(book.Order{ID: f.Maker, Side: f.Side.Opposite(), Price: f.Price, Qty: 10}, false, nil)
			} else {
				b.Replace(f.Maker, f.Maker, f.Price, f.MakerLeft+f.Qty, nil)
			}
		}
		fills, _ = b.Match(book.Buy, 0, 5, 0, 0, nil, fills[:0])
	}
	for range 10000 {
		op()
	}
	assert.Zero(t, testing.AllocsPerRun(1000, op))
}
