package asyncrt

import (
	"fmt"
	"iter"
	"runtime/debug"
	"sync/atomic"

	"github.com/orrery-go/orrery/asyncrt/internal/gid"
	"github.com/orrery-go/orrery/asyncrt/internal/wheel"
	"github.com/orrery-go/orrery/slab"
)

// Task is the running task's handle to its runtime. Every task function
// receives one, and every operation that may suspend takes it explicitly, the
// way a test function passes *testing.T around.
//
// A *Task is only valid inside the function it was passed to, on that task:
// using it from another goroutine, from another task, from a nested coroutine
// or after the function returned panics with a message that says so. See the
// package documentation for the rules tasks follow.
type Task struct {
	rt    *Runtime
	world World   // the World the task works on (see Task.World); nil if none
	g     uintptr // the coroutine's goroutine, set when it first runs
	rec   *taskRec
	next  func() (switchReason, bool)
	stop  func()
	yield func(switchReason) bool
	// The task's registrations (see wait.go), newest first, and the
	// sequence number of the latest.
	regs   *waitNode
	regSeq uint64
	// Deadline scopes of Timeout calls; nil until the task's first, so that
	// a task that never calls Timeout does not carry them.
	dl *deadlines
	// What the stall watchdog reads from its own goroutine (watchdog.go):
	// the coroutine's goroutine number, set when it first runs, and the ID
	// and function entry of the task it runs, stored at each spawn.
	goid   uint64
	wdID   atomic.Uint64
	wdFn   atomic.Uintptr
	wdName atomic.Pointer[taskName] // the name given at spawn; nil: the function's
	waits  int32                    // registrations in regs that are waits (not a Timer's)
	pooled bool
	// abandoned marks a coroutine stuck for good after its task called
	// runtime.Goexit; it is never resumed or stopped again.
	abandoned bool
}

// deadlines holds a task's Timeout scopes, innermost last.
type deadlines struct {
	scopes    []deadlineScope
	nextScope uint64
	unwinding uint64 // the scope a deadline signal is unwinding to
}

type taskState uint8

const (
	stateReady     taskState = iota // spawned, not yet run
	stateRunning                    // started: running, or queued again by Yield
	stateSuspended                  // waiting at a suspension point for a wake-up
	stateDone                       // finished: returned, panicked or aborted
)

// taskRec is a task's record in the runtime's slab. Its key, with a
// generation, is what join handles and wakers hold, so that nothing stale can
// reach a record that has been reused.
type taskRec struct {
	key  slab.Key
	id   uint64
	task *Task  // the coroutine running this task; nil once done
	body runner // the user's function and its typed result
	err  error  // ErrAborted, *PanicError or ErrGoexit once done
	join WaitQueue
	qseq uint64 // sequence number of the task's ready-queue entry; 0 if none
	// sleep is the timer of the Sleep the task is in; zero if none.
	sleep wheel.Timer
	// set is the JoinSet the task belongs to, told when it finishes.
	set *joinSetCore
	// node is the Node the task belongs to; nil for none.
	node  *Node
	state taskState
	// signal asks the task to stop at its next suspension point; any bit
	// set sends it down the slow path (see unwind).
	signal uint8
	// remote: spawned from another goroutine; the result goes to a
	// RemoteHandle, not a JoinHandle.
	remote bool
	// refused: spawned while the runtime shuts down; it never runs.
	refused bool
	// detached: no handle will ever await the result.
	detached bool
	// consumed: the result was taken or dropped; the record may be freed as
	// soon as it is done and out of the ready queue.
	consumed bool
}

// runner is a task's function together with the storage for its result:
// body[T], voidBody for a task that returns nothing, RemoteHandle[T] for
// one spawned from another goroutine.
type runner interface {
	run(t *Task)
	recycle()
	// deliver hands a remote task's outcome to its RemoteHandle.
	deliver(err error)
}

// abortSignal is the panic value that unwinds an aborted task from its
// suspension point to its top frame.
type abortSignal struct{}

// switchReason is what a task's coroutine tells the executor when it gives
// the thread back.
type switchReason uint8

const (
	switchSuspend switchReason = iota // waiting: something will wake it
	switchYield                       // Task.Yield: queue it again
)

// The bits of taskRec.signal.
const (
	sigAbort   = 1 << iota // abort requested
	sigExpired             // a Timeout deadline passed: unwind to its scope
	sigBusy                // suspended while the World was busy: panic
)

// newTask creates a coroutine for running tasks. It must be called on the
// runtime's thread: the runtime goroutine or one of its tasks.
func (rt *Runtime) newTask(pooled bool) *Task {
	t := &Task{rt: rt, pooled: pooled}
	t.next, t.stop = iter.Pull(rt.coroMain) // main runs when the runtime first resumes t
	return t
}

// main is the coroutine's body: it runs the job in t.rec and, if pooled,
// parks until the runtime hands it the next one.
func (t *Task) main(yield func(switchReason) bool) {
	t.yield = yield
	t.g = gid.Current()
	t.goid = gid.CurrentID()
	t.rt.gs.Add(t.g, t)
	for {
		t.runJob()
		if !t.pooled || !yield(switchSuspend) {
			break
		}
	}
	t.rt.gs.Remove(t.g)
}

