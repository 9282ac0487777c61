package asyncrt_test

import (
	"bytes"
	"errors"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

func namedWorker(t *asyncrt.Task) string { return t.Name() }

func TestTaskNames(t *testing.T) {
	for _, pooled := range []bool{false, true} {
		b := asyncrt.NewBuilder()
		if pooled {
			b = b.TaskPool(1, false) // one coroutine runs every task in turn
		}
		rt := newRuntime(t, b)
		names := block(t, rt, func(t *asyncrt.Task) []string {
			var names []string
			for _, h := range []asyncrt.JoinHandle[string]{
				asyncrt.Spawn(t, namedWorker, asyncrt.Named("feed")),
				asyncrt.Spawn(t, namedWorker),
				asyncrt.Spawn(t, func(t *asyncrt.Task) string { return t.Name() }),
				asyncrt.Spawn(t, namedWorker, asyncrt.Named("a"), asyncrt.Named("b")),
			} {
				v, _ := h.Await(t)
				names = append(names, v)
			}
			set := asyncrt.NewJoinSet[string]()
			set.Spawn(t, namedWorker, asyncrt.Named("in-set"))
			r, _ := set.Next(t)
			names = append(names, r.Value)
			return names
		})
		assert.Equal(t, []string{
			"feed",
			"github.com/orrery-go/orrery/asyncrt_test.namedWorker",
			"github.com/orrery-go/orrery/asyncrt_test.TestTaskNames.func1.1",
			"b", // the last name given wins
			"in-set",
		}, names, "pooled=%v", pooled)
	}
}

func TestPanicErrorNamesTheTask(t *testing.T) {
	rt := newRuntime(t, nil)
	err := block(t, rt, func(t *asyncrt.Task) error {
		return asyncrt.SpawnFunc(t, func(*asyncrt.Task) { panic("boom") }, asyncrt.Named("gateway")).Wait(t)
	})
	var pe *asyncrt.PanicError
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, "gateway", pe.TaskName)
	assert.Contains(t, pe.Error(), `(gateway) panicked: boom`)
}

func TestStallReportNamesTheTask(t *testing.T) {
	reports, hook := stallReports()
	rt := newRuntime(t, asyncrt.NewBuilder().StallThreshold(20*time.Millisecond).OnStall(hook))
	unblock := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- asyncrt.Run(rt, func(t *asyncrt.Task) error {
			return asyncrt.SpawnFunc(t, func(*asyncrt.Task) { <-unblock }, asyncrt.Named("slow-feed")).Wait(t)
		})
	}()
	first := <-reports // while it holds the thread
	close(unblock)
	last, _ := nextFinal(reports)
	require.NoError(t, <-done)
	for _, r := range []asyncrt.StallReport{first, last} {
		assert.Equal(t, "slow-feed", r.TaskName)
		assert.Contains(t, r.Name, "TestStallReportNamesTheTask")
		assert.Contains(t, r.String(), `"slow-feed" (`)
	}
}

// TestProfileLabelsNameTheTasksGoroutine reads the goroutine profile, which
// prints each goroutine's pprof labels: a suspended task's coroutine carries
// its name on a runtime built with ProfileLabels, and nothing without.
func TestProfileLabelsNameTheTasksGoroutine(t *testing.T) {
	for _, on := range []bool{false, true} {
		rt := newRuntime(t, asyncrt.NewBuilder().ProfileLabels(on).TaskPool(2, false))
		profile := block(t, rt, func(t *asyncrt.Task) string {
			release := asyncrt.NewCancellationToken()
			h := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { release.Cancelled(t) }, asyncrt.Named("order-book"))
			u := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { release.Cancelled(t) })
			t.Yield() // both are suspended now
			var buf bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
			release.Cancel()
			_, _ = h.Wait(t), u.Wait(t)
			return buf.String()
		})
		assert.Equal(t, on, strings.Contains(profile, `labels: {"task":"order-book"}`), "ProfileLabels(%v)", on)
		assert.Equal(t, on, strings.Contains(profile,
			`labels: {"task":"github.com/orrery-go/orrery/asyncrt_test.TestProfileLabelsNameTheTasksGoroutine.func1.2"}`),
			"an unnamed task is labelled with its function's name")
	}
}

func TestRuntimeTasksListsTheUnfinished(t *testing.T) {
	rt := newRuntime(t, nil)
	list := block(t, rt, func(t *asyncrt.Task) []string {
		stop := asyncrt.NewCancellationToken()
		w := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { stop.Cancelled(t) }, asyncrt.Named("waiter"))
		r := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {}, asyncrt.Named("not yet run"))
		t.Yield() // both ran once: the waiter waits, the other finished
		n := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {}, asyncrt.Named("fresh"))
		var list []string
		for _, ti := range t.Runtime().Tasks() {
			list = append(list, ti.String())
		}
		stop.Cancel()
		_, _, _ = w.Wait(t), r.Wait(t), n.Wait(t)
		return list
	})
	require.Len(t, list, 3)
	assert.Regexp(t, `^task \d+ "github.com/orrery-go/orrery/asyncrt_test.TestRuntimeTasksListsTheUnfinished.func1" running, 0 waits$`, list[0], "the root")
	assert.Regexp(t, `^task \d+ "waiter" suspended, 1 waits$`, list[1])
	assert.Regexp(t, `^task \d+ "fresh" ready, 0 waits$`, list[2])
	assert.Panics(t, func() { rt.Tasks() }, "from outside the runtime")
}

// A sleeping task is listed as sleeping, with when its sleep ends, even when
// a wake of one of its registrations resumed it in between.
func TestRuntimeTasksShowsSleepers(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	list := block(t, rt, func(t *asyncrt.Task) []asyncrt.TaskInfo {
		var q asyncrt.WaitQueue
		s := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
			w := t.Enqueue(&q)
			t.Sleep(time.Hour)
			w.Release()
		}, asyncrt.Named("sleeper"))
		t.Yield()
		q.WakeOne() // resumes it: it sleeps on
		t.Yield()
		list := t.Runtime().Tasks()
		s.Abort()
		_ = s.Wait(t)
		return list
	})
	require.Len(t, list, 2)
	assert.Equal(t, "sleeping", list[1].State)
	assert.Equal(t, simStart.Add(time.Hour), list[1].Until)
	assert.Equal(t, 1, list[1].Waits, "its registration; the sleep is not one")
	assert.Regexp(t, `^task \d+ "sleeper" sleeping until 2026-01-02T10:30:00Z, 1 waits$`, list[1].String())
	assert.True(t, list[0].Until.IsZero(), "the root does not sleep")
}

// TestTraceShowsTheTask records an execution trace around a named task: the
// task's name is in the trace (as a trace task and region) only while one
// is recorded.
func TestTraceShowsTheTask(t *testing.T) {
	rt := newRuntime(t, nil)
	run := func(name string) {
		block(t, rt, func(t *asyncrt.Task) int {
			_ = asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { t.Yield() }, asyncrt.Named(name)).Wait(t)
			return 0
		})
	}
	var buf bytes.Buffer
	require.NoError(t, trace.Start(&buf))
	run("traced-task-7f3a")
	trace.Stop()
	run("untraced-task-9c1e")
	assert.True(t, bytes.Contains(buf.Bytes(), []byte("traced-task-7f3a")))
	assert.False(t, bytes.Contains(buf.Bytes(), []byte("untraced-task-9c1e")))
}
