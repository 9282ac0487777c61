package engine

import (
	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/internal/hdr"
)

// LiveInstrument is one instrument as the engine sees it at a moment.
type LiveInstrument struct {
	Locate uint16
	Symbol string
	// Bid and Ask are the best levels of the market, the engine's own
	// orders left out (zero: no level).
	Bid, Ask Level
	// Stale is set while the feed recovers from a gap.
	Stale bool
	// LastTrade is the price of the last execution seen.
	LastTrade int64
	// Quote is the engine's working orders.
	Quote Quote
	// Position is what the engine holds; PnL marks it at the mid (or the
	// last trade), in price units.
	Position Position
	PnL      int64
}

// LiveLatency summarises tick-to-trade latencies, in nanoseconds.
type LiveLatency struct {
	Count               int64
	Mean                float64
	P50, P99, P999, Max int64
}

// Live is the engine at a moment, for a live view.
type Live struct {
	Summary     Summary
	Instruments []LiveInstrument
	// Window is the tick-to-trade latency of the orders written since the
	// previous call of Live (the first call: none); Latency that of the
	// whole run.
	Window, Latency LiveLatency
}

// Live copies the engine's state. Call it from a task of the engine's
// runtime, once its Run or Backtest has started; before, it returns a
// Live with nothing in it. The first call starts a second latency
// histogram, the window, which each call reads and clears: recording
// costs one more histogram update per order from then on.
func (e *Engine) Live(t *asyncrt.Task) Live {
	if !e.ran || e.feed == nil {
		return Live{}
	}
	if e.gw.window == nil {
		w, err := hdr.New(e.latency.Lowest(), e.latency.Highest(), e.latency.SigFigs())
		if err != nil {
			panic(err) // the same parameters as e.latency, which New accepted
		}
		e.gw.window = w
	}
	l := Live{Summary: e.summary(t), Window: latencyOf(e.gw.window), Latency: latencyOf(e.latency)}
	e.gw.window.Reset()
	for i := range e.market.byLoc {
		in := &e.market.byLoc[i]
		if in.info == nil {
			continue
		}
		bid, _ := in.book.BestBid()
		ask, _ := in.book.BestAsk()
		mid, ok := in.book.Mid()
		l.Instruments = append(l.Instruments, LiveInstrument{
			Locate: in.info.Locate, Symbol: in.info.Symbol, Bid: bid, Ask: ask,
			Stale: in.book.Stale, LastTrade: in.book.LastTrade, Quote: *in.quote,
			Position: *in.pos, PnL: in.pos.PnL(markPrice(in, mid, ok)),
		})
	}
	return l
}

func latencyOf(h *hdr.Histogram) LiveLatency {
	return LiveLatency{
		Count: h.Count(), Mean: h.Mean(),
		P50: h.ValueAtQuantile(50), P99: h.ValueAtQuantile(99), P999: h.ValueAtQuantile(99.9), Max: h.Max(),
	}
}
