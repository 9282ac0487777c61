package engine

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/trading/internal/ouch"
	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
)

// wideLimits keep the risk checks out of the way.
var wideLimits = RiskLimits{MaxPosition: 1_000_000, MaxOrderRate: 1_000_000, PriceBand: 0.5}

func TestGatewayEnter(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	buy := fx.enter(t, 'B', p99_99, 100)
	sell := fx.enter(t, 'S', p100_01, 300)
	assert.Equal(t, uint64(1), buy)
	assert.Equal(t, uint64(2), sell)

	rs := fx.requests(t)
	require.Len(t, rs, 2)
	want := ouch.EnterOrder{
		Token: tokenOf(1), Side: 'B', Shares: 100, Stock: ouch.Stock(stockOf(1)), Price: p99_99,
		TimeInForce: ouch.TIFMarketHours, Firm: ouch.Firm{'O', 'R', 'R', 'Y'}, Display: 'Y', Capacity: 'P',
		IntermarketSweep: 'N', CrossType: 'N', CustomerType: ' ',
	}
	assert.Equal(t, ouch.TypeEnterOrder, rs[0].typ)
	assert.Equal(t, want, rs[0].enter)
	want.Token, want.Side, want.Shares, want.Price = tokenOf(2), 'S', 300, p100_01
	assert.Equal(t, want, rs[1].enter)

	q := fx.in.quote
	assert.Equal(t, QuoteSide{Token: buy, Price: p99_99, Qty: 100, Pending: true}, q.Bid)
	assert.Equal(t, QuoteSide{Token: sell, Price: p100_01, Qty: 300, Pending: true}, q.Ask)
	assert.Equal(t, int64(100), fx.open('B'))
	assert.Equal(t, int64(300), fx.open('S'))
	assert.Equal(t, 2, fx.g.OpenOrders())
	assert.Equal(t, uint64(2), fx.g.Stats().Orders)
	assert.Equal(t, stPendingNew, fx.g.orders[buy].state)
	fx.checkOpen(t)
}

func TestGatewayAccepted(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	tok := fx.enter(t, 'B', p99_99, 100)
	fx.answer(accepted(tok, 'B', p99_99, 100, 5001, ouch.OrderStateLive))
	assert.Equal(t, QuoteSide{Token: tok, Price: p99_99, Qty: 100}, fx.in.quote.Bid)
	assert.Equal(t, stLive, fx.g.orders[tok].state)
	assert.Equal(t, uint64(5001), fx.g.orders[tok].ref)
	assert.Equal(t, []uint64{5001}, fx.refs)
	assert.Equal(t, []uint16{1}, fx.changed)
	assert.Equal(t, uint64(1), fx.g.Stats().Accepted)
	assert.Equal(t, uint64(2), fx.g.nextSeq)

	// A second Accepted for a live order changes nothing.
	fx.answer(accepted(tok, 'B', p99_99, 100, 5002, ouch.OrderStateLive))
	assert.Equal(t, uint64(5001), fx.g.orders[tok].ref)
	assert.Equal(t, []uint64{5001}, fx.refs)
	assert.Equal(t, uint64(2), fx.g.Stats().Accepted)
	fx.checkOpen(t)
}

func TestGatewayAcceptedDead(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	tok := fx.enter(t, 'S', p100_01, 100)
	fx.answer(accepted(tok, 'S', p100_01, 100, 5001, ouch.OrderStateDead))
	assert.Equal(t, QuoteSide{}, fx.in.quote.Ask)
	assert.Equal(t, 0, fx.g.OpenOrders())
	assert.Equal(t, int64(0), fx.open('S'))
	assert.Equal(t, []uint16{1}, fx.changed)
	fx.checkOpen(t)
}

func TestGatewayExecuted(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	buy := fx.live(t, 'B', p99_99, 100, 5001)
	sell := fx.live(t, 'S', p100_01, 50, 5002)
	fx.changed = nil

	fx.answer(executed(buy, 40, p99_99, 11))
	pos := fx.in.pos
	assert.Equal(t, Position{Qty: 40, Cash: -40 * p99_99, Fills: 1, Volume: 40}, *pos)
	assert.Equal(t, QuoteSide{Token: buy, Price: p99_99, Qty: 60}, fx.in.quote.Bid)
	assert.Equal(t, int64(60), fx.g.orders[buy].qty)
	assert.Equal(t, int64(60), fx.open('B'))
	assert.Equal(t, []uint16{1}, fx.changed, "a partial fill is news for the strategy")
	fx.checkOpen(t)

	// More than is left: only what is left fills.
	fx.answer(executed(buy, 70, p100_00, 12))
	assert.Equal(t, Position{Qty: 100, Cash: -40*p99_99 - 60*p100_00, Fills: 2, Volume: 100}, *pos)
	assert.Equal(t, QuoteSide{}, fx.in.quote.Bid, "a filled order's quote is cleared")
	assert.Nil(t, fx.g.orders[buy])
	assert.Equal(t, int64(0), fx.open('B'))

	fx.answer(executed(sell, 50, p100_01, 13))
	assert.Equal(t, Position{Qty: 50, Cash: -40*p99_99 - 60*p100_00 + 50*p100_01, Fills: 3, Volume: 150}, *pos)
	assert.Equal(t, QuoteSide{}, fx.in.quote.Ask)
	assert.Equal(t, 0, fx.g.OpenOrders())
	fx.checkOpen(t)

	st := fx.g.Stats()
	assert.Equal(t, uint64(3), st.Executions)
	assert.Equal(t, int64(150), st.Volume)
	assert.Equal(t, []Fill{
		{Locate: 1, Side: 'B', Qty: 40, Price: p99_99, Match: 11},
		{Locate: 1, Side: 'B', Qty: 60, Price: p100_00, Match: 12},
		{Locate: 1, Side: 'S', Qty: 50, Price: p100_01, Match: 13},
	}, fx.g.Fills())
	assert.Equal(t, int64(-40*p99_99-60*p100_00+50*p100_01+50*p100_00), pos.PnL(p100_00))

	// An execution for a done order is unknown.
	fx.answer(executed(buy, 1, p100_00, 14))
	assert.Equal(t, uint64(1), fx.g.Stats().Unknown)
	assert.Equal(t, int64(150), fx.g.Stats().Volume)
}

