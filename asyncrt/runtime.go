package asyncrt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt/internal/gid"
	"github.com/orrery-go/orrery/asyncrt/internal/wheel"
	"github.com/orrery-go/orrery/reactor"
	"github.com/orrery-go/orrery/slab"
)

// Runtime is a single-threaded async runtime. It owns a goroutine locked to
// one OS thread from [Builder.Build] until [Runtime.Close]; every task it runs
// is a coroutine resumed on that thread, one at a time, so tasks share the
// [world.World] and each other's data without locks.
//
// [BlockOn] drives the runtime: tasks make progress only while a BlockOn (or
// a [Runtime.Shutdown]) is running. Close aborts whatever is left and ends
// the runtime's goroutines.
type Runtime struct {
	cfg config

	// Lifecycle, shared with the goroutines that call BlockOn and Close.
	mu         sync.Mutex
	slot       chan struct{} // held by the BlockOn or Shutdown driving the runtime
	closing    bool          // Close has been called
	closeReq   atomic.Bool
	closed     atomic.Bool // the runtime goroutine has shut down
	closeOnce  sync.Once
	closeStats ShutdownStats
	reqs       chan request
	exited     chan struct{}

	g  uintptr       // the runtime goroutine; immutable once built
	gs gid.Set[Task] // coroutines of this runtime, readable from any goroutine

	// Reaching the runtime from other goroutines.
	inbox  inbox
	parked atomic.Bool // sleeping in the poller: the inbox must poke it
	// lastResched is when the runtime's goroutine last went through the
	// Go scheduler of its own accord, which it does before parking, at
	// most once each reschedEvery (see reschedule).
	lastResched  time.Time
	reschedEvery time.Duration
	// The group the runtime belongs to (NewGroup), and where the runtime
	// stands in the group's deadlock detection while Group.Run runs it
	// (group.go).
	group    *Group
	gstate   atomic.Int32
	poller   *reactor.Poller
	waker    *reactor.Waker
	shutdown shutdownState
	stopSigs func()
	// Interned task names (names.go): given with Named, and derived from
	// task functions' entry addresses.
	names   map[string]*taskName
	fnNames map[uintptr]*taskName
	// stopShutdownOn unlinks the Builder.ShutdownOn context.
	stopShutdownOn func() bool
	wd             watchdog

	// Time.
	epoch    time.Time // time zero of the runtime's clock
	sim      *SimClock // nil for the real clock
	now      int64     // event time: nanoseconds since epoch, read once a cycle
	nowFresh bool
	timers   wheel.Wheel[timerEvent] // by value: its length is read every cycle

	// Owned by the runtime's thread: its goroutine and the task it runs.
	tasks   *slab.Slab[taskRec]
	ready   ringQueue
	current *Task
	// launching is the task the runtime resumes, stored before each resume
	// for a coroutine's first run to find its Task: coroMain, the function
	// every coroutine runs, is made once per runtime, so that a new
	// coroutine costs no closure of its own.
	launching    *Task
	coroMain     func(yield func(switchReason) bool)
	pool         coPool
	nextID       uint64
	live         int
	regs         regPool // the waiting layer's registrations (wait.go)
	externalRegs int     // registrations something outside the tasks may wake
	peerRegs     int     // of those, the ones only the group's runtimes wake (markPeer)
	ioCountdown  int
	ioRegistered int // descriptors registered with the poller, besides the waker
	ios          *slab.Slab[ioRec]
	ioGen        uint32
	events       []reactor.Event
	counters     Stats
	pendingPanic *PanicError
	abandoned    int            // coroutines stuck after runtime.Goexit
	closeReport  *ShutdownStats // non-nil while Close unwinds tasks
	draining     bool           // Shutdown: new spawns are refused
	worlds       []*worldRun    // the Worlds given to the builder (world.go)
	network      Network        // Builder.Network; nil: the operating system's
	shuffle      *rand.Rand     // Builder.ShuffleReady; nil: FIFO
	// cycleExtras counts reasons for endCycle to run every cycle: attached
	// Worlds and registered descriptors.
	cycleExtras int
	// attn is read once per cycle: attnInbox says other goroutines posted
	// work, attnStop that the loop may have to stop for a reason other than
	// its root finishing (see stopReason).
	attn         atomic.Uint32
	lastBodyPool any
	bodyPools    map[any]any

	statsMu   sync.Mutex
	published Stats
}

// A request is work handed to the runtime goroutine: a BlockOn's root, a
// Shutdown's drain, or (neither) Close.
type request struct {
	root       runner
	drainUntil time.Time
	reply      chan error
}

// statsEvery is how many cycles pass between publications of the counters
// that goroutines other than the runtime's read through Stats.
const statsEvery = 64

