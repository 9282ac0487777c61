package asyncrt_test

import (
	"errors"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/asyncrt"
)

func TestSpawnAndAwaitResults(t *testing.T) {
	for _, pooled := range []bool{false, true} {
		t.Run(fmt.Sprintf("pooled=%v", pooled), func(t *testing.T) { testSpawnAndAwaitResults(t, pooled) })
	}
}

func testSpawnAndAwaitResults(t *testing.T, pooled bool) {
	b := asyncrt.NewBuilder()
	if pooled {
		b = b.TaskPool(8, false)
	}
	rt := newRuntime(t, b)
	sum := block(t, rt, func(t *asyncrt.Task) int {
		var hs []asyncrt.JoinHandle[int]
		for i := range 100 {
			if i%2 == 0 {
				hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int { t.Yield(); return i }))
			} else {
				hs = append(hs, asyncrt.Spawn(t, func(*asyncrt.Task) int { return i }))
			}
		}
		sum := 0
		for _, h := range hs {
			v, err := h.Await(t)
			if err != nil {
				panic(err)
			}
			sum += v
		}
		return sum
	})
	assert.Equal(t, 99*100/2, sum)
}

func TestAwaitFinishedTaskDoesNotSuspend(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		v           string
		err         error
		pollsBefore uint64
		pollsAfter  uint64
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		h := asyncrt.Spawn(t, func(*asyncrt.Task) string { return "done" })
		for !h.IsFinished() {
			t.Yield()
		}
		before := t.Runtime().Stats().Polls
		v, err := h.Await(t)
		return result{v, err, before, t.Runtime().Stats().Polls}
	})
	require.NoError(t, r.err)
	assert.Equal(t, "done", r.v)
	assert.Equal(t, r.pollsBefore, r.pollsAfter, "Await on a finished task returns without suspending")
}

func TestAwaitTwiceAndAfterDetach(t *testing.T) {
	rt := newRuntime(t, nil)
	errs := block(t, rt, func(t *asyncrt.Task) []error {
		h := asyncrt.Spawn(t, func(*asyncrt.Task) int { return 1 })
		copyOfH := h
		_, err1 := h.Await(t)
		_, err2 := h.Await(t)
		_, err3 := copyOfH.Await(t)

		d := asyncrt.Spawn(t, func(t *asyncrt.Task) int { t.Yield(); return 2 })
		d.Detach()
		_, err4 := d.Await(t)
		d.Detach() // detaching twice is harmless

		var zero asyncrt.JoinHandle[int]
		_, err5 := zero.Await(t)
		return []error{err1, err2, err3, err4, err5}
	})
	assert.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], asyncrt.ErrJoined)
	assert.ErrorIs(t, errs[2], asyncrt.ErrJoined, "a copy refers to the same task")
	assert.ErrorIs(t, errs[3], asyncrt.ErrJoined)
	assert.ErrorIs(t, errs[4], asyncrt.ErrInvalidHandle)
}

func TestDetachWakesTaskAwaitingACopy(t *testing.T) {
	rt := newRuntime(t, nil)
	err := block(t, rt, func(t *asyncrt.Task) error {
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			for {
				t.Yield()
			}
		})
		waiter := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			_, err := h.Await(t)
			return err
		})
		t.Yield()
		t.Yield() // the waiter is now suspended in Await
		h.Detach()
		err, _ := waiter.Await(t)
		h.Abort() // still reachable through the handle; stop it
		return err
	})
	assert.ErrorIs(t, err, asyncrt.ErrJoined)
}

func TestHandleFromAnotherRuntime(t *testing.T) {
	rt1 := newRuntime(t, nil)
	rt2 := newRuntime(t, nil)
	h := block(t, rt1, func(t *asyncrt.Task) asyncrt.JoinHandle[int] {
		h := asyncrt.Spawn(t, func(*asyncrt.Task) int { return 1 })
		for !h.IsFinished() {
			t.Yield()
		}
		return h
	})
	err := block(t, rt2, func(t *asyncrt.Task) error {
		_, err := h.Await(t)
		return err
	})
	assert.ErrorIs(t, err, asyncrt.ErrInvalidHandle)
}

