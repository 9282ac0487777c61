package asyncrt_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// stallReports returns an OnStall hook that hands each report to the
// returned channel.
func stallReports() (<-chan asyncrt.StallReport, func(asyncrt.StallReport)) {
	ch := make(chan asyncrt.StallReport, 1024)
	return ch, func(r asyncrt.StallReport) {
		select {
		case ch <- r:
		default:
			panic("too many stall reports")
		}
	}
}

// blocked is what a task that blocks its thread on a Go channel tells the
// test before it blocks.
type blocked struct {
	id   uint64
	at   time.Time
	line int // of the receive that blocks
}

// runChild runs fn as a task spawned by a root, on rt in the background,
// and returns a channel that delivers BlockOn's error.
func runChild(rt *asyncrt.Runtime, fn func(*asyncrt.Task) int) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := asyncrt.BlockOn(rt, func(task *asyncrt.Task) int {
			_, _ = asyncrt.Spawn(task, fn).Await(task)
			return 0
		})
		done <- err
	}()
	return done
}

// nextFinal skips reports made while holding until the last one.
func nextFinal(reports <-chan asyncrt.StallReport) (r asyncrt.StallReport, holding int) {
	for r = range reports {
		if r.Returned {
			return r, holding
		}
		holding++
	}
	return r, holding
}

func TestStallReportedWhileTheTaskHoldsTheThread(t *testing.T) {
	const threshold = 20 * time.Millisecond
	reports, hook := stallReports()
	rt := newRuntime(t, asyncrt.NewBuilder().StallThreshold(threshold).OnStall(hook))
	unblock := make(chan struct{})
	started := make(chan blocked, 1)
	done := runChild(rt, func(task *asyncrt.Task) int {
		_, _, line, _ := runtime.Caller(0)
		started <- blocked{task.ID(), time.Now(), line + 2}
		<-unblock // holds the thread: the mistake under test
		return 0
	})
	b := <-started

	first := <-reports // the task is still blocked: nothing else unblocks it
	t.Logf("first report %v after the task blocked (threshold %v; Duration %v, Preempted %v)",
		time.Since(b.at), threshold, first.Duration, first.Preempted)
	assert.False(t, first.Returned, "the task still holds the thread")
	assert.Equal(t, b.id, first.TaskID)
	assert.Equal(t, 1, first.Seq)
	assert.Contains(t, first.Name, t.Name())
	assert.True(t, strings.HasSuffix(first.File, "watchdog_test.go"), first.File)
	assert.Less(t, first.Line, b.line, "where the task function is defined")
	assert.GreaterOrEqual(t, first.Duration, threshold)
	stack := string(first.Stack)
	assert.Contains(t, stack, "[chan receive")
	assert.Contains(t, stack, "watchdog_test.go:"+strconv.Itoa(b.line)+" ", "the blocking frame:\n%s", stack)
	assert.Contains(t, stack, "asyncrt_test.runChild.func1.1(", "the root, which awaits it inline, follows")
	assert.Equal(t, uint64(1), rt.Stats().Stalls, "counted while it goes on")

	close(unblock)
	last, _ := nextFinal(reports)
	require.NoError(t, <-done)
	assert.Equal(t, b.id, last.TaskID)
	assert.Equal(t, first.Name, last.Name)
	assert.GreaterOrEqual(t, last.Duration, first.Duration)
	assert.Equal(t, first.Stack, last.Stack)
	assert.Equal(t, uint64(1), rt.Stats().Stalls, "one stall, however many reports")
}

func TestStallReportedAgainWhileItGoesOn(t *testing.T) {
	const threshold = 10 * time.Millisecond
	reports, hook := stallReports()
	rt := newRuntime(t, asyncrt.NewBuilder().StallThreshold(threshold).OnStall(hook))
	unblock := make(chan struct{})
	started := make(chan blocked, 1)
	done := runChild(rt, func(task *asyncrt.Task) int {
		_, _, line, _ := runtime.Caller(0)
		started <- blocked{task.ID(), time.Now(), line + 2}
		<-unblock // holds the thread: the mistake under test
		return 0
	})
	b := <-started

	var prev time.Duration
	for seq := 1; seq <= 3; seq++ {
		r := <-reports
		assert.False(t, r.Returned)
		assert.Equal(t, b.id, r.TaskID)
		assert.Equal(t, seq, r.Seq)
		assert.GreaterOrEqual(t, r.Duration, time.Duration(seq)*threshold)
		assert.Greater(t, r.Duration, prev)
		prev = r.Duration
	}
	close(unblock)
	last, more := nextFinal(reports)
	require.NoError(t, <-done)
	assert.Equal(t, b.id, last.TaskID)
	assert.Equal(t, 3+more+1, last.Seq)
	assert.GreaterOrEqual(t, last.Duration, prev)
	assert.Equal(t, uint64(1), rt.Stats().Stalls)
}

