package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/examples/trading/internal/ouch"
)

var testStrategy = StrategyConfig{QuoteSize: 100, HalfSpread: 1, SkewShares: 300, Requote: 1, ReviewHz: 20}

type stratFixture struct {
	*gwFixture
	s *Strategy
}

func newStratFixture(t *testing.T, cfg StrategyConfig, limits RiskLimits) *stratFixture {
	t.Helper()
	fx := &stratFixture{gwFixture: newGwFixture(t, limits)}
	fx.s = newStrategy(cfg, fx.mk, fx.g)
	fx.s.now = fx.now
	return fx
}

func (fx *stratFixture) setBook(bid, ask int64) {
	fx.in.book.Bids, fx.in.book.Asks = nil, nil
	if bid > 0 {
		fx.in.book.Bids = []Level{lv(bid, 100, 1)}
	}
	if ask > 0 {
		fx.in.book.Asks = []Level{lv(ask, 100, 1)}
	}
}

// quoted is what one requote sent: the entered (or replaced) prices per
// side, and the cancelled tokens.
type quoted struct {
	bid, ask      int64
	replaces      int
	cancels       []uint64
	enters, total int
}

func (fx *stratFixture) requote(t *testing.T) quoted {
	t.Helper()
	fx.s.requote(fx.in, 0)
	var q quoted
	for _, r := range fx.requests(t) {
		q.total++
		switch r.typ {
		case ouch.TypeEnterOrder:
			q.enters++
			if r.enter.Side == 'B' {
				q.bid = int64(r.enter.Price)
			} else {
				q.ask = int64(r.enter.Price)
			}
		case ouch.TypeReplaceOrder:
			q.replaces++
			n, err := r.replace.Existing.Uint()
			require.NoError(t, err)
			if fx.g.orders[n].side == 'B' {
				q.bid = int64(r.replace.Price)
			} else {
				q.ask = int64(r.replace.Price)
			}
		case ouch.TypeCancelOrder:
			n, err := r.cancel.Token.Uint()
			require.NoError(t, err)
			q.cancels = append(q.cancels, n)
		}
	}
	return q
}

// acceptAll has the exchange accept every pending new order and replace.
func (fx *stratFixture) acceptAll() {
	for _, qs := range []*QuoteSide{&fx.in.quote.Bid, &fx.in.quote.Ask} {
		o := fx.g.orders[qs.Token]
		if o == nil || o.state != stPendingNew {
			continue
		}
		if o.prev != 0 {
			fx.answer(replaced(o.token, o.prev, o.side, qs.Price, qs.Qty, 7000+o.token))
		} else {
			fx.answer(accepted(o.token, o.side, o.price, o.qty, 7000+o.token, ouch.OrderStateLive))
		}
	}
}

func TestStrategyQuotesAroundMid(t *testing.T) {
	fx := newStratFixture(t, testStrategy, DefaultRiskLimits)
	q := fx.requote(t)
	assert.Equal(t, quoted{bid: p99_99, ask: p100_01, enters: 2, total: 2}, q)
	assert.Equal(t, QuoteSide{Token: 1, Price: p99_99, Qty: 100, Pending: true}, fx.in.quote.Bid)
	assert.Equal(t, QuoteSide{Token: 2, Price: p100_01, Qty: 100, Pending: true}, fx.in.quote.Ask)

	// Wider, around a mid between ticks: bid rounds down, ask up.
	cfg := testStrategy
	cfg.HalfSpread = 2
	fx = newStratFixture(t, cfg, DefaultRiskLimits)
	fx.setBook(p99_99, p100_02) // mid 100.005
	q = fx.requote(t)
	assert.Equal(t, int64(p99_98), q.bid)
	assert.Equal(t, int64(p100_03), q.ask)
}

func TestStrategyWaitsWhilePending(t *testing.T) {
	fx := newStratFixture(t, testStrategy, DefaultRiskLimits)
	fx.requote(t)
	fx.setBook(p100_01, p100_03) // moved: but both sides await the exchange
	assert.Equal(t, quoted{}, fx.requote(t))
	fx.setBook(0, 0) // gone: pending orders cannot be cancelled yet
	assert.Equal(t, quoted{}, fx.requote(t))
	fx.in.book.Stale = true
	assert.Equal(t, quoted{}, fx.requote(t))
}

