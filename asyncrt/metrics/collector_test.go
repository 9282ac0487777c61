package metrics_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/metrics"
)

// yields is how many times the workload's yielding task yields.
const yields = 100

// numMetrics is how many metrics a Collector exports: 14 counters, 6 gauges
// and the poll-duration histogram.
const numMetrics = 21

// newRuntime builds a runtime for the workload: polls timed, a bounded pool
// of one coroutine, panics nobody joins counted, simulated time, and no
// stall watchdog (so that a slow machine cannot add a stall to the counts).
// It is closed when the test ends.
func newRuntime(t *testing.T) *asyncrt.Runtime {
	t.Helper()
	rt, err := asyncrt.NewBuilder().
		MeasurePolls(true).
		TaskPool(1, true).
		UnhandledPanics(asyncrt.CountPanics).
		Clock(asyncrt.NewSimClock(time.Date(2026, 1, 1, 9, 30, 0, 0, time.UTC))).
		StallThreshold(0).
		Build()
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	return rt
}

// runWorkload runs tasks whose counts are known exactly: besides the root,
// a task that yields, a spawn the full pool refuses, a simulated sleep, a
// detached task that panics, and a task that is aborted.
//
// Afterwards Spawned is 4 (the root, the yielder, the panicking and the
// aborted task), SpawnsRefused 1, Completed 2 (the root and the yielder),
// Panicked 1, UnhandledPanics 1, Aborted 1, TimersFired 1, and no task,
// timer or registration is left.
func runWorkload(rt *asyncrt.Runtime) error {
	return asyncrt.Run(rt, func(t *asyncrt.Task) error {
		yielder := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			for range yields {
				t.Yield()
			}
			return yields
		})
		// The pool's one coroutine is the yielder's: this spawn is refused.
		if err := asyncrt.SpawnFunc(t, func(*asyncrt.Task) {}).Wait(t); !errors.Is(err, asyncrt.ErrPoolFull) {
			return fmt.Errorf("spawn on a full pool: %v, want ErrPoolFull", err)
		}
		if n, err := yielder.Await(t); n != yields || err != nil {
			return fmt.Errorf("yielder: %d, %v", n, err)
		}

		t.Sleep(time.Second) // a simulated second: one timer fires

		// Nobody can join a detached task: under CountPanics its panic is
		// counted, and the runtime carries on.
		asyncrt.SpawnFunc(t, func(*asyncrt.Task) { panic("boom") }).Detach()
		t.Yield() // it runs, panics and gives the coroutine back
		if n := t.Runtime().Stats().UnhandledPanics; n != 1 {
			return fmt.Errorf("unhandled panics: %d, want 1", n)
		}

		looper := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
			for {
				t.Yield()
			}
		})
		t.Yield() // let it start
		looper.Abort()
		if err := looper.Wait(t); !errors.Is(err, asyncrt.ErrAborted) {
			return fmt.Errorf("aborted task: %v, want ErrAborted", err)
		}
		return nil
	})
}

// feedLabels tells the workload's runtime apart.
var feedLabels = metrics.WithConstLabels(prometheus.Labels{"runtime": "feed"})

