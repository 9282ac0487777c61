package asyncrt

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/orrery-go/orrery/asyncrt/internal/gid"
	"github.com/orrery-go/orrery/asyncrt/internal/wheel"
)

// The waiting layer. A task suspends only by waiting on something, and every
// source of wake-ups — timers, join handles, channels, notifications,
// cancellation, IO readiness, Select, and sources users write — uses the
// same mechanism:
//
//   - A registration ([Waiter]) is one wait of one task on one source: a node
//     from the runtime's slab (nothing is allocated per wait), linked into
//     the source's FIFO queue and into its task's list of registrations.
//   - A source wakes the first, the first n or all registrations of a queue.
//     A wake is delivered once: a registration that was woken and is then
//     cancelled — its task was aborted, timed out, or chose another Select
//     case — passes the wake on to the next registration of its queue.
//   - A registration belongs to exactly one wait: waking or cancelling it
//     touches nothing else, and when it ends it leaves its queue in O(1).
//     Whatever a task still holds when it finishes (or when a Timeout unwinds
//     past it) is cancelled for it, so nothing outlives its task.
//
// A sleep is the exception: it takes no registration, only a timer naming
// its task (see sleepUntil), which saves a node for every sleeping task.

// regState is where a registration stands.
type regState uint8

const (
	regArmed regState = iota // waiting to be woken
	regWoken                 // woken; the task has not returned from a Wait since
	regSeen                  // woken, and the task has seen it: the next Wait re-arms it
)

// waitNode is a registration: the runtime's pool owns it, its task's list
// holds it, and at most one queue links it.
type waitNode struct {
	regData
	idx uint32 // place in the runtime's pool
	// epoch counts the node's uses: a Waiter or Waker of an earlier use
	// never matches a later one.
	epoch uint64
	// wakeWord is epoch<<1 | posted: a Waker posts a wake from another
	// goroutine only by moving it from its own epoch's idle value, so a
	// stale Waker can never post or clear a wake of a later use.
	wakeWord atomic.Uint64
}

// regData is what a node's use holds; it is reset when the use ends.
type regData struct {
	task *Task // nil while the node is free
	// g is the task's goroutine, copied here so that the ownership check
	// on every Waiter call reads the node alone.
	g     uintptr
	state regState
	// external: something other than the runtime's own tasks and timers
	// may wake it (another goroutine, the kernel). While one exists, the
	// runtime cannot be deadlocked.
	external bool
	// peer: external, but only another runtime of the runtime's group can
	// wake it, so a running group can still find the runtime deadlocked
	// (see Group.Run).
	peer bool
	// passive marks the node of a Timer: it is not one of the task's
	// waits, so its expiry wakes nobody unless the task waits on it.
	passive bool
	// counted: woken by WakeOne or WakeN, and so counted in its queue's
	// Woken until it ends or is re-armed.
	counted bool
	// wakeable: wakeWord holds this use's epoch, so Wakers can post. Only
	// registrations that hand out Wakers pay for the atomic stores.
	wakeable bool
	seq      uint64 // order of registration within the task, for Timeout scopes
	timer    wheel.Timer

	// The queue it is in, or was woken from while the wake is unresolved
	// (linked false): a local one (q), or a shared one (sq), whose links
	// and slinked are guarded by sq.mu. A node is only ever in one kind, so
	// both use prev and next.
	q          *WaitQueue
	sq         *SharedWaitQueue
	prev, next *waitNode
	linked     bool
	slinked    bool

	// The task's list of registrations, newest first; also the free list.
	tprev, tnext *waitNode
}

// regPool holds the runtime's registration nodes in chunks that never move.
type regPool struct {
	chunks [][]waitNode
	free   *waitNode
	live   int
}

const regChunk = 256

// get takes a free node. The caller links it (tnext still holds the free
// list's link) and counts it live.
func (p *regPool) get() *waitNode {
	if p.free == nil {
		p.grow()
	}
	n := p.free
	p.free = n.tnext
	n.epoch++
	return n
}

// grow adds a chunk of free nodes.
func (p *regPool) grow() {
	chunk := make([]waitNode, regChunk)
	base := uint32(len(p.chunks) * regChunk)
	for i := range chunk {
		chunk[i].idx = base + uint32(i)
		chunk[i].tnext = p.free
		p.free = &chunk[i]
	}
	p.chunks = append(p.chunks, chunk)
}

