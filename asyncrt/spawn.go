package asyncrt

import (
	"fmt"

	"github.com/orrery-go/orrery/slab"
)

// body is a task's function and the slot its result is written to. Bodies
// are recycled per result type, so spawning does not allocate once warm.
type body[T any] struct {
	fn   func(*Task) T
	val  T
	pool *bodyPool[T]
}

func (b *body[T]) run(t *Task) { b.val = b.fn(t) }

func (*body[T]) deliver(error) {}

func (b *body[T]) recycle() {
	var zero T
	b.val, b.fn = zero, nil
	if p := b.pool; p != nil && len(p.free) < maxFreeBodies {
		p.free = append(p.free, b)
	}
}

// voidBody is the runner of a task that returns nothing ([SpawnFunc]): the
// function alone, with no result to keep, so such a task needs no body. A
// func value fits in an interface as it is: storing it allocates nothing.
type voidBody func(*Task)

func (f voidBody) run(t *Task) { f(t) }
func (voidBody) recycle()      {}
func (voidBody) deliver(error) {}

// maxFreeBodies bounds each result type's free list, so a burst of tasks does
// not pin its peak memory forever.
const maxFreeBodies = 4096

type bodyPool[T any] struct{ free []*body[T] }

// getBody returns a recycled or new body for result type T. The runtime keeps
// one free list per type; the last one used is cached, so a loop spawning
// tasks of one type finds its list with a single type assertion.
func getBody[T any](rt *Runtime) *body[T] {
	p, ok := rt.lastBodyPool.(*bodyPool[T])
	if !ok {
		key := any((*body[T])(nil))
		if rt.bodyPools == nil {
			rt.bodyPools = make(map[any]any)
		}
		if found, ok := rt.bodyPools[key]; ok {
			p = found.(*bodyPool[T])
		} else {
			p = &bodyPool[T]{}
			rt.bodyPools[key] = p
		}
		rt.lastBodyPool = p
	}
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b
	}
	return &body[T]{pool: p}
}

// Spawn starts fn as a new task on t's runtime and returns a handle to
// await its result, abort it or detach it. The caller carries on; the new
// task first runs in the next cycle, or as soon as the caller awaits it,
// whichever comes first. A task that returns nothing is started with
// [SpawnFunc]; one that returns an error is awaited with [JoinHandle.Wait].
//
// Each task runs on a coroutine of its own, made for it, unless the runtime
// was built with a task pool ([Builder.TaskPool]): then it runs on a pooled
// coroutine, and spawning allocates nothing beyond what fn captures. If a
// bounded pool has no free coroutine the task is not started: the handle
// reports [ErrPoolFull] (from Await, Wait and JoinSet.Next) and
// [Stats].SpawnsRefused counts it. A nil fn panics.
//
// Options: [Named] gives the task a name for reports and profiles.
func Spawn[T any](t *Task, fn func(*Task) T, opts ...SpawnOption) JoinHandle[T] {
	t.check("Spawn")
	if fn == nil {
		panic("asyncrt: Spawn called with a nil function")
	}
	at := t.rt.place(t, opts)
	co := t.rt.coroutine()
	if co == nil {
		return JoinHandle[T]{rt: t.rt, refused: true}
	}
	b := getBody[T](t.rt)
	b.fn = fn
	return spawnOn(t, co, b, b, funcPC(fn), at, opts)
}

// SpawnFunc is [Spawn] for a task that returns nothing: await it with
// [JoinHandle.Wait], which reports how it ended.
func SpawnFunc(t *Task, fn func(*Task), opts ...SpawnOption) JoinHandle[struct{}] {
	t.check("SpawnFunc")
	if fn == nil {
		panic("asyncrt: SpawnFunc called with a nil function")
	}
	at := t.rt.place(t, opts)
	co := t.rt.coroutine()
	if co == nil {
		return JoinHandle[struct{}]{rt: t.rt, refused: true}
	}
	return spawnOn[struct{}](t, co, voidBody(fn), nil, voidPC(fn), at, opts)
}

// coroutine returns the coroutine for a new task: a new one, or a pooled
// one if the runtime has a pool; nil if a bounded pool is full, which it
// counts.
func (rt *Runtime) coroutine() *Task {
	if !rt.cfg.pooled {
		return rt.newTask(false)
	}
	co, err := rt.pool.get(rt)
	if err != nil {
		rt.counters.SpawnsRefused++
		return nil
	}
	return co
}

// spawnOn starts a task on coroutine co. run is its runner; b is where its
// result is read from, nil for a task that returns nothing.
func spawnOn[T any](parent *Task, co *Task, run runner, b *body[T], pc uintptr, at placement, opts []SpawnOption) JoinHandle[T] {
	rt := parent.rt
	rec := rt.insertTask(run, co, at.world, at.node)
	co.wdFn.Store(pc) // named from pc lazily, only when a name is needed
	if len(opts) > 0 {
		co.wdName.Store(rt.nameOf(opts))
	} else if co.wdName.Load() != nil {
		co.wdName.Store(nil) // a pooled coroutine's last task was named
	}
	return JoinHandle[T]{rt: rt, key: rec.key, b: b}
}

// JoinHandle refers to a spawned task and, once it finishes, to its result.
// It is a small value: copies refer to the same task, and the result can be
// taken once. The zero JoinHandle refers to no task.
//
// Its methods must be called on the task's runtime: from one of its tasks (or,
// later, its systems). After the runtime is closed they report the task as
// finished.
type JoinHandle[T any] struct {
	rt  *Runtime
	key slab.Key
	// refused: the task was never started (a bounded pool was full).
	refused bool
	b       *body[T] // nil for a task that returns nothing
}