func TestStallNotReportedForTasksThatSuspend(t *testing.T) {
	reports, hook := stallReports()
	rt := newRuntime(t, asyncrt.NewBuilder().StallThreshold(3*time.Millisecond).OnStall(hook))
	block(t, rt, func(task *asyncrt.Task) int {
		var hs []asyncrt.JoinHandle[int]
		for range 8 {
			hs = append(hs, asyncrt.Spawn(task, func(task *asyncrt.Task) int {
				sum := 0
				for i := range 3000 {
					for j := range 200 {
						sum += i ^ j // a little work between suspensions
					}
					if i%100 == 0 {
						task.Sleep(100 * time.Microsecond)
					} else {
						task.Yield()
					}
				}
				return sum
			}))
		}
		for _, h := range hs {
			_, _ = h.Await(task)
		}
		return 0
	})
	suspicions, preempted := asyncrt.WatchdogFigures(rt)
	t.Logf("suspected %d times, discounting %v of preemption", suspicions, preempted)
	assert.Zero(t, rt.Stats().Stalls)
	select {
	case r := <-reports:
		t.Errorf("a task that suspends often was reported:\n%s", r)
	default:
	}
}

// lines is an io.Writer that hands each write to a channel.
type lines chan string

func (l lines) Write(b []byte) (int, error) {
	l <- string(b)
	return len(b), nil
}

func TestStallDefaultReportIsWrittenOut(t *testing.T) {
	out := make(lines, 64)
	b := asyncrt.NewBuilder().StallThreshold(10 * time.Millisecond)
	rt := newRuntime(t, asyncrt.StallOutput(b, out))
	unblock := make(chan struct{})
	started := make(chan blocked, 1)
	done := runChild(rt, func(task *asyncrt.Task) int {
		_, _, line, _ := runtime.Caller(0)
		started <- blocked{task.ID(), time.Now(), line + 2}
		<-unblock // holds the thread: the mistake under test
		return 0
	})
	blk := <-started

	text := <-out
	for _, want := range []string{
		fmt.Sprintf("asyncrt: stall: task %d (", blk.id),
		t.Name(),
		"has held the runtime's thread for ",
		"still holds it",
		"task function: ",
		"watchdog_test.go:" + strconv.Itoa(blk.line) + " ",
		"[chan receive",
		"asyncrt.Go",
	} {
		assert.Contains(t, text, want)
	}
	assert.True(t, strings.HasSuffix(text, "\n"))
	close(unblock)
	for text = range out {
		if strings.Contains(text, "gave the runtime's thread back") {
			break
		}
	}
	require.NoError(t, <-done)
	assert.Contains(t, text, fmt.Sprintf("task %d (", blk.id))
	assert.Contains(t, text, "after holding it for ")
}

// stuckWorld is a World whose systems block the runtime's thread once,
// until release is closed.
type stuckWorld struct {
	once    sync.Once
	stuck   chan struct{}
	release chan struct{}
}

func (w *stuckWorld) Locked() bool             { return false }
func (w *stuckWorld) HasDeferred() bool        { return false }
func (w *stuckWorld) ApplyDeferred() error     { return nil }
func (w *stuckWorld) TaskEnded() error         { return nil }
func (w *stuckWorld) SchedulesVersion() uint64 { return 1 }
func (w *stuckWorld) Finalize()                {}
func (w *stuckWorld) RunSystems(time.Time) (time.Time, bool, error) {
	w.once.Do(func() {
		close(w.stuck)
		<-w.release
	})
	return time.Time{}, true, nil
}

func TestStallInTheRuntimesOwnWork(t *testing.T) {
	reports, hook := stallReports()
	w := &stuckWorld{stuck: make(chan struct{}), release: make(chan struct{})}
	rt := newRuntime(t, asyncrt.NewBuilder().World(w).StallThreshold(10*time.Millisecond).OnStall(hook))
	done := make(chan error, 1)
	go func() {
		_, err := asyncrt.BlockOn(rt, func(task *asyncrt.Task) int { task.Yield(); return 0 })
		done <- err
	}()
	<-w.stuck
	r := <-reports
	assert.False(t, r.Returned)
	assert.Zero(t, r.TaskID, "no task holds the thread")
	assert.Contains(t, string(r.Stack), "(*stuckWorld).RunSystems")
	assert.Contains(t, r.String(), "the runtime's own work")
	close(w.release)
	last, _ := nextFinal(reports)
	require.NoError(t, <-done)
	assert.Zero(t, last.TaskID)
}