// wakerToken is the poller token of the runtime's eventfd.
const wakerToken = 0

func start(worlds []World, cfg config) (*Runtime, error) {
	rt := &Runtime{
		cfg:    cfg,
		reqs:   make(chan request),
		exited: make(chan struct{}),
		events: make([]reactor.Event, 256),

		reschedEvery: reschedEvery,
	}
	rt.slot = make(chan struct{}, 1)
	rt.coroMain = func(yield func(switchReason) bool) { rt.launching.main(yield) }
	rt.inbox.attn = &rt.attn
	rt.inbox.spawnLimit = cfg.remoteSpawns
	rt.inbox.room.L = &rt.inbox.mu
	rt.shutdown.waiters.external = true
	rt.tasks, _ = slab.NewUnbounded[taskRec](0)
	rt.ios, _ = slab.NewUnbounded[ioRec](0)
	rt.pool.bounded = cfg.poolBounded
	rt.pool.chunk = max(cfg.poolSize, defaultPoolChunk)
	rt.ioCountdown = cfg.eventInterval
	if cfg.shuffle {
		rt.shuffle = rand.New(rand.NewPCG(cfg.shuffleSeed, 0x73687566666c65))
	}
	if sc, ok := cfg.clock.(*SimClock); ok {
		if !sc.inUse.CompareAndSwap(false, true) {
			return nil, errors.New("asyncrt: the SimClock is already used by another runtime")
		}
		rt.sim, rt.epoch = sc, sc.start
		rt.now = sc.elapsed.Load()
	} else {
		rt.epoch = time.Now()
	}
	rt.timers.Init(rt.now)
	rt.attachWorlds(worlds)

	var err error
	if rt.poller, err = reactor.NewPoller(); err != nil {
		return nil, rt.abortStart(err)
	}
	if rt.waker, err = reactor.NewWaker(); err != nil {
		return nil, rt.abortStart(err)
	}
	if err = rt.poller.Register(rt.waker.Fd(), wakerToken, reactor.Readable); err != nil {
		return nil, rt.abortStart(err)
	}

	built := make(chan error)
	go rt.main(built)
	if err := <-built; err != nil {
		<-rt.exited
		return nil, rt.abortStart(err)
	}
	if cfg.stallThreshold > 0 {
		rt.wd.start(rt, cfg.stallThreshold)
	}
	if cfg.signals {
		rt.stopSigs = rt.catchSignals()
	}
	if ctx := cfg.shutdownCtx; ctx != nil {
		rt.stopShutdownOn = context.AfterFunc(ctx, rt.ShutdownHandle().Trigger)
	}
	return rt, nil
}

// abortStart releases what a failed start acquired.
func (rt *Runtime) abortStart(err error) error {
	if rt.waker != nil {
		_ = rt.waker.Close()
	}
	if rt.poller != nil {
		_ = rt.poller.Close()
	}
	if rt.sim != nil {
		rt.sim.inUse.Store(false)
	}
	return fmt.Errorf("asyncrt: starting the runtime: %w", err)
}

// main is the runtime goroutine. It stays locked to its OS thread for its
// whole life and never unlocks: coroutines must be created and resumed under
// the same thread-lock state, and when it exits the thread exits with it
// (taking any CPU pinning along).
func (rt *Runtime) main(built chan<- error) {
	defer close(rt.exited)
	runtime.LockOSThread()
	if cpu := rt.cfg.pinCPU; cpu >= 0 {
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			built <- fmt.Errorf("pinning to CPU %d: %w", cpu, err)
			return
		}
	}
	// The kernel lets sleeps on a normal thread end up to 50 µs late to
	// batch wake-ups (timer slack). This thread's sleeps are the runtime's
	// timers: make them end on time.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	rt.g = gid.Current()
	// The stall watchdog reads this thread's scheduler statistics and finds
	// this goroutine in stack dumps.
	rt.wd.tid, rt.wd.goid = unix.Gettid(), gid.CurrentID()
	if rt.cfg.poolSize > 0 {
		rt.pool.grow(rt, rt.cfg.poolSize)
	}
	rt.publishStats()
	built <- nil
	for req := range rt.reqs {
		switch {
		case req.root != nil:
			req.reply <- rt.runRoot(req.root)
		case !req.drainUntil.IsZero():
			req.reply <- rt.drain(req.drainUntil)
		default:
			rt.shutdownAll()
			return
		}
	}
}

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
	if err := rt.acquire(); err != nil {
		return zero, err
	}
	root := &body[T]{fn: fn}
	err := rt.request(request{root: root})
	if err != nil {
		return zero, err
	}
	return root.val, nil
}

