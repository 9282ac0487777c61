package asyncrt

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/orrery-go/orrery/slab"
)

// inboxJob is work another goroutine hands to the runtime: it runs on the
// runtime's thread at the start of a cycle.
type inboxJob interface {
	runOnRuntime(rt *Runtime)
	// refuse releases whoever waits on a job that will never run because
	// the runtime closed. It reports whether the job was a task.
	refuse() bool
}

// inbox is the runtime's multi-producer queue. Producers append under a
// mutex; the runtime swaps the slice out once per cycle, and only when the
// pending flag says there is something to take. A producer pokes the
// runtime's eventfd only when the runtime is parked.
type inbox struct {
	mu     sync.Mutex
	jobs   []inboxJob
	spare  []inboxJob
	attn   *atomic.Uint32 // the runtime's attention word: attnInbox says jobs wait
	closed bool
	// Remote spawns are the one job other goroutines can post without
	// bound (every other job is coalesced per waiting task or per source),
	// so they are counted and limited: a poster past the limit waits on
	// room, or is refused.
	spawns     int
	spawnLimit int
	room       sync.Cond
	// roomQ holds the tasks (of any runtime) that wait for room to spawn,
	// as goroutines wait on room (see SpawnOn).
	roomQ SharedWaitQueue
	// fdMu guards the runtime's eventfd against being closed while a poke
	// writes it.
	fdMu     sync.RWMutex
	fdClosed bool
}

// post queues j and wakes the runtime if it is parked. It reports false if
// the runtime is closed.
func (ib *inbox) post(rt *Runtime, j inboxJob) bool {
	ib.mu.Lock()
	if ib.closed {
		ib.mu.Unlock()
		return false
	}
	ib.jobs = append(ib.jobs, j)
	ib.attn.Or(attnInbox)
	ib.mu.Unlock()
	// The poke happens outside the lock: the write wakes the runtime's
	// thread, which must not find the lock still held when it comes to
	// drain the inbox.
	rt.poke()
	return true
}

// postSpawn queues a remote spawn, waiting while spawnLimit spawns are
// pending if block is set, refused with errInboxFull otherwise.
func (ib *inbox) postSpawn(rt *Runtime, j inboxJob, block bool) error {
	ib.mu.Lock()
	for !ib.closed && ib.spawns >= ib.spawnLimit {
		if !block {
			ib.mu.Unlock()
			return errInboxFull
		}
		ib.room.Wait()
	}
	if ib.closed {
		ib.mu.Unlock()
		return ErrClosed
	}
	ib.spawns++
	ib.jobs = append(ib.jobs, j)
	ib.attn.Or(attnInbox)
	ib.mu.Unlock()
	rt.poke()
	return nil
}

// wake writes the runtime's eventfd, unless the runtime is closed. The read
// lock keeps Close from closing the descriptor during the write.
func (ib *inbox) wake(rt *Runtime) {
	ib.fdMu.RLock()
	defer ib.fdMu.RUnlock()
	if !ib.fdClosed {
		_ = rt.waker.Wake()
	}
}

// take removes every queued job.
func (ib *inbox) take() []inboxJob {
	ib.mu.Lock()
	jobs := ib.jobs
	ib.jobs = ib.spare[:0]
	ib.spare = nil
	ib.attn.And(^uint32(attnInbox))
	freed := ib.spawns > 0
	if freed {
		ib.spawns = 0
		ib.room.Broadcast()
	}
	ib.mu.Unlock()
	// A task that found no room enqueued before it looked again under mu:
	// if that look came before this take, its registration is counted now.
	if freed && ib.roomQ.Len() > 0 {
		ib.roomQ.WakeAll()
	}
	return jobs
}

// drainInbox runs the jobs other goroutines have posted.
func (rt *Runtime) drainInbox() {
	jobs := rt.inbox.take()
	for i, j := range jobs {
		jobs[i] = nil
		j.runOnRuntime(rt)
	}
	rt.inbox.mu.Lock()
	if rt.inbox.spare == nil {
		rt.inbox.spare = jobs[:0]
	}
	rt.inbox.mu.Unlock()
}

