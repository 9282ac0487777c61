package engine

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/trading/internal/recording"
	"github.com/orrery-go/orrery/world"
)

func TestNewConfig(t *testing.T) {
	_, err := New(nil, Config{})
	require.Error(t, err)

	w := world.New()
	e, err := New(w, Config{})
	require.NoError(t, err)
	assert.Equal(t, DefaultStrategy, e.cfg.Strategy)
	assert.Equal(t, DefaultRiskLimits, e.cfg.Risk)
	assert.Equal(t, time.Second, e.cfg.Heartbeat)
	assert.Equal(t, time.Second, e.cfg.ReportEvery)
	assert.Same(t, e.market, world.MustResource[Market](w))
	_, err = New(w, Config{})
	assert.Error(t, err, "a World holds one engine")

	for _, cfg := range []Config{
		{Heartbeat: -1},
		{ReportEvery: -1},
		{Strategy: StrategyConfig{QuoteSize: 1}},
		{Risk: RiskLimits{MaxPosition: 1}},
	} {
		_, err := New(world.New(), cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	e.SetExchange("a:1", "b:2")
	assert.Equal(t, "a:1", e.cfg.OrderAddr)
	assert.Equal(t, "b:2", e.cfg.SnapshotAddr)
}

func newEngineRuntime(t *testing.T, cfg Config) (*Engine, *asyncrt.Runtime) {
	t.Helper()
	w := world.New()
	e, err := New(w, cfg)
	require.NoError(t, err)
	rt, err := asyncrt.NewBuilder().World(w).Clock(asyncrt.NewSimClock(simStart)).Build()
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	return e, rt
}

func TestEngineMisuse(t *testing.T) {
	e, rt := newEngineRuntime(t, Config{})
	on(t, rt, func(task *asyncrt.Task) {
		_, err := e.Run(task, asyncrt.NewCancellationToken())
		assert.ErrorContains(t, err, "before Listen")
		_, err = e.Backtest(task, nil, nil)
		assert.ErrorContains(t, err, "nil recording")
		require.NoError(t, e.setup(task))
		assert.Error(t, e.setup(task), "an engine runs once")
	})
}

// recordingOf builds an in-memory recording.
type recordingOf struct{ b []byte }

func (r *recordingOf) add(kind byte, at time.Duration, data []byte) {
	if r.b == nil {
		r.b = []byte(recording.Magic)
	}
	r.b = append(r.b, kind)
	r.b = binary.BigEndian.AppendUint64(r.b, uint64(at))
	r.b = binary.BigEndian.AppendUint32(r.b, uint32(len(data)))
	r.b = append(r.b, data...)
}

// smallRecording is two instruments' feed over 200 ms: an aggressor
// that fills the engine's bid, a gap and its snapshot, and an order of
// the recording's own.
func smallRecording(t *testing.T) *recording.Recording {
	var rec recordingOf
	ms := time.Millisecond
	rec.add(recording.KindPacket, 0, packet(1,
		addMsg(1, 1, 'B', 500, p99_99), addMsg(1, 2, 'S', 500, p100_01),
		addMsg(2, 3, 'B', 500, p99_99), addMsg(2, 4, 'S', 500, p100_01)))
	// Recorded bids join behind the engine's at 99.99; then the recorded
	// aggressor takes order 1 and 50 of order 5: the engine's bid, ahead of
	// order 5, takes those 50.
	rec.add(recording.KindPacket, 10*ms, packet(5, addMsg(1, 5, 'B', 200, p99_99)))
	rec.add(recording.KindPacket, 20*ms, packet(6, execMsg(1, 1, 500, 1), execMsg(1, 5, 50, 2)))
	// A gap, then the snapshot that recovers from it.
	rec.add(recording.KindPacket, 30*ms, packet(10, addMsg(1, 10, 'S', 10, p100_02)))
	rec.add(recording.KindSnapshot, 40*ms, snapshot(10,
		addMsg(1, 5, 'B', 150, p99_99), addMsg(1, 2, 'S', 500, p100_01), addMsg(1, 7, 'S', 100, p100_03),
		addMsg(2, 3, 'B', 500, p99_99), addMsg(2, 4, 'S', 500, p100_01)))
	// The recording's own order: not market.
	rec.add(recording.KindOwnOrder, 50*ms, recording.OwnOrderData(7))
	rec.add(recording.KindPacket, 60*ms, packet(11, execMsg(1, 7, 100, 3)))
	rec.add(recording.KindPacket, 200*ms, heartbeat(12))
	r, err := recording.Parse(rec.b)
	require.NoError(t, err)
	return r
}

// TestBacktest runs a small recording through the whole engine: the feed,
// the strategy on its schedule, the gateway and the venue, under the
// simulated clock.
func TestBacktest(t *testing.T) {
	ms := time.Millisecond
	r := smallRecording(t)
	var lines bytes.Buffer
	e, rt := newEngineRuntime(t, Config{Report: &lines, ReportEvery: 50 * ms, Seed: 1})
	var rep *Report
	var err error
	on(t, rt, func(task *asyncrt.Task) {
		rep, err = e.Backtest(task, r, nil)
	})
	require.NoError(t, err)
	require.NotNil(t, rep)

	assert.Equal(t, uint64(1), rep.Feed.Gaps)
	assert.Equal(t, uint64(1), rep.Feed.Recoveries)
	assert.Equal(t, uint64(1), rep.Feed.Snapshots)
	assert.Equal(t, 2, rep.Instruments)
	assert.Equal(t, 2, rep.Books, "both books fresh and two-sided at the end")
	assert.NotZero(t, rep.Orders, "the strategy quoted")
	assert.Equal(t, uint64(1), rep.Gateway.Executions, "one fill of the engine's bid")
	require.NotNil(t, rep.Venue)
	assert.Equal(t, rep.Gateway.Executions, rep.Venue.Fills)
	assert.Equal(t, []Fill{{Locate: 1, Side: 'B', Qty: 50, Price: p99_99, Match: 1}}, rep.FillLog)
	require.Len(t, rep.Positions, 1)
	assert.Equal(t, "AAPL", rep.Positions[0].Symbol)
	assert.Equal(t, int64(50), rep.Positions[0].Qty)
	assert.Equal(t, int64(-50*p99_99), rep.Positions[0].Cash)
	assert.Equal(t, int64(50), rep.Position)
	assert.Equal(t, 0, e.gw.OpenOrders(), "wound down")
	assert.NotZero(t, rep.Gateway.Cancels)
	assert.Zero(t, rep.Gateway.Rejected)
	assert.Zero(t, rep.Gateway.Lost)
	assert.True(t, rep.Latency.WallClockUnderSimulated)
	assert.NotZero(t, rep.Latency.Count)
	assert.NoError(t, rep.Err)
	assert.Equal(t, uint64(0), rep.Venue.Diverged, "the own order's execution is no divergence")

	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"engine ", "feed ", "gaps 1", "orders ", "risk ", "session ", "fills ", "AAPL", "venue ", "latency ", "runtime ", "simulated"} {
		assert.Contains(t, out.String(), want)
	}
	assert.Contains(t, lines.String(), "msgs/s", "summary lines while running")
}

// The backtest is deterministic: the same recording gives the same report.
func TestBacktestDeterministic(t *testing.T) {
	var rec recordingOf
	seq := uint64(1)
	ref := uint64(1)
	for i := range 40 {
		at := time.Duration(i) * 5 * time.Millisecond
		px := uint32(p100_00 + int64(i%5-2)*Tick)
		msgs := [][]byte{addMsg(1, ref, 'B', 100, px-Tick), addMsg(1, ref+1, 'S', 100, px+Tick)}
		if i > 0 {
			msgs = append(msgs, execMsg(1, ref-2, 60, uint64(i)), deleteMsg(1, ref-1))
		}
		rec.add(recording.KindPacket, at, packet(seq, msgs...))
		seq += uint64(len(msgs))
		ref += 2
	}
	r, err := recording.Parse(rec.b)
	require.NoError(t, err)
	run := func() *Report {
		e, rt := newEngineRuntime(t, Config{Seed: 3})
		var rep *Report
		on(t, rt, func(task *asyncrt.Task) { rep, err = e.Backtest(task, r, nil) })
		require.NoError(t, err)
		return rep
	}
	a, b := run(), run()
	assert.Equal(t, a.FillLog, b.FillLog)
	assert.Equal(t, a.Positions, b.Positions)
	assert.Equal(t, a.Gateway, b.Gateway)
	assert.Equal(t, a.Venue, b.Venue)
	assert.NotZero(t, a.Gateway.Orders)
}

func TestSummaryLine(t *testing.T) {
	prev := Summary{Elapsed: time.Second, Messages: 100}
	s := Summary{Elapsed: 3 * time.Second, Messages: 300, Books: 2, Instruments: 3, Orders: 5, Replaces: 2,
		Fills: 4, Position: -7, PnL: 1.5, Gaps: 1, RiskRejects: 2, ExchangeRejects: 3, Reconnects: 1}
	line := s.Line(prev)
	for _, want := range []string{"3.0s", "msgs/s      100", "books 2/3", "orders 7", "fills 4", "pos -7", "pnl +1.50", "gaps 1", "rejects 2/3", "reconnects 1"} {
		assert.Contains(t, line, want)
	}
	assert.Contains(t, s.Line(s), "msgs/s        0", "no time passed: no rate")
}

func TestReportPrintReasons(t *testing.T) {
	r := &Report{
		RiskRejects:           map[string]uint64{RejectPriceBand.String(): 2, RejectMaxPosition.String(): 1},
		ExchangeRejectReasons: map[string]uint64{"b": 1, "a": 2},
		Err:                   assertErr("boom"),
	}
	var out bytes.Buffer
	r.Print(&out)
	s := out.String()
	assert.Contains(t, s, "(max position 1, price band 2)")
	assert.Contains(t, s, "(a 2, b 1)")
	assert.Contains(t, s, "recovered  from: boom")
	assert.False(t, strings.Contains(s, "venue "), "no venue line outside a backtest")
	assert.Equal(t, "", reasons(nil))
	assert.Equal(t, "", exchangeReasons(nil))
}

func TestReportMarksWithoutMid(t *testing.T) {
	e, rt := newEngineRuntime(t, Config{})
	on(t, rt, func(task *asyncrt.Task) {
		require.NoError(t, e.setup(task))
		e.market.addOrder(1, stockOf(1), 1, 'B', 100, p99_99) // one-sided: no mid
		in := e.market.instrument(1)
		*in.pos = Position{Qty: -10, Cash: 10 * p100_01, Fills: 1, Volume: 10}
		in.book.LastTrade = p100_00
		e.market.addOrder(2, stockOf(2), 2, 'B', 100, p99_99) // no fills: not reported
		e.gw.connected(&fakeTransport{}, 1, task.Now())
		e.gw.connected(&fakeTransport{}, 1, task.Now())
		r := e.report(task)
		require.Len(t, r.Positions, 1)
		p := r.Positions[0]
		assert.Equal(t, int64(p100_00), p.Mark, "marked at the last trade")
		assert.Equal(t, int64(10*p100_01-10*p100_00), p.PnL)
		assert.Equal(t, uint64(1), r.Reconnects)
		assert.Equal(t, 0, r.Books)
		assert.Equal(t, 2, r.Instruments)
		assert.Equal(t, int64(10), r.Position)
		assert.InDelta(t, 0.1, r.PnL, 1e-9)
		assert.False(t, r.Latency.WallClockUnderSimulated)
		assert.Nil(t, r.Venue)
	})
}

type assertErr string

func (e assertErr) Error() string { return string(e) }

func TestReportLoopFirstLine(t *testing.T) {
	var rec recordingOf
	rec.add(recording.KindPacket, 0, packet(1, addMsg(1, 1, 'B', 500, p99_99), addMsg(1, 2, 'S', 500, p100_01)))
	rec.add(recording.KindPacket, time.Second, heartbeat(3))
	r, err := recording.Parse(rec.b)
	require.NoError(t, err)
	var lines bytes.Buffer
	e, rt := newEngineRuntime(t, Config{Report: &lines, ReportEvery: 200 * time.Millisecond})
	on(t, rt, func(task *asyncrt.Task) { _, err = e.Backtest(task, r, nil) })
	require.NoError(t, err)
	first, _, _ := strings.Cut(lines.String(), "\n")
	assert.True(t, strings.HasPrefix(first, "   0.2s"), "first line %q", first) // "   0.4s"
}