// Run runs fn as the root task of rt, like [BlockOn], for a root whose only
// result is an error: it returns fn's error, or, if the root did not return
// (it panicked, deadlocked, or the runtime was closed), BlockOn's error. One
// check covers both:
//
//	if err := asyncrt.Run(rt, serve); err != nil { ... }
func Run(rt *Runtime, fn func(*Task) error) error {
	if fn == nil {
		return errors.New("asyncrt: Run called with a nil function")
	}
	err, runErr := BlockOn(rt, fn)
	if runErr != nil {
		return runErr
	}
	return err
}

// acquire claims the runtime for one BlockOn, or fails with ErrBusy if
// another goroutine holds it.
func (rt *Runtime) acquire() error {
	select {
	case rt.slot <- struct{}{}:
	default:
		if rt.isClosing() {
			return ErrClosed
		}
		return ErrBusy
	}
	if rt.isClosing() {
		<-rt.slot
		return ErrClosed
	}
	return nil
}

// acquireUntil claims the runtime, waiting for a running BlockOn to return
// until deadline. It reports whether it got the runtime.
func (rt *Runtime) acquireUntil(deadline time.Time) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case rt.slot <- struct{}{}:
	case <-timer.C:
		return false
	}
	if rt.isClosing() {
		<-rt.slot
		return false
	}
	return true
}

func (rt *Runtime) isClosing() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.closing
}

// request hands req to the runtime goroutine, waits for its answer and
// releases the runtime.
func (rt *Runtime) request(req request) error {
	req.reply = make(chan error, 1)
	rt.reqs <- req
	err := <-req.reply
	<-rt.slot
	return err
}

// runRoot spawns the root task and runs cycles until it is done.
func (rt *Runtime) runRoot(root runner) error {
	// The root's record stays put until it is consumed below: nobody else
	// holds its handle.
	rec := rt.insertTask(root, rt.newTask(false), rt.defaultWorld(), nil)
	if b, ok := root.(interface{ entryPC() uintptr }); ok {
		rec.task.wdFn.Store(b.entryPC())
	}
	rt.wd.activate(rt)
	err := rt.drive(rec, time.Time{})
	if rec.state != stateDone {
		rec.signal |= sigAbort
		rt.resume(rec)
	}
	rt.wd.deactivate()
	rec.consumed = true
	rec.body = nil // BlockOn reads the result from it after we return
	rt.tryFree(rec)
	if pe := rt.pendingPanic; pe != nil {
		rt.pendingPanic = nil
		if !rt.closeReq.Load() {
			rt.attn.And(^uint32(attnStop))
		}
		if err == nil || errors.Is(err, ErrAborted) {
			err = pe
		}
	}
	rt.publishStats()
	return err
}

// Stats is a snapshot of a runtime's counters.
type Stats struct {
	// Spawned counts tasks started, including each BlockOn's root.
	Spawned uint64
	// SpawnsRefused counts tasks not started because a bounded task pool
	// was full (see Builder.TaskPool); their handles report ErrPoolFull.
	SpawnsRefused uint64
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
	// TimersFired counts timers that expired (sleeps, deadlines, ticks).
	TimersFired uint64
	// Parks counts the times the runtime slept in its poller.
	Parks uint64
	// Spins counts the spells of polling before a park
	// ([Builder.SpinBeforePark]); those that found work spared a park.
	Spins uint64
	// IOPolls counts checks of the IO poller, parked or not.
	IOPolls uint64
	// SchedulerYields counts the times the runtime's goroutine yielded to
	// the Go scheduler before parking, at most one each 5 ms, so that the
	// scheduler does not preempt it in the middle of a task (see "The loop
	// and idling" in the package documentation).
	SchedulerYields uint64
	// Stalls counts the stalls the watchdog reported: tasks (or the
	// runtime's own work) that held the thread past the stall threshold
	// without suspending, each counted once, at its first report (see
	// Builder.StallThreshold). It is always read live.
	Stalls uint64
	// LiveTasks is the number of tasks spawned and not yet finished.
	LiveTasks int
	// PendingTimers is the number of timers scheduled and not yet fired.
	PendingTimers int
	// Registrations is the number of live registrations of the waiting
	// layer: waits in progress (not sleeps, which hold only a timer) and
	// Timers not yet stopped. Like PendingTimers, it is 0 once every task
	// has ended.
	Registrations int
	// PoolInUse is the number of pooled coroutines running a task.
	PoolInUse int
	// PoolCapacity is the number of pooled coroutines created so far.
	PoolCapacity int
	// ReadyTasks is the number of tasks queued to run.
	ReadyTasks int
	// PollTimes counts polls by duration, on a runtime built with
	// Builder.MeasurePolls; it is empty otherwise.
	PollTimes PollHistogram
	// Digest is a running hash of the order of the runtime's events: every
	// task poll (by task ID) and every timer that fired (with the time it
	// fired at). Under a [SimClock], with no other goroutine feeding the
	// runtime, the same program and inputs give the same digest on every
	// run: print it to show two runs took the same path, event for event.
	// On the real clock it differs from run to run.
	Digest uint64
}

