package asyncrt_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
)

func TestParkedRuntimeUsesNoCPU(t *testing.T) {
	rt := newRuntime(t, nil)
	var before, after unix.Rusage
	block(t, rt, func(t *asyncrt.Task) int {
		// RUSAGE_THREAD: the runtime's own thread, which is this one.
		if err := unix.Getrusage(unix.RUSAGE_THREAD, &before); err != nil {
			panic(err)
		}
		t.Sleep(time.Second)
		if err := unix.Getrusage(unix.RUSAGE_THREAD, &after); err != nil {
			panic(err)
		}
		return 0
	})
	used := time.Duration(after.Utime.Nano()+after.Stime.Nano()) - time.Duration(before.Utime.Nano()+before.Stime.Nano())
	t.Logf("CPU time used by the runtime thread while parked for 1 s: %v (parks: %d)", used, rt.Stats().Parks)
	assert.Less(t, used, 50*time.Millisecond)
}

func TestSpinRuntimeKeepsPolling(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().Idle(asyncrt.Spin))
	woke := block(t, rt, func(t *asyncrt.Task) time.Duration {
		start := t.Now()
		t.Sleep(5 * time.Millisecond)
		return t.Now().Sub(start)
	})
	assert.GreaterOrEqual(t, woke, 5*time.Millisecond)
	s := rt.Stats()
	assert.Zero(t, s.Parks, "a spinning runtime never parks")
	assert.Greater(t, s.Cycles, uint64(10), "it keeps cycling while it waits")
}

// A runtime that spins before parking takes work that arrives within the
// window without parking: here, a Notify sent as soon as the task has
// acknowledged the last one, 200 times. The window (10 ms) is long enough
// that a goroutine delayed past it more than a few times is unthinkable.
func TestSpinBeforeParkSparesParks(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().SpinBeforePark(10*time.Millisecond))
	const rounds = 200
	s := notifyRounds(t, rt, rounds)
	t.Logf("%d rounds: %d spins, %d parks", rounds, s.Spins, s.Parks)
	if runtime.GOMAXPROCS(0) == 1 {
		assert.Zero(t, s.Spins, "with one processor, spinning would starve the notifier")
		return
	}
	// Without the window the runtime parks in about half the rounds here.
	assert.Positive(t, s.Spins, "the runtime spins when it runs out of work")
	assert.LessOrEqual(t, s.Parks, uint64(rounds/10), "work that comes within the window spares a park")
}

func TestBuilderTimeOptionsValidated(t *testing.T) {
	for name, b := range map[string]*asyncrt.Builder{
		"Idle(5)":             asyncrt.NewBuilder().Idle(asyncrt.IdleStrategy(5)),
		"EventInterval(0)":    asyncrt.NewBuilder().EventInterval(0),
		"PinCPU(-1)":          asyncrt.NewBuilder().PinCPU(-1),
		"PinCPU(100000)":      asyncrt.NewBuilder().PinCPU(100000),
		"StallThreshold(-1s)": asyncrt.NewBuilder().StallThreshold(-time.Second),
		"SpinBeforePark(-1s)": asyncrt.NewBuilder().SpinBeforePark(-time.Second),
		"SpinBeforePark(1s)":  asyncrt.NewBuilder().SpinBeforePark(time.Second),
	} {
		_, err := b.Build()
		assert.ErrorContains(t, err, name)
	}
	assert.Equal(t, "Park", asyncrt.Park.String())
	assert.Equal(t, "Spin", asyncrt.Spin.String())
}

func TestPinCPU(t *testing.T) {
	var allowed unix.CPUSet
	require.NoError(t, unix.SchedGetaffinity(0, &allowed))
	cpu := -1
	for i := range 1024 {
		if allowed.IsSet(i) {
			cpu = i
		}
	}
	require.GreaterOrEqual(t, cpu, 0)
	rt := newRuntime(t, asyncrt.NewBuilder().PinCPU(cpu))
	got := block(t, rt, func(t *asyncrt.Task) unix.CPUSet {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &set); err != nil { // this thread
			panic(err)
		}
		return set
	})
	assert.Equal(t, 1, got.Count())
	assert.True(t, got.IsSet(cpu))
}

