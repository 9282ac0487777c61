package engine

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/trading/internal/book"
	"github.com/orrery-go/orrery/examples/trading/internal/ouch"
	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
)

// venueFixture is a Gateway connected to a backtest Venue. Everything that
// makes the venue answer runs in a task of rt (see run).
type venueFixture struct {
	*gwFixture
	rt   *asyncrt.Runtime
	v    *Venue
	task *asyncrt.Task
}

func newVenueFixture(t *testing.T) *venueFixture {
	t.Helper()
	fx := &venueFixture{gwFixture: newGwFixture(t, wideLimits), rt: newRuntime(t)}
	v, err := newVenue(fx.rt, fx.g)
	require.NoError(t, err)
	fx.v = v
	fx.g.connected(v, 1, simStart)
	return fx
}

// run runs fn as a task of the runtime, as the engine's tasks do.
func (fx *venueFixture) run(t *testing.T, fn func()) {
	t.Helper()
	on(t, fx.rt, func(task *asyncrt.Task) {
		fx.task = task
		defer func() { fx.task = nil }()
		fn()
	})
}

// market applies recorded ITCH messages, as the feed's tap does.
func (fx *venueFixture) market(msgs ...[]byte) {
	for _, m := range msgs {
		fx.v.onMarket(m)
	}
}

// order enters an order through the gateway and writes it to the venue.
func (fx *venueFixture) order(t *testing.T, side byte, price, qty int64) uint64 {
	t.Helper()
	tok := fx.enter(t, side, price, qty)
	fx.g.Flush(fx.task)
	return tok
}

// answer is one decoded venue reply.
type answer struct {
	typ      byte
	token    uint64
	qty      int64 // shares (Accepted, Replaced, Executed) or decrement (Canceled)
	price    int64
	ref      uint64
	liq      byte   // Executed
	reason   byte   // Rejected
	previous uint64 // Replaced
}

// answers decodes the replies not yet delivered.
func (fx *venueFixture) answers(t *testing.T) []answer {
	t.Helper()
	var out []answer
	for b := fx.v.replies; len(b) > 0; {
		typ, payload, n, err := soupbin.Next(b, 0)
		require.NoError(t, err)
		require.NotZero(t, n)
		require.Equal(t, soupbin.TypeSequencedData, typ)
		b = b[n:]
		mt, err := ouch.Type(payload)
		require.NoError(t, err)
		a := answer{typ: mt}
		tok := func(tk ouch.Token) uint64 {
			n, err := tk.Uint()
			require.NoError(t, err)
			return n
		}
		switch mt {
		case ouch.TypeAccepted:
			var m ouch.Accepted
			require.NoError(t, m.Decode(payload))
			a.token, a.qty, a.price, a.ref = tok(m.Token), int64(m.Shares), int64(m.Price), m.OrderRef
			require.Equal(t, ouch.OrderStateLive, m.OrderState)
			require.Equal(t, ouch.BBOWeightUnspecified, m.BBOWeight, "a BBO Weight Indicator OUCH 4.2 allows")
		case ouch.TypeReplaced:
			var m ouch.Replaced
			require.NoError(t, m.Decode(payload))
			a.token, a.qty, a.price, a.ref, a.previous = tok(m.Token), int64(m.Shares), int64(m.Price), m.OrderRef, tok(m.Previous)
			// What Replace Order does not carry comes from the replaced
			// order, as the gateway entered it (it used to be left zero).
			require.Equal(t, ouch.Stock(stockOf(1)), m.Stock)
			require.Equal(t, ouch.Firm(firm), m.Firm)
			require.Equal(t, ouch.CapacityPrincipal, m.Capacity)
			require.Equal(t, ouch.CrossNone, m.CrossType)
			require.Equal(t, ouch.BBOWeightUnspecified, m.BBOWeight)
		case ouch.TypeExecuted:
			var m ouch.Executed
			require.NoError(t, m.Decode(payload))
			a.token, a.qty, a.price, a.liq = tok(m.Token), int64(m.Shares), int64(m.Price), m.Liquidity
		case ouch.TypeCanceled:
			var m ouch.Canceled
			require.NoError(t, m.Decode(payload))
			a.token, a.qty = tok(m.Token), int64(m.Decrement)
		case ouch.TypeRejected:
			var m ouch.Rejected
			require.NoError(t, m.Decode(payload))
			a.token, a.reason = tok(m.Token), m.Reason
		default:
			t.Fatalf("unexpected reply type %q", mt)
		}
		out = append(out, a)
	}
	return out
}

