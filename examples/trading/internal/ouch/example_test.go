package ouch_test

import (
	"fmt"

	"github.com/orrery-go/orrery/examples/trading/internal/ouch"
)

func ExampleEnterOrder() {
	stock, err := ouch.NewStock("AAPL")
	if err != nil {
		panic(err)
	}
	firm, err := ouch.NewFirm("") // blank: the port's default firm
	if err != nil {
		panic(err)
	}
	msg := ouch.EnterOrder{
		Token:            ouch.TokenFromUint(1),
		Side:             ouch.SideBuy,
		Shares:           100,
		Stock:            stock,
		Price:            1_502_500, // 150.25
		TimeInForce:      ouch.TIFMarketHours,
		Firm:             firm,
		Display:          ouch.DisplayVisible,
		Capacity:         ouch.CapacityAgency,
		IntermarketSweep: ouch.IntermarketSweepNotEligible,
		CrossType:        ouch.CrossNone,
		CustomerType:     ouch.CustomerNotRetail,
	}.AppendTo(nil)

	typ, _ := ouch.Type(msg)
	var in ouch.EnterOrder
	if typ == ouch.TypeEnterOrder {
		if err := in.Decode(msg); err != nil {
			panic(err)
		}
	}
	fmt.Printf("%d bytes: token %s %c %d %s\n", len(msg), in.Token, in.Side, in.Shares, in.Stock)

	reply := ouch.Rejected{Token: in.Token, Reason: ouch.RejectClosed}.AppendTo(nil)
	var rej ouch.Rejected
	if err := rej.Decode(reply); err != nil {
		panic(err)
	}
	fmt.Printf("rejected %s: %s\n", rej.Token, ouch.RejectReasonString(rej.Reason))
	// Output:
	// 49 bytes: token 1 B 100 AAPL
	// rejected 1: market closed
}
