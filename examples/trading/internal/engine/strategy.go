package engine

import (
	"fmt"
	"time"

	"github.com/mlange-42/arche/generic"

	"github.com/orrery-go/orrery/world"
)

// Tick is the exchange's price increment: one cent in price units.
const Tick = 100

// StrategyConfig tunes the market maker.
type StrategyConfig struct {
	// QuoteSize is the size of each quote in shares.
	QuoteSize int64
	// HalfSpread is how far each quote sits from the mid, in ticks.
	HalfSpread int64
	// SkewShares is the inventory that moves both quotes one tick against
	// the position, so the maker leans towards flat.
	SkewShares int64
	// Requote is how far, in ticks, the wanted price must move from a
	// working quote before the quote is replaced.
	Requote int64
	// ReviewHz is the rate of the periodic review of every instrument.
	ReviewHz int
}

// DefaultStrategy is the strategy the example runs with.
var DefaultStrategy = StrategyConfig{QuoteSize: 100, HalfSpread: 1, SkewShares: 300, Requote: 1, ReviewHz: 20}

func (c StrategyConfig) validate() error {
	switch {
	case c.QuoteSize <= 0:
		return fmt.Errorf("engine: QuoteSize = %d must be positive", c.QuoteSize)
	case c.HalfSpread <= 0:
		return fmt.Errorf("engine: HalfSpread = %d must be positive", c.HalfSpread)
	case c.SkewShares <= 0:
		return fmt.Errorf("engine: SkewShares = %d must be positive", c.SkewShares)
	case c.Requote <= 0:
		return fmt.Errorf("engine: Requote = %d must be positive", c.Requote)
	case c.ReviewHz <= 0 || c.ReviewHz > 10_000:
		return fmt.Errorf("engine: ReviewHz = %d, want 1..10000", c.ReviewHz)
	}
	return nil
}

// Strategy is a market maker: it quotes a bid and an ask around each book's
// mid, skewed against its inventory. It reacts at once to book changes and
// fills, and a system on a fixed-rate schedule reviews every instrument,
// pulling quotes from stale books and catching anything the reactions
// skipped.
type Strategy struct {
	cfg     StrategyConfig
	market  *Market
	gw      *Gateway
	filter  generic.Filter1[Instrument]
	enabled bool
	now     time.Time // the current reaction's time
}

func newStrategy(cfg StrategyConfig, market *Market, gw *Gateway) *Strategy {
	return &Strategy{cfg: cfg, market: market, gw: gw, filter: *generic.NewFilter1[Instrument](), enabled: true}
}

// Update is the periodic review, run by the runtime on the strategy's
// schedule.
func (s *Strategy) Update(w *world.World) {
	tick, _ := w.CurrentTick()
	s.now = tick.Time
	q := s.filter.Query(w.ECS())
	for q.Next() {
		if in := s.market.instrument(q.Get().Locate); in != nil {
			s.requote(in, 0)
		}
	}
}

func floorTick(p int64) int64 { return p - p%Tick }
func ceilTick(p int64) int64  { return floorTick(p + Tick - 1) }

// requote brings in's quotes to where they should be. t0 is the read time
// of the feed packet that caused it, for the latency histogram.
func (s *Strategy) requote(in *instrument, t0 int64) {
	mid, ok := in.book.Mid()
	if !s.enabled || !ok || !s.gw.Ready() {
		s.pull(in, t0)
		return
	}
	skew := -(in.pos.Qty / s.cfg.SkewShares) * Tick
	bid := floorTick(mid - s.cfg.HalfSpread*Tick + skew)
	ask := ceilTick(mid + s.cfg.HalfSpread*Tick + skew)
	// Quotes rest: never price one through the other side of the market.
	if best, ok := in.book.BestAsk(); ok && bid >= best.Price {
		bid = best.Price - Tick
	}
	if best, ok := in.book.BestBid(); ok && ask <= best.Price {
		ask = best.Price + Tick
	}
	if bid <= 0 || bid >= ask {
		s.pull(in, t0)
		return
	}
	max := s.gw.risk.limits.MaxPosition
	size := s.cfg.QuoteSize
	s.side(in, &in.quote.Bid, 'B', in.pos.Qty+size <= max, bid, t0)
	s.side(in, &in.quote.Ask, 'S', in.pos.Qty-size >= -max, ask, t0)
}

func (s *Strategy) side(in *instrument, q *QuoteSide, side byte, want bool, price, t0 int64) {
	switch {
	case q.Pending:
		// wait for the exchange's answer
	case !want:
		if q.Token != 0 {
			s.gw.Cancel(q.Token, t0)
		}
	case q.Token == 0:
		_, _ = s.gw.Enter(in, side, price, s.cfg.QuoteSize, t0, s.now) // refusals are counted
	case abs(q.Price-price) >= s.cfg.Requote*Tick:
		_, _ = s.gw.Replace(in, q.Token, price, s.cfg.QuoteSize, t0, s.now)
	}
}

// pull cancels in's quotes.
func (s *Strategy) pull(in *instrument, t0 int64) {
	for _, q := range []*QuoteSide{&in.quote.Bid, &in.quote.Ask} {
		if q.Token != 0 && !q.Pending {
			s.gw.Cancel(q.Token, t0)
		}
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