// With many goroutines a dump of their stacks would stop the whole process
// for longer than a stall report is worth (some 4 µs a goroutine): the
// reports made while the stall goes on name no task and carry no stack, and
// the last report still names the task.
func TestStallWithManyGoroutinesSkipsTheDump(t *testing.T) {
	const threshold = 20 * time.Millisecond
	// A quarter of the threshold buys a dump of about 1,000 goroutines.
	park := make(chan struct{})
	var parked sync.WaitGroup
	for range 10_000 {
		parked.Go(func() { <-park })
	}
	defer parked.Wait()
	defer close(park)

	reports, hook := stallReports()
	rt := newRuntime(t, asyncrt.NewBuilder().StallThreshold(threshold).OnStall(hook))
	unblock := make(chan struct{})
	started := make(chan uint64, 1)
	done := make(chan error, 1)
	go func() {
		_, err := asyncrt.BlockOn(rt, func(task *asyncrt.Task) int {
			h := asyncrt.SpawnFunc(task, func(task *asyncrt.Task) {
				started <- task.ID()
				<-unblock // holds the thread: the mistake under test
			})
			task.Yield() // the child starts from the executor, not inline
			if err := h.Wait(task); err != nil {
				t.Error(err)
			}
			return 0
		})
		done <- err
	}()
	id := <-started
	first := <-reports
	assert.False(t, first.Returned)
	assert.Zero(t, first.TaskID, "named without a dump")
	assert.Nil(t, first.Stack, "a dump of every goroutine")
	assert.GreaterOrEqual(t, first.Duration, threshold)
	close(unblock)
	last, _ := nextFinal(reports)
	require.NoError(t, <-done)
	assert.Equal(t, id, last.TaskID, "the last report names the holder")
	assert.Nil(t, last.Stack)
}

// TestStallSoak runs well-behaved tasks for a while and checks that none is
// reported. It is a measurement, not a test of the package: run it on a
// machine whose CPUs are saturated by other processes, with
//
//	ORRERY_STALL_SOAK=1 go test -run StallSoak -v ./asyncrt
//
// (ORRERY_STALL_SOAK_SECONDS sets the duration, 30 s by default).
func TestStallSoak(t *testing.T) {
	if os.Getenv("ORRERY_STALL_SOAK") != "1" {
		t.Skip("set ORRERY_STALL_SOAK=1 to run the soak")
	}
	length := 30 * time.Second
	if s := os.Getenv("ORRERY_STALL_SOAK_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		length = time.Duration(n) * time.Second
	}
	const threshold = 10 * time.Millisecond
	reports, hook := stallReports()
	rt := newRuntime(t, asyncrt.NewBuilder().StallThreshold(threshold).OnStall(hook))
	type figures struct {
		polls      int
		cpu, delay time.Duration
	}
	f := block(t, rt, func(task *asyncrt.Task) figures {
		var f figures
		cpu0, delay0 := threadSchedstat(t)
		deadline := time.Now().Add(length)
		var hs []asyncrt.JoinHandle[int]
		for range 64 {
			hs = append(hs, asyncrt.Spawn(task, func(task *asyncrt.Task) int {
				n := 0
				for time.Now().Before(deadline) {
					for range 10 {
						task.Yield()
						n++
					}
					task.Sleep(time.Millisecond)
				}
				return n
			}))
		}
		// Two tasks that only yield keep the runtime from ever parking, so
		// that the system preempts its thread while it runs tasks.
		for range 2 {
			hs = append(hs, asyncrt.Spawn(task, func(task *asyncrt.Task) int {
				n := 0
				for time.Now().Before(deadline) {
					task.Yield()
					n++
				}
				return n
			}))
		}
		for _, h := range hs {
			n, _ := h.Await(task)
			f.polls += n
		}
		cpu1, delay1 := threadSchedstat(t)
		f.cpu, f.delay = cpu1-cpu0, delay1-delay0
		return f
	})
	suspicions, preempted := asyncrt.WatchdogFigures(rt)
	n := 0
	for more := true; more; {
		select {
		case r := <-reports:
			n++
			t.Logf("reported:\n%s", r)
		default:
			more = false
		}
	}
	t.Logf("%v of 64 tasks yielding and sleeping 1 ms and 2 only yielding, threshold %v: %d yields; runtime thread: %v CPU, "+
		"%v waiting for a CPU; watchdog: %d suspicions, %v of preemption discounted, %d stalls reported",
		length, threshold, f.polls, f.cpu, f.delay, suspicions, preempted, n)
	assert.Zero(t, n, "stalls reported")
	assert.Zero(t, rt.Stats().Stalls)
}

// threadSchedstat reads the calling thread's CPU time and run-queue delay.
func threadSchedstat(t *testing.T) (cpu, delay time.Duration) {
	b, err := os.ReadFile("/proc/thread-self/schedstat")
	require.NoError(t, err)
	f := strings.Fields(string(b))
	c, err := strconv.ParseInt(f[0], 10, 64)
	require.NoError(t, err)
	d, err := strconv.ParseInt(f[1], 10, 64)
	require.NoError(t, err)
	return time.Duration(c), time.Duration(d)
}
