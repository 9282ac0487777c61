package asyncrt

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/orrery-go/orrery/asyncrt/internal/gid"
	"github.com/orrery-go/orrery/slab"
	"github.com/orrery-go/orrery/world"
)

// Runtime is a single-threaded async runtime. It owns a goroutine locked to
// one OS thread from [Builder.Build] until [Runtime.Close]; every task it runs
// is a coroutine resumed on that thread, one at a time, so tasks share the
// [world.World] and each other's data without locks.
//
// [BlockOn] drives the runtime: tasks make progress only while a BlockOn is
// running. Close aborts whatever is left and ends the runtime's goroutines.
type Runtime struct {
	world *world.World
	cfg   config

	// Lifecycle, shared with the goroutines that call BlockOn and Close.
	mu         sync.Mutex
	running    bool // a BlockOn is in progress
	closing    bool // Close has been called
	closeReq   atomic.Bool
	closed     atomic.Bool // the runtime goroutine has shut down
	closeOnce  sync.Once
	closeStats ShutdownStats
	reqs       chan request
	exited     chan struct{}

	g  uintptr // the runtime goroutine; immutable once built
	gs gid.Set // coroutines of this runtime, readable from any goroutine

	// Owned by the runtime's thread: its goroutine and the task it runs.
	tasks        *slab.Slab[taskRec]
	ready        ringQueue
	current      *Task
	pool         coPool
	nextID       uint64
	live         int
	counters     Stats
	pendingPanic *PanicError
	abandoned    int            // coroutines stuck after runtime.Goexit
	shutdown     *ShutdownStats // non-nil while Close unwinds tasks
	lastBodyPool any
	bodyPools    map[any]any

	statsMu   sync.Mutex
	published Stats
}

type request struct {
	root  runner // the root task for BlockOn, or nil to close
	reply chan error
}

// statsEvery is how many cycles pass between publications of the counters
// that goroutines other than the runtime's read through Stats.
const statsEvery = 64

func start(w *world.World, cfg config) (*Runtime, error) {
	tasks, err := slab.NewUnbounded[taskRec](0)
	if err != nil {
		return nil, err
	}
	rt := &Runtime{
		world:  w,
		cfg:    cfg,
		reqs:   make(chan request),
		exited: make(chan struct{}),
		tasks:  tasks,
	}
	rt.pool.bounded = cfg.poolBounded
	rt.pool.chunk = max(cfg.poolSize, defaultPoolChunk)
	built := make(chan struct{})
	go rt.main(built)
	<-built
	return rt, nil
}

// main is the runtime goroutine. It stays locked to its OS thread for its
// whole life and never unlocks: coroutines must be created and resumed under
// the same thread-lock state, and when it exits the thread exits with it.
func (rt *Runtime) main(built chan<- struct{}) {
	defer close(rt.exited)
	runtime.LockOSThread()
	rt.g = gid.Current()
	if rt.cfg.poolSize > 0 {
		rt.pool.grow(rt, rt.cfg.poolSize)
	}
	rt.publishStats()
	close(built)
	for req := range rt.reqs {
		if req.root == nil {
			rt.shutdownAll()
			return
		}
		req.reply <- rt.runRoot(req.root)
	}
}

// World returns the runtime's World.
func (rt *Runtime) World() *world.World { return rt.world }