func (p *regPool) put(n *waitNode) {
	if n.wakeable {
		n.wakeWord.Store(n.epoch<<1 | 1) // no Waker of this use can post any more
	}
	// Reset what a use may leave set. Leaving its queue (leaveQueue) has
	// already cleared q, sq, prev, next, linked and slinked; newReg sets g
	// and seq. Clearing field by field rather than the whole regData keeps
	// this off the profile of every wait.
	n.task, n.state = nil, regArmed
	n.external, n.peer, n.passive, n.counted, n.wakeable = false, false, false, false, false
	n.timer, n.tprev, n.tnext = wheel.Timer{}, nil, p.free
	p.free = n
	p.live--
}

func (p *regPool) at(idx uint32) *waitNode {
	if int(idx/regChunk) >= len(p.chunks) {
		return nil
	}
	return &p.chunks[idx/regChunk][idx%regChunk]
}

// Waiter is a task's registration with one source of wake-ups: one wait of
// one task. Get one with [Task.Enqueue] (in a source's [WaitQueue]),
// [SharedWaitQueue.Enqueue], or [Task.NewWaiter] (woken through its
// [Waker] or a timer), wait with [Task.Wait], and end it with
// [Waiter.Release] once the wait has done its job or [Waiter.Cancel] to give
// it up. A Waiter is a small value; once ended, it is stale and its methods
// do nothing.
//
// A Waiter belongs to its task: only that task (on its runtime's thread) may
// use it, except for its Waker, which any goroutine may fire.
type Waiter struct {
	n     *waitNode
	epoch uint64
}

// live returns the node if the registration has not ended.
func (w Waiter) live() *waitNode {
	if w.n == nil || w.n.epoch != w.epoch || w.n.task == nil {
		return nil
	}
	return w.n
}

// The calls that change a registration check that the caller is its task
// (the runtime's own paths end registrations directly). They repeat the
// check inline rather than call a helper: these calls are the hot path of
// every wait.

// notOwner panics for a Waiter used by something other than its task.
func notOwner(op string) {
	panic("asyncrt: " + op + " called outside the task that registered: a Waiter belongs to " +
		"its task; other goroutines wake it through its Waker")
}

// Woken reports whether the registration has been woken since the task last
// waited with it armed: a registration the task has seen woken is re-armed
// by its next [Task.Wait], keeping its place at the front of its queue.
func (w Waiter) Woken() bool {
	n := w.live()
	return n != nil && n.state != regArmed
}

// Promised reports whether the registration was woken by
// [WaitQueue.WakeOne] or [WaitQueue.WakeN] — a wake counted in its queue's
// Woken, for which a source keeps what it hands out (a value, a permit) — as
// opposed to [WaitQueue.WakeAll], which announces a change to everyone and
// promises nothing.
func (w Waiter) Promised() bool {
	n := w.live()
	return n != nil && n.state != regArmed && n.counted
}

// Active reports whether the registration has not ended.
func (w Waiter) Active() bool { return w.live() != nil }

// Release ends the registration after its wait did its job: a wake it
// received is taken as used. Releasing an ended registration does nothing.
func (w Waiter) Release() {
	n := w.live()
	if n == nil {
		return
	}
	if gid.Supported && gid.Current() != n.g {
		notOwner("Waiter.Release")
	}
	n.task.rt.endReg(n, false)
}

// Cancel ends the registration without using it: it leaves its queue, its
// timer is stopped, and a wake it had received but not used passes to the
// next registration of its queue. Cancelling an ended registration does
// nothing. The runtime cancels whatever its tasks still hold when they
// finish, or when a Timeout unwinds them, so a source needs Cancel only to
// stop waiting early.
func (w Waiter) Cancel() {
	n := w.live()
	if n == nil {
		return
	}
	if gid.Supported && gid.Current() != n.g {
		notOwner("Waiter.Cancel")
	}
	n.task.rt.endReg(n, true)
}

// WakeAt arms a timer that wakes the registration at time at on its
// runtime's clock (see [Task.Now]), replacing any timer it had: the
// registration's own timer, which nothing else fires or stops. A time
// already past wakes it at once.
func (w Waiter) WakeAt(at time.Time) {
	n := w.live()
	if n == nil {
		return
	}
	if gid.Supported && gid.Current() != n.g {
		notOwner("Waiter.WakeAt")
	}
	n.task.rt.wakeNodeAt(n, n.task.rt.toNanos(at))
}