func TestGatewayReplace(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	old := fx.live(t, 'B', p99_99, 100, 5001)
	fx.requests(t)

	tok, err := fx.g.Replace(fx.in, old, p100_00, 150, 0, fx.now)
	require.NoError(t, err)
	require.NotZero(t, tok)
	assert.NotEqual(t, old, tok)
	rs := fx.requests(t)
	require.Len(t, rs, 1)
	assert.Equal(t, ouch.TypeReplaceOrder, rs[0].typ)
	assert.Equal(t, ouch.ReplaceOrder{
		Existing: tokenOf(old), Replacement: tokenOf(tok), Shares: 150, Price: p100_00,
		TimeInForce: ouch.TIFMarketHours, Display: 'Y', IntermarketSweep: 'N',
	}, rs[0].replace)
	assert.Equal(t, QuoteSide{Token: tok, Price: p100_00, Qty: 150, Pending: true}, fx.in.quote.Bid)
	assert.Equal(t, stPendingReplace, fx.g.orders[old].state)
	assert.Equal(t, tok, fx.g.orders[old].next)
	assert.Equal(t, old, fx.g.orders[tok].prev)
	assert.Equal(t, uint64(1), fx.g.Stats().Replaces)
	assert.Equal(t, int64(100), fx.open('B'), "the old order's shares count until the exchange answers")

	// A pending order cannot be replaced or cancelled again.
	again, err := fx.g.Replace(fx.in, old, p100_00, 150, 0, fx.now)
	assert.NoError(t, err)
	assert.Zero(t, again)
	again, err = fx.g.Replace(fx.in, tok, p100_00, 150, 0, fx.now)
	assert.NoError(t, err)
	assert.Zero(t, again)
	assert.False(t, fx.g.Cancel(old, 0))
	assert.Empty(t, fx.requests(t))

	fx.refs = nil
	fx.answer(replaced(tok, old, 'B', p100_00, 150, 5003))
	assert.Nil(t, fx.g.orders[old], "the old order is done")
	o := fx.g.orders[tok]
	require.NotNil(t, o)
	assert.Equal(t, stLive, o.state)
	assert.Equal(t, uint64(5003), o.ref)
	assert.Equal(t, int64(150), o.qty)
	assert.Equal(t, int64(p100_00), o.price)
	assert.Zero(t, o.prev)
	assert.Equal(t, QuoteSide{Token: tok, Price: p100_00, Qty: 150}, fx.in.quote.Bid)
	assert.Equal(t, []uint64{5003}, fx.refs)
	assert.Equal(t, int64(150), fx.open('B'))
	assert.Equal(t, uint64(1), fx.g.Stats().Replaced)
	assert.Equal(t, 1, fx.g.OpenOrders())
	fx.checkOpen(t)
}

func TestGatewayReplaceOfPartlyFilledOrder(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	old := fx.live(t, 'S', p100_01, 100, 5001)
	tok, err := fx.g.Replace(fx.in, old, p100_02, 100, 0, fx.now)
	require.NoError(t, err)
	fx.answer(executed(old, 30, p100_01, 1)) // before the exchange saw the replace
	assert.Equal(t, int64(70), fx.open('S'))
	assert.Equal(t, QuoteSide{Token: tok, Price: p100_02, Qty: 100, Pending: true}, fx.in.quote.Ask,
		"the fill of the old order leaves the replacement's quote alone")
	fx.answer(replaced(tok, old, 'S', p100_02, 70, 5002))
	assert.Equal(t, int64(70), fx.open('S'))
	assert.Equal(t, QuoteSide{Token: tok, Price: p100_02, Qty: 70}, fx.in.quote.Ask)
	assert.Equal(t, int64(-30), fx.in.pos.Qty)
	fx.checkOpen(t)
}

func TestGatewayReplaceOfFilledOrderRejected(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	old := fx.live(t, 'S', p100_01, 100, 5001)
	tok, err := fx.g.Replace(fx.in, old, p100_02, 100, 0, fx.now)
	require.NoError(t, err)
	fx.answer(executed(old, 100, p100_01, 1)) // filled before the replace arrived
	assert.Nil(t, fx.g.orders[old])
	fx.answer(rejected(tok, ouch.RejectOther)) // OUCH 4.2 would ignore it; the exchange says so
	assert.Equal(t, QuoteSide{}, fx.in.quote.Ask)
	assert.Equal(t, 0, fx.g.OpenOrders())
	fx.checkOpen(t)
}

