package asyncrt

import (
	"errors"
	"fmt"
	"time"
)

// SelectCase is one alternative of [Select]. The package makes cases for its
// own sources (OnRecv, OnSend, OnCrossRecv, OnCrossSend, OnTimeout, OnDeadline, OnCancel,
// OnJoin, OnRemote, OnNotify, OnShutdown); a source of your own becomes a
// case by implementing these four methods with the waiting layer's exported
// API ([Task.Enqueue], [SharedWaitQueue.Enqueue], [Task.NewWaiter],
// [Waiter]).
//
// A case that wins keeps its result (Value, Err...) until it is used again.
// Case values may be reused across Select calls, by one task at a time.
type SelectCase interface {
	// Begin readies the case for a Select by t: a timeout starts counting
	// from here, say. It may panic on misuse (a case of another runtime).
	Begin(t *Task)
	// Poll completes the case if it can now and reports whether it did.
	// Completing it takes what it waited for (a value, a permit) and ends
	// its registration with Release.
	Poll(t *Task) bool
	// Register registers t with the case's source, so that t is woken when
	// Poll may succeed. Select calls it once per call, after every case
	// failed its first Poll.
	Register(t *Task)
	// Unregister ends the registration Register made, if it is still on:
	// Select calls it on every registered case before it returns, and when
	// the task unwinds from it (aborted, or cut by a Timeout). A case that
	// lost gives up what it was woken for with Cancel, so the wake passes
	// on.
	Unregister(t *Task)
}

// Select waits until one of the cases can complete, completes it, and
// returns its index. If several can complete at once, the first in the list
// wins, so a run is reproducible. Every other case is left untouched, with
// no registration behind — including when t is aborted or times out while
// it waits. An empty or nil case is an error.
func Select(t *Task, cases ...SelectCase) (int, error) {
	t.check("Select")
	if len(cases) == 0 {
		return -1, errors.New("asyncrt: Select needs at least one case")
	}
	for i, c := range cases {
		if c == nil {
			return -1, fmt.Errorf("asyncrt: Select case %d is nil", i)
		}
		c.Begin(t)
	}
	for i, c := range cases {
		if c.Poll(t) {
			return i, nil
		}
	}
	for _, c := range cases {
		c.Register(t)
	}
	// Unregister runs on every way out, unwinding included (an abort, a
	// Timeout): a case may have to hand on what its registration held up,
	// which the runtime's own clean-up of the registrations cannot know.
	defer func() {
		for _, c := range cases {
			c.Unregister(t)
		}
	}()
	for {
		t.waitRegs()
		for i, c := range cases {
			if c.Poll(t) {
				return i, nil
			}
		}
	}
}

// RecvCase receives from a [Receiver].
type RecvCase[T any] struct {
	r   *Receiver[T]
	w   Waiter
	v   T
	err error
}

// OnRecv is a Select case that receives from r. When it wins, Value holds
// the value and Err is nil, or Err is ErrChanClosed.
func OnRecv[T any](r *Receiver[T]) *RecvCase[T] { return &RecvCase[T]{r: r} }

// Value returns what the case received.
func (c *RecvCase[T]) Value() T { return c.v }

// Err returns ErrChanClosed if the channel was closed, else nil.
func (c *RecvCase[T]) Err() error { return c.err }

// Begin implements [SelectCase].
func (c *RecvCase[T]) Begin(t *Task) { c.r.c.check(t, "OnRecv") }

// Poll implements [SelectCase].
func (c *RecvCase[T]) Poll(*Task) bool {
	ch := c.r.c
	var zero T
	switch {
	case c.r.closed || ch.recvClosed:
		c.v, c.err = zero, errSelectRecvClosed
	case ch.n > 0 && (ch.canRecv() || c.w.Woken() && c.w.n.counted):
		c.w.Release()
		c.v, c.err = ch.pop(), nil
	case ch.recvDone(c.r):
		c.v, c.err = zero, errSelectRecvClosed
	default:
		return false
	}
	c.w.Release()
	return true
}

// Register implements [SelectCase].
func (c *RecvCase[T]) Register(t *Task) { c.w = t.Enqueue(&c.r.c.recvQ) }