// Await suspends t until the task finishes and returns its result. The error
// is [ErrAborted] if it was aborted, a *[PanicError] if it panicked, and
// [ErrGoexit] if it called runtime.Goexit. A finished task's result is
// returned at once.
//
// Awaiting a task that has not started yet runs it right away, in t's turn,
// switching straight to its coroutine rather than waiting for the executor
// to reach it: if it finishes without suspending, Await returns without t
// ever suspending. This makes spawn-then-await cost one coroutine round trip
// instead of two. Either way, tasks run one at a time.
//
// The result can be taken once: any number of tasks may await one task, and
// the first to resume after it finishes takes the result; the others, and
// any Await after Detach, get [ErrJoined]. A task awaiting itself gets an
// error wrapping [ErrDeadlock]. If t is aborted while it waits, it unwinds
// from here.
func (h JoinHandle[T]) Await(t *Task) (T, error) {
	t.check("JoinHandle.Await")
	return h.await(t)
}

func (h JoinHandle[T]) await(t *Task) (T, error) {
	var zero T
	rt := h.rt
	if rt == nil || rt != t.rt {
		return zero, ErrInvalidHandle
	}
	if h.refused {
		return zero, ErrPoolFull
	}
	rec, ok := rt.tasks.Get(h.key)
	if !ok || rec.detached || rec.consumed {
		return zero, ErrJoined
	}
	if rec.state != stateDone {
		if rec == t.rec {
			return zero, fmt.Errorf("asyncrt: task %d awaits itself: %w", rec.id, ErrDeadlock)
		}
		if rec.state == stateReady {
			rt.runInline(rec)
		}
		if rec.state != stateDone {
			w := t.Enqueue(&rec.join)
			for rec.state != stateDone {
				t.waitRegs()
				// Detached through a copy of the handle, or taken by
				// another awaiter: the record may be gone.
				if rec, ok = rt.tasks.Get(h.key); !ok || rec.detached || rec.consumed {
					w.Release()
					return zero, ErrJoined
				}
			}
			w.Release()
		}
	}
	return h.take(rec)
}

// Wait suspends t until the task finishes, like [JoinHandle.Await], and
// reports how it ended without its value: the error Await would return
// (ErrAborted, a *PanicError, ...), or, for a task whose result type is
// error, the error it returned. It is how a task that returns nothing
// ([SpawnFunc]) or only an error is awaited, with one check:
//
//	h := asyncrt.Spawn(t, func(t *asyncrt.Task) error { return serve(t) })
//	if err := h.Wait(t); err != nil { ... }
func (h JoinHandle[T]) Wait(t *Task) error {
	t.check("JoinHandle.Wait")
	v, err := h.await(t)
	if err != nil {
		return err
	}
	return resultError(v)
}

// resultError returns v if T is the error type, nil otherwise. The type
// test uses a nil *T, so nothing is boxed for other result types.
func resultError[T any](v T) error {
	if _, ok := any((*T)(nil)).(*error); ok {
		err, _ := any(v).(error)
		return err
	}
	return nil
}

// take consumes a finished task's result.
func (h JoinHandle[T]) take(rec *taskRec) (T, error) {
	err := rec.err
	var v T
	if err == nil && h.b != nil {
		v = h.b.val
	}
	rec.consumed = true
	h.rt.tryFree(rec)
	return v, err
}

// Abort asks the task to stop. A task that has not started never runs; a
// suspended task is woken and unwinds from its suspension point, running its
// defers; a task aborting itself unwinds at its next suspension point. Await
// then returns [ErrAborted]. Abort reports whether the task was still
// unfinished; it does nothing to a finished task.
func (h JoinHandle[T]) Abort() bool {
	rt := h.rt
	if rt == nil || rt.closed.Load() {
		return false
	}
	rt.mustBeOnRuntime("JoinHandle.Abort")
	rec, ok := rt.tasks.Get(h.key)
	return ok && rt.abort(rec)
}

// Detach gives up the result: the task runs on, and its record is freed as
// soon as it finishes. A panic in a detached task goes to the runtime's
// unhandled-panic policy. Detaching a task that already finished drops its
// result now.
func (h JoinHandle[T]) Detach() {
	rt := h.rt
	if rt == nil || rt.closed.Load() {
		return
	}
	rt.mustBeOnRuntime("JoinHandle.Detach")
	rec, ok := rt.tasks.Get(h.key)
	if !ok || rec.detached || rec.consumed {
		return
	}
	rec.detached = true
	rec.join.WakeAll() // tasks awaiting through copies of the handle get ErrJoined now
	if rec.state == stateDone {
		rec.consumed = true
		if pe, ok := rec.err.(*PanicError); ok {
			rt.unhandledPanic(pe)
		}
		rt.tryFree(rec)
	}
}

// IsFinished reports whether the task has finished (returned, panicked or was
// aborted). It is true for a handle whose result was already taken.
func (h JoinHandle[T]) IsFinished() bool {
	rt := h.rt
	if rt == nil || rt.closed.Load() {
		return true
	}
	rt.mustBeOnRuntime("JoinHandle.IsFinished")
	rec, ok := rt.tasks.Get(h.key)
	return !ok || rec.state == stateDone
}