func TestGatewayReplaceRefused(t *testing.T) {
	fx := newGwFixture(t, RiskLimits{MaxPosition: 1000, MaxOrderRate: 100, PriceBand: 0.05})
	old := fx.live(t, 'B', p99_99, 100, 5001)
	fx.requests(t)

	_, err := fx.g.Replace(fx.in, old, p100_00*2, 100, 0, fx.now)
	var re *RiskError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, RejectPriceBand, re.Reason)
	_, err = fx.g.Replace(fx.in, old, p99_99, 1001, 0, fx.now)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, RejectMaxPosition, re.Reason)
	// Growing to exactly the limit is allowed: only the difference counts.
	tok, err := fx.g.Replace(fx.in, old, p99_99, 1000, 0, fx.now)
	require.NoError(t, err)
	assert.NotZero(t, tok)
	assert.Len(t, fx.requests(t), 1)

	fx.g.disconnected()
	_, err = fx.g.Replace(fx.in, tok, p99_99, 100, 0, fx.now)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, RejectNotConnected, re.Reason)
	rr := fx.g.RiskRejects()
	assert.Equal(t, uint64(1), rr[RejectPriceBand])
	assert.Equal(t, uint64(1), rr[RejectMaxPosition])
	assert.Equal(t, uint64(1), rr[RejectNotConnected])
}

func TestGatewayRejected(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	tok := fx.enter(t, 'B', p99_99, 100)
	fx.answer(rejected(tok, ouch.RejectHalted))
	assert.Equal(t, QuoteSide{}, fx.in.quote.Bid)
	assert.Equal(t, 0, fx.g.OpenOrders())
	assert.Equal(t, int64(0), fx.open('B'))
	assert.Equal(t, uint64(1), fx.g.Stats().Rejected)
	assert.Equal(t, uint64(1), fx.g.exchangeRejects[ouch.RejectHalted])
	fx.checkOpen(t)
}

func TestGatewayRejectedReplaceRestoresOld(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	old := fx.live(t, 'S', p100_01, 100, 5001)
	tok, err := fx.g.Replace(fx.in, old, p100_02, 200, 0, fx.now)
	require.NoError(t, err)
	fx.changed = nil

	fx.answer(rejected(tok, ouch.RejectOther))
	assert.Nil(t, fx.g.orders[tok])
	o := fx.g.orders[old]
	require.NotNil(t, o)
	assert.Equal(t, stLive, o.state)
	assert.Zero(t, o.next)
	assert.Equal(t, QuoteSide{Token: old, Price: p100_01, Qty: 100}, fx.in.quote.Ask)
	assert.Equal(t, []uint16{1}, fx.changed)
	assert.Equal(t, int64(100), fx.open('S'))
	fx.checkOpen(t)

	// The old order works as before.
	assert.True(t, fx.g.Cancel(old, 0))
	fx.answer(canceled(old, 100))
	assert.Equal(t, 0, fx.g.OpenOrders())
	fx.checkOpen(t)
}

func TestGatewayCancel(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	tok := fx.live(t, 'B', p99_99, 100, 5001)
	fx.requests(t)

	require.True(t, fx.g.Cancel(tok, 0))
	rs := fx.requests(t)
	require.Len(t, rs, 1)
	assert.Equal(t, ouch.TypeCancelOrder, rs[0].typ)
	assert.Equal(t, ouch.CancelOrder{Token: tokenOf(tok), Shares: 0}, rs[0].cancel)
	assert.Equal(t, QuoteSide{Token: tok, Price: p99_99, Qty: 100, Pending: true}, fx.in.quote.Bid)
	assert.Equal(t, stPendingCancel, fx.g.orders[tok].state)
	assert.Equal(t, uint64(1), fx.g.Stats().Cancels)
	assert.False(t, fx.g.Cancel(tok, 0), "already being cancelled")
	assert.False(t, fx.g.Cancel(999, 0), "unknown")

	// The exchange cancels part (say the rest was executing): the order is
	// live again with what is left.
	fx.answer(canceled(tok, 30))
	assert.Equal(t, stLive, fx.g.orders[tok].state)
	assert.Equal(t, QuoteSide{Token: tok, Price: p99_99, Qty: 70}, fx.in.quote.Bid)
	assert.Equal(t, int64(70), fx.open('B'))
	fx.checkOpen(t)

	require.True(t, fx.g.Cancel(tok, 0))
	fx.answer(canceled(tok, 1000)) // more than is left
	assert.Nil(t, fx.g.orders[tok])
	assert.Equal(t, QuoteSide{}, fx.in.quote.Bid)
	assert.Equal(t, int64(0), fx.open('B'))
	assert.Equal(t, uint64(2), fx.g.Stats().Canceled)
	fx.checkOpen(t)

	// Not connected: nothing to send.
	tok = fx.live(t, 'S', p100_01, 10, 5002)
	fx.g.disconnected()
	assert.False(t, fx.g.Cancel(tok, 0))
}

