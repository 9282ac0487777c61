package app_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/examples/trading/internal/app"
	"github.com/orrery-go/orrery/examples/trading/internal/recording"
)

func TestLoopbackRunReconcilesWithDropsCutsAndPartitions(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out bytes.Buffer
	// The first partition begins within [0.6 s, 1.8 s) and lasts 0.6 s:
	// at least one is over before the run ends.
	res, err := app.Run(context.Background(), app.Config{
		Duration: 3 * time.Second, Seed: 7, Instruments: 4, Rate: 5000,
		DropRate: 0.05, CutEvery: 1200 * time.Millisecond, Partition: 600 * time.Millisecond, Out: &out,
	})
	require.NoError(t, err)
	rep := res.Engine
	t.Logf("report:\n%s", out.String())
	require.True(t, res.Reconciled, "engine and exchange must agree on every position")
	assert.Greater(t, rep.Summary.Fills, uint64(0), "the market maker trades")
	assert.Equal(t, res.Exchange.UserFills, rep.Summary.Fills, "every fill the exchange reported reached the engine")
	assert.Greater(t, res.Exchange.FeedDropped, uint64(0))
	assert.Greater(t, rep.Feed.Gaps, uint64(0), "dropped packets show up as gaps")
	assert.Greater(t, rep.Feed.Snapshots, uint64(0), "gaps are recovered by snapshots")
	assert.GreaterOrEqual(t, res.Exchange.Cuts, uint64(1))
	assert.GreaterOrEqual(t, rep.Gateway.Logins, uint64(2), "the engine logs in again after a cut")
	assert.GreaterOrEqual(t, res.Exchange.Partitions, uint64(1))
	assert.Greater(t, res.Exchange.FeedPartitioned, uint64(0), "a partition loses feed packets")
	assert.Contains(t, out.String(), "partitions")
	assert.Greater(t, rep.Latency.Count, int64(0))
	assert.Contains(t, out.String(), "tick-to-trade")
	assert.Contains(t, out.String(), "reconciled engine and exchange agree")
}

func TestBacktestIsDeterministicAndFasterThanTheRecording(t *testing.T) {
	defer goleak.VerifyNone(t)
	path := filepath.Join(t.TempDir(), "feed.rec")
	live, err := app.Run(context.Background(), app.Config{
		Duration: 2 * time.Second, Seed: 3, Instruments: 3, Rate: 5000, DropRate: 0.02, Record: path,
	})
	require.NoError(t, err)
	require.True(t, live.Reconciled)
	rec, err := recording.Open(path)
	require.NoError(t, err)
	require.Greater(t, rec.Span(), time.Second)

	var outs [2]bytes.Buffer
	var runs [2]*app.Result
	for i := range runs {
		runs[i], err = app.Run(context.Background(), app.Config{Backtest: path, Out: &outs[i]})
		require.NoError(t, err)
		// Simulated, not waited: the backtest's clock covers the whole
		// recording, and its runtime never slept.
		assert.GreaterOrEqual(t, runs[i].Engine.Elapsed, rec.Span(), "the backtest covers the recording")
		assert.Zero(t, runs[i].Engine.Runtime.Parks, "a backtest runs faster than the time it covers")
	}
	a, b := runs[0].Engine, runs[1].Engine
	require.NotEmpty(t, a.FillLog, "the backtest trades")
	assert.Equal(t, a.FillLog, b.FillLog, "identical fills")
	assert.Equal(t, a.Positions, b.Positions, "identical positions and PnL")
	assert.Equal(t, a.Summary.PnL, b.Summary.PnL)
	assert.Equal(t, a.Feed, b.Feed)
	assert.Greater(t, a.Feed.Snapshots, uint64(0), "the recorded recoveries replay too")
	// The printed reports agree too, except for wall-clock figures.
	assert.Equal(t, stable(outs[0].String()), stable(outs[1].String()))
}

