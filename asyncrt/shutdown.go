package asyncrt

import (
	"sync/atomic"
	"time"
)

// shutdownState is the runtime's shutdown signal.
type shutdownState struct {
	triggered atomic.Bool
	token     CancellationToken // cancelled by Trigger: Runtime.ShutdownToken
	// Owned by the runtime's thread.
	delivered bool
	waiters   WaitQueue
}

// ShutdownHandle triggers a runtime's shutdown signal from code; its methods
// are safe for concurrent use from any goroutine. [Builder.SignalHandlers]
// makes SIGINT and SIGTERM trigger the same signal.
type ShutdownHandle struct{ rt *Runtime }

// ShutdownHandle returns a handle to the runtime's shutdown signal.
func (rt *Runtime) ShutdownHandle() *ShutdownHandle { return &ShutdownHandle{rt: rt} }

// Trigger fires the shutdown signal: every task waiting in
// [Task.ShutdownSignal] wakes, and later calls return at once. Triggering
// twice is harmless.
func (h *ShutdownHandle) Trigger() {
	if h.rt.shutdown.triggered.CompareAndSwap(false, true) {
		h.rt.shutdown.token.Cancel()
		h.rt.inbox.post(h.rt, shutdownJob{})
	}
}

// ShutdownToken returns a token that is cancelled when the runtime's
// shutdown signal fires: hand it (or a [CancellationToken.Child] of it) to
// work that stops on cancellation, or select on [OnCancel] with it. It is
// safe to call from any goroutine; every call returns the same token.
func (rt *Runtime) ShutdownToken() *CancellationToken { return &rt.shutdown.token }

// Triggered reports whether the shutdown signal has fired.
func (h *ShutdownHandle) Triggered() bool { return h.rt.shutdown.triggered.Load() }

type shutdownJob struct{}

func (shutdownJob) runOnRuntime(rt *Runtime) {
	s := &rt.shutdown
	s.delivered = true
	s.waiters.WakeAll()
}

func (shutdownJob) refuse() bool { return false }

// ShutdownSignal suspends t until the runtime's shutdown signal fires (see
// [ShutdownHandle] and [Builder.SignalHandlers]); it returns at once if it
// already has. A task waiting here keeps the runtime from reporting a
// deadlock: the signal can always come from outside.
func (t *Task) ShutdownSignal() {
	t.check("Task.ShutdownSignal")
	s := &t.rt.shutdown
	if s.delivered {
		return
	}
	w := t.Enqueue(&s.waiters)
	for !s.delivered {
		t.waitRegs()
	}
	w.Release()
}

// Shutdown stops the runtime gracefully. It fires the shutdown signal and
// waits for a running BlockOn to return; then it refuses new spawns (tasks
// spawned from now on never run, and their handles report [ErrClosed]) and
// drives the runtime until every task has finished or the timeout has
// passed; finally it closes the runtime, aborting the stragglers (their
// defers run), and returns what Close reports. Calling it from a task of rt
// panics.
func (rt *Runtime) Shutdown(timeout time.Duration) ShutdownStats {
	if rt.onRuntime() {
		panic("asyncrt: Runtime.Shutdown called from inside one of its tasks: " +
			"it would wait on the thread it blocks; trigger the shutdown signal instead " +
			"(Runtime.ShutdownHandle().Trigger())")
	}
	deadline := time.Now().Add(timeout)
	rt.ShutdownHandle().Trigger()
	if rt.acquireUntil(deadline) {
		_ = rt.request(request{drainUntil: deadline})
	}
	return rt.Close()
}

// drain runs the runtime without a root until no task is left, nothing can
// happen any more, or until passes. New spawns are refused meanwhile.
func (rt *Runtime) drain(until time.Time) error {
	rt.draining = true
	rt.attn.Or(attnStop)
	rt.wd.activate(rt)
	err := rt.drive(nil, until)
	rt.wd.deactivate()
	rt.publishStats()
	return err
}

// ShutdownCase completes when the runtime's shutdown signal fires: a server
// loop selects on it next to its accept, to stop taking work.
type ShutdownCase struct{ w Waiter }

// OnShutdown is a Select case that completes once the shutdown signal of the
// selecting task's runtime has fired (see [Task.ShutdownSignal]).
func OnShutdown() *ShutdownCase { return &ShutdownCase{} }

// Begin implements [SelectCase].
func (c *ShutdownCase) Begin(*Task) {}

// Poll implements [SelectCase].
func (c *ShutdownCase) Poll(t *Task) bool {
	if !t.rt.shutdown.delivered {
		return false
	}
	c.w.Release()
	return true
}

// Register implements [SelectCase].
func (c *ShutdownCase) Register(t *Task) { c.w = t.Enqueue(&t.rt.shutdown.waiters) }

// Unregister implements [SelectCase].
func (c *ShutdownCase) Unregister(*Task) { c.w.Cancel() }