func TestGatewayUnsolicitedPartialCancel(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	tok := fx.live(t, 'B', p99_99, 100, 5001)
	fx.answer(canceled(tok, 40)) // the exchange reduced the live order
	assert.Equal(t, stLive, fx.g.orders[tok].state)
	assert.Equal(t, int64(60), fx.g.orders[tok].qty)
	assert.Equal(t, int64(60), fx.open('B'))
	fx.checkOpen(t)
}

func TestGatewayUnsolicitedPartialCancelQuote(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	tok := fx.live(t, 'B', p99_99, 100, 5001)
	fx.answer(canceled(tok, 40))
	assert.Equal(t, QuoteSide{Token: tok, Price: p99_99, Qty: 60}, fx.in.quote.Bid) // Qty stays 100
}

func TestGatewayCancelAll(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	a := fx.live(t, 'B', p99_99, 10, 5001)
	b := fx.live(t, 'S', p100_01, 10, 5002)
	c := fx.enter(t, 'B', p99_98, 10) // pending: not cancelled
	fx.requests(t)
	fx.g.CancelAll()
	rs := fx.requests(t)
	require.Len(t, rs, 2)
	assert.Equal(t, tokenOf(a), rs[0].cancel.Token)
	assert.Equal(t, tokenOf(b), rs[1].cancel.Token)
	assert.Equal(t, stPendingNew, fx.g.orders[c].state)
}

func TestGatewayUnknownAndMalformed(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	junk, err := ouch.NewToken("ABC")
	require.NoError(t, err)
	msgs := [][]byte{
		accepted(99, 'B', 1, 1, 1, ouch.OrderStateLive),
		replaced(99, 98, 'B', 1, 1, 1),
		rejected(99, ouch.RejectOther),
		canceled(99, 1),
		executed(99, 1, 1, 1),
		ouch.Canceled{Token: junk, Reason: ouch.CancelUser}.AppendTo(nil),
	}
	for _, m := range msgs {
		fx.answer(m)
	}
	st := fx.g.Stats()
	assert.Equal(t, uint64(6), st.Unknown)
	assert.Equal(t, uint64(0), st.Malformed)

	bad := [][]byte{
		nil,
		{ouch.TypeAccepted, 1},
		{ouch.TypeReplaced},
		{ouch.TypeRejected, 0, 0},
		{ouch.TypeCanceled},
		{ouch.TypeExecuted},
		{ouch.TypeSystemEvent},
		executed(1, 1, 1, 1)[:ouch.ExecutedLen-1],
	}
	for _, m := range bad {
		fx.answer(m)
	}
	// Messages that decode, or that the engine does not use, are not
	// malformed.
	fx.answer(ouch.SystemEvent{Timestamp: 1, Event: ouch.EventStartOfDay}.AppendTo(nil))
	fx.answer([]byte{'Z', 1, 2, 3})
	st = fx.g.Stats()
	assert.Equal(t, uint64(len(bad)), st.Malformed)
	assert.Equal(t, uint64(1+len(msgs)+len(bad)+2), fx.g.nextSeq, "every sequenced message counts")
	assert.Equal(t, uint64(3), st.Accepted+st.Replaced+st.Rejected, "decoded answers are counted even when unknown")
}

func TestGatewayNotConnected(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	fx.g.disconnected()
	assert.False(t, fx.g.Ready())
	_, err := fx.g.Enter(fx.in, 'B', p99_99, 1, 0, fx.now)
	var re *RiskError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, RejectNotConnected, re.Reason)
	assert.Equal(t, uint64(1), fx.g.RiskRejects()[RejectNotConnected])
	assert.Equal(t, 0, fx.g.OpenOrders())
	assert.Empty(t, fx.g.out)
	assert.Equal(t, uint64(1), fx.g.Stats().Disconnects)
	fx.g.disconnected()
	assert.Equal(t, uint64(1), fx.g.Stats().Disconnects, "counted once")
	fx.g.logout()
	assert.Empty(t, fx.g.out, "no logout without a session")
}

// reconnect drops the connection and makes a new one.
func (fx *gwFixture) reconnect() {
	fx.g.disconnected()
	fx.g.connected(fx.tr, fx.g.nextSeq, fx.now)
}

func TestGatewaySweepLostNew(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	lost := fx.enter(t, 'B', p99_99, 100)      // never reaches the exchange
	replayed := fx.enter(t, 'S', p100_01, 100) // reaches it; the answer is replayed
	fx.reconnect()
	assert.Equal(t, uint64(2), fx.g.Stats().Logins)
	assert.Empty(t, fx.g.out)

	// An answer to a request of the old connection does not sweep.
	fx.answer(accepted(replayed, 'S', p100_01, 100, 5001, ouch.OrderStateLive))
	assert.Equal(t, uint64(0), fx.g.Stats().Lost)
	assert.Equal(t, stPendingNew, fx.g.orders[lost].state)

	// Nor does an answer about an unknown order, or a fill of an old order.
	fx.answer(executed(replayed, 10, p100_01, 1))
	fx.answer(accepted(999, 'B', 1, 1, 1, ouch.OrderStateLive))
	assert.Equal(t, uint64(0), fx.g.Stats().Lost)

	// The first answer to a request of the new connection does.
	fresh := fx.enter(t, 'S', p100_02, 5)
	fx.answer(accepted(fresh, 'S', p100_02, 5, 5002, ouch.OrderStateLive))
	assert.Equal(t, uint64(1), fx.g.Stats().Lost)
	assert.Nil(t, fx.g.orders[lost])
	assert.Equal(t, QuoteSide{}, fx.in.quote.Bid)
	assert.Equal(t, int64(0), fx.open('B'))
	assert.Equal(t, stLive, fx.g.orders[replayed].state)
	assert.Equal(t, stLive, fx.g.orders[fresh].state)
	assert.True(t, fx.g.swept)
	fx.checkOpen(t)

	// The sweep runs once per connection.
	stale := fx.enter(t, 'B', p99_98, 1)
	fx.g.orders[stale].epoch-- // pretend it went out on the old connection
	fx.answer(executed(fresh, 1, p100_02, 2))
	assert.Equal(t, uint64(1), fx.g.Stats().Lost)
	assert.NotNil(t, fx.g.orders[stale])
}