func TestAwaitConflictAndSelf(t *testing.T) {
	rt := newRuntime(t, nil)
	errs := block(t, rt, func(t *asyncrt.Task) []error {
		target := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			for range 5 {
				t.Yield()
			}
			return 5
		})
		first := asyncrt.Spawn(t, func(t *asyncrt.Task) error { _, err := target.Await(t); return err })
		second := asyncrt.Spawn(t, func(t *asyncrt.Task) error { t.Yield(); _, err := target.Await(t); return err })

		var self asyncrt.JoinHandle[error]
		self = asyncrt.Spawn(t, func(t *asyncrt.Task) error { _, err := self.Await(t); return err })

		e1, _ := first.Await(t)
		e2, _ := second.Await(t)
		e3, _ := self.Await(t)
		return []error{e1, e2, e3}
	})
	// Both wait; the first to resume after the target finishes takes the
	// result, the other is told it was taken.
	assert.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], asyncrt.ErrJoined)
	assert.ErrorIs(t, errs[2], asyncrt.ErrDeadlock)
}

func TestAbortSuspendedTaskRunsDefers(t *testing.T) {
	rt := newRuntime(t, nil)
	deferred := 0
	type result struct {
		aborted, again bool
		err            error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			defer func() { deferred++ }()
			for {
				t.Yield()
			}
		})
		t.Yield()
		t.Yield()
		aborted := h.Abort()
		_, err := h.Await(t)
		return result{aborted, h.Abort(), err}
	})
	assert.True(t, r.aborted)
	assert.False(t, r.again, "aborting a finished task does nothing")
	assert.ErrorIs(t, r.err, asyncrt.ErrAborted)
	assert.Equal(t, 1, deferred)
}

func TestAbortBeforeStartNeverRuns(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().TaskPool(1, true))
	ran := false
	err := block(t, rt, func(t *asyncrt.Task) error {
		h := asyncrt.SpawnFunc(t, func(*asyncrt.Task) { ran = true })
		h.Abort()
		return h.Wait(t)
	})
	assert.ErrorIs(t, err, asyncrt.ErrAborted)
	assert.False(t, ran)
}

func TestAbortFinishedTaskKeepsResult(t *testing.T) {
	rt := newRuntime(t, nil)
	v := block(t, rt, func(t *asyncrt.Task) int {
		h := asyncrt.Spawn(t, func(*asyncrt.Task) int { return 9 })
		for !h.IsFinished() {
			t.Yield()
		}
		if h.Abort() {
			panic("Abort reported a finished task as unfinished")
		}
		v, err := h.Await(t)
		if err != nil {
			panic(err)
		}
		return v
	})
	assert.Equal(t, 9, v)
}

func TestTaskAbortingItself(t *testing.T) {
	rt := newRuntime(t, nil)
	var after bool
	err := block(t, rt, func(t *asyncrt.Task) error {
		var self asyncrt.JoinHandle[int]
		self = asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			self.Abort()
			t.Yield() // unwinds here
			after = true
			return 1
		})
		_, err := self.Await(t)
		return err
	})
	assert.ErrorIs(t, err, asyncrt.ErrAborted)
	assert.False(t, after)
}

func TestAbortedTaskThatSwallowsTheSignalIsStillAborted(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		err        error
		suspendMsg string
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var msg string
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			func() {
				defer func() { _ = recover() }() // a careless catch-all
				for {
					t.Yield()
				}
			}()
			// Suspending again after swallowing the abort unwinds again.
			func() {
				defer func() {
					if recover() != nil {
						msg = "unwound"
					}
				}()
				t.Yield()
			}()
			return 42
		})
		t.Yield()
		h.Abort()
		_, err := h.Await(t)
		return result{err, msg}
	})
	assert.ErrorIs(t, r.err, asyncrt.ErrAborted, "the value returned after an abort is not trusted")
	assert.Equal(t, "unwound", r.suspendMsg)
}

func TestAbortWhileAwaitingLeavesNoRegistration(t *testing.T) {
	rt := newRuntime(t, nil)
	errs := block(t, rt, func(t *asyncrt.Task) []error {
		release := false
		target := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			for !release {
				t.Yield()
			}
			return 7
		})
		waiter := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			v, _ := target.Await(t)
			return v
		})
		t.Yield()
		t.Yield()
		waiter.Abort()
		_, werr := waiter.Await(t)
		release = true
		// The aborted waiter withdrew its registration: awaiting works.
		v, err := target.Await(t)
		if v != 7 {
			err = errors.Join(err, errors.New("wrong value"))
		}
		return []error{werr, err}
	})
	assert.ErrorIs(t, errs[0], asyncrt.ErrAborted)
	assert.NoError(t, errs[1])
}

func TestPanicReachesAwait(t *testing.T) {
	rt := newRuntime(t, nil)
	err := block(t, rt, func(t *asyncrt.Task) error {
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			t.Yield()
			panic("kaput")
		})
		_, err := h.Await(t)
		return err
	})
	var pe *asyncrt.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "kaput", pe.Value)
	assert.Nil(t, pe.Unwrap(), "a string panic wraps no error")
	assert.Contains(t, string(pe.Stack), "TestPanicReachesAwait")
}

