package asyncrt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultTasksPerCycle is how many ready tasks the runtime polls per cycle
// unless [Builder.TasksPerCycle] says otherwise.
const DefaultTasksPerCycle = 64

// DefaultEventInterval is how many cycles a busy runtime runs between two
// checks of its IO poller, unless [Builder.EventInterval] says otherwise.
const DefaultEventInterval = 61

// DefaultStallThreshold is the stall watchdog's threshold unless
// [Builder.StallThreshold] says otherwise.
const DefaultStallThreshold = 100 * time.Millisecond

// IdleStrategy is what a runtime does when no task is ready.
type IdleStrategy int

const (
	// Park (the default) sleeps in the IO poller until the next timer is
	// due, IO is ready or another goroutine wakes the runtime. A parked
	// runtime uses no CPU.
	Park IdleStrategy = iota
	// Spin never sleeps: it polls timers, IO and the inbox in a loop. It
	// gives the lowest wake-up latency and burns its core while idle.
	Spin
)

func (s IdleStrategy) String() string {
	switch s {
	case Park:
		return "Park"
	case Spin:
		return "Spin"
	}
	return fmt.Sprintf("IdleStrategy(%d)", int(s))
}

// defaultPoolChunk is how many coroutines an unbounded task pool adds when it
// runs out, unless its initial size is larger.
const defaultPoolChunk = 64

// PanicPolicy decides what happens to a panic in a task that nobody can join:
// a detached task, or one whose handle is never awaited before the runtime
// closes. A panic in a task whose handle is awaited always reaches Await.
type PanicPolicy int

const (
	// ReturnPanics (the default) makes the running [BlockOn] return the
	// panic as a *[PanicError], after unwinding its root task.
	ReturnPanics PanicPolicy = iota
	// CountPanics counts the panic in [Stats].UnhandledPanics, passes it to
	// the [Builder.OnUnhandledPanic] hook if one is set, and carries on.
	CountPanics
)

func (p PanicPolicy) String() string {
	switch p {
	case ReturnPanics:
		return "ReturnPanics"
	case CountPanics:
		return "CountPanics"
	}
	return fmt.Sprintf("PanicPolicy(%d)", int(p))
}

type config struct {
	tasksPerCycle  int
	pooled         bool // TaskPool was called: tasks run on pooled coroutines
	poolSize       int
	poolBounded    bool
	panicPolicy    PanicPolicy
	onPanic        func(*PanicError)
	clock          Clock
	idle           IdleStrategy
	spinBeforePark time.Duration
	eventInterval  int
	pinCPU         int // -1: not pinned
	signals        bool
	stallThreshold time.Duration
	onStall        func(StallReport)
	stallOut       io.Writer // where stalls are reported without onStall; nil: os.Stderr
	remoteSpawns   int
	shutdownCtx    context.Context // ShutdownOn; nil: none
	measurePolls   bool
	profileLabels  bool
	shuffle        bool // ShuffleReady
	shuffleSeed    uint64
}

// Builder configures a [Runtime]. Its methods record options and return the
// builder for chaining; an invalid option is reported by [Builder.Build].
type Builder struct {
	worlds  []World
	network Network
	cfg     config
	errs    []error
}

// NewBuilder starts configuring a runtime with the default options.
func NewBuilder() *Builder {
	return &Builder{
		cfg: config{
			tasksPerCycle:  DefaultTasksPerCycle,
			panicPolicy:    ReturnPanics,
			clock:          RealClock(),
			idle:           Park,
			eventInterval:  DefaultEventInterval,
			pinCPU:         -1,
			stallThreshold: DefaultStallThreshold,
			remoteSpawns:   DefaultRemoteSpawnLimit,
		},
	}
}

// TasksPerCycle sets how many ready tasks are polled per cycle before the
// runtime turns to timers and IO (default 64). Tasks woken during a cycle
// always wait for the next one, so one task cannot starve the others.
func (b *Builder) TasksPerCycle(n int) *Builder {
	if n <= 0 {
		b.errs = append(b.errs, fmt.Errorf("TasksPerCycle(%d): must be at least 1", n))
	}
	b.cfg.tasksPerCycle = n
	return b
}

