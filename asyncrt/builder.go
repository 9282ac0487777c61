package asyncrt

import (
	"errors"
	"fmt"

	"github.com/orrery-go/orrery/world"
)

// DefaultTasksPerCycle is how many ready tasks the runtime polls per cycle
// unless [Builder.TasksPerCycle] says otherwise.
const DefaultTasksPerCycle = 64

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
	tasksPerCycle int
	poolSize      int
	poolBounded   bool
	panicPolicy   PanicPolicy
	onPanic       func(*PanicError)
}

// Builder configures a [Runtime]. Its methods record options and return the
// builder for chaining; an invalid option is reported by [Builder.Build].
type Builder struct {
	world *world.World
	cfg   config
	errs  []error
}

// NewBuilder starts configuring a runtime for w. A nil w gives the runtime an
// empty World of its own.
func NewBuilder(w *world.World) *Builder {
	return &Builder{
		world: w,
		cfg: config{
			tasksPerCycle: DefaultTasksPerCycle,
			panicPolicy:   ReturnPanics,
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

// TaskPool configures the coroutines [SpawnPooled] runs tasks on. size
// coroutines are created when the runtime is built. A bounded pool never
// grows: SpawnPooled returns [ErrPoolFull] while all of them are busy, so size
// must be at least 1. An unbounded pool grows in chunks of max(size, 64)
// whenever it runs out. Without this option the pool is unbounded and starts
// empty.
func (b *Builder) TaskPool(size int, bounded bool) *Builder {
	switch {
	case size < 0:
		b.errs = append(b.errs, fmt.Errorf("TaskPool(%d, %v): size must not be negative", size, bounded))
	case bounded && size == 0:
		b.errs = append(b.errs, fmt.Errorf("TaskPool(0, true): a bounded pool needs at least one coroutine"))
	}
	b.cfg.poolSize, b.cfg.poolBounded = size, bounded
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

// Build validates the options and starts the runtime's goroutine, which owns
// one OS thread until [Runtime.Close].
func (b *Builder) Build() (*Runtime, error) {
	if len(b.errs) > 0 {
		return nil, fmt.Errorf("asyncrt: invalid runtime options: %w", errors.Join(b.errs...))
	}
	w := b.world
	if w == nil {
		w = world.New()
	}
	return start(w, b.cfg)
}

// New builds a runtime for w with the default options. A nil w gives the
// runtime an empty World of its own.
func New(w *world.World) (*Runtime, error) {
	return NewBuilder(w).Build()
}