// runJob runs the current job to completion and records its outcome: a
// result, a panic, an abort, or runtime.Goexit.
func (t *Task) runJob() {
	rec := t.rec
	returned := false
	defer func() {
		if returned {
			return
		}
		r := recover()
		switch r.(type) {
		case nil:
			// runtime.Goexit is unwinding this goroutine and cannot be
			// stopped. Letting it finish would make iter.Pull re-raise it on
			// the runtime goroutine, killing the runtime's thread, so the
			// coroutine parks here for good and the task ends with an error.
			rec.err = ErrGoexit
			rec.state = stateDone
			t.abandoned = true
			for t.yield(switchSuspend) {
			}
			select {} // never resumed; unreachable unless misused
		case abortSignal:
			rec.err = ErrAborted
		default:
			rec.err = &PanicError{TaskID: rec.id, TaskName: t.name(), Value: r, Stack: debug.Stack()}
		}
		rec.state = stateDone
	}()
	if rec.signal&sigAbort == 0 {
		rec.state = stateRunning
		if end := t.beginJob(); end != nil {
			defer end()
		}
		rec.body.run(t)
	}
	if rec.signal&sigAbort != 0 {
		// Aborted before it started, or it recovered the abort signal and
		// returned anyway: either way the result is not trustworthy.
		rec.err = ErrAborted
		if rec.refused {
			rec.err = ErrClosed
		}
	}
	rec.state = stateDone
	returned = true
}

// suspend gives the thread back to the runtime until the task is resumed.
// The caller has registered a way to be woken (or queued itself). An aborted
// task never suspends: it unwinds from here instead.
//
// Every frame live across the coroutine switch costs a mispredicted return
// when the task resumes, so suspend is kept small enough to inline.
func (t *Task) suspend() {
	rec := t.rec
	rec.state = stateSuspended
	if rec.signal != 0 || !t.yield(switchSuspend) || rec.signal != 0 {
		t.unwind()
	}
}

// unwind panics: with the abort signal, which the task's top frame recovers
// after its defers have run, or with a deadline signal, which the Timeout
// call of the outermost expired scope recovers. The registrations the
// unwinding leaves behind are cancelled where it stops (see endRegsFrom), so
// that the deferred calls on the way see them as they were.
func (t *Task) unwind() {
	rec := t.rec
	if !rec.sleep.IsZero() {
		// Unwinding out of a sleep ends it.
		t.rt.timers.Cancel(rec.sleep)
		rec.sleep = wheel.Timer{}
	}
	if rec.signal&sigBusy != 0 {
		// The runtime found the World busy when this task suspended, and
		// sent it straight back here.
		rec.signal &^= sigBusy
		rec.state = stateRunning
		panic(errSuspendWhileBusy)
	}
	if d := t.dl; d != nil {
		if rec.signal&sigAbort == 0 {
			for _, sc := range d.scopes {
				if sc.expired {
					d.unwinding = sc.id
					panic(deadlineSignal{})
				}
			}
		}
		d.unwinding = 0 // an abort unwinds through every Timeout
	}
	panic(abortSignal{})
}

// check panics unless the caller is running on t's own coroutine and t's
// function has not returned. Goroutine identities (descriptor addresses) are
// reused once a goroutine exits, so the identity alone cannot tell a stale
// *Task: a finished task's rec is nil, and that is checked first.
func (t *Task) check(op string) {
	if t == nil || t.rec == nil || gid.Current() != t.g || !gid.Supported && t.rt.current != t {
		t.misuse(op)
	}
}

func (t *Task) misuse(op string) {
	if t == nil {
		panic(fmt.Sprintf("asyncrt: %s called with a nil *Task", op))
	}
	panic(fmt.Sprintf("asyncrt: %s called outside its task: a *Task may only be used "+
		"inside the task function it was passed to, by that task (not from another "+
		"goroutine, another task, a nested coroutine, or after the function returned); "+
		"give each spawned task the *Task it receives", op))
}

// Check panics with the package's misuse message naming op unless the
// caller is t's own task and t's function has not returned: the check every
// task API makes, for sources written outside the package whose fast paths
// call nothing else that would make it.
func (t *Task) Check(op string) { t.check(op) }

// ID returns the task's identifier: unique within its runtime, used in panic
// reports and stall reports.
func (t *Task) ID() uint64 {
	t.check("Task.ID")
	return t.rec.id
}

// Runtime returns the runtime the task runs on.
func (t *Task) Runtime() *Runtime { return t.rt }

// Yield suspends the task and lets every other ready task run before it
// resumes: the task is queued behind them and runs again in the next cycle.
func (t *Task) Yield() {
	if t == nil || t.rec == nil || gid.Current() != t.g || !gid.Supported && t.rt.current != t {
		t.misuse("Task.Yield")
	}
	// The executor queues the task again when it sees switchYield: it has
	// the task at hand there, so the queueing costs fewer loads than here.
	rec := t.rec
	if rec.signal != 0 || !t.yield(switchYield) || rec.signal != 0 {
		t.unwind()
	}
}