func TestStrategyReplacesWhenPriceMoves(t *testing.T) {
	fx := newStratFixture(t, testStrategy, DefaultRiskLimits)
	fx.requote(t)
	fx.acceptAll()
	assert.Equal(t, quoted{}, fx.requote(t), "nothing moved")

	fx.setBook(p100_00, p100_02) // mid up a tick
	q := fx.requote(t)
	assert.Equal(t, quoted{bid: p100_00, ask: p100_02, replaces: 2, total: 2}, q)
	assert.True(t, fx.in.quote.Bid.Pending)
	assert.Equal(t, int64(p100_00), fx.in.quote.Bid.Price)
	assert.Equal(t, quoted{}, fx.requote(t), "replaces pending")
	fx.acceptAll()
	assert.False(t, fx.in.quote.Bid.Pending)
	assert.Equal(t, quoted{}, fx.requote(t))

	// With a threshold of two ticks, one tick is not enough.
	cfg := testStrategy
	cfg.Requote = 2
	fx = newStratFixture(t, cfg, DefaultRiskLimits)
	fx.requote(t)
	fx.acceptAll()
	fx.setBook(p100_00, p100_02)
	assert.Equal(t, quoted{}, fx.requote(t), "one tick")
	fx.setBook(p100_01, p100_03)
	assert.Equal(t, quoted{bid: p100_01, ask: p100_03, replaces: 2, total: 2}, fx.requote(t), "two ticks")
}

func TestStrategySkew(t *testing.T) {
	cases := []struct {
		pos      int64
		bid, ask int64
	}{
		{0, p99_99, p100_01},
		{299, p99_99, p100_01}, // less than SkewShares: no skew
		{300, p99_98, p100_00}, // long: both quotes a tick lower
		{600, p99_98 - Tick, p100_00 - Tick},
		{-300, p100_00, p100_02}, // short: a tick higher
	}
	for _, c := range cases {
		fx := newStratFixture(t, testStrategy, DefaultRiskLimits)
		fx.setBook(p99_98-5*Tick, p100_02+5*Tick) // wide, so nothing crosses; mid 100.00
		fx.in.pos.Qty = c.pos
		q := fx.requote(t)
		assert.Equal(t, c.bid, q.bid, "bid at position %d", c.pos)
		assert.Equal(t, c.ask, q.ask, "ask at position %d", c.pos)
	}
}

func TestStrategyNeverCrosses(t *testing.T) {
	// Short 900: skewed three ticks up, the bid would be 100.02, through the
	// 100.01 ask: it rests a tick below it.
	fx := newStratFixture(t, testStrategy, DefaultRiskLimits)
	fx.in.pos.Qty = -900
	q := fx.requote(t)
	assert.Equal(t, int64(p100_00), q.bid)
	assert.Equal(t, int64(p100_01+3*Tick), q.ask)

	// Long 900: the ask would be 99.98, through the 99.99 bid.
	fx = newStratFixture(t, testStrategy, DefaultRiskLimits)
	fx.in.pos.Qty = 900
	q = fx.requote(t)
	assert.Equal(t, int64(p99_99-3*Tick), q.bid)
	assert.Equal(t, int64(p100_00), q.ask)

	// A locked book (bid = ask): the quotes rest a tick either side.
	fx = newStratFixture(t, testStrategy, DefaultRiskLimits)
	fx.setBook(p100_00, p100_00)
	q = fx.requote(t)
	assert.Equal(t, int64(p99_99), q.bid)
	assert.Equal(t, int64(p100_01), q.ask)
}

func TestStrategyNeverCrossesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	limits := RiskLimits{MaxPosition: 1_000_000, MaxOrderRate: 1_000_000, PriceBand: 0.5}
	for i := range 500 {
		cfg := StrategyConfig{
			QuoteSize: 100, HalfSpread: 1 + rng.Int64N(5), SkewShares: 100 + rng.Int64N(500),
			Requote: 1, ReviewHz: 20,
		}
		fx := newStratFixture(t, cfg, limits)
		bid := int64(p100_00) + (rng.Int64N(41)-20)*Tick
		ask := bid + (rng.Int64N(11)-3)*Tick // may be locked or crossed
		fx.setBook(bid, ask)
		fx.in.pos.Qty = rng.Int64N(4001) - 2000
		q := fx.requote(t)
		if q.bid != 0 {
			assert.Less(t, q.bid, ask, "case %d: bid through the ask", i)
			assert.Zero(t, q.bid%Tick, "case %d: bid off the tick", i)
			assert.Positive(t, q.bid, "case %d", i)
		}
		if q.ask != 0 {
			assert.Greater(t, q.ask, bid, "case %d: ask through the bid", i)
			assert.Zero(t, q.ask%Tick, "case %d: ask off the tick", i)
		}
		if q.bid != 0 && q.ask != 0 {
			assert.Less(t, q.bid, q.ask, "case %d", i)
		}
	}
}