func TestDeadlockNeedsNothingPending(t *testing.T) {
	// A sleeping task is something that can happen: no deadlock.
	rt := newRuntime(t, nil)
	v, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) int { t.Sleep(time.Millisecond); return 1 })
		v, _ := h.Await(t)
		return v
	})
	require.NoError(t, err)
	assert.Equal(t, 1, v)
}

func TestSpawnRemote(t *testing.T) {
	rt := newRuntime(t, nil)
	h := rt.Handle()
	var wg sync.WaitGroup
	results := make([]int, 50)
	errs := make(chan error, 50)
	// The runtime runs a root that waits for the shutdown signal, so it is
	// driven (and parked) while other goroutines send it work.
	done := make(chan error, 1)
	go func() {
		_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int { t.ShutdownSignal(); return 0 })
		done <- err
	}()
	for i := range results {
		wg.Go(func() {
			r, err := asyncrt.SpawnRemote(h, func(t *asyncrt.Task) int {
				t.Sleep(time.Millisecond)
				return i * 3
			})
			if err != nil {
				errs <- err
				return
			}
			v, err := r.Wait()
			if err != nil {
				errs <- err
				return
			}
			results[i] = v
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, v := range results {
		assert.Equal(t, i*3, v)
	}
	rt.ShutdownHandle().Trigger()
	require.NoError(t, <-done)

	_, err := asyncrt.SpawnRemote[int](nil, func(*asyncrt.Task) int { return 0 })
	assert.Error(t, err)
	_, err = asyncrt.SpawnRemote[int](h, nil)
	assert.ErrorContains(t, err, "nil function")
}

func TestSpawnRemotePanicsAbortsAndClose(t *testing.T) {
	rt := newRuntime(t, nil)
	h := rt.Handle()
	// Sent before any BlockOn: the tasks wait in the inbox.
	panicky, err := asyncrt.SpawnRemote(h, func(*asyncrt.Task) int { panic("remote boom") })
	require.NoError(t, err)
	forever, err := asyncrt.SpawnRemote(h, func(t *asyncrt.Task) int {
		for {
			t.Sleep(time.Hour)
		}
	})
	require.NoError(t, err)
	aborted, err := asyncrt.SpawnRemote(h, func(t *asyncrt.Task) int { t.Sleep(time.Hour); return 1 })
	require.NoError(t, err)
	aborted.Abort()

	block(t, rt, func(t *asyncrt.Task) int {
		for range 3 {
			t.Yield()
		}
		return 0
	})
	_, err = panicky.Wait()
	var pe *asyncrt.PanicError
	require.ErrorAs(t, err, &pe, "a remote task's panic goes to its handle, not the panic policy")
	assert.Equal(t, "remote boom", pe.Value)
	_, err = aborted.Wait()
	assert.ErrorIs(t, err, asyncrt.ErrAborted)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = forever.WaitContext(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	never, err := asyncrt.SpawnRemote(h, func(*asyncrt.Task) int { return 1 })
	require.NoError(t, err)
	st := rt.Close()
	_, err = forever.Wait()
	assert.ErrorIs(t, err, asyncrt.ErrAborted, "Close aborts running remote tasks")
	_, err = never.Wait()
	assert.ErrorIs(t, err, asyncrt.ErrClosed, "a remote task that never started is refused")
	assert.Equal(t, 1, st.RemoteRefused)
	select {
	case <-never.Done():
	default:
		t.Fatal("Done not closed")
	}
	_, err = asyncrt.SpawnRemote(h, func(*asyncrt.Task) int { return 1 })
	assert.ErrorIs(t, err, asyncrt.ErrClosed)
	h.Wake() // harmless after Close
}

func TestGoBridge(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		v        string
		err      error
		panicErr error
		progress int
		atReturn int
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		// While the blocking call runs on its goroutine, other tasks run:
		// the call waits for the ticker to finish, which it never would if
		// the call held the runtime's thread.
		ticked := make(chan struct{})
		ticker := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			defer close(ticked)
			for range 5 {
				r.progress++
				t.Sleep(time.Millisecond)
			}
			return 0
		})
		r.v, r.err = asyncrt.Go(t, func() (string, error) {
			<-ticked // blocking, off the runtime thread
			f, err := os.CreateTemp("", "orrery-go-bridge")
			if err != nil {
				return "", err
			}
			defer os.Remove(f.Name())
			defer f.Close()
			_, err = f.WriteString("written off-thread")
			return "ok", err
		})
		r.atReturn = r.progress
		_, r.panicErr = asyncrt.Go(t, func() (int, error) { panic("in a goroutine") })
		_, _ = ticker.Await(t)
		return r
	})
	require.NoError(t, r.err)
	assert.Equal(t, "ok", r.v)
	assert.Equal(t, 5, r.atReturn, "the runtime kept running tasks during the call")
	assert.Equal(t, 5, r.progress)
	var pe *asyncrt.PanicError
	require.ErrorAs(t, r.panicErr, &pe)
	assert.Equal(t, "in a goroutine", pe.Value)
}