// WakeAfter arms a timer that wakes the registration d after the runtime's
// current event time (what [Task.Sleep] measures from), replacing any timer
// it had, like [Waiter.WakeAt]. A d of zero or less wakes it at once.
func (w Waiter) WakeAfter(d time.Duration) {
	n := w.live()
	if n == nil {
		return
	}
	if gid.Supported && gid.Current() != n.g {
		notOwner("Waiter.WakeAfter")
	}
	rt := n.task.rt
	at := rt.after(d)
	if n.timer.IsZero() && at > rt.eventTime() {
		// The common case, without wakeNodeAt's call: no timer to replace.
		n.timer = rt.timers.Schedule(at, regTimer(n))
		return
	}
	rt.wakeNodeAt(n, at)
}

// wakeNodeAt arms n's timer for runtime time at.
func (rt *Runtime) wakeNodeAt(n *waitNode, at int64) {
	if !n.timer.IsZero() {
		rt.timers.Cancel(n.timer)
		n.timer = wheel.Timer{}
	}
	if at <= rt.eventTime() {
		rt.wakeNode(n)
		return
	}
	n.timer = rt.timers.Schedule(at, regTimer(n))
}

// Waker returns a handle that wakes this registration from any goroutine.
// Handing one out marks the registration as waiting on the outside world, so
// the runtime does not report a deadlock while it is pending: that is how a
// source fed by other goroutines, or by a library's callbacks, says that
// something may still come.
func (w Waiter) Waker() Waker {
	n := w.live()
	if n == nil {
		return Waker{}
	}
	if gid.Supported && gid.Current() != n.g {
		notOwner("Waiter.Waker")
	}
	n.task.rt.markExternal(n)
	n.armWaker()
	return Waker{rt: n.task.rt, n: n, epoch: n.epoch}
}

// armWaker readies wakeWord for this use's Wakers, once per use: a second
// store could clear a wake already posted.
func (n *waitNode) armWaker() {
	if !n.wakeable {
		n.wakeable = true
		n.wakeWord.Store(n.epoch << 1)
	}
}

// Waker wakes one registration from any goroutine. It is a small value, safe
// for concurrent use; a wake of a registration that has ended does nothing.
// The zero Waker wakes nothing.
type Waker struct {
	rt    *Runtime
	n     *waitNode
	epoch uint64
}

// Wake wakes the registration. From the runtime's own thread it takes effect
// at once; from another goroutine it is handed to the runtime, which is
// woken if it is parked. Repeated wakes before the runtime takes the first
// coalesce.
func (k Waker) Wake() {
	if k.n == nil {
		return
	}
	if k.rt.onRuntime() {
		if k.n.epoch == k.epoch && k.n.task != nil {
			k.rt.wakeNode(k.n)
		}
		return
	}
	idle := k.epoch << 1
	if k.n.wakeWord.CompareAndSwap(idle, idle|1) {
		k.rt.inbox.post(k.rt, k.n)
	}
}

// runOnRuntime delivers a wake a Waker posted from another goroutine.
func (n *waitNode) runOnRuntime(rt *Runtime) {
	w := n.wakeWord.Load()
	if w&1 == 0 || w>>1 != n.epoch || n.task == nil || !n.wakeWord.CompareAndSwap(w, w&^1) {
		return
	}
	rt.wakeNode(n)
}

func (*waitNode) refuse() bool { return false }

// WaitQueue is a FIFO queue of registrations on one runtime: what a source
// keeps to wake the tasks that wait on it. Its zero value is an empty queue.
// It belongs to the thread of the runtime whose tasks wait on it: use it only
// from that runtime's tasks (and its systems). Sources fed from other
// goroutines use a [SharedWaitQueue], or hand out a [Waker].
type WaitQueue struct {
	list  nodeList
	n     int // linked
	woken int // woken from this queue and not yet ended or re-armed
	// external marks a queue that something outside the runtime's tasks
	// feeds (the kernel, other goroutines through the inbox); peer, one
	// that only the tasks of the runtime's group feed (a group channel).
	external bool
	peer     bool
}