// Unregister implements [SelectCase].
func (c *RecvCase[T]) Unregister(*Task) { c.w.Cancel() }

// SendCase sends on a [Sender].
type SendCase[T any] struct {
	s   *Sender[T]
	w   Waiter
	v   T
	err error
}

// OnSend is a Select case that sends v on s. When it wins, Err is nil, or a
// *SendError wrapping ErrChanClosed.
func OnSend[T any](s *Sender[T], v T) *SendCase[T] { return &SendCase[T]{s: s, v: v} }

// Err returns the send's error.
func (c *SendCase[T]) Err() error { return c.err }

// Begin implements [SelectCase].
func (c *SendCase[T]) Begin(t *Task) { c.s.c.check(t, "OnSend"); c.err = nil }

// Poll implements [SelectCase].
func (c *SendCase[T]) Poll(*Task) bool {
	ch := c.s.c
	switch {
	case ch.sendClosed(c.s):
		c.err = &SendError[T]{Op: "OnSend", Value: c.v, Err: ErrChanClosed}
	case ch.n < len(ch.buf) && (ch.canSend() || c.w.Woken() && c.w.n.counted):
		c.w.Release()
		ch.push(c.v)
	default:
		return false
	}
	c.w.Release()
	return true
}

// Register implements [SelectCase].
func (c *SendCase[T]) Register(t *Task) { c.w = t.Enqueue(&c.s.c.sendQ) }

// Unregister implements [SelectCase].
func (c *SendCase[T]) Unregister(*Task) { c.w.Cancel() }

// CrossRecvCase receives from a [CrossReceiver].
type CrossRecvCase[T any] struct {
	r   *CrossReceiver[T]
	w   Waiter
	v   T
	err error
}

// OnCrossRecv is a Select case that receives from r.
func OnCrossRecv[T any](r *CrossReceiver[T]) *CrossRecvCase[T] { return &CrossRecvCase[T]{r: r} }

// Value returns what the case received.
func (c *CrossRecvCase[T]) Value() T { return c.v }

// Err returns ErrChanClosed if the channel was closed, else nil.
func (c *CrossRecvCase[T]) Err() error { return c.err }

// Begin implements [SelectCase].
func (c *CrossRecvCase[T]) Begin(t *Task) {
	if t.rt != c.r.c.rt {
		panic("asyncrt: OnCrossRecv used by a task of another runtime")
	}
}

// Poll implements [SelectCase].
func (c *CrossRecvCase[T]) Poll(*Task) bool {
	ch := c.r.c
	if ch.avail() > ch.recvQ.woken || c.w.Woken() && c.w.n.counted {
		if v, ok := ch.tryPop(); ok {
			c.w.Release()
			ch.settle()
			c.v, c.err = v, nil
			return true
		}
	}
	var zero T
	switch {
	case c.r.closed || ch.closed.Load():
		c.v, c.err = zero, errSelectRecvClosed
	case ch.senders.Load() == 0:
		// Every sender has closed: take what is left, then report the end.
		v, ok := ch.tryPop()
		c.v, c.err = v, nil
		if !ok {
			c.v, c.err = zero, errSelectRecvClosed
		}
	default:
		return false
	}
	c.w.Release()
	return true
}

// Register implements [SelectCase].
func (c *CrossRecvCase[T]) Register(t *Task) {
	ch := c.r.c
	c.w = t.Enqueue(&ch.recvQ)
	ch.recvWaiting.Store(true)
	ch.settle() // a value may have arrived since Poll
}

// Unregister implements [SelectCase].
func (c *CrossRecvCase[T]) Unregister(*Task) { c.w.Cancel() }

// CrossSendCase sends to a [CrossSender] from a task of any runtime: the
// sending side of a channel between runtimes, next to a shutdown or a
// timeout. While the channel is full the task waits, its runtime running
// its other tasks; senders are woken once the receiver has emptied half
// the channel, as [CrossSender.SendTask]'s are.
type CrossSendCase[T any] struct {
	s   *CrossSender[T]
	v   T
	w   Waiter
	err error
}