// BlockOn runs fn as the runtime's root task and drives it, and every task
// it spawns, until fn returns; then it returns fn's result. Tasks still
// unfinished when the root returns stay on the runtime and resume in the next
// BlockOn, or are aborted by Close.
//
// The error is a *[PanicError] if the root panicked, or if a task nobody can
// join panicked under [ReturnPanics]; [ErrDeadlock] if the root waits on
// something that can never happen; [ErrClosed] if the runtime was closed;
// [ErrBusy] if another goroutine is running a BlockOn on rt. In every case
// the root has finished or been unwound (its defers have run) when BlockOn
// returns.
//
// BlockOn blocks the calling goroutine while the runtime's own goroutine does
// the work. Calling it from inside a task of rt panics: the task would wait on
// the thread it is blocking. Spawn the work and await its handle instead.
func BlockOn[T any](rt *Runtime, fn func(*Task) T) (T, error) {
	var zero T
	if rt == nil {
		return zero, errors.New("asyncrt: BlockOn called with a nil *Runtime")
	}
	if fn == nil {
		return zero, errors.New("asyncrt: BlockOn called with a nil function")
	}
	if rt.onRuntime() {
		panic("asyncrt: BlockOn called from inside a task (or system) of the same runtime: " +
			"it would wait on the thread it blocks; use Spawn and JoinHandle.Await instead")
	}
	rt.mu.Lock()
	switch {
	case rt.closing:
		rt.mu.Unlock()
		return zero, ErrClosed
	case rt.running:
		rt.mu.Unlock()
		return zero, ErrBusy
	}
	rt.running = true
	rt.mu.Unlock()

	root := &body[T]{fn: fn}
	reply := make(chan error, 1)
	rt.reqs <- request{root: root, reply: reply}
	err := <-reply

	rt.mu.Lock()
	rt.running = false
	rt.mu.Unlock()
	if err != nil {
		return zero, err
	}
	return root.val, nil
}

// runRoot spawns the root task and runs cycles until it is done.
func (rt *Runtime) runRoot(root runner) error {
	// The root's record stays put until it is consumed below: nobody else
	// holds its handle.
	rec := rt.insertTask(root, rt.newTask(false))
	err := rt.drive(rec)
	if rec.state != stateDone {
		rec.abort = true
		rt.resume(rec)
	}
	rec.consumed = true
	rec.body = nil // BlockOn reads the result from it after we return
	rt.tryFree(rec)
	if pe := rt.pendingPanic; pe != nil {
		rt.pendingPanic = nil
		if err == nil || errors.Is(err, ErrAborted) {
			err = pe
		}
	}
	rt.publishStats()
	return err
}

// drive is the executor loop. Each cycle polls the tasks that were ready
// when it began, at most TasksPerCycle of them; tasks they wake are queued
// behind and wait for the next cycle. It returns when root is done (with its
// error), or with the reason it had to stop early.
func (rt *Runtime) drive(root *taskRec) error {
	perCycle := rt.cfg.tasksPerCycle
	for {
		n := min(rt.ready.len(), perCycle)
		for range n {
			rec := rt.ready.pop()
			if rec == nil || rec.state == stateDone {
				continue
			}
			// The resume is written out here, not called: every frame live
			// across the coroutine switch costs a mispredicted return.
			t := rec.task
			if !gid.Supported {
				rt.current = t
			}
			rec.state = stateRunning
			t.next()
			if !gid.Supported {
				rt.current = nil
			}
			if rec.state == stateDone {
				rt.finish(rec, t)
			}
		}
		rt.counters.Polls += uint64(n)
		rt.counters.Cycles++
		if rt.counters.Cycles%statsEvery == 0 {
			rt.publishStats()
		}
		switch {
		case root.state == stateDone:
			return root.err
		case rt.pendingPanic != nil:
			return nil
		case rt.closeReq.Load():
			return ErrClosed
		case rt.ready.len() == 0:
			return ErrDeadlock
		}
	}
}

// resume runs the task until it suspends or finishes.
func (rt *Runtime) resume(rec *taskRec) {
	t := rec.task
	rt.current = t
	rec.state = stateRunning
	t.next()
	rt.current = nil
	rt.counters.Polls++
	if rec.state == stateDone {
		rt.finish(rec, t)
	}
}

// runInline runs a task that has not started yet on behalf of the running
// task (which awaits it), switching from the running task's coroutine
// straight to the new one. The runtime's thread-lock state is the same on
// both, as coroutine switches require. The task's queue entry goes stale: if
// it suspends, whatever wakes it queues it afresh.
func (rt *Runtime) runInline(rec *taskRec) {
	rt.ready.withdraw(rec)
	t := rec.task
	caller := rt.current
	if !gid.Supported {
		rt.current = t
	}
	rec.state = stateRunning
	t.next()
	if !gid.Supported {
		rt.current = caller
	}
	rt.counters.Polls++
	if rec.state == stateDone {
		rt.finish(rec, t)
	}
}