func TestGatewaySweepLostCancel(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	tok := fx.live(t, 'B', p99_99, 100, 5001)
	require.True(t, fx.g.Cancel(tok, 0))
	fx.reconnect()
	fx.changed = nil
	fresh := fx.enter(t, 'S', p100_01, 10)
	fx.answer(accepted(fresh, 'S', p100_01, 10, 5002, ouch.OrderStateLive))
	assert.Equal(t, uint64(1), fx.g.Stats().Lost)
	assert.Equal(t, stLive, fx.g.orders[tok].state, "the order was never cancelled")
	assert.Equal(t, QuoteSide{Token: tok, Price: p99_99, Qty: 100}, fx.in.quote.Bid)
	assert.Contains(t, fx.changed, uint16(1))
	assert.True(t, fx.g.Cancel(tok, 0), "and can be cancelled again")
	fx.checkOpen(t)
}

func TestGatewaySweepLostReplace(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	old := fx.live(t, 'B', p99_99, 100, 5001)
	tok, err := fx.g.Replace(fx.in, old, p100_00, 200, 0, fx.now)
	require.NoError(t, err)
	fx.reconnect()
	fresh := fx.enter(t, 'S', p100_01, 10)
	fx.answer(accepted(fresh, 'S', p100_01, 10, 5002, ouch.OrderStateLive))
	assert.GreaterOrEqual(t, fx.g.Stats().Lost, uint64(1))
	assert.Nil(t, fx.g.orders[tok], "the replacement is gone")
	o := fx.g.orders[old]
	require.NotNil(t, o)
	assert.Equal(t, stLive, o.state, "the old order stands")
	assert.Zero(t, o.next)
	assert.Equal(t, QuoteSide{Token: old, Price: p99_99, Qty: 100}, fx.in.quote.Bid)
	assert.Equal(t, int64(100), fx.open('B'))
	assert.Equal(t, 2, fx.g.OpenOrders())
	fx.checkOpen(t)
}

func TestGatewaySweepLostReplaceCount(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	old := fx.live(t, 'B', p99_99, 100, 5001)
	_, err := fx.g.Replace(fx.in, old, p100_00, 200, 0, fx.now)
	require.NoError(t, err)
	fx.reconnect()
	fresh := fx.enter(t, 'S', p100_01, 10)
	fx.answer(accepted(fresh, 'S', p100_01, 10, 5002, ouch.OrderStateLive))
	assert.Equal(t, uint64(1), fx.g.Stats().Lost, "one lost request")
}

func TestGatewayDuplicateReplaced(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	old := fx.live(t, 'B', p99_99, 100, 5001)
	tok, err := fx.g.Replace(fx.in, old, p100_00, 100, 0, fx.now)
	require.NoError(t, err)
	fx.answer(replaced(tok, old, 'B', p100_00, 100, 5002))
	fx.answer(replaced(tok, old, 'B', p100_00, 100, 5002))
	assert.Equal(t, int64(100), fx.open('B')) // 200
	fx.answer(executed(tok, 100, p100_00, 1))
	assert.Equal(t, 0, fx.g.OpenOrders())
	assert.Equal(t, int64(0), fx.open('B')) // 100
}

func TestGatewaySweepLostReplaceOfFilledOrder(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	old := fx.live(t, 'B', p99_99, 100, 5001)
	tok, err := fx.g.Replace(fx.in, old, p100_00, 100, 0, fx.now)
	require.NoError(t, err)
	fx.reconnect()
	fx.answer(executed(old, 100, p99_99, 1)) // replayed: filled before the replace arrived (it never did)
	assert.Equal(t, QuoteSide{Token: tok, Price: p100_00, Qty: 100, Pending: true}, fx.in.quote.Bid)
	fresh := fx.enter(t, 'S', p100_01, 10)
	fx.answer(accepted(fresh, 'S', p100_01, 10, 5002, ouch.OrderStateLive))
	assert.Nil(t, fx.g.orders[tok], "the replacement was lost")
	assert.Equal(t, QuoteSide{}, fx.in.quote.Bid) // {Token: tok, Pending: true}: stuck
}

