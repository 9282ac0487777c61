package engine

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/trading/internal/ouch"
)

// Summary is the engine at a moment: what the live summary line shows.
type Summary struct {
	Elapsed time.Duration
	// Messages counts feed messages applied.
	Messages uint64
	// Instruments counts the instruments seen; Books those with a fresh,
	// two-sided book.
	Instruments, Books int
	// Orders, Replaces and Cancels count requests sent to the exchange.
	Orders, Replaces, Cancels uint64
	// Fills and Volume count executions and shares.
	Fills  uint64
	Volume int64
	// Position is the gross position (sum of absolute positions), in
	// shares; PnL the profit and loss in dollars, marked at the mids.
	Position int64
	PnL      float64
	// Gaps counts feed gaps; Recoveries snapshot recoveries.
	Gaps, Recoveries uint64
	// RiskRejects counts orders refused by the pre-trade checks;
	// ExchangeRejects those refused by the exchange.
	RiskRejects, ExchangeRejects uint64
	// Reconnects counts order sessions established after the first.
	Reconnects uint64
	Runtime    asyncrt.Stats
	// SystemTicks counts the strategy schedule's ticks.
	SystemTicks uint64
}

// Line formats s as a one-line summary; rates are since prev.
func (s Summary) Line(prev Summary) string {
	dt := (s.Elapsed - prev.Elapsed).Seconds()
	rate := 0.0
	if dt > 0 {
		rate = float64(s.Messages-prev.Messages) / dt
	}
	return fmt.Sprintf("%6.1fs  msgs/s %8.0f  books %d/%d  orders %d  fills %d  pos %d  pnl %+.2f  gaps %d  rejects %d/%d  reconnects %d  polls %d",
		s.Elapsed.Seconds(), rate, s.Books, s.Instruments, s.Orders+s.Replaces, s.Fills, s.Position, s.PnL,
		s.Gaps, s.RiskRejects, s.ExchangeRejects, s.Reconnects, s.Runtime.Polls)
}

// PositionReport is the engine's position in one instrument.
type PositionReport struct {
	Locate uint16
	Symbol string
	Position
	// Mark is the price the PnL is marked at, PnL the result (price units).
	Mark, PnL int64
}

// LatencyReport summarises the tick-to-trade histogram, in nanoseconds.
type LatencyReport struct {
	Count                   int64
	P50, P99, P999, Max     int64
	Overflow                int64
	WallClockUnderSimulated bool
}

// Report is the engine's final report.
type Report struct {
	Summary
	Feed        FeedStats
	Market      MarketStats
	Gateway     GatewayStats
	RiskRejects map[string]uint64
	Venue       *VenueStats
	Positions   []PositionReport
	// FillLog is every fill, in the order the exchange reported them.
	FillLog []Fill
	// ExchangeRejects counts the exchange's refusals by OUCH reason.
	ExchangeRejectReasons map[string]uint64
	Latency               LatencyReport
	// Err is the last error the engine recovered from (a lost connection,
	// a failed snapshot), if any.
	Err error
	// Simulated marks the report of a run on a simulated network and
	// clock: Print leaves the wall-clock latency line out.
	Simulated bool
	// Runtimes is how many runtimes the engine ran on: 2 when its feed
	// was split off (SplitFeed), and then RelayBuffers is how many packet
	// buffers the relay allocated. Print says so; it says nothing of one.
	Runtimes     int
	RelayBuffers int
}

// MarketStats counts the feed messages applied to the books.
type MarketStats struct {
	Messages, Adds, Executions, Cancels, Deletes, Replaces, Trades, Unknown, Malformed uint64
}

func (e *Engine) summary(t *asyncrt.Task) Summary {
	s := Summary{Elapsed: t.Now().Sub(e.start), Messages: e.market.Messages, Runtime: t.Runtime().Stats(),
		SystemTicks: e.sched.Stats().Ticks}
	for i := range e.market.byLoc {
		in := &e.market.byLoc[i]
		if in.info == nil {
			continue
		}
		s.Instruments++
		mid, ok := in.book.Mid()
		if ok {
			s.Books++
		}
		s.Position += abs(in.pos.Qty)
		s.PnL += float64(in.pos.PnL(markPrice(in, mid, ok))) / 10_000
	}
	gs := e.gw.Stats()
	s.Orders, s.Replaces, s.Cancels = gs.Orders, gs.Replaces, gs.Cancels
	s.Fills, s.Volume = gs.Executions, gs.Volume
	s.ExchangeRejects = gs.Rejected
	if gs.Logins > 1 {
		s.Reconnects = gs.Logins - 1
	}
	for _, n := range e.gw.RiskRejects() {
		s.RiskRejects += n
	}
	fs := e.feed.Stats()
	s.Gaps, s.Recoveries = fs.Gaps, fs.Recoveries
	return s
}

func markPrice(in *instrument, mid int64, ok bool) int64 {
	if ok {
		return mid
	}
	return in.book.LastTrade
}