// finish releases a finished task's coroutine, wakes its awaiter and frees
// the record if nobody will read the result.
func (rt *Runtime) finish(rec *taskRec, t *Task) {
	rec.task = nil
	switch {
	case t.abandoned:
		rt.abandoned++
		if t.pooled {
			rt.pool.inUse--
		}
	case t.pooled:
		t.rec = nil
		rt.pool.put(t)
	}
	rt.live--
	switch err := rec.err.(type) {
	case nil:
		rt.counters.Completed++
	case *PanicError:
		rt.counters.Panicked++
		if rec.detached {
			rt.unhandledPanic(err)
		}
	default:
		if err == ErrAborted {
			rt.counters.Aborted++
		} else {
			rt.counters.Panicked++ // ErrGoexit
		}
	}
	if w := rec.waiter; !w.IsZero() {
		rec.waiter = slab.Key{}
		rt.wake(w)
	}
	if rec.detached {
		rec.consumed = true
	}
	rt.tryFree(rec)
}

// insertTask records a new task run by coroutine co and queues it.
func (rt *Runtime) insertTask(b runner, co *Task) *taskRec {
	c, err := rt.tasks.Claim()
	if err != nil {
		// Only an unbounded slab backs tasks; it fails only past 2^32 live
		// tasks, which memory runs out long before.
		panic(fmt.Sprintf("asyncrt: cannot record a new task: %v", err))
	}
	rt.nextID++
	rec, _ := c.Fill(taskRec{key: c.Key(), id: rt.nextID, task: co, body: b})
	co.rec = rec
	rt.live++
	rt.counters.Spawned++
	rt.enqueue(rec)
	return rec
}

// enqueue puts a task that is not already queued at the back of the ready
// queue.
func (rt *Runtime) enqueue(rec *taskRec) { rt.ready.push(rec) }

// wake queues the task keyed k if it still exists and is waiting. A stale
// key (the task finished and its slot was reused) does nothing.
func (rt *Runtime) wake(k slab.Key) {
	if rec, ok := rt.tasks.Get(k); ok && rec.state != stateDone {
		rt.enqueue(rec)
	}
}

// tryFree releases a record once it is done and its result consumed. A
// ready-queue entry left pointing at it is stale and will be skipped.
func (rt *Runtime) tryFree(rec *taskRec) {
	if rec.state != stateDone || !rec.consumed {
		return
	}
	if rec.body != nil {
		rec.body.recycle()
	}
	rt.tasks.Remove(rec.key)
}

func (rt *Runtime) unhandledPanic(pe *PanicError) {
	rt.counters.UnhandledPanics++
	if rt.cfg.onPanic != nil {
		rt.cfg.onPanic(pe)
	}
	switch {
	case rt.shutdown != nil:
		rt.shutdown.UnjoinedPanics = append(rt.shutdown.UnjoinedPanics, pe)
	case rt.cfg.panicPolicy == ReturnPanics && rt.pendingPanic == nil:
		rt.pendingPanic = pe
	}
}

// onRuntime reports whether the caller is the runtime goroutine or one of
// its tasks. It is false where goroutine identity is not supported.
func (rt *Runtime) onRuntime() bool {
	if !gid.Supported {
		return false
	}
	g := gid.Current()
	return g == rt.g || rt.gs.Contains(g)
}

// mustBeOnRuntime panics unless the caller is on the runtime's thread.
func (rt *Runtime) mustBeOnRuntime(op string) {
	if gid.Supported && !rt.onRuntime() {
		panic(fmt.Sprintf("asyncrt: %s called from a goroutine that is not running its "+
			"runtime: the runtime is single-threaded, so call it from one of the "+
			"runtime's tasks", op))
	}
}

// Stats is a snapshot of a runtime's counters.
type Stats struct {
	// Spawned counts tasks started, including each BlockOn's root.
	Spawned uint64
	// Completed counts tasks that returned normally.
	Completed uint64
	// Aborted counts tasks that ended by abort (JoinHandle.Abort or Close).
	Aborted uint64
	// Panicked counts tasks that panicked or called runtime.Goexit.
	Panicked uint64
	// UnhandledPanics counts panics nobody could join (see PanicPolicy).
	UnhandledPanics uint64
	// Polls counts task resumptions.
	Polls uint64
	// Cycles counts runs of the executor loop.
	Cycles uint64
	// LiveTasks is the number of tasks spawned and not yet finished.
	LiveTasks int
	// PoolInUse is the number of pooled coroutines running a task.
	PoolInUse int
	// PoolCapacity is the number of pooled coroutines created so far.
	PoolCapacity int
}