// TaskPool makes the runtime run tasks on pooled coroutines: every
// [Spawn], [SpawnFunc], JoinSet spawn and remote spawn takes a coroutine
// from the pool and returns it when the task ends, so that, once the pool is
// warm, spawning allocates nothing beyond what the task function captures.
// Without this option each task gets a new coroutine.
//
// size coroutines are created when the runtime is built. A bounded pool
// never grows, so size must be at least 1: while all its coroutines are
// busy, a spawn is refused with [ErrPoolFull] (reported by the task's
// handle) and counted in [Stats].SpawnsRefused. An unbounded pool grows in
// chunks of max(size, 64) whenever it runs out.
func (b *Builder) TaskPool(size int, bounded bool) *Builder {
	switch {
	case size < 0:
		b.errs = append(b.errs, fmt.Errorf("TaskPool(%d, %v): size must not be negative", size, bounded))
	case bounded && size == 0:
		b.errs = append(b.errs, fmt.Errorf("TaskPool(0, true): a bounded pool needs at least one coroutine"))
	}
	b.cfg.pooled, b.cfg.poolSize, b.cfg.poolBounded = true, size, bounded
	return b
}

// UnhandledPanics sets the policy for panics in tasks nobody can join
// (default [ReturnPanics]).
func (b *Builder) UnhandledPanics(p PanicPolicy) *Builder {
	if p != ReturnPanics && p != CountPanics {
		b.errs = append(b.errs, fmt.Errorf("UnhandledPanics(%d): unknown policy", int(p)))
	}
	b.cfg.panicPolicy = p
	return b
}

// OnUnhandledPanic sets a function called, on the runtime's thread, with
// every panic nobody can join, whatever the policy: the place to log them.
// It must not block.
func (b *Builder) OnUnhandledPanic(fn func(*PanicError)) *Builder {
	b.cfg.onPanic = fn
	return b
}

// Clock sets the runtime's clock: [RealClock] (the default) or a
// [SimClock], under which time jumps to the next timer whenever nothing else
// can happen. A SimClock serves one runtime at a time.
func (b *Builder) Clock(c Clock) *Builder {
	if c == nil {
		b.errs = append(b.errs, errors.New("Clock(nil): need RealClock() or a *SimClock"))
	} else if sc, ok := c.(*SimClock); ok && sc == nil {
		b.errs = append(b.errs, errors.New("Clock: nil *SimClock"))
	}
	b.cfg.clock = c
	return b
}

// Idle sets what the runtime does when no task is ready: [Park] (the
// default) or [Spin]. Under a [SimClock] the runtime jumps time instead.
func (b *Builder) Idle(s IdleStrategy) *Builder {
	if s != Park && s != Spin {
		b.errs = append(b.errs, fmt.Errorf("Idle(%d): unknown strategy", int(s)))
	}
	b.cfg.idle = s
	return b
}

// SpinBeforePark sets how long a runtime in [Park] mode keeps polling its
// inbox and IO poller once it runs out of work, before it sleeps (default
// 0: it sleeps at once). Work that arrives within the window (a value on a
// cross channel, a Notify, a packet) is taken without the cost of waking a
// sleeping thread, some 15–50 µs on an idle machine; each spell of idleness
// costs up to d of CPU, and none once the window has passed. The runtime
// does not spin when a timer is due within the window (it sleeps until the
// timer), nor with GOMAXPROCS=1, where the goroutines that would send the
// work could not run meanwhile; and it spins at most a quarter of the stall
// threshold, so that the watchdog never takes a spin for a stall. d must be
// within [0, 10 ms]. (Apart from this, a task receiving on a cross channel
// watches it for half a microsecond before it suspends, whatever d is: see
// [CrossReceiver.Recv].)
func (b *Builder) SpinBeforePark(d time.Duration) *Builder {
	if d < 0 || d > 10*time.Millisecond {
		b.errs = append(b.errs, fmt.Errorf("SpinBeforePark(%v): must be within [0, 10ms]", d))
	}
	b.cfg.spinBeforePark = d
	return b
}