func (e *Engine) report(t *asyncrt.Task) *Report {
	r := &Report{
		Summary:     e.summary(t),
		Feed:        e.feed.Stats(),
		Gateway:     e.gw.Stats(),
		RiskRejects: make(map[string]uint64),
		FillLog:     e.gw.Fills(),
		Err:         e.lastErr,
		Runtimes:    1,
	}
	if e.relay != nil {
		r.Runtimes, r.RelayBuffers = 2, e.relay.Buffers()
	}
	mk := e.market
	r.Market = MarketStats{mk.Messages, mk.Adds, mk.Executions, mk.Cancels, mk.Deletes, mk.Replaces, mk.Trades, mk.Unknown, mk.Malformed}
	r.ExchangeRejectReasons = make(map[string]uint64)
	for reason, n := range e.gw.exchangeRejects {
		r.ExchangeRejectReasons[ouch.RejectReasonString(reason)] += n
	}
	for reason, n := range e.gw.RiskRejects() {
		if n > 0 {
			r.RiskRejects[RejectReason(reason).String()] = n
		}
	}
	if e.venue != nil {
		vs := e.venue.Stats()
		r.Venue = &vs
	}
	for i := range mk.byLoc {
		in := &mk.byLoc[i]
		if in.info == nil || in.pos.Fills == 0 {
			continue
		}
		mid, ok := in.book.Mid()
		mark := markPrice(in, mid, ok)
		r.Positions = append(r.Positions, PositionReport{
			Locate: in.info.Locate, Symbol: in.info.Symbol, Position: *in.pos, Mark: mark, PnL: in.pos.PnL(mark),
		})
	}
	h := e.latency
	r.Latency = LatencyReport{
		Count: h.Count(), P50: h.ValueAtQuantile(50), P99: h.ValueAtQuantile(99),
		P999: h.ValueAtQuantile(99.9), Max: h.Max(), Overflow: h.Overflow(),
		WallClockUnderSimulated: e.venue != nil,
	}
	return r
}

func us(ns int64) string { return fmt.Sprintf("%.1fµs", float64(ns)/1e3) }

// PrintLatency writes the tick-to-trade line: processing time measured on
// the wall clock.
func (r *Report) PrintLatency(w io.Writer) {
	l := r.Latency
	clock := ""
	if l.WallClockUnderSimulated || r.Simulated {
		clock = " (processing time on the wall clock; the run's clock is simulated)"
	}
	fmt.Fprintf(w, "latency    tick-to-trade n=%d  p50 %s  p99 %s  p99.9 %s  max %s%s\n",
		l.Count, us(l.P50), us(l.P99), us(l.P999), us(l.Max), clock)
}

// Print writes the report for a person to read. The report of a
// simulation (Simulated) leaves out the latency line, measured on the wall
// clock, so that it is the same on every run.
func (r *Report) Print(w io.Writer) {
	s := r.Summary
	fmt.Fprintf(w, "engine     %.1fs  %d feed messages (%.0f/s)  %d/%d books fresh\n",
		s.Elapsed.Seconds(), s.Messages, float64(s.Messages)/max(s.Elapsed.Seconds(), 1e-9), s.Books, s.Instruments)
	if r.Runtimes == 2 {
		fmt.Fprintf(w, "layout     engine on 2 runtimes: feed handler | strategy and gateway (a cross channel between them, %d packet buffers)\n", r.RelayBuffers)
	}
	fmt.Fprintf(w, "feed       packets %d  gaps %d (%d messages)  recoveries %d  snapshots %d  malformed %d  unknown refs %d\n",
		r.Feed.Packets, r.Feed.Gaps, r.Feed.GapMessages, r.Feed.Recoveries, r.Feed.Snapshots, r.Feed.Malformed+r.Market.Malformed, r.Market.Unknown)
	g := r.Gateway
	fmt.Fprintf(w, "orders     sent %d  replaces %d  cancels %d  accepted %d  lost %d  exchange rejects %d%s\n",
		g.Orders, g.Replaces, g.Cancels, g.Accepted, g.Lost, g.Rejected, exchangeReasons(r.ExchangeRejectReasons))
	fmt.Fprintf(w, "risk       rejects %d%s\n", s.RiskRejects, reasons(r.RiskRejects))
	fmt.Fprintf(w, "session    logins %d  disconnects %d  login rejects %d\n", g.Logins, g.Disconnects, g.LoginRejects)
	fmt.Fprintf(w, "fills      %d  volume %d shares  gross position %d  PnL %+.2f\n", s.Fills, s.Volume, s.Position, s.PnL)
	for _, p := range r.Positions {
		fmt.Fprintf(w, "           %-8s pos %+6d  fills %5d  volume %7d  pnl %+9.2f\n", p.Symbol, p.Qty, p.Fills, p.Volume, float64(p.PnL)/10_000)
	}
	if r.Venue != nil {
		fmt.Fprintf(w, "venue      orders %d  fills %d  diverged %d (in-process matching)\n", r.Venue.Orders, r.Venue.Fills, r.Venue.Diverged)
	}
	if !r.Simulated {
		r.PrintLatency(w)
	}
	rs := s.Runtime
	fmt.Fprintf(w, "runtime    polls %d  cycles %d  timers fired %d  parks %d  system ticks %d  stalls %d\n",
		rs.Polls, rs.Cycles, rs.TimersFired, rs.Parks, s.SystemTicks, rs.Stalls)
	if r.Err != nil {
		fmt.Fprintf(w, "recovered  from: %v (the last error the engine got past)\n", r.Err)
	}
}

func exchangeReasons(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func reasons(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, reason := range []RejectReason{RejectMaxPosition, RejectOrderRate, RejectPriceBand, RejectNoPrice, RejectNotConnected} {
		if n := m[reason.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", reason, n))
		}
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