func TestGoContextCancelledOnTimeout(t *testing.T) {
	rt := newRuntime(t, nil)
	var cancelled atomic.Bool
	returned := make(chan struct{})
	err := block(t, rt, func(t *asyncrt.Task) error {
		_, err := asyncrt.Timeout(t, 10*time.Millisecond, func(t *asyncrt.Task) int {
			v, _ := asyncrt.GoContext(t, func(ctx context.Context) (int, error) {
				defer close(returned)
				<-ctx.Done()
				cancelled.Store(true)
				return 0, ctx.Err()
			})
			return v
		})
		return err
	})
	assert.ErrorIs(t, err, asyncrt.ErrElapsed)
	<-returned // the goroutine was told to stop: it returns
	assert.True(t, cancelled.Load())
	assert.Zero(t, rt.Stats().LiveTasks)
}

func TestNotifyFromGoroutines(t *testing.T) {
	rt := newRuntime(t, nil)
	n := asyncrt.NewNotify(rt)
	const rounds = 200
	got := block(t, rt, func(t *asyncrt.Task) int {
		ack := make(chan struct{}, 1)
		go func() {
			for range rounds {
				n.Notify()
				<-ack
			}
		}()
		count := 0
		for range rounds {
			n.Wait(t)
			count++
			ack <- struct{}{} // buffered: never blocks the runtime
		}
		return count
	})
	assert.Equal(t, rounds, got)
}

func TestNotifyCoalescesAndServesWaitersInOrder(t *testing.T) {
	rt := newRuntime(t, nil)
	n := asyncrt.NewNotify(rt)
	order := block(t, rt, func(t *asyncrt.Task) []int {
		n.Notify()
		n.Notify() // coalesces with the first
		n.Wait(t)  // takes the one permit
		var order []int
		var hs []asyncrt.JoinHandle[int]
		for i := range 3 {
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int {
				n.Wait(t)
				order = append(order, i)
				return i
			}))
		}
		// A waiter that gives up leaves the line without taking a permit.
		quitter := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			_, err := asyncrt.Timeout(t, time.Millisecond, func(t *asyncrt.Task) int { n.Wait(t); return 0 })
			return err
		})
		if err, _ := quitter.Await(t); !errors.Is(err, asyncrt.ErrElapsed) {
			panic("expected the quitter to time out")
		}
		for range 3 {
			t.Sleep(time.Millisecond)
			n.Notify()
		}
		for _, h := range hs {
			_, _ = h.Await(t)
		}
		return order
	})
	assert.Equal(t, []int{0, 1, 2}, order)
}

func TestWaitingOnNothingExternalIsADeadlock(t *testing.T) {
	rt := newRuntime(t, nil)
	n := asyncrt.NewNotify(rt)
	// A Notify can always be notified from outside: waiting on one is not a
	// deadlock. Once the runtime, with nothing but that wait left, has
	// parked instead of reporting a deadlock, another goroutine ends the
	// wait.
	notified := make(chan struct{})
	go func() {
		defer close(notified)
		waitStats(rt, func(s asyncrt.Stats) bool { return s.Parks >= 1 })
		n.Notify()
	}()
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int { n.Wait(t); return 0 })
	require.NoError(t, err)
	<-notified
}