// deliver hands the replies to the gateway, as Venue.deliver does, and
// writes what the gateway queued meanwhile.
func (fx *venueFixture) deliver(t *testing.T) []answer {
	t.Helper()
	as := fx.answers(t)
	for len(fx.v.replies) > 0 {
		buf := fx.v.replies
		fx.v.replies = nil
		for b := buf; len(b) > 0; {
			_, payload, n, _ := soupbin.Next(b, 0)
			b = b[n:]
			fx.g.onSequenced(payload)
		}
		fx.g.Flush(fx.task)
	}
	_, _ = fx.v.wakeRx.TryRecv()
	return as
}

func (fx *venueFixture) resting(locate uint16, ref uint64) (book.Order, bool) {
	return fx.v.book(locate).Get(book.OrderID(ref))
}

func TestVenueRecordedAddCrossesEngineOrder(t *testing.T) {
	fx := newVenueFixture(t)
	fx.run(t, func() {
		fx.market(addMsg(1, 10, 'S', 100, p100_02))
		buy := fx.order(t, 'B', p100_00, 100)
		as := fx.deliver(t)
		require.Len(t, as, 1)
		assert.Equal(t, answer{typ: ouch.TypeAccepted, token: buy, qty: 100, price: p100_00, ref: engineRefBase + 1}, as[0])
		assert.Equal(t, stLive, fx.g.orders[buy].state)
		assert.Equal(t, []uint64{engineRefBase + 1}, fx.refs, "the gateway learns its exchange reference")

		// A recorded sell through the engine's bid trades with it, at the
		// engine's price; its remainder rests.
		fx.market(addMsg(1, 11, 'S', 130, p99_99))
		as = fx.deliver(t)
		require.Len(t, as, 1)
		assert.Equal(t, answer{typ: ouch.TypeExecuted, token: buy, qty: 100, price: p100_00, liq: ouch.LiquidityAdded}, as[0])
		assert.Equal(t, Position{Qty: 100, Cash: -100 * p100_00, Fills: 1, Volume: 100}, *fx.in.pos)
		assert.Equal(t, 0, fx.g.OpenOrders())
		assert.Equal(t, QuoteSide{}, fx.in.quote.Bid)
		o, ok := fx.resting(1, 11)
		require.True(t, ok)
		assert.Equal(t, int64(30), o.Qty)
		assert.Empty(t, fx.v.tokens, "the filled order is forgotten")
		assert.Empty(t, fx.v.owners)

		// A recorded order that does not cross rests without trading.
		fx.market(addMsg(1, 12, 'B', 50, p99_98))
		assert.Empty(t, fx.answers(t))
	})
	assert.Equal(t, VenueStats{Orders: 1, Fills: 1}, fx.v.Stats())
}

