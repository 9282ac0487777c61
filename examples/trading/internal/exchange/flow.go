package exchange

import (
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/trading/internal/book"
)

// flowStep is how often the synthetic flow runs; each step carries the
// events due since the last one and goes out as one burst of packets.
const flowStep = time.Millisecond

// maxSynthPerBook bounds the synthetic orders resting on one book; beyond
// it the oldest are cancelled.
const maxSynthPerBook = 200

func (in *instrument) removeSynth(id book.OrderID) {
	for i, s := range in.synth {
		if s == id {
			in.synth = append(in.synth[:i], in.synth[i+1:]...)
			return
		}
	}
}

// runFlow generates the synthetic order flow: Rate events per second, each
// on a random instrument. The fair price of an instrument walks randomly;
// passive orders rest a few ticks around it, some are cancelled, and
// aggressive orders cross the spread and trade with whatever rests there —
// including the orders of the users.
func (x *Exchange) runFlow(t *asyncrt.Task) {
	iv, err := t.Interval(flowStep)
	if err != nil {
		panic(err)
	}
	_ = iv.SetMissedTickBehavior(asyncrt.Skip)
	perStep := float64(x.cfg.Rate) * flowStep.Seconds()
	carry := 0.0
	for {
		iv.Tick(t)
		x.setNow(t)
		carry += perStep
		n := int(carry)
		carry -= float64(n)
		for range n {
			x.flowEvent(t)
		}
		x.feed.flush(t)
	}
}

func (x *Exchange) flowEvent(t *asyncrt.Task) {
	r := x.flowRng
	in := x.insts[r.IntN(len(x.insts))]
	switch p := r.IntN(100); {
	case p < 8: // the fair price moves a tick
		if r.IntN(2) == 0 {
			in.fair += Tick
		} else if in.fair > 10*Tick {
			in.fair -= Tick
		}
	case p < 58: // a passive order a few ticks from fair
		side := book.Side(1 + r.IntN(2))
		off := int64(1+r.IntN(5)) * Tick
		price := in.fair - off
		if side == book.Sell {
			price = in.fair + off
		}
		x.synthOrder(t, in, side, price, int64(100*(1+r.IntN(10))), false)
	case p < 85: // a cancel of a resting synthetic order
		if len(in.synth) > 0 {
			x.cancelOrder(t, in, in.synth[r.IntN(len(in.synth))], 0, 0)
		}
	default: // an aggressive order through the touch
		side := book.Side(1 + r.IntN(2))
		price := in.fair + 2*Tick
		if side == book.Sell {
			price = in.fair - 2*Tick
		}
		x.synthOrder(t, in, side, price, int64(100*(1+r.IntN(5))), true)
	}
	for len(in.synth) > maxSynthPerBook {
		x.cancelOrder(t, in, in.synth[0], 0, 0)
	}
}

func (x *Exchange) synthOrder(t *asyncrt.Task, in *instrument, side book.Side, price, qty int64, ioc bool) {
	if price <= 0 {
		return
	}
	x.stats.SyntheticOrders++
	id := book.OrderID(x.nextRef)
	x.nextRef++
	x.submit(t, in, book.Order{ID: id, Side: side, Price: price, Qty: qty}, ioc)
	if _, resting := in.book.Get(id); resting {
		in.synth = append(in.synth, id)
	}
}