// stable drops the report lines that measure the wall clock.
func stable(report string) string {
	var keep []string
	for _, line := range strings.Split(report, "\n") {
		if strings.HasPrefix(line, "latency") || strings.Contains(line, "polls") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

func TestRunRejectsBadConfigurations(t *testing.T) {
	for name, cfg := range map[string]app.Config{
		"role":             {Role: "broker"},
		"negative":         {Duration: -time.Second},
		"backtest+role":    {Backtest: "x.rec", Role: app.RoleEngine},
		"backtest+record":  {Backtest: "x.rec", Record: "y.rec"},
		"no instruments":   {Duration: time.Second, Instruments: 0, Rate: 10},
		"missing backtest": {Backtest: filepath.Join(t.TempDir(), "missing.rec")},
		"spin window":      {Duration: time.Second, SpinBeforePark: time.Second},
		"negative spin":    {Duration: time.Second, SpinBeforePark: -time.Microsecond},
	} {
		_, err := app.Run(context.Background(), cfg)
		assert.Error(t, err, name)
	}
}

func TestCancelledContextStopsARunGracefully(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel) // as Ctrl-C would
	var out bytes.Buffer
	// No duration: only the cancelled context can end the run.
	res, err := app.Run(ctx, app.Config{Seed: 1, Instruments: 2, Rate: 2000, Out: &out})
	require.NoError(t, err)
	assert.True(t, res.Reconciled)
	assert.Contains(t, out.String(), "tick-to-trade", "the final report is printed")
}

func TestCoresTwoSplitsTheFeedAndReconcilesWithDropsAndCuts(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out bytes.Buffer
	res, err := app.Run(context.Background(), app.Config{
		Duration: 2500 * time.Millisecond, Seed: 11, Instruments: 4, Rate: 5000,
		DropRate: 0.05, CutEvery: 900 * time.Millisecond, Cores: 2, Out: &out,
	})
	require.NoError(t, err)
	rep := res.Engine
	t.Logf("report:\n%s", out.String())
	require.True(t, res.Reconciled, "engine and exchange must agree on every position")
	assert.Equal(t, 2, rep.Runtimes)
	assert.Contains(t, out.String(), "layout     engine on 2 runtimes: feed handler | strategy and gateway")
	assert.Greater(t, rep.Summary.Fills, uint64(0), "the market maker trades")
	assert.Equal(t, res.Exchange.UserFills, rep.Summary.Fills, "every fill the exchange reported reached the engine")
	assert.Greater(t, res.Exchange.FeedDropped, uint64(0))
	assert.Greater(t, rep.Feed.Gaps, uint64(0), "dropped packets show up as gaps")
	assert.Greater(t, rep.Feed.Snapshots, uint64(0), "gaps are recovered by snapshots")
	assert.Greater(t, rep.Feed.Recoveries, uint64(0))
	assert.GreaterOrEqual(t, res.Exchange.Cuts, uint64(1))
	assert.GreaterOrEqual(t, rep.Gateway.Logins, uint64(2), "the engine logs in again after a cut")
	// The packets crossed from the relay's runtime to the engine's.
	assert.Greater(t, rep.Feed.Packets, res.Exchange.FeedPackets/2)
	assert.LessOrEqual(t, rep.Feed.Packets, res.Exchange.FeedPackets)
	assert.Greater(t, rep.RelayBuffers, 0)
	assert.LessOrEqual(t, rep.RelayBuffers, 1024, "buffers are recycled, not allocated per packet")
	assert.Less(t, uint64(rep.RelayBuffers), rep.Feed.Packets, "buffers are recycled, not allocated per packet")
	assert.Greater(t, rep.Latency.Count, int64(0))
	assert.Contains(t, out.String(), "tick-to-trade")
	assert.Contains(t, out.String(), "reconciled engine and exchange agree")
}

func TestCoresTwoStopsOnCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel) // as Ctrl-C would
	var out bytes.Buffer
	res, err := app.Run(ctx, app.Config{Seed: 2, Instruments: 2, Rate: 2000, Cores: 2, Out: &out})
	require.NoError(t, err)
	assert.True(t, res.Reconciled)
	assert.Less(t, res.Wall, 10*time.Second)
	assert.Contains(t, out.String(), "tick-to-trade", "the final report is printed")
}

func TestCoresRejectsBadConfigurations(t *testing.T) {
	for name, cfg := range map[string]app.Config{
		"three":         {Duration: time.Second, Cores: 3},
		"negative":      {Duration: time.Second, Cores: -1},
		"sim":           {Duration: time.Second, Cores: 2, Sim: true},
		"backtest":      {Backtest: "x.rec", Cores: 2},
		"role engine":   {Duration: time.Second, Cores: 2, Role: app.RoleEngine},
		"role exchange": {Duration: time.Second, Cores: 2, Role: app.RoleExchange},
	} {
		_, err := app.Run(context.Background(), cfg)
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), "--cores", name)
		}
	}
}