func TestVenueRecordedExecutionFillsEngineOrdersAhead(t *testing.T) {
	fx := newVenueFixture(t)
	fx.run(t, func() {
		// Sells: recorded A at 100.02, then the engine's E1 behind it; the
		// engine's E2 at a better price, 100.01.
		fx.market(addMsg(1, 20, 'S', 100, p100_02))
		e1 := fx.order(t, 'S', p100_02, 50)
		e2 := fx.order(t, 'S', p100_01, 40)
		fx.deliver(t)

		// 60 of A trade: the aggressor met E2 first, then A; E1, behind A,
		// is untouched.
		fx.market(execMsg(1, 20, 60, 1))
		as := fx.deliver(t)
		require.Len(t, as, 1)
		assert.Equal(t, answer{typ: ouch.TypeExecuted, token: e2, qty: 40, price: p100_01, liq: ouch.LiquidityAdded}, as[0])
		a, ok := fx.resting(1, 20)
		require.True(t, ok)
		assert.Equal(t, int64(80), a.Qty, "A executed the 20 the aggressor had left")
		assert.Equal(t, int64(50), fx.g.orders[e1].qty)
		assert.Nil(t, fx.g.orders[e2])

		// Buys: the engine's E3 at 99.98, then recorded B, then the
		// engine's E4 behind B.
		e3 := fx.order(t, 'B', p99_98, 10)
		fx.market(addMsg(1, 21, 'B', 100, p99_98))
		e4 := fx.order(t, 'B', p99_98, 10)
		fx.deliver(t)
		fx.market(execMsg(1, 21, 15, 2))
		as = fx.deliver(t)
		require.Len(t, as, 1)
		assert.Equal(t, answer{typ: ouch.TypeExecuted, token: e3, qty: 10, price: p99_98, liq: ouch.LiquidityAdded}, as[0])
		b, ok := fx.resting(1, 21)
		require.True(t, ok)
		assert.Equal(t, int64(95), b.Qty)

		// The rest of B: B is first in line now, E4 is behind it.
		fx.market(execMsg(1, 21, 95, 3))
		assert.Empty(t, fx.deliver(t))
		_, ok = fx.resting(1, 21)
		assert.False(t, ok)
		assert.Equal(t, stLive, fx.g.orders[e4].state)
		assert.Equal(t, int64(10), fx.g.orders[e4].qty)

		// Executions of an order the venue no longer has diverge.
		fx.market(execMsg(1, 21, 5, 4))
		assert.Empty(t, fx.deliver(t))
	})
	assert.Equal(t, uint64(1), fx.v.Stats().Diverged)
	assert.Equal(t, uint64(2), fx.v.Stats().Fills)
	assert.Equal(t, Position{Qty: -40 + 10, Cash: 40*p100_01 - 10*p99_98, Fills: 2, Volume: 50}, *fx.in.pos)
	fx.checkOpen(t)
}

func TestVenueEngineOrderCrossesRecorded(t *testing.T) {
	fx := newVenueFixture(t)
	fx.run(t, func() {
		fx.market(addMsg(1, 30, 'S', 100, p100_01))
		// Marketable and filled at once: it does not rest.
		buy := fx.order(t, 'B', p100_01, 40)
		as := fx.deliver(t)
		require.Len(t, as, 2)
		assert.Equal(t, ouch.TypeAccepted, as[0].typ)
		assert.Equal(t, answer{typ: ouch.TypeExecuted, token: buy, qty: 40, price: p100_01, liq: ouch.LiquidityRemoved}, as[1])
		assert.Nil(t, fx.g.orders[buy])
		assert.Empty(t, fx.v.tokens)

		// Through the rest: trades 60 at the recorded price, rests 40.
		buy = fx.order(t, 'B', p100_02, 100)
		as = fx.deliver(t)
		require.Len(t, as, 2)
		assert.Equal(t, answer{typ: ouch.TypeExecuted, token: buy, qty: 60, price: p100_01, liq: ouch.LiquidityRemoved}, as[1])
		assert.Equal(t, int64(40), fx.g.orders[buy].qty)
		assert.Equal(t, stLive, fx.g.orders[buy].state)
		o, ok := fx.resting(1, engineRefBase+2)
		require.True(t, ok)
		assert.Equal(t, int64(40), o.Qty)
		assert.Equal(t, int64(p100_02), o.Price)

		// The recording goes on with the order the engine took.
		fx.market(deleteMsg(1, 30))
		fx.market(cancelMsg(1, 30, 1))
		fx.market(replaceMsg(1, 30, 31, 10, p100_03))
		assert.Empty(t, fx.answers(t))
	})
	assert.Equal(t, uint64(3), fx.v.Stats().Diverged)
	assert.Equal(t, Position{Qty: 100, Cash: -100 * p100_01, Fills: 2, Volume: 100}, *fx.in.pos)
	fx.checkOpen(t)
}