// The gateway tells the strategy about a done order before it forgets the
// order's shares, so a requote made in the callback is checked against
// open quantity that is no longer there.
func TestGatewayNotifyBeforeDone(t *testing.T) {
	for _, answer := range []string{"rejected", "dead", "lost"} {
		t.Run(answer, func(t *testing.T) {
			fx := newGwFixture(t, RiskLimits{MaxPosition: 100, MaxOrderRate: 1000, PriceBand: 0.05})
			fx.mk.addOrder(2, stockOf(2), 900_003, 'B', 1, p99_99)
			fx.mk.addOrder(2, stockOf(2), 900_004, 'S', 1, p100_01)
			fx.in = fx.mk.instrument(1) // instruments move when one is added
			s := newStrategy(StrategyConfig{QuoteSize: 100, HalfSpread: 1, SkewShares: 300, Requote: 1, ReviewHz: 1}, fx.mk, fx.g)
			s.now = fx.now
			fx.g.changed = func(in *instrument) { s.requote(in, 0) }
			s.requote(fx.in, 0)
			bid := fx.in.quote.Bid.Token
			require.NotZero(t, bid)
			switch answer {
			case "rejected":
				fx.answer(rejected(bid, ouch.RejectOther))
			case "dead":
				fx.answer(accepted(bid, 'B', p99_99, 100, 1, ouch.OrderStateDead))
			case "lost":
				fx.reconnect()
				other, err := fx.g.Enter(fx.mk.instrument(2), 'B', p99_99, 1, 0, fx.now)
				require.NoError(t, err)
				fx.answer(accepted(other, 'B', p99_99, 1, 2, ouch.OrderStateLive)) // sweeps the bid
			}
			assert.Equal(t, uint64(0), fx.g.RiskRejects()[RejectMaxPosition], "the shares were released first")
			assert.NotZero(t, fx.in.quote.Bid.Token, "the strategy re-entered its bid")
		})
	}
}

func TestGatewayFlush(t *testing.T) {
	rt := newRuntime(t)
	fx := newGwFixture(t, wideLimits)
	_, err := fx.g.Enter(fx.in, 'B', p99_99, 100, 400, fx.now) // caused by a packet read at 400
	require.NoError(t, err)
	_, err = fx.g.Enter(fx.in, 'S', p100_01, 100, 0, fx.now) // by nothing in particular
	require.NoError(t, err)
	fx.clock = 1400
	var now time.Time
	on(t, rt, func(task *asyncrt.Task) {
		fx.g.Flush(task)
		now = task.Now()
	})
	assert.Equal(t, 1, fx.tr.calls)
	rs := decodeRequests(t, fx.tr.buf)
	require.Len(t, rs, 2)
	assert.Equal(t, byte('B'), rs[0].enter.Side)
	assert.Equal(t, byte('S'), rs[1].enter.Side)
	assert.Empty(t, fx.g.out)
	assert.Empty(t, fx.g.outT0)
	assert.Equal(t, int64(1), fx.g.latency.Count(), "only the order with a t0 has a latency")
	assert.InDelta(t, 1000, fx.g.latency.Max(), 1)
	assert.Equal(t, now, fx.g.lastSent)

	// Nothing queued: nothing sent.
	on(t, rt, func(task *asyncrt.Task) { fx.g.Flush(task) })
	assert.Equal(t, 1, fx.tr.calls)

	// A flush already running takes what is queued meanwhile.
	fx.g.flushing = true
	fx.g.Cancel(1, 0)
	on(t, rt, func(task *asyncrt.Task) { fx.g.Flush(task) })
	assert.Equal(t, 1, fx.tr.calls)
	fx.g.flushing = false

	// A transport error drops the connection and what was queued.
	fx.tr.err = errors.New("broken pipe")
	_, err = fx.g.Enter(fx.in, 'B', p99_98, 1, 5, fx.now)
	require.NoError(t, err)
	on(t, rt, func(task *asyncrt.Task) { fx.g.Flush(task) })
	assert.Equal(t, 2, fx.tr.calls)
	assert.False(t, fx.g.Ready())
	assert.Equal(t, uint64(1), fx.g.Stats().Disconnects)
	assert.Empty(t, fx.g.out)
	assert.Equal(t, int64(1), fx.g.latency.Count(), "no latency for what was not written")

	// Not connected: Flush does nothing.
	fx.g.queue(soupbin.TypeClientHeartbeat, nil, 0)
	on(t, rt, func(task *asyncrt.Task) { fx.g.Flush(task) })
	assert.Equal(t, 2, fx.tr.calls)
}

func TestGatewayHeartbeatAndLogout(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	fx.g.lastSent = simStart
	fx.g.heartbeat(simStart.Add(999*time.Millisecond), time.Second)
	assert.Empty(t, fx.g.out, "sent recently")
	fx.g.heartbeat(simStart.Add(time.Second), time.Second)
	rs := fx.requests(t)
	require.Len(t, rs, 1)
	assert.Equal(t, soupbin.TypeClientHeartbeat, rs[0].typ)

	fx.enter(t, 'B', p99_99, 1)
	fx.g.heartbeat(simStart.Add(time.Hour), time.Second)
	assert.Len(t, fx.requests(t), 1, "no heartbeat while something is queued")

	fx.g.logout()
	rs = fx.requests(t)
	require.Len(t, rs, 1)
	assert.Equal(t, soupbin.TypeLogoutRequest, rs[0].typ)
}