// exactMetrics is the exposition of the metrics whose values runWorkload
// knows exactly.
const exactMetrics = `
# HELP orrery_tasks_spawned_total Tasks started, including each BlockOn's root.
# TYPE orrery_tasks_spawned_total counter
orrery_tasks_spawned_total{runtime="feed"} 4
# HELP orrery_tasks_refused_total Spawns refused because a bounded task pool had no free coroutine (ErrPoolFull).
# TYPE orrery_tasks_refused_total counter
orrery_tasks_refused_total{runtime="feed"} 1
# HELP orrery_tasks_completed_total Tasks that returned normally.
# TYPE orrery_tasks_completed_total counter
orrery_tasks_completed_total{runtime="feed"} 2
# HELP orrery_tasks_aborted_total Tasks that ended by abort (JoinHandle.Abort or Close).
# TYPE orrery_tasks_aborted_total counter
orrery_tasks_aborted_total{runtime="feed"} 1
# HELP orrery_tasks_panicked_total Tasks that panicked or called runtime.Goexit.
# TYPE orrery_tasks_panicked_total counter
orrery_tasks_panicked_total{runtime="feed"} 1
# HELP orrery_unhandled_panics_total Task panics nobody could join (see asyncrt.PanicPolicy).
# TYPE orrery_unhandled_panics_total counter
orrery_unhandled_panics_total{runtime="feed"} 1
# HELP orrery_timers_fired_total Timers that expired (sleeps, deadlines, ticks).
# TYPE orrery_timers_fired_total counter
orrery_timers_fired_total{runtime="feed"} 1
# HELP orrery_stalls_total Stalls the watchdog reported: holders of the runtime's thread past the stall threshold.
# TYPE orrery_stalls_total counter
orrery_stalls_total{runtime="feed"} 0
# HELP orrery_live_tasks Tasks spawned and not yet finished.
# TYPE orrery_live_tasks gauge
orrery_live_tasks{runtime="feed"} 0
# HELP orrery_pending_timers Timers scheduled and not yet fired.
# TYPE orrery_pending_timers gauge
orrery_pending_timers{runtime="feed"} 0
# HELP orrery_registrations Live registrations of the waiting layer: waits in progress and timers not yet stopped.
# TYPE orrery_registrations gauge
orrery_registrations{runtime="feed"} 0
# HELP orrery_pool_in_use Pooled coroutines running a task.
# TYPE orrery_pool_in_use gauge
orrery_pool_in_use{runtime="feed"} 0
# HELP orrery_pool_capacity Pooled coroutines created so far.
# TYPE orrery_pool_capacity gauge
orrery_pool_capacity{runtime="feed"} 1
# HELP orrery_ready_tasks Tasks queued to run.
# TYPE orrery_ready_tasks gauge
orrery_ready_tasks{runtime="feed"} 0
`

var exactNames = []string{
	"orrery_tasks_spawned_total", "orrery_tasks_refused_total", "orrery_tasks_completed_total",
	"orrery_tasks_aborted_total", "orrery_tasks_panicked_total", "orrery_unhandled_panics_total",
	"orrery_timers_fired_total", "orrery_stalls_total",
	"orrery_live_tasks", "orrery_pending_timers", "orrery_registrations",
	"orrery_pool_in_use", "orrery_pool_capacity", "orrery_ready_tasks",
}

// allNames is the name of every metric a Collector with the default
// namespace exports.
var allNames = append([]string{
	"orrery_polls_total", "orrery_cycles_total", "orrery_parks_total", "orrery_spins_total",
	"orrery_io_polls_total", "orrery_scheduler_yields_total",
	"orrery_poll_duration_seconds",
}, exactNames...)

// scalars gathers g and returns the value of each counter and gauge by name,
// with the histogram's count and sum as NAME_count and NAME_sum.
func scalars(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	vals := map[string]float64{}
	for _, mf := range mfs {
		require.Len(t, mf.GetMetric(), 1, mf.GetName())
		m := mf.GetMetric()[0]
		switch {
		case m.GetCounter() != nil:
			vals[mf.GetName()] = m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			vals[mf.GetName()] = m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			vals[mf.GetName()+"_count"] = float64(m.GetHistogram().GetSampleCount())
			vals[mf.GetName()+"_sum"] = m.GetHistogram().GetSampleSum()
		}
	}
	return vals
}