func TestVenueRecordedCancelAndReplace(t *testing.T) {
	fx := newVenueFixture(t)
	fx.run(t, func() {
		fx.market(addMsg(1, 40, 'B', 100, p99_99))
		sell := fx.order(t, 'S', p100_02, 100)
		fx.deliver(t)
		fx.market(cancelMsg(1, 40, 30))
		o, ok := fx.resting(1, 40)
		require.True(t, ok)
		assert.Equal(t, int64(70), o.Qty)
		fx.market(cancelMsg(1, 40, 70))
		_, ok = fx.resting(1, 40)
		assert.False(t, ok)

		// A recorded replace that crosses the engine's order trades with it.
		fx.market(addMsg(1, 41, 'B', 100, p99_99))
		fx.market(replaceMsg(1, 41, 42, 30, p100_02))
		as := fx.deliver(t)
		require.Len(t, as, 1)
		assert.Equal(t, answer{typ: ouch.TypeExecuted, token: sell, qty: 30, price: p100_02, liq: ouch.LiquidityAdded}, as[0])
		_, ok = fx.resting(1, 41)
		assert.False(t, ok)
		_, ok = fx.resting(1, 42)
		assert.False(t, ok, "filled in full")
		fx.market(deleteMsg(1, 43))

		// Recorded adds the venue's book refuses (a reference it holds,
		// no shares) diverge too.
		fx.market(addMsg(1, 44, 'B', 10, p99_98), addMsg(1, 44, 'B', 10, p99_98), addMsg(1, 45, 'B', 0, p99_98))
		o, ok = fx.resting(1, 44)
		require.True(t, ok)
		assert.Equal(t, int64(10), o.Qty)
		_, ok = fx.resting(1, 45)
		assert.False(t, ok)
	})
	assert.Equal(t, uint64(3), fx.v.Stats().Diverged)
}

func TestVenueForget(t *testing.T) {
	fx := newVenueFixture(t)
	fx.run(t, func() {
		fx.market(addMsg(1, 50, 'B', 100, p99_99), addMsg(1, 51, 'S', 100, p100_02))
		fx.v.forget(50) // the recording's own order: not market
		_, ok := fx.resting(1, 50)
		assert.False(t, ok)
		_, ok = fx.resting(1, 51)
		assert.True(t, ok)

		// What the recording says about it later is no divergence.
		fx.market(execMsg(1, 50, 10, 1), cancelMsg(1, 50, 10), replaceMsg(1, 50, 52, 5, p99_98))
		fx.market(execMsg(1, 52, 1, 2), deleteMsg(1, 52))
		assert.Equal(t, uint64(0), fx.v.Stats().Diverged)

		// Forgotten before it shows up: never enters the book.
		fx.v.forget(53)
		fx.market(addMsg(1, 53, 'S', 100, p99_98))
		_, ok = fx.resting(1, 53)
		assert.False(t, ok)

		// forget leaves the engine's orders alone, even with the same id.
		sell := fx.order(t, 'S', p100_03, 10)
		fx.deliver(t)
		fx.v.forget(engineRefBase + 1)
		o, ok := fx.resting(1, engineRefBase+1)
		require.True(t, ok)
		assert.Equal(t, uint32(ownerEngine), o.Owner)
		assert.Equal(t, stLive, fx.g.orders[sell].state)
	})
	assert.Equal(t, uint64(0), fx.v.Stats().Diverged)
}

