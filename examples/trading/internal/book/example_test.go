package book_test

import (
	"fmt"

	"github.com/orrery-go/orrery/examples/trading/internal/book"
)

func Example() {
	b := book.New()
	b.Submit(book.Order{ID: 1, Side: book.Sell, Price: 101, Qty: 5}, false, nil)
	b.Submit(book.Order{ID: 2, Side: book.Sell, Price: 100, Qty: 3}, false, nil)
	b.Submit(book.Order{ID: 3, Side: book.Sell, Price: 100, Qty: 4}, false, nil)

	// A buy for 9 at 101 takes the 100 level oldest first, then part of 101.
	fills, rested, _ := b.Submit(book.Order{ID: 4, Side: book.Buy, Price: 101, Qty: 9}, false, nil)
	for _, f := range fills {
		fmt.Printf("%v %d@%d from order %d (%d left)\n", f.Side, f.Qty, f.Price, f.Maker, f.MakerLeft)
	}
	fmt.Println("rested:", rested)

	price, qty, _ := b.Best(book.Sell)
	fmt.Printf("best ask: %d@%d\n", qty, price)
	// Output:
	// Buy 3@100 from order 2 (0 left)
	// Buy 4@100 from order 3 (0 left)
	// Buy 2@101 from order 1 (3 left)
	// rested: false
	// best ask: 3@101
}

// A backtest places its own order among recorded ones: a recorded trade
// against a market order fills the orders queued ahead of it first.
func ExampleBook_Match() {
	b := book.New()
	b.Submit(book.Order{ID: 10, Side: book.Buy, Price: 99, Qty: 2}, false, nil)
	b.Submit(book.Order{ID: 11, Side: book.Buy, Price: 99, Qty: 5, Owner: 7}, false, nil) // ours
	b.Submit(book.Order{ID: 12, Side: book.Buy, Price: 99, Qty: 4}, false, nil)

	// The feed reports a trade of 3 against order 12; everything queued
	// ahead of it trades first.
	fills, left := b.Match(book.Sell, 99, 3, 0, 0, func(o book.Order) bool { return o.ID == 12 }, nil)
	for _, f := range fills {
		fmt.Printf("order %d (owner %d) filled %d\n", f.Maker, f.MakerOwner, f.Qty)
	}
	fmt.Println("unfilled:", left)
	// Output:
	// order 10 (owner 0) filled 2
	// order 11 (owner 7) filled 1
	// unfilled: 0
}
