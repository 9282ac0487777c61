package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// riskInstrument is an instrument with a 99.99 x 100.01 book (mid 100.00)
// and a position of pos shares.
func riskInstrument(pos int64) *instrument {
	return &instrument{
		info: &Instrument{Locate: 1, Symbol: "AAPL", stock: stockOf(1)},
		book: &Book{Bids: []Level{lv(p99_99, 100, 1)}, Asks: []Level{lv(p100_01, 100, 1)}},
		pos:  &Position{Qty: pos},
	}
}

func reasonOf(t *testing.T, err error) RejectReason {
	t.Helper()
	var re *RiskError
	require.ErrorAs(t, err, &re)
	return re.Reason
}

func TestRiskMaxPosition(t *testing.T) {
	r := newRisk(RiskLimits{MaxPosition: 1000, MaxOrderRate: 1000, PriceBand: 0.05})
	now := simStart
	cases := []struct {
		name       string
		pos        int64
		side       byte
		qty, open  int64
		wantRefuse bool
	}{
		{"buy to the limit", 0, 'B', 500, 500, false},
		{"buy past the limit with open orders", 0, 'B', 501, 500, true},
		{"buy past the limit from a long position", 900, 'B', 101, 0, true},
		{"buy from a short position", -1000, 'B', 2000, 0, false},
		{"sell to the limit", 0, 'S', 400, 600, false},
		{"sell past the limit with open orders", 0, 'S', 401, 600, true},
		{"sell past the limit from a short position", -900, 'S', 101, 0, true},
		{"sell from a long position", 800, 'S', 1800, 0, false},
		{"sell long position past the limit", 800, 'S', 1801, 0, true},
	}
	refused := uint64(0)
	for _, c := range cases {
		price := int64(p99_99)
		if c.side == 'S' {
			price = p100_01
		}
		err := r.check(riskInstrument(c.pos), c.side, price, c.qty, c.open, now)
		if c.wantRefuse {
			refused++
			assert.Equal(t, RejectMaxPosition, reasonOf(t, err), c.name)
		} else {
			assert.NoError(t, err, c.name)
		}
	}
	assert.Equal(t, refused, r.Rejects[RejectMaxPosition])
}

func TestRiskOrderRate(t *testing.T) {
	r := newRisk(RiskLimits{MaxPosition: 1_000_000, MaxOrderRate: 4, PriceBand: 0.05})
	in := riskInstrument(0)
	check := func(at time.Duration) error { return r.check(in, 'B', p99_99, 1, 0, simStart.Add(at)) }

	for i := range 4 {
		require.NoError(t, check(0), "order %d of a full bucket", i)
	}
	assert.Equal(t, RejectOrderRate, reasonOf(t, check(0)))
	assert.Equal(t, RejectOrderRate, reasonOf(t, check(200*time.Millisecond)), "0.8 of a token")
	require.NoError(t, check(250*time.Millisecond), "refilled one token (4/s)")
	assert.Equal(t, RejectOrderRate, reasonOf(t, check(250*time.Millisecond)))
	// A long pause refills the bucket to one second's worth, no more.
	for i := range 4 {
		require.NoError(t, check(time.Hour), "order %d after a pause", i)
	}
	assert.Equal(t, RejectOrderRate, reasonOf(t, check(time.Hour)))
	assert.Equal(t, uint64(4), r.Rejects[RejectOrderRate])

	// Refusals for other reasons take no token.
	r = newRisk(RiskLimits{MaxPosition: 10, MaxOrderRate: 1, PriceBand: 0.05})
	for range 5 {
		assert.Equal(t, RejectMaxPosition, reasonOf(t, r.check(in, 'B', p99_99, 11, 0, simStart)))
		assert.Equal(t, RejectPriceBand, reasonOf(t, r.check(in, 'B', 1, 1, 0, simStart)))
	}
	require.NoError(t, r.check(in, 'B', p99_99, 1, 0, simStart))
}

func TestRiskClockGoingBack(t *testing.T) {
	r := newRisk(RiskLimits{MaxPosition: 1_000_000, MaxOrderRate: 10, PriceBand: 0.05})
	in := riskInstrument(0)
	require.NoError(t, r.check(in, 'B', p99_99, 1, 0, simStart.Add(time.Second))) // 9 tokens left
	// A review tick due a second earlier, run late: 9 - 10 tokens.
	assert.NoError(t, r.check(in, 'B', p99_99, 1, 0, simStart)) // refused: order rate
}

func TestRiskPriceBand(t *testing.T) {
	r := newRisk(RiskLimits{MaxPosition: 1_000_000, MaxOrderRate: 1000, PriceBand: 0.05})
	in := riskInstrument(0) // mid 100.00
	for _, c := range []struct {
		price int64
		ok    bool
	}{
		{1_050_000, true}, {1_050_001, false}, {950_000, true}, {949_999, false}, {p100_00, true}, {1, false}, {1 << 40, false},
	} {
		err := r.check(in, 'S', c.price, 1, 0, simStart)
		if c.ok {
			assert.NoError(t, err, "price %d", c.price)
		} else {
			assert.Equal(t, RejectPriceBand, reasonOf(t, err), "price %d", c.price)
		}
	}
	assert.Equal(t, uint64(4), r.Rejects[RejectPriceBand])
}

