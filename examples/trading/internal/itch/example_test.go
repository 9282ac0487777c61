package itch_test

import (
	"fmt"

	"github.com/orrery-go/orrery/examples/trading/internal/itch"
)

func ExampleAddOrder() {
	stock, err := itch.NewStock("AAPL")
	if err != nil {
		panic(err)
	}
	in := itch.AddOrder{
		Header: itch.Header{Locate: 1, Timestamp: 34_200_000_000_000},
		Ref:    42,
		Side:   itch.SideBuy,
		Shares: 100,
		Stock:  stock,
		Price:  1_502_500, // 150.25
	}
	msg := in.AppendTo(nil)

	typ, _ := itch.Type(msg)
	fmt.Printf("type %c, %d bytes\n", typ, len(msg))

	var out itch.AddOrder
	if err := out.Decode(msg); err != nil {
		panic(err)
	}
	fmt.Printf("%c %d %s @ %d.%04d (ref %d)\n", out.Side, out.Shares, out.Stock, out.Price/10000, out.Price%10000, out.Ref)

	err = out.Decode(msg[:20])
	fmt.Println(err)
	// Output:
	// type A, 36 bytes
	// B 100 AAPL @ 150.2500 (ref 42)
	// itch: AddOrder: 20 bytes, want 36: wrong message length: truncated message
}