// OnCrossSend is a Select case that sends v to s.
func OnCrossSend[T any](s *CrossSender[T], v T) *CrossSendCase[T] {
	return &CrossSendCase[T]{s: s, v: v}
}

// Err returns nil if the value was sent, or a *[SendError] wrapping
// [ErrChanClosed] if the channel or this sender was closed.
func (c *CrossSendCase[T]) Err() error { return c.err }

// Begin implements [SelectCase].
func (c *CrossSendCase[T]) Begin(t *Task) {
	t.check("OnCrossSend")
	c.s.c.checkGroupTask(t, "OnCrossSend")
	c.err = nil
}

// Poll implements [SelectCase].
func (c *CrossSendCase[T]) Poll(*Task) bool {
	ch := c.s.c
	switch {
	case c.s.closed.Load() || ch.closed.Load():
		c.err = &SendError[T]{Op: "OnCrossSend", Value: c.v, Err: ErrChanClosed}
	case !ch.tryPush(c.v):
		return false
	}
	c.w.Release()
	return true
}

// Register implements [SelectCase].
func (c *CrossSendCase[T]) Register(t *Task) {
	ch := c.s.c
	c.w = ch.sendQ.enqueue(t, peers(t.rt, ch.rt))
	if ch.avail() < len(ch.ring) || c.s.closed.Load() || ch.closed.Load() {
		// Room, or the end, came since Poll, before the receiver could see
		// this sender waiting: its wake may be gone.
		t.rt.wakeNode(c.w.n)
	}
}

// Unregister implements [SelectCase].
func (c *CrossSendCase[T]) Unregister(*Task) { c.w.Cancel() }

// TimeCase completes at a point in time.
type TimeCase struct {
	d        time.Duration
	at       time.Time
	relative bool
	deadline int64
	w        Waiter
}

// OnTimeout is a Select case that completes d after the Select call begins.
func OnTimeout(d time.Duration) *TimeCase { return &TimeCase{d: d, relative: true} }

// OnDeadline is a Select case that completes at time at.
func OnDeadline(at time.Time) *TimeCase { return &TimeCase{at: at} }

// Reset makes c a timeout of d, counted from the start of the next Select
// it takes part in. A loop that waits again and again can reuse one case
// this way instead of making a new one each time.
func (c *TimeCase) Reset(d time.Duration) { *c = TimeCase{d: d, relative: true} }

// ResetAt makes c complete at time at.
func (c *TimeCase) ResetAt(at time.Time) { *c = TimeCase{at: at} }

// Begin implements [SelectCase].
func (c *TimeCase) Begin(t *Task) {
	if c.relative {
		c.deadline = t.rt.after(c.d)
	} else {
		c.deadline = t.rt.toNanos(c.at)
	}
}

// Poll implements [SelectCase].
func (c *TimeCase) Poll(t *Task) bool {
	if t.rt.eventTime() < c.deadline {
		return false
	}
	c.w.Release()
	return true
}

// Register implements [SelectCase].
func (c *TimeCase) Register(t *Task) {
	c.w = t.NewWaiter()
	t.rt.wakeNodeAt(c.w.n, c.deadline)
}

// Unregister implements [SelectCase].
func (c *TimeCase) Unregister(*Task) { c.w.Cancel() }

// CancelCase completes when a token is cancelled.
type CancelCase struct {
	tok *CancellationToken
	w   Waiter
}

// OnCancel is a Select case that completes when tok is cancelled.
func OnCancel(tok *CancellationToken) *CancelCase { return &CancelCase{tok: tok} }

// Begin implements [SelectCase].
func (c *CancelCase) Begin(*Task) {}

// Poll implements [SelectCase].
func (c *CancelCase) Poll(*Task) bool {
	if !c.tok.IsCancelled() {
		return false
	}
	c.w.Release()
	return true
}

// Register implements [SelectCase].
func (c *CancelCase) Register(t *Task) { c.w = c.tok.register(t) }

// Unregister implements [SelectCase].
func (c *CancelCase) Unregister(*Task) { c.w.Cancel() }

// JoinCase waits for a task to finish.
type JoinCase[T any] struct {
	h   JoinHandle[T]
	w   Waiter
	v   T
	err error
}