func TestVenueReset(t *testing.T) {
	fx := newVenueFixture(t)
	fx.run(t, func() {
		fx.market(addMsg(1, 60, 'B', 100, p99_99), addMsg(1, 61, 'S', 100, p100_02), addMsg(2, 62, 'B', 5, p99_99))
		buy := fx.order(t, 'B', p99_98, 10)
		fx.deliver(t)
		fx.v.reset()
		for _, ref := range []uint64{60, 61} {
			_, ok := fx.resting(1, ref)
			assert.False(t, ok, "recorded order %d", ref)
		}
		_, ok := fx.resting(2, 62)
		assert.False(t, ok)
		o, ok := fx.resting(1, engineRefBase+1)
		require.True(t, ok, "the engine's order stays")
		assert.Equal(t, int64(10), o.Qty)

		// The snapshot rebuilds the market, and it trades with the engine.
		fx.market(addMsg(1, 60, 'S', 100, p99_98))
		as := fx.deliver(t)
		require.Len(t, as, 1)
		assert.Equal(t, answer{typ: ouch.TypeExecuted, token: buy, qty: 10, price: p99_98, liq: ouch.LiquidityAdded}, as[0])
	})
}

func TestVenueEngineReplaceAndCancel(t *testing.T) {
	fx := newVenueFixture(t)
	fx.run(t, func() {
		fx.market(addMsg(1, 70, 'S', 100, p100_02))
		buy := fx.order(t, 'B', p99_98, 100)
		fx.deliver(t)

		// Replace to a resting price.
		r1, err := fx.g.Replace(fx.in, buy, p99_99, 80, 0, fx.now)
		require.NoError(t, err)
		fx.g.Flush(fx.task)
		as := fx.deliver(t)
		require.Len(t, as, 1)
		assert.Equal(t, answer{typ: ouch.TypeReplaced, token: r1, qty: 80, price: p99_99, ref: engineRefBase + 2, previous: buy}, as[0])
		assert.Nil(t, fx.g.orders[buy])
		assert.Equal(t, QuoteSide{Token: r1, Price: p99_99, Qty: 80}, fx.in.quote.Bid)
		_, ok := fx.resting(1, engineRefBase+1)
		assert.False(t, ok)
		o, ok := fx.resting(1, engineRefBase+2)
		require.True(t, ok)
		assert.Equal(t, int64(80), o.Qty)

		// Replace through the recorded ask: trades at once, rests the rest.
		r2, err := fx.g.Replace(fx.in, r1, p100_02, 150, 0, fx.now)
		require.NoError(t, err)
		fx.g.Flush(fx.task)
		as = fx.deliver(t)
		require.Len(t, as, 2)
		assert.Equal(t, ouch.TypeReplaced, as[0].typ)
		assert.Equal(t, answer{typ: ouch.TypeExecuted, token: r2, qty: 100, price: p100_02, liq: ouch.LiquidityRemoved}, as[1])
		assert.Equal(t, int64(50), fx.g.orders[r2].qty)
		assert.Equal(t, QuoteSide{Token: r2, Price: p100_02, Qty: 50}, fx.in.quote.Bid)

		// Cancel.
		require.True(t, fx.g.Cancel(r2, 0))
		fx.g.Flush(fx.task)
		as = fx.deliver(t)
		require.Len(t, as, 1)
		assert.Equal(t, answer{typ: ouch.TypeCanceled, token: r2, qty: 50}, as[0])
		assert.Equal(t, 0, fx.g.OpenOrders())
		assert.Empty(t, fx.v.tokens)
		assert.Equal(t, QuoteSide{}, fx.in.quote.Bid)

		// A replace that fills in full does not rest.
		fx.market(addMsg(1, 71, 'S', 100, p100_02))
		sell := fx.order(t, 'B', p99_98, 10)
		fx.deliver(t)
		r3, err := fx.g.Replace(fx.in, sell, p100_02, 10, 0, fx.now)
		require.NoError(t, err)
		fx.g.Flush(fx.task)
		as = fx.deliver(t)
		require.Len(t, as, 2)
		assert.Equal(t, answer{typ: ouch.TypeExecuted, token: r3, qty: 10, price: p100_02, liq: ouch.LiquidityRemoved}, as[1])
		assert.Empty(t, fx.v.tokens)
		assert.Equal(t, 0, fx.g.OpenOrders())
	})
	st := fx.v.Stats()
	assert.Equal(t, VenueStats{Orders: 2, Replaces: 3, Cancels: 1, Fills: 2}, st)
	assert.Equal(t, Position{Qty: 110, Cash: -110 * p100_02, Fills: 2, Volume: 110}, *fx.in.pos)
	fx.checkOpen(t)
}