// A Client Heartbeat leaves one interval after the last packet written,
// whenever that was: every write restarts the interval, the login included.
// The heartbeat task used to poll every half interval and send once a
// second had passed, so a heartbeat could leave up to one and a half
// intervals after the last packet; SoupBinTCP asks for one.
func TestGatewayBeatsOneIntervalAfterTheLastWrite(t *testing.T) {
	rt := newRuntime(t)
	fx := newGwFixture(t, wideLimits) // logged in at simStart
	on(t, rt, func(task *asyncrt.Task) {
		beats := asyncrt.SpawnFunc(task, func(t *asyncrt.Task) { fx.g.beat(t, time.Second) })
		task.SleepUntil(simStart.Add(2300 * time.Millisecond))
		fx.enter(t, 'B', p99_99, 100)
		fx.g.Flush(task)
		task.SleepUntil(simStart.Add(4500 * time.Millisecond))
		beats.Abort()
	})
	type sent struct {
		at  time.Duration
		typ byte
	}
	var got []sent
	for _, w := range fx.tr.writes {
		for _, r := range decodeRequests(t, w.data) {
			got = append(got, sent{w.at.Sub(simStart), r.typ})
		}
	}
	ms := time.Millisecond
	hb := soupbin.TypeClientHeartbeat
	assert.Equal(t, []sent{
		{1000 * ms, hb}, {2000 * ms, hb}, {2300 * ms, ouch.TypeEnterOrder}, {3300 * ms, hb}, {4300 * ms, hb},
	}, got)
}

// While another task's write is under way, beat sends nothing more and
// does not spin: it waits, and the next heartbeat runs from that write.
func TestGatewayBeatWaitsForAWriteUnderWay(t *testing.T) {
	rt := newRuntime(t)
	fx := newGwFixture(t, wideLimits)
	on(t, rt, func(task *asyncrt.Task) {
		fx.g.flushing = true // as if a write had been suspended since the login
		beats := asyncrt.SpawnFunc(task, func(t *asyncrt.Task) { fx.g.beat(t, time.Second) })
		task.SleepUntil(simStart.Add(1500 * time.Millisecond))
		assert.Empty(t, fx.tr.writes)
		assert.Len(t, fx.requests(t), 1, "one heartbeat queued, for the write under way to take along")
		// That write completes at 1.5 s.
		fx.g.flushing = false
		fx.g.lastSent = task.Now()
		task.SleepUntil(simStart.Add(2600 * time.Millisecond))
		beats.Abort()
	})
	require.Len(t, fx.tr.writes, 1)
	assert.Equal(t, 2500*time.Millisecond, fx.tr.writes[0].at.Sub(simStart))
	rs := decodeRequests(t, fx.tr.writes[0].data)
	require.Len(t, rs, 1)
	assert.Equal(t, soupbin.TypeClientHeartbeat, rs[0].typ)
}

func TestGatewayQueueWakesWriter(t *testing.T) {
	rt := newRuntime(t)
	fx := newGwFixture(t, wideLimits)
	on(t, rt, func(task *asyncrt.Task) {
		wake, wakeRx, err := asyncrt.NewChan[struct{}](rt, 1)
		require.NoError(t, err)
		fx.g.wake = wake
		fx.enter(t, 'B', p99_99, 1)
		fx.enter(t, 'S', p100_01, 1)
		assert.Equal(t, 1, wakeRx.Len(), "one wake-up is enough")
	})
}

func TestGatewayConnectedResets(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	fx.enter(t, 'B', p99_99, 1)
	other := &fakeTransport{}
	fx.g.connected(other, 42, fx.now)
	assert.Empty(t, fx.g.out, "requests of the old connection are dropped")
	assert.Equal(t, uint64(42), fx.g.nextSeq)
	assert.Equal(t, uint32(2), fx.g.epoch)
	assert.False(t, fx.g.swept)
	assert.Same(t, other, fx.g.tr)
}

func TestGatewayOrderReuse(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	for i := range 5 {
		tok := fx.enter(t, 'B', p99_99, 10)
		fx.answer(rejected(tok, ouch.RejectOther))
		assert.Equal(t, uint64(i+1), tok, "tokens are never reused")
	}
	assert.Len(t, fx.g.free, 1, "done orders are recycled")
	fx.checkOpen(t)
}

// exchangeModel is a small model of the exchange's order handling, to run
// random request and answer sequences through the gateway.
type exchangeModel struct {
	live     map[uint64]int64 // token: leaves
	inflight []request        // written on the current connection, not yet handled
	answers  [][]byte         // sequenced, not yet delivered
	nextRef  uint64
	match    uint64
}

func (x *exchangeModel) handle(rng *rand.Rand, r request) {
	tok := func(tk ouch.Token) uint64 {
		n, _ := tk.Uint()
		return n
	}
	switch r.typ {
	case ouch.TypeEnterOrder:
		m := r.enter
		t := tok(m.Token)
		switch k := rng.IntN(20); {
		case k < 2:
			x.answers = append(x.answers, rejected(t, ouch.RejectOther))
		case k < 3:
			x.nextRef++
			x.answers = append(x.answers, accepted(t, m.Side, int64(m.Price), int64(m.Shares), x.nextRef, ouch.OrderStateDead))
		default:
			x.nextRef++
			x.live[t] = int64(m.Shares)
			x.answers = append(x.answers, accepted(t, m.Side, int64(m.Price), int64(m.Shares), x.nextRef, ouch.OrderStateLive))
		}
	case ouch.TypeReplaceOrder:
		m := r.replace
		old, rep := tok(m.Existing), tok(m.Replacement)
		if _, ok := x.live[old]; !ok || rng.IntN(10) == 0 {
			x.answers = append(x.answers, rejected(rep, ouch.RejectOther))
			return
		}
		delete(x.live, old)
		x.live[rep] = int64(m.Shares)
		x.nextRef++
		x.answers = append(x.answers, replaced(rep, old, 'B', int64(m.Price), int64(m.Shares), x.nextRef))
	case ouch.TypeCancelOrder:
		t := tok(r.cancel.Token)
		if q, ok := x.live[t]; ok {
			delete(x.live, t)
			x.answers = append(x.answers, canceled(t, q))
		}
	}
}