// waitStats waits, without sleeping, until the counters rt publishes
// satisfy cond. The runtime publishes them before it parks, so a runtime
// that has parked is seen as such.
func waitStats(rt *asyncrt.Runtime, cond func(asyncrt.Stats) bool) {
	for !cond(rt.Stats()) {
		runtime.Gosched()
	}
}

func TestShutdownSignalFromHandle(t *testing.T) {
	rt := newRuntime(t, nil)
	sh := rt.ShutdownHandle()
	// The signal comes from another goroutine once all four tasks wait.
	waiting := make(chan struct{})
	go func() {
		<-waiting
		sh.Trigger()
		sh.Trigger()
	}()
	woke := block(t, rt, func(t *asyncrt.Task) int {
		var hs []asyncrt.JoinHandle[int]
		waiters := 0
		for i := range 3 {
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int { waiters++; t.ShutdownSignal(); return i }))
		}
		whenWaiting(t, &waiters, 4, waiting)
		waiters++
		t.ShutdownSignal()
		n := 0
		for _, h := range hs {
			if _, err := h.Await(t); err == nil {
				n++
			}
		}
		t.ShutdownSignal() // already fired: returns at once
		return n
	})
	assert.Equal(t, 3, woke)
	assert.True(t, sh.Triggered())
}

func TestSIGTERMTriggersShutdownSignal(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().SignalHandlers(true))
	waiting := make(chan struct{})
	go func() {
		<-waiting
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}()
	v := block(t, rt, func(t *asyncrt.Task) string {
		n := 0
		whenWaiting(t, &n, 1, waiting)
		n++
		t.ShutdownSignal()
		return "shut down"
	})
	assert.Equal(t, "shut down", v)
}

func TestShutdownLetsTasksFinishThenAbortsStragglers(t *testing.T) {
	rt := newRuntime(t, nil)
	var finished, straggled, refused atomic.Int32
	ready := make(chan struct{})
	go func() {
		_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
			for range 3 {
				asyncrt.Spawn(t, func(t *asyncrt.Task) int {
					t.ShutdownSignal()
					t.Sleep(5 * time.Millisecond) // wraps up
					finished.Add(1)
					// Spawning during the drain is refused.
					h := asyncrt.Spawn(t, func(*asyncrt.Task) int { refused.Add(100); return 0 })
					if _, err := h.Await(t); errors.Is(err, asyncrt.ErrClosed) {
						refused.Add(1)
					}
					return 0
				}).Detach()
			}
			asyncrt.Spawn(t, func(t *asyncrt.Task) int {
				defer straggled.Add(1)
				asyncrt.SuspendForever(t) // ignores the signal
				return 0
			}).Detach()
			close(ready)
			t.ShutdownSignal()
			return 0
		})
	}()
	<-ready
	// Once the others are done, nothing can wake the straggler: the drain
	// ends there rather than at the timeout.
	st := rt.Shutdown(time.Minute)
	assert.Equal(t, int32(3), finished.Load())
	assert.Equal(t, int32(3), refused.Load())
	assert.Equal(t, int32(1), straggled.Load(), "the straggler was aborted and its defer ran")
	assert.Equal(t, 1, st.Aborted)
}

func TestNoGoroutinesLeftAfterClose(t *testing.T) {
	before := goleak.IgnoreCurrent()
	rt, err := asyncrt.NewBuilder().SignalHandlers(true).TaskPool(8, true).Build()
	require.NoError(t, err)
	block(t, rt, func(t *asyncrt.Task) int {
		_, _ = asyncrt.Go(t, func() (int, error) { return 1, nil })
		for range 4 {
			asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { t.Sleep(time.Hour) }).Detach()
		}
		t.Sleep(time.Millisecond)
		return 0
	})
	rt.Close()
	goleak.VerifyNone(t, before)
}