// OnJoin is a Select case that completes when the task of h finishes, taking
// its result as Await would.
func OnJoin[T any](h JoinHandle[T]) *JoinCase[T] { return &JoinCase[T]{h: h} }

// Result returns the joined task's result.
func (c *JoinCase[T]) Result() (T, error) { return c.v, c.err }

// Begin implements [SelectCase].
func (c *JoinCase[T]) Begin(*Task) {}

// Poll implements [SelectCase].
func (c *JoinCase[T]) Poll(t *Task) bool {
	rt := c.h.rt
	var zero T
	if rt == nil || rt != t.rt {
		c.v, c.err = zero, ErrInvalidHandle
	} else if rec, ok := rt.tasks.Get(c.h.key); !ok || rec.detached || rec.consumed {
		c.v, c.err = zero, ErrJoined
	} else if rec == t.rec {
		c.v, c.err = zero, fmt.Errorf("asyncrt: task %d selects on itself: %w", rec.id, ErrDeadlock)
	} else if rec.state != stateDone {
		return false
	} else {
		c.v, c.err = c.h.take(rec)
	}
	c.w.Release()
	return true
}

// Register implements [SelectCase].
func (c *JoinCase[T]) Register(t *Task) {
	if rec, ok := t.rt.tasks.Get(c.h.key); ok {
		c.w = t.Enqueue(&rec.join)
	}
}

// Unregister implements [SelectCase].
func (c *JoinCase[T]) Unregister(*Task) { c.w.Cancel() }

// RemoteCase waits for a task started by [SpawnRemote] (or [SpawnOn]).
type RemoteCase[T any] struct {
	h   *RemoteHandle[T]
	w   Waiter
	v   T
	err error
}

// OnRemote is a Select case that completes when the remote task of h
// finishes, with its result as [RemoteHandle.Await] returns it. The
// selecting task may belong to any runtime.
func OnRemote[T any](h *RemoteHandle[T]) *RemoteCase[T] { return &RemoteCase[T]{h: h} }

// Result returns the remote task's result.
func (c *RemoteCase[T]) Result() (T, error) { return c.v, c.err }

// Begin implements [SelectCase].
func (c *RemoteCase[T]) Begin(*Task) {
	if c.h == nil || c.h.done == nil {
		panic("asyncrt: OnRemote called with a nil or zero *RemoteHandle: use the handle SpawnRemote returned")
	}
}

// Poll implements [SelectCase].
func (c *RemoteCase[T]) Poll(*Task) bool {
	if !c.h.finished() {
		return false
	}
	c.v, c.err = c.h.val, c.h.err
	c.w.Release()
	return true
}

// Register implements [SelectCase].
func (c *RemoteCase[T]) Register(t *Task) {
	c.w = c.h.awaiters.enqueue(t, peers(t.rt, c.h.rt))
	if c.h.finished() {
		// Finished before the registration was in: the wake may be gone.
		t.rt.wakeNode(c.w.n)
	}
}

// Unregister implements [SelectCase].
func (c *RemoteCase[T]) Unregister(*Task) { c.w.Cancel() }

// NotifyCase takes a [Notify]'s permit.
type NotifyCase struct {
	n *Notify
	w Waiter
}

// OnNotify is a Select case that takes n's permit.
func OnNotify(n *Notify) *NotifyCase { return &NotifyCase{n: n} }

// Begin implements [SelectCase].
func (c *NotifyCase) Begin(t *Task) {
	c.n.mustBeMade("OnNotify")
	if c.n.rt != t.rt {
		panic("asyncrt: OnNotify used by a task of another runtime")
	}
}

// Poll implements [SelectCase].
func (c *NotifyCase) Poll(*Task) bool {
	if !c.n.mayTake(c.w) {
		return false
	}
	c.w.Release()
	c.n.permit = false
	return true
}

// Register implements [SelectCase].
func (c *NotifyCase) Register(t *Task) { c.w = t.Enqueue(&c.n.waiters) }

// Unregister implements [SelectCase].
func (c *NotifyCase) Unregister(*Task) { c.w.Cancel() }