// Len returns the number of registrations waiting in the queue, not counting
// those already woken.
func (q *WaitQueue) Len() int { return q.n }

// Woken returns the number of registrations woken from the queue whose
// tasks have not yet ended them: the wakes in flight. A source that hands
// out something per wake (a value, a permit) keeps that many for them, so
// that a newcomer cannot take what a woken task was woken for.
func (q *WaitQueue) Woken() int { return q.woken }

// Empty reports whether no registration is waiting or woken: a newcomer would
// be first in line.
func (q *WaitQueue) Empty() bool { return q.n == 0 && q.woken == 0 }

// SetExternal marks the queue as fed from outside the runtime's tasks (for
// example by jobs other goroutines post): a task waiting in it keeps the
// runtime from reporting a deadlock. Set it before anything waits.
func (q *WaitQueue) SetExternal(on bool) {
	if q.n > 0 || q.woken > 0 {
		panic("asyncrt: WaitQueue.SetExternal called while tasks wait in the queue: set it before anything waits")
	}
	q.external = on
}

// WakeOne wakes the first waiting registration and reports whether there was
// one. The wake is counted in [WaitQueue.Woken] until the registration ends,
// and passes to the next registration if it is cancelled unused.
func (q *WaitQueue) WakeOne() bool { return q.wakeFirst(true) }

// WakeN wakes up to n registrations in FIFO order, as n calls of WakeOne
// would, and returns how many it woke.
func (q *WaitQueue) WakeN(n int) int {
	woke := 0
	for woke < n && q.wakeFirst(true) {
		woke++
	}
	return woke
}

// WakeAll wakes every waiting registration and returns how many it woke.
// These wakes announce a change for everyone (a close, a new value for all
// to see): they are not counted in Woken and not passed on. A source whose
// queue's memory is about to be reused wakes all first.
func (q *WaitQueue) WakeAll() int {
	woke := 0
	for q.wakeFirst(false) {
		woke++
	}
	return woke
}

func (q *WaitQueue) wakeFirst(counted bool) bool {
	n := q.list.head
	if n == nil {
		return false
	}
	q.unlink(n)
	if counted {
		q.woken++
		n.counted = true
	}
	n.task.rt.wakeNode(n)
	return true
}

func (q *WaitQueue) pushBack(n *waitNode) {
	n.q, n.linked = q, true
	q.list.pushBack(n)
	q.n++
}

func (q *WaitQueue) pushFront(n *waitNode) {
	n.q, n.linked = q, true
	q.list.pushFront(n)
	q.n++
}

func (q *WaitQueue) unlink(n *waitNode) {
	q.list.remove(n)
	n.linked = false
	q.n--
}

// nodeList is the doubly linked list of registrations both kinds of queue
// keep, through the nodes' prev and next.
type nodeList struct{ head, tail *waitNode }

func (l *nodeList) pushBack(n *waitNode) {
	n.prev, n.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = n
	} else {
		l.head = n
	}
	l.tail = n
}

func (l *nodeList) pushFront(n *waitNode) {
	n.prev, n.next = nil, l.head
	if l.head != nil {
		l.head.prev = n
	} else {
		l.tail = n
	}
	l.head = n
}

func (l *nodeList) remove(n *waitNode) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		l.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = nil, nil
}

// SharedWaitQueue is a FIFO queue of registrations that any goroutine may
// wake, and that tasks of any runtime may wait in: the queue of a source fed
// from outside a runtime (a cross-goroutine channel, a cancellation token).
// Its zero value is an empty queue; it must not be copied once used. A task
// waiting in it keeps its runtime from reporting a deadlock.
type SharedWaitQueue struct {
	mu   sync.Mutex
	list nodeList
	n    atomic.Int64 // written under mu; read without it by Len
}

// Enqueue registers t at the back of q. Wait with [Task.Wait].
func (q *SharedWaitQueue) Enqueue(t *Task) Waiter {
	return q.enqueue(t, false)
}

// enqueue is Enqueue for a source that only peer, a runtime of t's group,
// can wake (see markPeer).
func (q *SharedWaitQueue) enqueue(t *Task, peer bool) Waiter {
	t.check("SharedWaitQueue.Enqueue")
	n := t.rt.newReg(t, false)
	if peer {
		t.rt.markPeer(n)
	} else {
		t.rt.markExternal(n)
	}
	n.armWaker() // WakeN hands out Wakers of it
	q.mu.Lock()
	q.linkBack(n)
	q.mu.Unlock()
	return Waiter{n: n, epoch: n.epoch}
}