func TestShutdownAbortsStragglersAfterTheTimeout(t *testing.T) {
	rt := newRuntime(t, nil)
	const timeout = 30 * time.Millisecond
	var aborted atomic.Int32
	var abortedAt time.Time // when the straggler's defers ran
	block(t, rt, func(t *asyncrt.Task) int {
		asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			defer func() {
				abortedAt = time.Now()
				aborted.Add(1)
			}()
			for { // never done: a timer keeps it alive, so only the timeout ends it
				t.Sleep(time.Millisecond)
			}
		}).Detach()
		return 0
	})
	// Shutdown's drain deadline is at least this far ahead when it is
	// called: the straggler, which always has a timer pending, must not be
	// aborted before it.
	deadline := time.Now().Add(timeout)
	st := rt.Shutdown(timeout)
	assert.Equal(t, 1, st.Aborted, "the straggler was aborted")
	assert.Zero(t, st.Referenced, "it was detached")
	assert.Equal(t, int32(1), aborted.Load(), "its defers ran, once, before Shutdown returned")
	assert.False(t, abortedAt.Before(deadline), "aborted at %v, before the drain deadline %v", abortedAt, deadline)
	_, err := asyncrt.BlockOn(rt, func(*asyncrt.Task) int { return 0 })
	assert.ErrorIs(t, err, asyncrt.ErrClosed)
}

func TestHandleWakesAParkedRuntime(t *testing.T) {
	rt := newRuntime(t, nil)
	h := rt.Handle()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) int { t.ShutdownSignal(); return 0 })
	}()
	// The runtime publishes its counters as it parks.
	waitStats(rt, func(s asyncrt.Stats) bool { return s.Parks >= 1 })
	parks := rt.Stats().Parks
	h.Wake()
	// Woken, it runs a cycle and parks again.
	waitStats(rt, func(s asyncrt.Stats) bool { return s.Parks > parks })
	rt.ShutdownHandle().Trigger()
	<-done
}

// A flood of spawns from another goroutine is held back at the runtime's
// limit: TrySpawnRemote is refused, SpawnRemote waits until the runtime has
// taken what was pending, and nothing is lost.
func TestRemoteSpawnsAreBounded(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().RemoteSpawnLimit(4))
	h := rt.Handle()
	done := asyncrt.NewNotify(rt)
	count := 0
	task := func(*asyncrt.Task) int { count++; done.Notify(); return count }
	var handles []*asyncrt.RemoteHandle[int]
	for range 4 { // no BlockOn runs: the spawns wait in the inbox
		r, err := asyncrt.SpawnRemote(h, task)
		require.NoError(t, err)
		handles = append(handles, r)
	}
	_, err := asyncrt.TrySpawnRemote(h, task)
	require.ErrorIs(t, err, asyncrt.ErrFull)
	assert.ErrorContains(t, err, "TrySpawnRemote")
	fifth := make(chan *asyncrt.RemoteHandle[int])
	go func() {
		r, err := asyncrt.SpawnRemote(h, task) // waits for room
		if err != nil {
			panic(err)
		}
		fifth <- r
	}()
	block(t, rt, func(t *asyncrt.Task) int {
		for count < 5 {
			done.Wait(t)
		}
		return 0
	})
	handles = append(handles, <-fifth)
	for _, r := range handles {
		_, err := r.Wait()
		require.NoError(t, err)
	}
	rt.Close()
	_, err = asyncrt.SpawnRemote(h, task)
	assert.ErrorIs(t, err, asyncrt.ErrClosed)
}

// TestZeroNotifyIsRefusedClearly checks that a Notify not made by NewNotify
// is refused with a message that says how to make one.
func TestZeroNotifyIsRefusedClearly(t *testing.T) {
	rt := newRuntime(t, nil)
	var zero asyncrt.Notify
	assert.PanicsWithValue(t, "asyncrt: Notify.Notify called on a nil or zero Notify: create one with NewNotify(rt)", zero.Notify)
	assert.PanicsWithValue(t, "asyncrt: NewNotify called with a nil *Runtime", func() { asyncrt.NewNotify(nil) })
	msgs := block(t, rt, func(t *asyncrt.Task) []string {
		return []string{
			panicMessage(func() { zero.Wait(t) }),
			panicMessage(func() { _, _ = asyncrt.Select(t, asyncrt.OnNotify(&zero)) }),
		}
	})
	assert.Contains(t, msgs[0], "Notify.Wait called on a nil or zero Notify")
	assert.Contains(t, msgs[1], "OnNotify called on a nil or zero Notify")
}