func TestVenueRejects(t *testing.T) {
	fx := newVenueFixture(t)
	fx.mk.addOrder(2, stockOf(2), 900_003, 'B', 1, p99_99)
	fx.mk.addOrder(2, stockOf(2), 900_004, 'S', 1, p100_01)
	fx.in = fx.mk.instrument(1) // instruments move when one is added
	enter := func(tok uint64, shares, price uint32, stock string) []byte {
		st, err := ouch.NewStock(stock)
		require.NoError(t, err)
		return ouch.EnterOrder{Token: tokenOf(tok), Side: 'B', Shares: shares, Stock: st, Price: price}.AppendTo(nil)
	}
	fx.run(t, func() {
		fx.market(addMsg(1, 80, 'S', 100, p100_02))

		// An instrument the venue has not seen on the feed.
		msft, err := fx.g.Enter(fx.mk.instrument(2), 'B', p99_99, 10, 0, fx.now)
		require.NoError(t, err)
		fx.g.Flush(fx.task)
		as := fx.deliver(t)
		require.Len(t, as, 1)
		assert.Equal(t, answer{typ: ouch.TypeRejected, token: msft, reason: ouch.RejectInvalidStock}, as[0])
		assert.Nil(t, fx.g.orders[msft])
		assert.Equal(t, QuoteSide{}, fx.mk.instrument(2).quote.Bid)

		fx.v.request(enter(900, 0, p99_99, "AAPL"))
		fx.v.request(enter(901, 10, 0, "AAPL"))
		fx.v.request(enter(902, 10, p99_99, "AAPL"))
		fx.v.request(enter(902, 10, p99_99, "AAPL"))
		as = fx.answers(t)
		require.Len(t, as, 4)
		assert.Equal(t, ouch.RejectInvalidShares, as[0].reason)
		assert.Equal(t, ouch.RejectInvalidPrice, as[1].reason)
		assert.Equal(t, ouch.TypeAccepted, as[2].typ)
		assert.Equal(t, answer{typ: ouch.TypeRejected, token: 902, reason: ouch.RejectOther}, as[3])
		fx.v.replies = nil

		replace := func(existing, replacement uint64, shares, price uint32) {
			fx.v.request(ouch.ReplaceOrder{Existing: tokenOf(existing), Replacement: tokenOf(replacement), Shares: shares, Price: price}.AppendTo(nil))
		}
		replace(999, 903, 10, p99_99)
		replace(902, 902, 10, p99_99) // the replacement token is in use
		replace(902, 904, 0, p99_99)
		replace(902, 905, 10, 0)
		as = fx.answers(t)
		require.Len(t, as, 4)
		assert.Equal(t, answer{typ: ouch.TypeRejected, token: 903, reason: ouch.RejectOther}, as[0])
		assert.Equal(t, answer{typ: ouch.TypeRejected, token: 902, reason: ouch.RejectOther}, as[1])
		assert.Equal(t, answer{typ: ouch.TypeRejected, token: 904, reason: ouch.RejectOther}, as[2])
		assert.Equal(t, answer{typ: ouch.TypeRejected, token: 905, reason: ouch.RejectOther}, as[3])
		fx.v.replies = nil

		// Cancels: of unknown orders, and to a size not below the order's,
		// are ignored; to a smaller size reduce it.
		cancel := func(tok uint64, keep uint32) {
			fx.v.request(ouch.CancelOrder{Token: tokenOf(tok), Shares: keep}.AppendTo(nil))
		}
		cancel(999, 0)
		cancel(902, 10)
		cancel(902, 50)
		assert.Empty(t, fx.answers(t))
		cancel(902, 4)
		as = fx.answers(t)
		require.Len(t, as, 1)
		assert.Equal(t, answer{typ: ouch.TypeCanceled, token: 902, qty: 6}, as[0])
		o, ok := fx.resting(1, fx.v.nextRef)
		require.True(t, ok)
		assert.Equal(t, int64(4), o.Qty)
		fx.v.replies = nil

		// Garbage and messages the venue does not take are ignored.
		fx.v.request(nil)
		fx.v.request([]byte{ouch.TypeEnterOrder, 1})
		fx.v.request([]byte{ouch.TypeReplaceOrder})
		fx.v.request([]byte{ouch.TypeCancelOrder})
		fx.v.request([]byte{'Q', 1, 2})
		var pkts []byte
		pkts, _ = soupbin.AppendPacket(pkts, soupbin.TypeClientHeartbeat, nil)
		pkts, _ = soupbin.AppendPacket(pkts, soupbin.TypeUnsequencedData, ouch.CancelOrder{Token: tokenOf(902)}.AppendTo(nil))
		require.NoError(t, fx.v.send(fx.task, pkts))
		as = fx.answers(t)
		require.Len(t, as, 1)
		assert.Equal(t, ouch.TypeCanceled, as[0].typ)
		assert.Error(t, fx.v.send(fx.task, []byte{0, 0, 'U'}), "a packet of length 0")

		// Recorded messages that do not decode are ignored.
		fx.market(nil, []byte{'A', 1}, []byte{'E'}, []byte{'X'}, []byte{'D'}, []byte{'U'}, []byte{'Z'})
	})
	st := fx.v.Stats()
	assert.Equal(t, uint64(1+3+4), st.Rejects)
	assert.Equal(t, uint64(5), st.Orders)
	assert.Equal(t, uint64(4), st.Replaces)
	assert.Equal(t, uint64(5), st.Cancels)
	assert.Equal(t, uint64(0), st.Diverged)
}

