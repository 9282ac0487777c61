package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// TestLiveFollowsABacktest looks at the engine while it replays the small
// recording, at set times of the simulated clock: the books, the position
// after the fill, and the latency windows, which between them hold every
// tick-to-trade since the first look, once.
func TestLiveFollowsABacktest(t *testing.T) {
	ms := time.Millisecond
	r := smallRecording(t)
	e, rt := newEngineRuntime(t, Config{Seed: 1})
	var (
		before Live
		lives  []Live
		rep    *Report
		err    error
	)
	looks := []time.Duration{5 * ms, 15 * ms, 45 * ms, 150 * ms}
	on(t, rt, func(task *asyncrt.Task) {
		before = e.Live(task)
		start := task.Now()
		sampler := asyncrt.Spawn(task, func(t *asyncrt.Task) []Live {
			var ls []Live
			for _, at := range looks {
				t.SleepUntil(start.Add(at))
				ls = append(ls, e.Live(t))
			}
			return ls
		})
		rep, err = e.Backtest(task, r, nil)
		if err == nil {
			lives, err = sampler.Await(task)
		}
	})
	require.NoError(t, err)
	assert.Empty(t, before.Instruments, "nothing to see before the engine runs")
	require.Len(t, lives, len(looks))

	at5, at45, at150 := lives[0], lives[2], lives[3]
	require.Len(t, at5.Instruments, 2)
	aapl := at5.Instruments[0]
	assert.Equal(t, "AAPL", aapl.Symbol)
	assert.Equal(t, lv(p99_99, 500, 1), aapl.Bid, "the market's best bid, the engine's own left out")
	assert.Equal(t, lv(p100_01, 500, 1), aapl.Ask)
	assert.Zero(t, aapl.Position.Qty, "no fill yet")
	assert.NotZero(t, aapl.Quote.Bid.Price, "the engine quotes")
	assert.Equal(t, time.Duration(5*ms), at5.Summary.Elapsed)

	aapl = at45.Instruments[0]
	assert.Equal(t, int64(50), aapl.Position.Qty, "the fill at 20 ms")
	assert.Equal(t, lv(p99_99, 150, 1), aapl.Bid, "the book as the snapshot rebuilt it")
	assert.False(t, aapl.Stale)
	assert.Equal(t, aapl.Position.PnL((aapl.Bid.Price+aapl.Ask.Price)/2), aapl.PnL, "marked at the mid")
	assert.Equal(t, uint64(1), at45.Summary.Fills)

	assert.Zero(t, at5.Window.Count, "the first look starts the window")
	var windowed int64
	for _, l := range lives[1:] {
		windowed += l.Window.Count
		if l.Window.Count > 0 {
			assert.LessOrEqual(t, l.Window.P50, l.Window.P99)
			assert.LessOrEqual(t, l.Window.P99, l.Window.Max)
		}
	}
	assert.Equal(t, at150.Latency.Count-at5.Latency.Count, windowed, "each order's latency in one window")
	assert.Positive(t, windowed, "orders went out after the first look")
	assert.LessOrEqual(t, at150.Latency.Count, rep.Latency.Count)
}