// Len returns the number of registrations waiting in the queue. Safe from
// any goroutine; it takes no lock.
func (q *SharedWaitQueue) Len() int { return int(q.n.Load()) }

// WakeOne wakes the first waiting registration and reports whether there
// was one. Safe from any goroutine.
func (q *SharedWaitQueue) WakeOne() bool { return q.WakeN(1) == 1 }

// WakeAll wakes every waiting registration and returns how many. Safe from
// any goroutine.
func (q *SharedWaitQueue) WakeAll() int { return q.WakeN(int(^uint(0) >> 1)) }

// WakeN wakes up to n registrations in FIFO order and returns how many.
// Safe from any goroutine.
func (q *SharedWaitQueue) WakeN(n int) int {
	var one [1]Waker
	wakers := one[:0]
	q.mu.Lock()
	for q.list.head != nil && len(wakers) < n {
		node := q.list.head
		q.unlinkShared(node)
		wakers = append(wakers, Waker{rt: node.task.rt, n: node, epoch: node.epoch})
	}
	q.mu.Unlock()
	for _, k := range wakers {
		k.Wake()
	}
	return len(wakers)
}

func (q *SharedWaitQueue) linkBack(n *waitNode) {
	n.sq, n.slinked = q, true
	q.list.pushBack(n)
	q.n.Add(1)
}

func (q *SharedWaitQueue) linkFront(n *waitNode) {
	n.sq, n.slinked = q, true
	q.list.pushFront(n)
	q.n.Add(1)
}

func (q *SharedWaitQueue) unlinkShared(n *waitNode) {
	q.list.remove(n)
	n.slinked = false
	q.n.Add(-1)
}

// Enqueue registers t at the back of q, the wait queue of a source on t's
// runtime. Wait with [Task.Wait] until the registration is woken and the
// source's condition holds, then end it with [Waiter.Release] (or
// [Waiter.Cancel] to give up).
func (t *Task) Enqueue(q *WaitQueue) Waiter {
	t.check("Task.Enqueue")
	if q == nil {
		panic("asyncrt: Task.Enqueue called with a nil *WaitQueue")
	}
	n := t.rt.newReg(t, false)
	if q.peer {
		t.rt.markPeer(n)
	} else if q.external {
		t.rt.markExternal(n)
	}
	q.pushBack(n)
	return Waiter{n: n, epoch: n.epoch}
}

// NewWaiter registers t with no queue: the registration is woken through its
// [Waiter.Waker] (from any goroutine) or its timer ([Waiter.WakeAt]).
func (t *Task) NewWaiter() Waiter {
	if t == nil || t.rec == nil || gid.Current() != t.g || !gid.Supported && t.rt.current != t {
		t.misuse("Task.NewWaiter") // Task.check, inline on this hot path
	}
	n := t.rt.newReg(t, false)
	return Waiter{n: n, epoch: n.epoch}
}

// Wait suspends t until one of its registrations is woken, and returns. It
// may also return without a new wake (a wake-up meant for another of the
// task's concerns), so call it in a loop that checks the source's condition:
//
//	w := t.Enqueue(&src.waiters)
//	for !src.ready() {
//		t.Wait()
//	}
//	w.Release()
//
// A registration woken before is re-armed at the front of its queue when
// Wait is called again: the task keeps its place in line. If a registration
// was woken since the last Wait returned, Wait returns at once. A task
// with no registration cannot be woken: Wait panics. An aborted or timed-out
// task unwinds from here.
func (t *Task) Wait() {
	t.check("Task.Wait")
	t.waitRegs()
}

// waitRegs is Wait without the caller check.
func (t *Task) waitRegs() {
	if t.waits == 0 {
		panic("asyncrt: Task.Wait called with no registration: nothing could ever wake the task; " +
			"register with a source first (Task.Enqueue, SharedWaitQueue.Enqueue or Task.NewWaiter)")
	}
	fresh := false
	for n := t.regs; n != nil; n = n.tnext {
		if n.state == regWoken && !n.passive {
			n.state, fresh = regSeen, true
		}
	}
	if fresh {
		return
	}
	for n := t.regs; n != nil; n = n.tnext {
		if n.state == regSeen && !n.passive {
			t.rt.rearm(n)
		}
	}
	t.suspend()
	for n := t.regs; n != nil; n = n.tnext {
		if n.state == regWoken && !n.passive {
			n.state = regSeen
		}
	}
}