func TestDetachedPanicEndsBlockOnByDefault(t *testing.T) {
	rt := newRuntime(t, nil)
	rootDeferred := false
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		defer func() { rootDeferred = true }()
		asyncrt.Spawn(t, func(*asyncrt.Task) int { panic("unjoinable") }).Detach()
		for {
			t.Yield()
		}
	})
	var pe *asyncrt.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "unjoinable", pe.Value)
	assert.True(t, rootDeferred)
	assert.Equal(t, uint64(1), rt.Stats().UnhandledPanics)
}

func TestDetachAfterPanicIsUnhandled(t *testing.T) {
	var hooked []*asyncrt.PanicError
	rt := newRuntime(t, asyncrt.NewBuilder().
		UnhandledPanics(asyncrt.CountPanics).
		OnUnhandledPanic(func(pe *asyncrt.PanicError) { hooked = append(hooked, pe) }))
	v := block(t, rt, func(t *asyncrt.Task) int {
		h := asyncrt.Spawn(t, func(*asyncrt.Task) int { panic("late") })
		for !h.IsFinished() {
			t.Yield()
		}
		h.Detach() // nobody will ever see it now
		return 3
	})
	assert.Equal(t, 3, v, "CountPanics carries on")
	require.Len(t, hooked, 1)
	assert.Equal(t, "late", hooked[0].Value)
	assert.Equal(t, uint64(1), rt.Stats().UnhandledPanics)
}

func TestUnjoinedPanicReportedByClose(t *testing.T) {
	rt := newRuntime(t, nil)
	block(t, rt, func(t *asyncrt.Task) int {
		h := asyncrt.Spawn(t, func(*asyncrt.Task) int { panic("forgotten") })
		for !h.IsFinished() {
			t.Yield()
		}
		return 0 // the handle is dropped without Await or Detach
	})
	st := rt.Close()
	assert.Equal(t, 1, st.Referenced)
	require.Len(t, st.UnjoinedPanics, 1)
	assert.Equal(t, "forgotten", st.UnjoinedPanics[0].Value)
}

// goexitChild is set in the environment of the child process that
// TestGoexitInTask runs itself in.
const goexitChild = "ASYNCRT_TEST_GOEXIT_CHILD"

// The coroutine of a task that calls runtime.Goexit cannot be ended: it stays
// parked for the life of the process (ShutdownStats.Abandoned counts it). So
// that this process is left without it, the test runs in a child process,
// where it checks that the abandoned coroutine is the one goroutine left;
// the child's TestMain (goleak) must then name that goroutine, and only it.
func TestGoexitInTask(t *testing.T) {
	if os.Getenv(goexitChild) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestGoexitInTask$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), goexitChild+"=1")
		out, err := cmd.CombinedOutput()
		report := string(out)
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "goleak fails the child for the abandoned coroutine:\n%s", report)
		require.Contains(t, report, "--- PASS: TestGoexitInTask", report)
		_, leaks, found := strings.Cut(report, "goleak: Errors on successful test run: found unexpected goroutines:")
		require.True(t, found, report)
		assert.Equal(t, 1, strings.Count(leaks, " in state "), "one goroutine left:\n%s", leaks)
		assert.Contains(t, leaks, "runtime.Goexit", "the task that called Goexit")
		assert.Contains(t, leaks, "asyncrt_test.TestGoexitInTask", "the task that called Goexit")
		return
	}
	before := goleak.IgnoreCurrent()
	rt, err := asyncrt.New()
	require.NoError(t, err)
	v := block(t, rt, func(t *asyncrt.Task) error {
		h := asyncrt.Spawn(t, func(*asyncrt.Task) int {
			runtime.Goexit()
			return 1
		})
		_, err := h.Await(t)
		return err
	})
	assert.ErrorIs(t, v, asyncrt.ErrGoexit)
	// The runtime carries on.
	assert.Equal(t, 5, block(t, rt, func(*asyncrt.Task) int { return 5 }))
	st := rt.Close()
	assert.Equal(t, 1, st.Abandoned)
	// The abandoned coroutine is the one goroutine that stays.
	leaks := goleak.Find(before)
	require.Error(t, leaks)
	assert.Equal(t, 1, strings.Count(leaks.Error(), " in state "), "one goroutine left: %v", leaks)
	assert.Contains(t, leaks.Error(), "runtime.Goexit")
}