func TestCollectorExportsStats(t *testing.T) {
	rt := newRuntime(t)
	c, err := metrics.NewCollector(rt, feedLabels)
	require.NoError(t, err)
	require.NoError(t, runWorkload(rt))

	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(exactMetrics), exactNames...))
	assert.Equal(t, numMetrics, testutil.CollectAndCount(c))
	assert.Equal(t, 1, testutil.CollectAndCount(c, "orrery_poll_duration_seconds"))
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)

	// Every value is the Stats field's. The runtime is idle between
	// BlockOns, so its published Stats hold still.
	s := rt.Stats()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	assert.Equal(t, map[string]float64{
		"orrery_tasks_spawned_total":         float64(s.Spawned),
		"orrery_tasks_refused_total":         float64(s.SpawnsRefused),
		"orrery_tasks_completed_total":       float64(s.Completed),
		"orrery_tasks_aborted_total":         float64(s.Aborted),
		"orrery_tasks_panicked_total":        float64(s.Panicked),
		"orrery_unhandled_panics_total":      float64(s.UnhandledPanics),
		"orrery_polls_total":                 float64(s.Polls),
		"orrery_cycles_total":                float64(s.Cycles),
		"orrery_timers_fired_total":          float64(s.TimersFired),
		"orrery_parks_total":                 float64(s.Parks),
		"orrery_spins_total":                 float64(s.Spins),
		"orrery_scheduler_yields_total":      float64(s.SchedulerYields),
		"orrery_io_polls_total":              float64(s.IOPolls),
		"orrery_stalls_total":                float64(s.Stalls),
		"orrery_live_tasks":                  float64(s.LiveTasks),
		"orrery_pending_timers":              float64(s.PendingTimers),
		"orrery_registrations":               float64(s.Registrations),
		"orrery_pool_in_use":                 float64(s.PoolInUse),
		"orrery_pool_capacity":               float64(s.PoolCapacity),
		"orrery_ready_tasks":                 float64(s.ReadyTasks),
		"orrery_poll_duration_seconds_count": float64(s.PollTimes.Count()),
		"orrery_poll_duration_seconds_sum":   s.PollTimes.Sum.Seconds(),
	}, scalars(t, reg))
	// Each task poll was timed: the yielder's alone are yields+1.
	assert.Equal(t, s.Polls, s.PollTimes.Count())
	assert.Greater(t, s.Polls, uint64(yields))
}

func TestPollHistogramIsCumulative(t *testing.T) {
	rt := newRuntime(t)
	c, err := metrics.NewCollector(rt)
	require.NoError(t, err)
	require.NoError(t, runWorkload(rt))
	s := rt.Stats()

	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var found bool
	for _, mf := range mfs {
		if mf.GetName() != "orrery_poll_duration_seconds" {
			continue
		}
		found = true
		assert.Equal(t, pollTimeHelp, mf.GetHelp())
		require.Len(t, mf.GetMetric(), 1)
		h := mf.GetMetric()[0].GetHistogram()
		require.NotNil(t, h)
		assert.Equal(t, s.PollTimes.Count(), h.GetSampleCount())
		assert.Equal(t, s.PollTimes.Sum.Seconds(), h.GetSampleSum())
		assert.Positive(t, h.GetSampleSum())

		// One bucket per bounded bucket of PollHistogram, in order; the
		// unbounded last one is only in the count (+Inf).
		buckets := h.GetBucket()
		require.Len(t, buckets, asyncrt.NumPollBuckets-1)
		var cum, prev uint64
		for i, b := range buckets {
			cum += s.PollTimes.Counts[i]
			assert.Equal(t, asyncrt.PollBucketBound(i).Seconds(), b.GetUpperBound(), "bucket %d", i)
			assert.Equal(t, cum, b.GetCumulativeCount(), "bucket %d", i)
			assert.GreaterOrEqual(t, b.GetCumulativeCount(), prev, "bucket %d", i)
			prev = b.GetCumulativeCount()
		}
		assert.Equal(t, 1e-6, buckets[0].GetUpperBound())
		assert.Equal(t, 1.048576, buckets[len(buckets)-1].GetUpperBound())
		assert.Equal(t, h.GetSampleCount(), prev+s.PollTimes.Counts[asyncrt.NumPollBuckets-1])
	}
	assert.True(t, found, "no poll duration histogram")
}

// pollTimeHelp is the help text of the poll duration histogram.
const pollTimeHelp = "Duration of task polls, how long each held the runtime's thread " +
	"(filled only on a runtime built with Builder.MeasurePolls)."