func TestRiskNoPrice(t *testing.T) {
	r := newRisk(DefaultRiskLimits)
	oneSided := riskInstrument(0)
	oneSided.book.Asks = nil
	assert.Equal(t, RejectNoPrice, reasonOf(t, r.check(oneSided, 'B', p99_99, 1, 0, simStart)))
	empty := riskInstrument(0)
	empty.book.Bids, empty.book.Asks = nil, nil
	assert.Equal(t, RejectNoPrice, reasonOf(t, r.check(empty, 'B', p99_99, 1, 0, simStart)))
	stale := riskInstrument(0)
	stale.book.Stale = true
	assert.Equal(t, RejectNoPrice, reasonOf(t, r.check(stale, 'S', p100_01, 1, 0, simStart)))
	assert.Equal(t, uint64(3), r.Rejects[RejectNoPrice])
	assert.Equal(t, float64(DefaultRiskLimits.MaxOrderRate), r.tokens, "no token taken")
}

func TestRiskNotConnectedThroughGateway(t *testing.T) {
	fx := newGwFixture(t, DefaultRiskLimits)
	fx.g.disconnected()
	_, err := fx.g.Enter(fx.in, 'B', p99_99, 1, 0, fx.now)
	assert.Equal(t, RejectNotConnected, reasonOf(t, err))
	_, err = fx.g.Replace(fx.in, 1, p99_99, 1, 0, fx.now)
	assert.Equal(t, RejectNotConnected, reasonOf(t, err))
	assert.Equal(t, [numRejectReasons]uint64{RejectNotConnected: 2}, fx.g.RiskRejects())
}

func TestRiskGatewayCountsOpenOrders(t *testing.T) {
	fx := newGwFixture(t, RiskLimits{MaxPosition: 300, MaxOrderRate: 1000, PriceBand: 0.05})
	fx.enter(t, 'B', p99_99, 200)
	_, err := fx.g.Enter(fx.in, 'B', p99_98, 101, 0, fx.now)
	assert.Equal(t, RejectMaxPosition, reasonOf(t, err), "200 open + 101 > 300")
	fx.enter(t, 'B', p99_98, 100)
	fx.enter(t, 'S', p100_01, 300) // the other side has its own room
	_, err = fx.g.Enter(fx.in, 'S', p100_01, 1, 0, fx.now)
	assert.Equal(t, RejectMaxPosition, reasonOf(t, err))
	assert.Equal(t, uint64(2), fx.g.RiskRejects()[RejectMaxPosition])
	assert.Equal(t, 3, fx.g.OpenOrders(), "refused orders are not kept")
}

func TestRiskRefusalsDoNotAllocate(t *testing.T) {
	r := newRisk(RiskLimits{MaxPosition: 100, MaxOrderRate: 1, PriceBand: 0.05})
	in := riskInstrument(0)
	noPrice := riskInstrument(0)
	noPrice.book.Stale = true
	require.NoError(t, r.check(in, 'B', p99_99, 1, 0, simStart)) // empties the bucket
	for _, c := range []struct {
		reason RejectReason
		check  func() error
	}{
		{RejectMaxPosition, func() error { return r.check(in, 'B', p99_99, 101, 0, simStart) }},
		{RejectOrderRate, func() error { return r.check(in, 'B', p99_99, 1, 0, simStart) }},
		{RejectPriceBand, func() error { return r.check(in, 'B', 1, 1, 0, simStart) }},
		{RejectNoPrice, func() error { return r.check(noPrice, 'B', p99_99, 1, 0, simStart) }},
		{RejectNotConnected, func() error { return r.refuse(RejectNotConnected) }},
	} {
		var err error
		allocs := testing.AllocsPerRun(100, func() { err = c.check() })
		assert.Equal(t, c.reason, reasonOf(t, err))
		assert.Zero(t, allocs, "refusal for %v allocates", c.reason)
	}

	// Through the gateway too.
	fx := newGwFixture(t, RiskLimits{MaxPosition: 100, MaxOrderRate: 1, PriceBand: 0.05})
	allocs := testing.AllocsPerRun(100, func() { _, _ = fx.g.Enter(fx.in, 'B', p99_99, 101, 0, fx.now) })
	assert.Zero(t, allocs, "a refused Enter allocates")
	fx.g.disconnected()
	allocs = testing.AllocsPerRun(100, func() { _, _ = fx.g.Enter(fx.in, 'B', p99_99, 1, 0, fx.now) })
	assert.Zero(t, allocs, "an Enter refused for no session allocates")
	assert.Equal(t, uint64(101), fx.g.RiskRejects()[RejectMaxPosition])
	assert.Equal(t, uint64(101), fx.g.RiskRejects()[RejectNotConnected])
}

func TestRiskErrors(t *testing.T) {
	for r := range numRejectReasons {
		err := riskErrors[r]
		assert.Equal(t, r, err.Reason)
		assert.Contains(t, err.Error(), "engine: order refused: ")
		assert.Contains(t, err.Error(), r.String())
		var re *RiskError
		assert.True(t, errors.As(error(err), &re))
	}
	assert.Equal(t, "max position", RejectMaxPosition.String())
	assert.Equal(t, "no order session", RejectNotConnected.String())
	assert.Equal(t, "RejectReason(9)", RejectReason(9).String())
}

func TestRiskLimitsValidate(t *testing.T) {
	require.NoError(t, DefaultRiskLimits.validate())
	for _, l := range []RiskLimits{
		{MaxPosition: 0, MaxOrderRate: 1, PriceBand: 0.1},
		{MaxPosition: 1, MaxOrderRate: 0, PriceBand: 0.1},
		{MaxPosition: 1, MaxOrderRate: 1, PriceBand: 0},
		{MaxPosition: 1, MaxOrderRate: 1, PriceBand: 1},
		{MaxPosition: -1, MaxOrderRate: 1, PriceBand: 0.1},
	} {
		assert.Error(t, l.validate(), "%+v", l)
	}
}