// EventInterval sets how many cycles a busy runtime runs between two checks
// of its IO poller (default 61). Lower values lower IO latency under load and
// cost a system call each time.
func (b *Builder) EventInterval(n int) *Builder {
	if n <= 0 {
		b.errs = append(b.errs, fmt.Errorf("EventInterval(%d): must be at least 1", n))
	}
	b.cfg.eventInterval = n
	return b
}

// PinCPU pins the runtime's thread to one CPU with sched_setaffinity. The
// CPU must be one the process may run on.
func (b *Builder) PinCPU(cpu int) *Builder {
	var allowed unix.CPUSet
	switch err := unix.SchedGetaffinity(0, &allowed); {
	case cpu < 0:
		b.errs = append(b.errs, fmt.Errorf("PinCPU(%d): CPU numbers start at 0", cpu))
	case err != nil:
		b.errs = append(b.errs, fmt.Errorf("PinCPU(%d): reading the process's CPUs: %w", cpu, err))
	case cpu >= len(allowed)*64 || !allowed.IsSet(cpu):
		b.errs = append(b.errs, fmt.Errorf("PinCPU(%d): not among the %d CPUs this process may use", cpu, allowed.Count()))
	}
	b.cfg.pinCPU = cpu
	return b
}

// ProfileLabels, when on, labels each task's goroutine for CPU profiles
// with its name (pprof label "task"; see [Named]), so that a profile splits
// the runtime's time by task: `go tool pprof -tagfocus task=feed`, or
// `-tags` for the breakdown. It costs a label switch per task start. Off by
// default.
func (b *Builder) ProfileLabels(on bool) *Builder {
	b.cfg.profileLabels = on
	return b
}

// MeasurePolls, when on, times every poll of a task (two clock reads each)
// and counts them by duration in [Stats].PollTimes: what a latency-minded
// operator graphs (see the asyncrt/metrics collector). Off by default.
func (b *Builder) MeasurePolls(on bool) *Builder {
	b.cfg.measurePolls = on
	return b
}

// ShutdownOn makes the runtime's shutdown signal fire when ctx is done:
// the one call that wires a context (from [signal.NotifyContext], a
// server's lifetime, a test) to the tasks that wait for shutdown
// ([Task.ShutdownSignal], [OnShutdown], [Runtime.ShutdownToken]). The link
// is dropped when the runtime is closed. A nil ctx is an error.
func (b *Builder) ShutdownOn(ctx context.Context) *Builder {
	if ctx == nil {
		b.errs = append(b.errs, errors.New("ShutdownOn(nil): a context is needed; use context.Background() for none"))
	}
	b.cfg.shutdownCtx = ctx
	return b
}

// SignalHandlers, when on, makes SIGINT and SIGTERM trigger the runtime's
// shutdown signal (see [Task.ShutdownSignal]) instead of killing the
// process, until the runtime is closed.
func (b *Builder) SignalHandlers(on bool) *Builder {
	b.cfg.signals = on
	return b
}

// StallThreshold sets how long a task may hold the runtime's thread without
// suspending before the stall watchdog reports it (default 100 ms; 0 turns
// the watchdog off). A task holds the thread while it runs and also while it
// blocks it: on a Go channel, a mutex, time.Sleep, a blocking system call.
// The runtime's own work between polls (a World's systems) is watched too.
//
// The watchdog runs on a goroutine of its own and reports a stall while it
// goes on. A holder that keeps the thread for 1.25 thresholds has been
// reported by then, even one that never gives it back (plus the
// lateness of the watchdog's timer, a few milliseconds, and any time its
// goroutine waits for a CPU); a stall that ends sooner may go unreported.
// Reports follow after every further threshold, and once more, with the
// total, when the holder gives the thread back (see [StallReport]). Time
// during which the operating system kept the runtime's thread from running
// (runnable, waiting for a CPU) does not count, so a loaded machine does not
// make well-behaved tasks look stalled: no holder is reported before it has
// had the threshold of run time by that measure. Stalls are counted in
// [Stats].Stalls and passed to the [Builder.OnStall] hook, or written to
// standard error.
//
// Stalls are watched while a [BlockOn] or a [Runtime.Shutdown] drives the
// runtime. The watchdog costs the executor one atomic load per poll and each
// spawn two atomic stores; a parked runtime's watchdog sleeps. Finding the
// holder dumps every goroutine's stack (runtime.Stack), which stops the world
// for a time that grows with the number of goroutines (some 4 µs each, so
// 0.4 s with 100k tasks). The watchdog skips the dump when, priced by the
// last one, it would stop the world for more than a quarter of the
// threshold (past some 5,000 goroutines at the default threshold): the
// reports made while such a stall goes on then name no task and carry no
// stack, and its last report names the task that held the thread.
func (b *Builder) StallThreshold(d time.Duration) *Builder {
	if d < 0 {
		b.errs = append(b.errs, fmt.Errorf("StallThreshold(%v): must not be negative", d))
	}
	b.cfg.stallThreshold = d
	return b
}

