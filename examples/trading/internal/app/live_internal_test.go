package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/examples/trading/internal/engine"
)

// TestDashboardSnapshots builds snapshots from made-up looks at the
// engine: prices in dollars, the message rate between two looks, a chart
// point per look, at most historyLen of them, and snapshots that do not
// change when later ones are built.
func TestDashboardSnapshots(t *testing.T) {
	var l live
	look := func(i int) engine.Live {
		return engine.Live{
			Summary: engine.Summary{Elapsed: time.Duration(i) * LiveEvery, Messages: uint64(i) * 1000, Fills: uint64(i)},
			Instruments: []engine.LiveInstrument{{
				Symbol: "SYM0001", Bid: engine.Level{Price: 200_100, Qty: 300}, Ask: engine.Level{Price: 200_200, Qty: 500},
				Quote:    engine.Quote{Bid: engine.QuoteSide{Price: 200_000}},
				Position: engine.Position{Qty: -100, Fills: 3}, PnL: -12_500,
			}},
			Window:  engine.LiveLatency{Count: int64(i % 3), P50: 40_000, P99: 90_000, P999: 120_000, Max: 150_000},
			Latency: engine.LiveLatency{Count: int64(10 * i), Mean: 50_000, P50: 45_000, P99: 95_000, P999: 130_000},
		}
	}
	first := l.build(engine.Live{}) // before the engine started: nothing to chart
	assert.Empty(t, first.History)
	assert.NotNil(t, first.History, "an empty list, not null: the page iterates it")
	assert.NotNil(t, first.Book)

	d1 := l.build(look(1))
	require.Len(t, d1.Book, 1)
	b := d1.Book[0]
	assert.Equal(t, bookRow{Symbol: "SYM0001", BidQty: 300, Bid: 20.01, Ask: 20.02, AskQty: 500, QuoteBid: 20, Position: -100, Fills: 3, PnL: -1.25}, b)
	require.Len(t, d1.History, 1)
	assert.Equal(t, latencyPoint{T: 0.25, N: 1, P50: 40, P99: 90, P999: 120, Max: 150}, d1.History[0])
	assert.Equal(t, latencyPoint{T: 0.25, N: 10, Mean: 50, P50: 45, P99: 95, P999: 130}, d1.Latency)

	d2 := l.build(look(2))
	assert.Equal(t, 4000.0, d2.MsgRate, "1000 messages in a quarter second")
	assert.Len(t, d2.History, 2)

	var last dashboard
	for i := 3; i < historyLen+50; i++ {
		last = l.build(look(i))
	}
	assert.Len(t, last.History, historyLen, "a minute of points")
	assert.Equal(t, float64(historyLen+49)*LiveEvery.Seconds(), last.History[historyLen-1].T, "the newest last")
	assert.Len(t, d1.History, 1, "an old snapshot keeps its own history")
	assert.Equal(t, 0.25, d1.History[0].T)
	assert.Equal(t, 0.5, d2.History[1].T)
}