func TestVenueDeliver(t *testing.T) {
	fx := newVenueFixture(t)
	afters := 0
	fx.run(t, func() {
		fx.market(addMsg(1, 90, 'S', 100, p100_02))
		buy := fx.order(t, 'B', p100_02, 30)
		sell := fx.order(t, 'S', p100_03, 10)
		fx.v.wake.Close() // so that deliver returns once it has delivered everything
		fx.v.deliver(fx.task, func() { afters++ })
		assert.Empty(t, fx.v.replies)
		assert.Nil(t, fx.g.orders[buy], "accepted and filled")
		assert.Equal(t, stLive, fx.g.orders[sell].state)
	})
	assert.Equal(t, 1, afters)
	assert.Equal(t, int64(30), fx.in.pos.Qty)
	assert.Equal(t, uint64(2), fx.g.Stats().Accepted)
	assert.Equal(t, uint64(1), fx.g.Stats().Executions)
}

// TestVenueRandom runs random recorded flow and engine requests through the
// gateway and the venue and checks that they agree after every round.
func TestVenueRandom(t *testing.T) {
	for seed := range uint64(8) {
		fx := newVenueFixture(t)
		rng := rand.New(rand.NewPCG(seed, 99))
		price := func() int64 { return p100_00 + (rng.Int64N(9)-4)*Tick }
		side := func() byte { return "BS"[rng.IntN(2)] }
		var refs []uint64
		nextRef := uint64(1)
		fx.run(t, func() {
			fx.market(addMsg(1, nextRef, 'B', 1, p99_98-50*Tick)) // the venue learns the symbol
			nextRef++
			for step := range 400 {
				switch k := rng.IntN(10); {
				case k < 3:
					refs = append(refs, nextRef)
					fx.market(addMsg(1, nextRef, side(), uint32(1+rng.IntN(200)), uint32(price())))
					nextRef++
				case k < 5 && len(refs) > 0:
					ref := refs[rng.IntN(len(refs))]
					switch rng.IntN(4) {
					case 0:
						fx.market(execMsg(1, ref, uint32(1+rng.IntN(100)), uint64(step)))
					case 1:
						fx.market(cancelMsg(1, ref, uint32(1+rng.IntN(100))))
					case 2:
						fx.market(deleteMsg(1, ref))
					default:
						refs = append(refs, nextRef)
						fx.market(replaceMsg(1, ref, nextRef, uint32(1+rng.IntN(200)), uint32(price())))
						nextRef++
					}
				case k < 7:
					_, err := fx.g.Enter(fx.in, side(), price(), 1+rng.Int64N(100), 0, fx.now)
					require.NoError(t, err)
				case k < 9 && len(fx.g.orders) > 0:
					toks := make([]uint64, 0, len(fx.g.orders))
					for tok := range fx.g.orders {
						toks = append(toks, tok)
					}
					slices.Sort(toks)
					tok := toks[rng.IntN(len(toks))]
					if rng.IntN(2) == 0 {
						_, err := fx.g.Replace(fx.in, tok, price(), 1+rng.Int64N(100), 0, fx.now)
						require.NoError(t, err)
					} else {
						fx.g.Cancel(tok, 0)
					}
				}
				fx.g.Flush(fx.task)
				if rng.IntN(3) == 0 {
					continue // let answers pile up
				}
				fx.deliver(t)
				checkVenueAgrees(t, fx)
			}
		})
		// The run did exercise the machinery.
		gs, vs := fx.g.Stats(), fx.v.Stats()
		assert.NotZero(t, gs.Executions, "seed %d", seed)
		assert.NotZero(t, gs.Replaced, "seed %d", seed)
		assert.NotZero(t, gs.Canceled, "seed %d", seed)
		assert.NotZero(t, vs.Diverged, "seed %d", seed)
	}
}