// TestGatewayRandomAgainstModel runs random requests, answers, fills,
// unsolicited cancels and reconnects, checking the open quantities after
// every step and that the gateway and the exchange agree on the live
// orders whenever everything has been answered. After a reconnect the
// gateway keeps sending while the replayed answers are still arriving, as
// the strategy does.
func TestGatewayRandomAgainstModel(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		fx := newGwFixture(t, wideLimits)
		x := &exchangeModel{live: map[uint64]int64{}}
		quiet := 0
		for step := range 600 {
			switch k := rng.IntN(20); {
			case k < 4:
				side := "BS"[rng.IntN(2)]
				_, err := fx.g.Enter(fx.in, side, p99_99+rng.Int64N(3)*Tick, 1+rng.Int64N(100), 0, fx.now)
				require.NoError(t, err)
			case k < 7 && len(fx.g.orders) > 0:
				toks := make([]uint64, 0, len(fx.g.orders))
				for tok := range fx.g.orders {
					toks = append(toks, tok)
				}
				slices.Sort(toks)
				tok := toks[rng.IntN(len(toks))]
				if rng.IntN(2) == 0 {
					_, err := fx.g.Replace(fx.in, tok, p99_99+rng.Int64N(3)*Tick, 1+rng.Int64N(100), 0, fx.now)
					require.NoError(t, err)
				} else {
					fx.g.Cancel(tok, 0)
				}
			case k < 11 && len(x.inflight) > 0:
				n := 1 + rng.IntN(len(x.inflight))
				for _, r := range x.inflight[:n] {
					x.handle(rng, r)
				}
				x.inflight = x.inflight[n:]
			case k < 13 && len(x.live) > 0:
				toks := make([]uint64, 0, len(x.live))
				for tok := range x.live {
					toks = append(toks, tok)
				}
				slices.Sort(toks)
				tok := toks[rng.IntN(len(toks))]
				n := 1 + rng.Int64N(x.live[tok])
				if rng.IntN(3) == 0 {
					x.answers = append(x.answers, canceled(tok, n))
				} else {
					x.match++
					x.answers = append(x.answers, executed(tok, n, p100_00, x.match))
				}
				if x.live[tok] -= n; x.live[tok] == 0 {
					delete(x.live, tok)
				}
			case k < 18 && len(x.answers) > 0:
				n := 1 + rng.IntN(len(x.answers))
				for _, a := range x.answers[:n] {
					fx.answer(a)
				}
				x.answers = x.answers[n:]
			case k == 19:
				// The connection drops: requests the exchange has not
				// handled are lost; its answers are replayed on the next.
				x.inflight = nil
				fx.reconnect()
			}
			x.inflight = append(x.inflight, fx.requests(t)...)
			fx.checkOpen(t)
			require.Zero(t, fx.g.Stats().Unknown, "seed %d step %d", seed, step)

			if len(x.inflight) == 0 && len(x.answers) == 0 && fx.g.swept {
				quiet++
				require.Len(t, fx.g.orders, len(x.live), "seed %d step %d: orders", seed, step)
				for tok, q := range x.live {
					o := fx.g.orders[tok]
					require.NotNil(t, o, "seed %d step %d: token %d live at the exchange", seed, step, tok)
					require.Equal(t, stLive, o.state, "seed %d step %d: token %d", seed, step, tok)
					require.Equal(t, q, o.qty, "seed %d step %d: token %d", seed, step, tok)
				}
			}
		}
		assert.NotZero(t, quiet, "seed %d never settled", seed)
		assert.NotZero(t, fx.g.Stats().Lost, "seed %d lost nothing", seed)
	}
}

func TestGatewaySweepOnReplayedFill(t *testing.T) {
	fx := newGwFixture(t, wideLimits)
	y := fx.live(t, 'B', p99_99, 100, 5001)
	z := fx.enter(t, 'S', p100_01, 100)
	// The exchange fills 10 of Y and accepts Z, but the connection drops
	// before those answers arrive.
	fx.reconnect()
	// On the new connection the strategy pulls Y before the replay is in.
	require.True(t, fx.g.Cancel(y, 0))
	// The replay: the fill of Y, then Z's acceptance.
	fx.answer(executed(y, 10, p99_99, 1))
	fx.answer(accepted(z, 'S', p100_01, 100, 5002, ouch.OrderStateLive))
	assert.Equal(t, uint64(0), fx.g.Stats().Lost)
	assert.Equal(t, uint64(0), fx.g.Stats().Unknown)
	require.NotNil(t, fx.g.orders[z], "Z is live at the exchange")
	assert.Equal(t, stLive, fx.g.orders[z].state)
	assert.Equal(t, int64(100), fx.open('S'))
}