// refuseAll refuses every queued job and returns how many were tasks.
func (ib *inbox) refuseAll() int {
	n := 0
	for _, j := range ib.take() {
		if j.refuse() {
			n++
		}
	}
	return n
}

// close stops the inbox for good and refuses what is left in it. After it
// returns, nothing writes the runtime's eventfd.
func (ib *inbox) close() int {
	ib.mu.Lock()
	ib.closed = true
	ib.room.Broadcast()
	ib.mu.Unlock()
	ib.roomQ.WakeAll()
	ib.fdMu.Lock()
	ib.fdClosed = true
	ib.fdMu.Unlock()
	return ib.refuseAll()
}

// Handle reaches a runtime from other goroutines. All its methods are safe
// for concurrent use from any goroutine.
type Handle struct{ rt *Runtime }

// Handle returns a goroutine-safe handle to the runtime.
func (rt *Runtime) Handle() *Handle { return &Handle{rt: rt} }

// Wake makes a parked runtime run a cycle.
func (h *Handle) Wake() { h.rt.poke() }

// SpawnRemote starts fn as a task on h's runtime from any goroutine and
// returns a handle to wait for its result. The task runs while a BlockOn (or
// a Shutdown) drives the runtime; a parked runtime is woken for it. The
// error is [ErrClosed] if the runtime is closed.
//
// The runtime takes at most [Builder.RemoteSpawnLimit] spawns between two of
// its cycles: past that, SpawnRemote blocks the calling goroutine until the
// runtime has taken them (or closes), so a flood of spawns from other
// goroutines is held back instead of growing memory without limit. Do not
// call it from a task (of any runtime): use [TrySpawnRemote] there.
func SpawnRemote[T any](h *Handle, fn func(*Task) T) (*RemoteHandle[T], error) {
	return spawnRemote(h, fn, true, "SpawnRemote")
}

// TrySpawnRemote is [SpawnRemote] that never blocks: when the runtime has
// RemoteSpawnLimit spawns pending it returns an error wrapping [ErrFull].
func TrySpawnRemote[T any](h *Handle, fn func(*Task) T) (*RemoteHandle[T], error) {
	return spawnRemote(h, fn, false, "TrySpawnRemote")
}

func spawnRemote[T any](h *Handle, fn func(*Task) T, block bool, op string) (*RemoteHandle[T], error) {
	if h == nil || h.rt == nil {
		return nil, errors.New("asyncrt: " + op + " called with a nil *Handle")
	}
	if fn == nil {
		return nil, errors.New("asyncrt: " + op + " called with a nil function")
	}
	if block && h.rt.onRuntime() {
		panic("asyncrt: SpawnRemote called from a task of the target runtime: it could block the " +
			"thread that must take the spawn; use Spawn, or TrySpawnRemote")
	}
	r := &RemoteHandle[T]{fn: fn}
	r.rt = h.rt
	r.done = make(chan struct{})
	if err := h.rt.inbox.postSpawn(h.rt, r, block); err != nil {
		if err == ErrClosed {
			return nil, &opError{op, ErrClosed}
		}
		return nil, err
	}
	return r, nil
}

// remoteCore is the untyped part of a RemoteHandle.
type remoteCore struct {
	rt          *Runtime
	done        chan struct{}
	err         error
	key         slab.Key // set on the runtime's thread when the task starts
	abortPosted atomic.Bool
	// awaiters holds the tasks, of any runtime, suspended in Await or
	// OnRemote; finish wakes them after closing done.
	awaiters SharedWaitQueue
}

// finish publishes the result: it closes done, then wakes the awaiting
// tasks. An Await that enqueued before this wake is woken by it; one that
// enqueued after finds done closed when it looks again.
func (c *remoteCore) finish() {
	close(c.done)
	if c.awaiters.Len() > 0 {
		c.awaiters.WakeAll()
	}
}

// finished reports whether the result has been published; once it has,
// the result is visible to the caller (the close of done orders it).
func (c *remoteCore) finished() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// RemoteHandle is the result of a task started by [SpawnRemote]. Its methods
// are safe for concurrent use from any goroutine.
type RemoteHandle[T any] struct {
	remoteCore
	fn  func(*Task) T
	val T
}