func checkVenueAgrees(t *testing.T, fx *venueFixture) {
	t.Helper()
	fx.checkOpen(t)
	// Every order the gateway holds is live at the venue with its size and
	// price, and the other way round.
	require.Len(t, fx.v.tokens, len(fx.g.orders))
	for tok, o := range fx.g.orders {
		require.Equal(t, stLive, o.state, "token %d: everything is answered", tok)
		id, ok := fx.v.tokens[tokenOf(tok)]
		require.True(t, ok, "token %d is not at the venue", tok)
		vo, ok := fx.v.book(o.locate).Get(id)
		require.True(t, ok)
		require.Equal(t, o.qty, vo.Qty, "token %d", tok)
		require.Equal(t, o.price, vo.Price, "token %d", tok)
		require.Equal(t, uint64(id), o.ref)
	}
	// The position is the sum of the fills.
	var qty, cash, vol int64
	for _, f := range fx.g.Fills() {
		if f.Side == 'B' {
			qty, cash = qty+f.Qty, cash-f.Qty*f.Price
		} else {
			qty, cash = qty-f.Qty, cash+f.Qty*f.Price
		}
		vol += f.Qty
	}
	require.Equal(t, Position{Qty: qty, Cash: cash, Fills: int64(len(fx.g.Fills())), Volume: vol}, *fx.in.pos)
	require.Equal(t, fx.v.Stats().Fills, fx.g.Stats().Executions)
	// The quotes name live orders (or none).
	for _, q := range []QuoteSide{fx.in.quote.Bid, fx.in.quote.Ask} {
		if q.Token != 0 {
			o := fx.g.orders[q.Token]
			require.NotNil(t, o, "quote token %d", q.Token)
			require.False(t, q.Pending)
			require.Equal(t, o.qty, q.Qty)
			require.Equal(t, o.price, q.Price)
		}
	}
}