// Stats returns the runtime's counters. Called from one of the runtime's
// tasks, it reads them live. Called from another goroutine, it returns the
// last published copy, which the runtime refreshes every 64 cycles and
// whenever a BlockOn returns, so it may trail the live counters slightly.
func (rt *Runtime) Stats() Stats {
	if rt.onRuntime() {
		return rt.liveStats()
	}
	rt.statsMu.Lock()
	defer rt.statsMu.Unlock()
	return rt.published
}

func (rt *Runtime) liveStats() Stats {
	s := rt.counters
	s.LiveTasks = rt.live
	s.PoolInUse = rt.pool.inUse
	s.PoolCapacity = rt.pool.created
	return s
}

func (rt *Runtime) publishStats() {
	s := rt.liveStats()
	rt.statsMu.Lock()
	rt.published = s
	rt.statsMu.Unlock()
}

// ShutdownStats reports what Close found left on the runtime.
type ShutdownStats struct {
	// Aborted is the number of unfinished tasks Close aborted; their defers
	// ran before Close returned.
	Aborted int
	// Referenced is the number of tasks whose JoinHandle was neither awaited
	// nor detached: their results were dropped by Close.
	Referenced int
	// UnjoinedPanics holds the panics of tasks nobody joined, so that none
	// is lost: among the Referenced tasks, and in detached tasks that
	// panicked while Close unwound them.
	UnjoinedPanics []*PanicError
	// Abandoned is the number of coroutines that could not be ended because
	// their task called runtime.Goexit.
	Abandoned int
}

// Close aborts every task still on the runtime (their defers run), ends the
// runtime's goroutine, its coroutines and its OS thread, and reports what it
// found. A BlockOn running meanwhile returns [ErrClosed]. Close is idempotent;
// later calls return the same statistics. Calling it from a task of rt
// panics.
func (rt *Runtime) Close() ShutdownStats {
	if rt.onRuntime() {
		panic("asyncrt: Runtime.Close called from inside one of its tasks: " +
			"it would wait on the thread it blocks; close the runtime after BlockOn returns")
	}
	rt.closeOnce.Do(func() {
		rt.mu.Lock()
		rt.closing = true
		rt.mu.Unlock()
		rt.closeReq.Store(true)
		rt.reqs <- request{} // served once any running BlockOn has returned
		<-rt.exited
	})
	return rt.closeStats
}

// shutdownAll aborts and unwinds every task, stops the pooled coroutines and
// records the shutdown statistics. It runs on the runtime goroutine.
func (rt *Runtime) shutdownAll() {
	st := &rt.closeStats
	rt.shutdown = st
	var pending []*taskRec
	// Unwinding tasks may spawn more; abort those too, a bounded number of
	// rounds (a defer that spawns forever would otherwise never let Close
	// return).
	for round := 0; rt.live > 0 && round < 1000; round++ {
		pending = pending[:0]
		for _, rec := range rt.tasks.All() {
			if rec.state != stateDone {
				pending = append(pending, rec)
			}
		}
		for _, rec := range pending {
			if rec.state == stateDone {
				continue
			}
			rec.abort = true
			st.Aborted++
			rt.resume(rec)
		}
	}
	for _, rec := range rt.tasks.All() {
		if rec.state == stateDone && !rec.consumed {
			st.Referenced++
			if pe, ok := rec.err.(*PanicError); ok {
				st.UnjoinedPanics = append(st.UnjoinedPanics, pe)
			}
		}
	}
	for _, t := range rt.pool.idle {
		t.stop()
	}
	rt.pool.idle = nil
	st.Abandoned = rt.abandoned
	rt.tasks.Clear()
	rt.ready.clear()
	rt.shutdown = nil
	rt.publishStats()
	rt.closed.Store(true)
}