// Stats returns the runtime's counters. Called from one of the runtime's
// tasks, it reads them live. Called from another goroutine, it returns the
// last published copy, which the runtime refreshes every 64 cycles, before
// it parks, and whenever a BlockOn returns, so it may trail the live
// counters slightly.
func (rt *Runtime) Stats() Stats {
	if rt.onRuntime() {
		return rt.liveStats()
	}
	rt.statsMu.Lock()
	s := rt.published
	rt.statsMu.Unlock()
	s.Stalls = rt.wd.stalls.Load() // live: counted while the runtime's thread is held
	return s
}

func (rt *Runtime) liveStats() Stats {
	s := rt.counters
	s.LiveTasks = rt.live
	s.PendingTimers = rt.timers.Len()
	s.Registrations = rt.regs.live
	s.PoolInUse = rt.pool.inUse
	s.PoolCapacity = rt.pool.created
	s.ReadyTasks = rt.ready.len()
	s.Stalls = rt.wd.stalls.Load()
	return s
}

func (rt *Runtime) publishStats() {
	s := rt.liveStats()
	rt.statsMu.Lock()
	rt.published = s
	rt.statsMu.Unlock()
}

// ShutdownStats reports what Close (or Shutdown) found left on the runtime.
type ShutdownStats struct {
	// Aborted is the number of unfinished tasks that were aborted; their
	// defers ran before Close returned.
	Aborted int
	// Referenced is the number of tasks whose JoinHandle was neither awaited
	// nor detached: their results were dropped.
	Referenced int
	// UnjoinedPanics holds the panics of tasks nobody joined, so that none
	// is lost: among the Referenced tasks, and in detached tasks that
	// panicked while they were unwound.
	UnjoinedPanics []*PanicError
	// Abandoned is the number of coroutines that could not be ended because
	// their task called runtime.Goexit.
	Abandoned int
	// RemoteRefused is the number of tasks sent from other goroutines that
	// never started; their RemoteHandles report ErrClosed.
	RemoteRefused int
}

// Close aborts every task still on the runtime (their defers run), ends the
// runtime's goroutine, its coroutines and its OS thread, and reports what it
// found. A BlockOn running meanwhile returns [ErrClosed]. Close is idempotent;
// later calls return the same statistics. Calling it from a task of rt
// panics.
//
// Close does not wait for functions started with [Go] that are still
// running on their goroutines; their results are dropped.
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
		rt.attn.Or(attnStop)
		rt.poke()
		rt.slot <- struct{}{} // once any running BlockOn has returned; kept for good
		rt.reqs <- request{}
		<-rt.exited
		if rt.stopSigs != nil {
			rt.stopSigs()
		}
		if rt.stopShutdownOn != nil {
			rt.stopShutdownOn()
		}
		rt.wd.stop()
		rt.closeStats.RemoteRefused += rt.inbox.close()
		_ = rt.waker.Close()
		_ = rt.poller.Close()
		if rt.sim != nil {
			rt.sim.inUse.Store(false)
		}
	})
	return rt.closeStats
}

// shutdownAll aborts and unwinds every task, stops the pooled coroutines and
// records the shutdown statistics. It runs on the runtime goroutine.
func (rt *Runtime) shutdownAll() {
	st := &rt.closeStats
	rt.closeReport = st
	rt.draining = true
	// Requests that arrived from other goroutines and never ran are refused,
	// so that nobody waits for them forever.
	st.RemoteRefused += rt.inbox.refuseAll()
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
			rec.signal |= sigAbort
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
	st.RemoteRefused += rt.inbox.refuseAll()
	rt.finalizeWorlds()
	rt.tasks.Clear()
	rt.ready.clear()
	rt.closeReport = nil
	rt.publishStats()
	rt.closed.Store(true)
}

// defaultWorld is the World of tasks that have no parent task (roots and
// remote spawns): the first one given to the builder, or nil.
func (rt *Runtime) defaultWorld() World {
	if len(rt.worlds) == 0 {
		return nil
	}
	return rt.worlds[0].w
}

// catchSignals routes SIGINT and SIGTERM to the shutdown signal until the
// returned function is called.
func (rt *Runtime) catchSignals() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-ch:
				rt.ShutdownHandle().Trigger()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		<-exited
	}
}