// OnStall sets the function the stall watchdog calls with each
// [StallReport], instead of writing it to standard error. The reports of a
// stall under way (Returned false) are made from the watchdog's goroutine
// while the holder still holds the runtime's thread. A stall's last report
// (Returned true) is made from the runtime's thread as soon as the holder
// gives the thread back (rarely, from the watchdog's goroutine a moment
// later), after the others have returned. Calls never overlap. fn must not
// block, nor wait for anything the runtime does: the runtime's thread may be
// waiting for it to return.
func (b *Builder) OnStall(fn func(StallReport)) *Builder {
	b.cfg.onStall = fn
	return b
}

// DefaultRemoteSpawnLimit is how many spawns from other goroutines a
// runtime holds before taking them, unless [Builder.RemoteSpawnLimit] says
// otherwise.
const DefaultRemoteSpawnLimit = 4096

// RemoteSpawnLimit bounds the spawns other goroutines may post
// ([SpawnRemote]) before the runtime takes them at its next cycle: past it
// SpawnRemote blocks the poster and TrySpawnRemote returns an error wrapping
// [ErrFull]. Everything else other goroutines post is bounded by nature: a
// cross channel by its capacity, wakes by the tasks waiting.
func (b *Builder) RemoteSpawnLimit(n int) *Builder {
	if n < 1 {
		b.errs = append(b.errs, fmt.Errorf("RemoteSpawnLimit(%d): must be at least 1", n))
	}
	b.cfg.remoteSpawns = n
	return b
}

// ShuffleReady makes the runtime run the tasks that are ready at the start
// of each cycle in an order drawn from seed, instead of the order they were
// woken in: a simulation explores other interleavings of the same program,
// and under a [SimClock] the same seed still gives the same run. Code that
// is correct must not depend on the order in which tasks woken in the same
// cycle run; a seed sweep with shuffling on finds code that does. The
// guarantees that hold without it still hold: a task woken during a cycle
// runs in a later one, and each ready task runs once per cycle.
func (b *Builder) ShuffleReady(seed uint64) *Builder {
	b.cfg.shuffle, b.cfg.shuffleSeed = true, seed
	return b
}

// World attaches w to the runtime: the runtime runs its systems, applies
// its deferred commands at safe points and keeps tasks from suspending while
// it is locked. Tasks that BlockOn and SpawnRemote start work on the first
// World attached, and every task works on the World of the task that spawned
// it (see [Task.World]). A runtime needs no World.
func (b *Builder) World(w World) *Builder {
	if w == nil {
		b.errs = append(b.errs, errors.New("World(nil): pass the World to attach, or leave it out"))
		return b
	}
	for _, have := range b.worlds {
		if have == w {
			b.errs = append(b.errs, errors.New("World: the same World is attached twice"))
			return b
		}
	}
	b.worlds = append(b.worlds, w)
	return b
}

// Build validates the options and starts the runtime's goroutine, which owns
// one OS thread until [Runtime.Close].
func (b *Builder) Build() (*Runtime, error) {
	if len(b.errs) > 0 {
		return nil, fmt.Errorf("asyncrt: invalid runtime options: %w", errors.Join(b.errs...))
	}
	rt, err := start(b.worlds, b.cfg)
	if err != nil {
		return nil, err
	}
	if err := rt.attachNetwork(b.network); err != nil {
		rt.Close()
		return nil, err
	}
	return rt, nil
}

// New builds a runtime with the default options and no World.
func New() (*Runtime, error) {
	return NewBuilder().Build()
}