func TestBoundedPool(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().TaskPool(2, true))
	type result struct {
		full                error
		inUse, capacity     int
		afterFinish         error
		inUseAfter, created int
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		release := false
		spin := func(t *asyncrt.Task) int {
			for !release {
				t.Yield()
			}
			return 0
		}
		a := asyncrt.Spawn(t, spin)
		b := asyncrt.Spawn(t, spin)
		full := asyncrt.Spawn(t, spin).Wait(t)
		s := t.Runtime().Stats()
		release = true
		_, _ = a.Await(t)
		_, _ = b.Await(t)
		err := asyncrt.Spawn(t, spin).Wait(t)
		s2 := t.Runtime().Stats()
		return result{full, s.PoolInUse, s.PoolCapacity, err, s2.PoolInUse, s2.PoolCapacity}
	})
	assert.ErrorIs(t, r.full, asyncrt.ErrPoolFull)
	assert.Equal(t, 2, r.inUse)
	assert.Equal(t, 2, r.capacity)
	assert.NoError(t, r.afterFinish, "a finished task gives its coroutine back")
	assert.Equal(t, 0, r.inUseAfter)
	assert.Equal(t, 2, r.created)
}

func TestUnboundedPoolGrows(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().TaskPool(4, false))
	s := block(t, rt, func(t *asyncrt.Task) asyncrt.Stats {
		var hs []asyncrt.JoinHandle[int]
		for range 100 {
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int { t.Yield(); return 1 }))
		}
		s := t.Runtime().Stats()
		for _, h := range hs {
			_, _ = h.Await(t)
		}
		return s
	})
	assert.Equal(t, 100, s.PoolInUse)
	assert.Equal(t, 4+64+64, s.PoolCapacity, "grows by chunks of max(size, 64)")
}

func TestSpawnNilFunctionPanics(t *testing.T) {
	rt := newRuntime(t, nil)
	msgs := block(t, rt, func(t *asyncrt.Task) []string {
		return []string{
			panicMessage(func() { asyncrt.Spawn[int](t, nil) }),
			panicMessage(func() { asyncrt.SpawnFunc(t, nil) }),
			panicMessage(func() { asyncrt.NewJoinSet[int]().SpawnFunc(t, nil) }),
		}
	})
	assert.Contains(t, msgs[0], "Spawn called with a nil function")
	assert.Contains(t, msgs[1], "SpawnFunc called with a nil function")
	assert.Contains(t, msgs[2], "JoinSet.SpawnFunc called with a nil function")
}

// An unpooled spawn allocates what a bare iter.Pull coroutine run to
// completion allocates, plus the task's Task; its record, body and
// registrations come from reused storage.
func TestUnpooledSpawnAllocatesACoroutineAndATask(t *testing.T) {
	bare := testing.AllocsPerRun(200, func() {
		next, stop := iter.Pull(func(yield func(int) bool) { yield(1) })
		next()
		next()
		stop()
	})
	allocs := spawnAllocs(t, newRuntime(t, nil))
	assert.Equal(t, map[string]float64{"Spawn": bare + 1, "SpawnFunc": bare + 1}, allocs, "a bare iter.Pull: %v", bare)
}

// On a pooled runtime, once warm, spawning and awaiting a task allocates
// nothing beyond what its function captures: a recycled body holds a
// result, and a task that returns nothing needs none.
func TestPooledSpawnAllocatesNothing(t *testing.T) {
	allocs := spawnAllocs(t, newRuntime(t, asyncrt.NewBuilder().TaskPool(4, false)))
	assert.Equal(t, map[string]float64{"Spawn": 0, "SpawnFunc": 0}, allocs)
}

// spawnAllocs returns the allocations of a Spawn+Await and of a
// SpawnFunc+Wait of tasks that capture nothing, on rt.
func spawnAllocs(t *testing.T, rt *asyncrt.Runtime) map[string]float64 {
	return block(t, rt, func(t *asyncrt.Task) map[string]float64 {
		value := func(t *asyncrt.Task) int { t.Yield(); return 1 }
		void := func(t *asyncrt.Task) { t.Yield() }
		return map[string]float64{
			"Spawn": testing.AllocsPerRun(200, func() {
				if v, err := asyncrt.Spawn(t, value).Await(t); v != 1 || err != nil {
					panic(fmt.Sprint(v, err))
				}
			}),
			"SpawnFunc": testing.AllocsPerRun(200, func() {
				if err := asyncrt.SpawnFunc(t, void).Wait(t); err != nil {
					panic(err)
				}
			}),
		}
	})
}