// Wait blocks until the task finishes and returns its result. The error is
// [ErrAborted], a *[PanicError], [ErrClosed] if the runtime closed before
// the task started, or [ErrPoolFull] if the runtime's bounded task pool had
// no free coroutine for it.
func (r *RemoteHandle[T]) Wait() (T, error) {
	<-r.done
	return r.val, r.err
}

// Await suspends t, a task of any runtime (the task's own runtime, or
// another), until the remote task finishes, and returns its result, with
// the errors of [RemoteHandle.Wait]. Unlike Wait it never blocks t's thread:
// the runtime runs its other tasks meanwhile. Any number of tasks, and
// goroutines in Wait, may wait for one handle; each gets the result. A task
// waiting here keeps its runtime from reporting a deadlock, since the result
// comes from another thread (under [Group.Run], a remote task on the same
// group counts as the group's: see [Group]). An aborted or timed-out t
// unwinds from here; the remote task carries on (call [RemoteHandle.Abort]
// to stop it).
func (r *RemoteHandle[T]) Await(t *Task) (T, error) {
	t.check("RemoteHandle.Await")
	for !r.finished() {
		w := r.awaiters.enqueue(t, peers(t.rt, r.rt))
		// Look again now that finish can see the registration.
		if !r.finished() {
			t.waitRegs()
		}
		w.Release()
	}
	return r.val, r.err
}