// newReg takes a registration node for t from the runtime's slab and puts
// it at the head of the task's list.
func (rt *Runtime) newReg(t *Task, passive bool) *waitNode {
	n := rt.regs.get()
	rt.regs.live++
	n.task, n.g, n.passive = t, t.g, passive
	if !passive {
		t.waits++
	}
	t.regSeq++
	n.seq = t.regSeq
	n.tnext = t.regs
	if t.regs != nil {
		t.regs.tprev = n
	}
	t.regs = n
	return n
}

// markExternal counts n as waiting on the outside world. A Waker handed out
// for a peer registration makes it an outside one: any goroutine may call it.
func (rt *Runtime) markExternal(n *waitNode) {
	if !n.external {
		n.external = true
		rt.externalRegs++
	}
	if n.peer {
		n.peer = false
		rt.peerRegs--
	}
}

// markPeer counts n as waiting on another runtime of rt's group: external
// to rt, but not to the group.
func (rt *Runtime) markPeer(n *waitNode) {
	if !n.external {
		n.external = true
		rt.externalRegs++
		n.peer = true
		rt.peerRegs++
	}
}

// wakeNode wakes registration n and, if its task is suspended, queues the
// task. Waking a woken registration does nothing.
func (rt *Runtime) wakeNode(n *waitNode) {
	if n.state != regArmed {
		return
	}
	n.state = regWoken
	rt.timers.Cancel(n.timer)
	n.timer = wheel.Timer{}
	if n.passive {
		return // a Timer's expiry: nobody waits on it
	}
	if rec := n.task.rec; rec != nil && rec.state == stateSuspended {
		rt.enqueue(rec)
	}
}

// rearm puts a registration the task has seen woken back at the front of its
// queue for another wait.
func (rt *Runtime) rearm(n *waitNode) {
	n.state = regArmed
	if q := n.q; q != nil && !n.linked {
		if n.counted {
			q.woken--
			n.counted = false
		}
		q.pushFront(n)
	}
	if sq := n.sq; sq != nil {
		sq.mu.Lock()
		if !n.slinked {
			sq.linkFront(n)
		}
		sq.mu.Unlock()
	}
}

// endReg ends registration n. cancel says the task gives the wait up: a wake
// it received then passes to the next registration of its queue.
func (rt *Runtime) endReg(n *waitNode, cancel bool) {
	if !n.timer.IsZero() {
		rt.timers.Cancel(n.timer)
	}
	if n.q != nil || n.sq != nil {
		rt.leaveQueue(n, cancel)
	}
	if n.external {
		rt.externalRegs--
		if n.peer {
			rt.peerRegs--
		}
	}
	t := n.task
	if !n.passive {
		t.waits--
	}
	if n.tprev != nil {
		n.tprev.tnext = n.tnext
	} else {
		t.regs = n.tnext
	}
	if n.tnext != nil {
		n.tnext.tprev = n.tprev
	}
	rt.regs.put(n)
}

// leaveQueue takes an ending registration off its queue. A wake it was
// counted for and gives up unused (cancel) passes to the next in line.
func (rt *Runtime) leaveQueue(n *waitNode, cancel bool) {
	forward := false
	if q := n.q; q != nil {
		if n.linked {
			q.unlink(n)
		} else if n.counted {
			q.woken--
			forward = cancel
		}
		n.q = nil
		if forward {
			defer q.WakeOne() // once n is off every list
		}
	}
	if sq := n.sq; sq != nil {
		sq.mu.Lock()
		if n.slinked {
			sq.unlinkShared(n)
		} else if cancel {
			// Taken off the queue by a wake that is in flight or arrived.
			defer sq.WakeOne()
		}
		sq.mu.Unlock()
		n.sq = nil
	}
}

// endRegsFrom cancels every registration of t made at or after sequence
// number seq (all of them for seq 0), newest first.
func (rt *Runtime) endRegsFrom(t *Task, seq uint64) {
	for n := t.regs; n != nil && n.seq >= seq; n = t.regs {
		rt.endReg(n, true)
	}
}