func TestStrategyPullsQuotes(t *testing.T) {
	for _, c := range []struct {
		name string
		prep func(fx *stratFixture)
	}{
		{"stale", func(fx *stratFixture) { fx.in.book.Stale = true }},
		{"one-sided", func(fx *stratFixture) { fx.setBook(p99_99, 0) }},
		{"empty", func(fx *stratFixture) { fx.setBook(0, 0) }},
		{"disabled", func(fx *stratFixture) { fx.s.enabled = false }},
		{"no price room", func(fx *stratFixture) { fx.setBook(100, 200) }}, // the bid would be 0
	} {
		t.Run(c.name, func(t *testing.T) {
			fx := newStratFixture(t, testStrategy, DefaultRiskLimits)
			fx.requote(t)
			fx.acceptAll()
			bid, ask := fx.in.quote.Bid.Token, fx.in.quote.Ask.Token
			c.prep(fx)
			q := fx.requote(t)
			assert.Equal(t, []uint64{bid, ask}, q.cancels)
			assert.Equal(t, 2, q.total)
			assert.True(t, fx.in.quote.Bid.Pending)
			assert.True(t, fx.in.quote.Ask.Pending)
			assert.Equal(t, quoted{}, fx.requote(t), "cancels pending")
			fx.answer(canceled(bid, 100))
			fx.answer(canceled(ask, 100))
			assert.Equal(t, quoted{}, fx.requote(t), "nothing left to pull")
			assert.Equal(t, 0, fx.g.OpenOrders())
		})
	}
}

func TestStrategyNotConnected(t *testing.T) {
	fx := newStratFixture(t, testStrategy, DefaultRiskLimits)
	fx.requote(t)
	fx.acceptAll()
	fx.g.disconnected()
	assert.Equal(t, quoted{}, fx.requote(t), "cannot cancel without a session")
	assert.Zero(t, fx.g.RiskRejects()[RejectNotConnected], "and does not try to enter")
}

func TestStrategyMaxPosition(t *testing.T) {
	limits := RiskLimits{MaxPosition: 2000, MaxOrderRate: 1000, PriceBand: 0.5}
	cfg := testStrategy
	cfg.SkewShares = 1_000_000 // no skew

	fx := newStratFixture(t, cfg, limits)
	fx.requote(t)
	fx.acceptAll()
	bid := fx.in.quote.Bid.Token
	fx.in.pos.Qty = 1901 // another 100 would make 2001
	q := fx.requote(t)
	assert.Equal(t, []uint64{bid}, q.cancels, "the bid is pulled")
	assert.Equal(t, 1, q.total, "the ask stays")
	fx.answer(canceled(bid, 100))
	assert.Equal(t, quoted{}, fx.requote(t), "no bid while long")

	fx.in.pos.Qty = 1900 // exactly to the limit: quote again
	assert.Equal(t, quoted{bid: p99_99, enters: 1, total: 1}, fx.requote(t))

	fx = newStratFixture(t, cfg, limits)
	fx.in.pos.Qty = -1901
	assert.Equal(t, quoted{bid: p99_99, enters: 1, total: 1}, fx.requote(t), "no ask while short")
}

func TestStrategyRiskRefusalsCounted(t *testing.T) {
	fx := newStratFixture(t, testStrategy, RiskLimits{MaxPosition: 2000, MaxOrderRate: 1000, PriceBand: 0.00001})
	assert.Equal(t, quoted{}, fx.requote(t))
	assert.Equal(t, uint64(2), fx.g.RiskRejects()[RejectPriceBand])
	assert.Equal(t, Quote{}, *fx.in.quote)
}

func TestStrategyUpdateReviewsEveryInstrument(t *testing.T) {
	fx := newStratFixture(t, testStrategy, DefaultRiskLimits)
	fx.mk.addOrder(2, stockOf(2), 900_003, 'B', 1, p99_99)
	fx.mk.addOrder(2, stockOf(2), 900_004, 'S', 1, p100_01)
	fx.mk.addOrder(3, stockOf(3), 900_005, 'B', 1, p99_99) // one-sided: not quoted
	fx.s.Update(fx.w)
	rs := fx.requests(t)
	require.Len(t, rs, 4)
	stocks := map[string]int{}
	for _, r := range rs {
		stocks[r.enter.Stock.String()]++
	}
	assert.Equal(t, map[string]int{"AAPL": 2, "MSFT": 2}, stocks)
	assert.True(t, fx.s.now.IsZero(), "outside a schedule the tick time is zero")
}

func TestStrategyConfigValidate(t *testing.T) {
	require.NoError(t, DefaultStrategy.validate())
	for _, mod := range []func(c *StrategyConfig){
		func(c *StrategyConfig) { c.QuoteSize = 0 },
		func(c *StrategyConfig) { c.HalfSpread = 0 },
		func(c *StrategyConfig) { c.SkewShares = -1 },
		func(c *StrategyConfig) { c.Requote = 0 },
		func(c *StrategyConfig) { c.ReviewHz = 0 },
		func(c *StrategyConfig) { c.ReviewHz = 10_001 },
	} {
		c := DefaultStrategy
		mod(&c)
		assert.Error(t, c.validate(), "%+v", c)
	}
}

func TestTickRounding(t *testing.T) {
	assert.Equal(t, int64(999_900), floorTick(999_999))
	assert.Equal(t, int64(1_000_000), floorTick(1_000_000))
	assert.Equal(t, int64(1_000_000), ceilTick(999_901))
	assert.Equal(t, int64(1_000_000), ceilTick(1_000_000))
	assert.Equal(t, int64(5), abs(-5))
	assert.Equal(t, int64(5), abs(5))
}