// WaitContext is Wait that gives up when ctx is done, returning ctx's error.
// The task carries on.
func (r *RemoteHandle[T]) WaitContext(ctx context.Context) (T, error) {
	select {
	case <-r.done:
		return r.val, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// Done returns a channel closed when the task has finished.
func (r *RemoteHandle[T]) Done() <-chan struct{} { return r.done }

// Abort asks the runtime to abort the task, as [JoinHandle.Abort] does;
// Wait then returns [ErrAborted] unless the task finished first.
// Repeated calls before the runtime takes the first coalesce.
func (r *RemoteHandle[T]) Abort() {
	if r.abortPosted.CompareAndSwap(false, true) {
		r.rt.inbox.post(r.rt, remoteAbort{&r.remoteCore})
	}
}

func (r *RemoteHandle[T]) runOnRuntime(rt *Runtime) {
	co := rt.coroutine()
	if co == nil {
		r.err = ErrPoolFull
		r.finish()
		return
	}
	co.wdName.Store(nil) // a pooled coroutine may hold the last task's name
	rec := rt.insertTask(r, co, rt.defaultWorld(), nil)
	rec.remote, rec.detached = true, true
	r.key = rec.key
}

func (r *RemoteHandle[T]) refuse() bool {
	r.err = ErrClosed
	r.finish()
	return true
}

func (r *RemoteHandle[T]) run(t *Task) { r.val = r.fn(t) }
func (r *RemoteHandle[T]) recycle()    { r.fn = nil }
func (r *RemoteHandle[T]) deliver(err error) {
	if err != nil {
		var zero T
		r.val = zero
	}
	r.err = err
	r.finish()
}

type remoteAbort struct{ c *remoteCore }

func (a remoteAbort) runOnRuntime(rt *Runtime) {
	a.c.abortPosted.Store(false)
	if rec, ok := rt.tasks.Get(a.c.key); ok {
		rt.abort(rec)
	}
}
func (remoteAbort) refuse() bool { return false }

// abort requests that a task unwind (see JoinHandle.Abort).
func (rt *Runtime) abort(rec *taskRec) bool {
	if rec.state == stateDone {
		return false
	}
	rec.signal |= sigAbort
	if rec.state == stateSuspended {
		rt.enqueue(rec)
	}
	return true
}

// Notify is a wake-up call from any goroutine to the tasks of one runtime.
// Notify stores one permit (repeated notifications before a task takes it
// coalesce), and Wait takes it, suspending the task until there is one.
// Waiting tasks are served in the order they started waiting.
type Notify struct {
	rt     *Runtime
	posted atomic.Bool
	// Owned by the runtime's thread.
	permit  bool
	waiters WaitQueue
}

// NewNotify returns a Notify for the tasks of rt.
func NewNotify(rt *Runtime) *Notify {
	if rt == nil {
		panic("asyncrt: NewNotify called with a nil *Runtime")
	}
	n := &Notify{rt: rt}
	n.waiters.external = true
	return n
}

// Notify stores a permit and wakes the first waiting task. It is safe to
// call from any goroutine, including the runtime's own tasks; it never
// blocks.
func (n *Notify) Notify() {
	n.mustBeMade("Notify.Notify")
	if n.posted.CompareAndSwap(false, true) {
		n.rt.inbox.post(n.rt, n)
	}
}

func (n *Notify) runOnRuntime(*Runtime) {
	n.posted.Store(false)
	n.permit = true
	if n.waiters.woken == 0 {
		n.waiters.WakeOne()
	}
}

func (*Notify) refuse() bool { return false }

// mustBeMade panics unless n came from NewNotify: a Notify belongs to one
// runtime, which its zero value does not name.
func (n *Notify) mustBeMade(op string) {
	if n == nil || n.rt == nil {
		panic("asyncrt: " + op + " called on a nil or zero Notify: create one with NewNotify(rt)")
	}
}

// mayTake reports whether the holder of registration w (or of none) may take
// the permit now: nobody is ahead of it.
func (n *Notify) mayTake(w Waiter) bool {
	return n.permit && (n.waiters.Empty() || w.Woken() && w.n.counted)
}

// Wait suspends t until a permit is available and takes it. An aborted or
// timed-out task unwinds from here and leaves no registration behind; a
// permit it was woken for passes to the next waiting task.
func (n *Notify) Wait(t *Task) {
	t.check("Notify.Wait")
	n.mustBeMade("Notify.Wait")
	if n.rt != t.rt {
		panic("asyncrt: Notify.Wait called by a task of another runtime")
	}
	if n.mayTake(Waiter{}) {
		n.permit = false
		return
	}
	w := t.Enqueue(&n.waiters)
	for !n.mayTake(w) {
		t.waitRegs()
	}
	w.Release()
	n.permit = false
}

// goCall is a function running on a goroutine of its own for a task that
// waits for it.
type goCall[T any] struct {
	val T
	err error
}

// Go runs fn on an ordinary goroutine and suspends t until it returns: the
// way to call blocking code (files, database/sql, net/http clients, cgo)
// from a task without stalling the runtime. A panic in fn is returned as a
// *[PanicError]. If t is aborted or times out meanwhile, it unwinds at once;
// fn runs on to its end and its result is dropped (use [GoContext] to tell fn
// to stop).
func Go[T any](t *Task, fn func() (T, error)) (T, error) {
	t.check("Go")
	if fn == nil {
		panic("asyncrt: Go called with a nil function")
	}
	return goAwait(t, func(context.Context) (T, error) { return fn() })
}

// GoFunc is [Go] for blocking code whose only result is an error, such as
// closing a file: err := asyncrt.GoFunc(t, f.Close).
func GoFunc(t *Task, fn func() error) error {
	t.check("GoFunc")
	if fn == nil {
		panic("asyncrt: GoFunc called with a nil function")
	}
	_, err := goAwait(t, func(context.Context) (struct{}, error) { return struct{}{}, fn() })
	return err
}

// GoContext is [Go] with a context that is cancelled when t stops waiting
// (aborted or timed out) and after fn returns.
func GoContext[T any](t *Task, fn func(ctx context.Context) (T, error)) (T, error) {
	t.check("GoContext")
	if fn == nil {
		panic("asyncrt: GoContext called with a nil function")
	}
	return goAwait(t, fn)
}

func goAwait[T any](t *Task, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // also when t unwinds: fn is told to stop
	c := &goCall[T]{}
	w := t.NewWaiter()
	wake := w.Waker()
	id, pc, named := t.rec.id, t.wdFn.Load(), t.wdName.Load() // the task's name, resolved only on a panic
	go func() {
		defer func() {
			if r := recover(); r != nil {
				c.err = &PanicError{TaskID: id, TaskName: nameFrom(named, pc), Value: r, Stack: debug.Stack()}
			}
			cancel()
			wake.Wake()
		}()
		c.val, c.err = fn(ctx)
	}()
	for !w.Woken() {
		t.waitRegs()
	}
	w.Release()
	return c.val, c.err
}