func TestHistogramIsExposedEmptyWithoutMeasurePolls(t *testing.T) {
	rt, err := asyncrt.New()
	require.NoError(t, err)
	defer rt.Close()
	c, err := metrics.NewCollector(rt)
	require.NoError(t, err)
	v, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		t.Yield()
		return 1
	})
	require.NoError(t, err)
	require.Equal(t, 1, v)

	const want = `
# HELP orrery_poll_duration_seconds ` + pollTimeHelp + `
# TYPE orrery_poll_duration_seconds histogram
orrery_poll_duration_seconds_bucket{le="1e-06"} 0
orrery_poll_duration_seconds_bucket{le="2e-06"} 0
orrery_poll_duration_seconds_bucket{le="4e-06"} 0
orrery_poll_duration_seconds_bucket{le="8e-06"} 0
orrery_poll_duration_seconds_bucket{le="1.6e-05"} 0
orrery_poll_duration_seconds_bucket{le="3.2e-05"} 0
orrery_poll_duration_seconds_bucket{le="6.4e-05"} 0
orrery_poll_duration_seconds_bucket{le="0.000128"} 0
orrery_poll_duration_seconds_bucket{le="0.000256"} 0
orrery_poll_duration_seconds_bucket{le="0.000512"} 0
orrery_poll_duration_seconds_bucket{le="0.001024"} 0
orrery_poll_duration_seconds_bucket{le="0.002048"} 0
orrery_poll_duration_seconds_bucket{le="0.004096"} 0
orrery_poll_duration_seconds_bucket{le="0.008192"} 0
orrery_poll_duration_seconds_bucket{le="0.016384"} 0
orrery_poll_duration_seconds_bucket{le="0.032768"} 0
orrery_poll_duration_seconds_bucket{le="0.065536"} 0
orrery_poll_duration_seconds_bucket{le="0.131072"} 0
orrery_poll_duration_seconds_bucket{le="0.262144"} 0
orrery_poll_duration_seconds_bucket{le="0.524288"} 0
orrery_poll_duration_seconds_bucket{le="1.048576"} 0
orrery_poll_duration_seconds_bucket{le="+Inf"} 0
orrery_poll_duration_seconds_sum 0
orrery_poll_duration_seconds_count 0
# HELP orrery_polls_total Task polls: resumptions of a task until it suspends, yields or finishes.
# TYPE orrery_polls_total counter
orrery_polls_total 2
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want),
		"orrery_poll_duration_seconds", "orrery_polls_total"))
}

func TestStallsAreReadLive(t *testing.T) {
	const threshold = 20 * time.Millisecond
	reported := make(chan struct{}, 1)
	rt, err := asyncrt.NewBuilder().StallThreshold(threshold).OnStall(func(r asyncrt.StallReport) {
		if !r.Returned {
			select {
			case reported <- struct{}{}:
			default:
			}
		}
	}).Build()
	require.NoError(t, err)
	defer rt.Close()
	c, err := metrics.NewCollector(rt)
	require.NoError(t, err)

	unblock := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
			<-unblock // holds the runtime's thread: the mistake the watchdog reports
			return 0
		})
		done <- err
	}()
	<-reported
	// The runtime's thread is still held, yet the stall shows at once.
	const want = `
# HELP orrery_stalls_total Stalls the watchdog reported: holders of the runtime's thread past the stall threshold.
# TYPE orrery_stalls_total counter
orrery_stalls_total 1
`
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "orrery_stalls_total"))
	close(unblock)
	require.NoError(t, <-done)
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "orrery_stalls_total"))
}

func TestOptions(t *testing.T) {
	rt, err := asyncrt.New()
	require.NoError(t, err)
	defer rt.Close()

	c, err := metrics.NewCollector(rt, metrics.WithNamespace("feed"),
		metrics.WithConstLabels(prometheus.Labels{"runtime": "a", "shard": "1"}),
		metrics.WithConstLabels(prometheus.Labels{"runtime": "b"})) // a later value wins
	require.NoError(t, err)
	const want = `
# HELP feed_tasks_spawned_total Tasks started, including each BlockOn's root.
# TYPE feed_tasks_spawned_total counter
feed_tasks_spawned_total{runtime="b",shard="1"} 0
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "feed_tasks_spawned_total"))
	assert.Equal(t, numMetrics, testutil.CollectAndCount(c))

	c, err = metrics.NewCollector(rt, metrics.WithNamespace(""))
	require.NoError(t, err)
	assert.Equal(t, 1, testutil.CollectAndCount(c, "tasks_spawned_total"))
	assert.Equal(t, 1, testutil.CollectAndCount(c, "poll_duration_seconds"))

	// Labels are copied: changing the caller's map later changes nothing.
	labels := prometheus.Labels{"runtime": "x"}
	c, err = metrics.NewCollector(rt, metrics.WithConstLabels(labels))
	require.NoError(t, err)
	labels["runtime"] = "y"
	const wantX = `
# HELP orrery_live_tasks Tasks spawned and not yet finished.
# TYPE orrery_live_tasks gauge
orrery_live_tasks{runtime="x"} 0
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(wantX), "orrery_live_tasks"))
}

func TestNewCollectorErrors(t *testing.T) {
	_, err := metrics.NewCollector(nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nil")

	rt, err := asyncrt.New()
	require.NoError(t, err)
	defer rt.Close()
	for _, opt := range []metrics.Option{
		metrics.WithNamespace("my-app"),
		metrics.WithNamespace("1st"),
		metrics.WithNamespace("app:x"),
		metrics.WithConstLabels(prometheus.Labels{"run-time": "feed"}),
		metrics.WithConstLabels(prometheus.Labels{"__name__": "feed"}),
		metrics.WithConstLabels(prometheus.Labels{"": "feed"}),
		metrics.WithConstLabels(prometheus.Labels{"runtime": "\xff"}), // not UTF-8
	} {
		c, err := metrics.NewCollector(rt, opt)
		assert.Error(t, err)
		assert.Nil(t, c)
	}
	// A nil option is skipped.
	_, err = metrics.NewCollector(rt, nil)
	assert.NoError(t, err)
}

func TestSeveralRuntimesInOneRegistry(t *testing.T) {
	feed, err := asyncrt.New()
	require.NoError(t, err)
	defer feed.Close()
	orders, err := asyncrt.New()
	require.NoError(t, err)
	defer orders.Close()
	_, err = asyncrt.BlockOn(orders, func(t *asyncrt.Task) int {
		v, _ := asyncrt.Spawn(t, func(*asyncrt.Task) int { return 1 }).Await(t)
		return v
	})
	require.NoError(t, err)

	cFeed, err := metrics.NewCollector(feed, metrics.WithConstLabels(prometheus.Labels{"runtime": "feed"}))
	require.NoError(t, err)
	cOrders, err := metrics.NewCollector(orders, metrics.WithConstLabels(prometheus.Labels{"runtime": "orders"}))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(cFeed))
	require.NoError(t, reg.Register(cOrders))

	const want = `
# HELP orrery_tasks_spawned_total Tasks started, including each BlockOn's root.
# TYPE orrery_tasks_spawned_total counter
orrery_tasks_spawned_total{runtime="feed"} 0
orrery_tasks_spawned_total{runtime="orders"} 2
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "orrery_tasks_spawned_total"))
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	assert.Equal(t, 2*numMetrics, n)
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)

	// A second collector with the same labels is a duplicate, even for
	// another runtime.
	dup, err := metrics.NewCollector(orders, metrics.WithConstLabels(prometheus.Labels{"runtime": "feed"}))
	require.NoError(t, err)
	err = reg.Register(dup)
	var already prometheus.AlreadyRegisteredError
	require.ErrorAs(t, err, &already)
	assert.Same(t, cFeed, already.ExistingCollector)
}

func TestScrapeOverHTTP(t *testing.T) {
	rt := newRuntime(t)
	c, err := metrics.NewCollector(rt, feedLabels)
	require.NoError(t, err)
	require.NoError(t, runWorkload(rt))

	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux) // on 127.0.0.1
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))

	// Every metric is described and has a sample.
	text := string(body)
	for _, name := range allNames {
		typ := "counter"
		switch {
		case name == "orrery_poll_duration_seconds":
			typ = "histogram"
		case !strings.HasSuffix(name, "_total"):
			typ = "gauge"
		}
		assert.Contains(t, text, "# HELP "+name+" ", name)
		assert.Contains(t, text, "# TYPE "+name+" "+typ+"\n", name)
	}
	assert.Contains(t, text, "\norrery_tasks_spawned_total{runtime=\"feed\"} 4\n")
	assert.Contains(t, text, "\norrery_tasks_refused_total{runtime=\"feed\"} 1\n")
	assert.Contains(t, text, "\norrery_unhandled_panics_total{runtime=\"feed\"} 1\n")
	s := rt.Stats()
	assert.Contains(t, text, fmt.Sprintf("\norrery_poll_duration_seconds_count{runtime=\"feed\"} %d\n",
		s.PollTimes.Count()))
	assert.Contains(t, text, "\norrery_poll_duration_seconds_bucket{runtime=\"feed\",le=\"+Inf\"} ")

	// The same scrape, parsed and compared.
	require.NoError(t, testutil.ScrapeAndCompare(srv.URL+"/metrics", strings.NewReader(exactMetrics), exactNames...))
}
