package asyncrt

import (
	"errors"
	"fmt"
	"time"

	"github.com/orrery-go/orrery/asyncrt/internal/wheel"
	"github.com/orrery-go/orrery/slab"
)

// SelectCase is one alternative of [Select], made by OnRecv, OnSend,
// OnCrossRecv, OnTimeout, OnDeadline, OnCancel, OnJoin or OnNotify. A case
// that wins keeps its result (Value, Err...) until it is used again. Case
// values may be reused across Select calls, by one task at a time.
type SelectCase interface {
	// start readies the case for a new Select by t.
	start(t *Task)
	// poll completes the case now if it can, reporting whether it did.
	poll(t *Task) bool
	// arm registers t to be woken when the case may complete; disarm
	// withdraws the registration.
	arm(t *Task)
	disarm(t *Task)
}

// selectWait disarms the cases of a Select whose task unwinds.
type selectWait struct{ cases []SelectCase }

func (w *selectWait) cancelWait(t *Task) {
	for _, c := range w.cases {
		c.disarm(t)
	}
	clear(w.cases)
	w.cases = w.cases[:0]
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
		c.start(t)
	}
	for {
		for i, c := range cases {
			if c.poll(t) {
				return i, nil
			}
		}
		for _, c := range cases {
			c.arm(t)
		}
		// A copy in the task, not the argument itself: keeping cases would
		// move every caller's variadic array to the heap.
		t.selectWait.cases = append(t.selectWait.cases[:0], cases...)
		t.wait = &t.selectWait
		t.suspend()
		t.wait = nil
		clear(t.selectWait.cases)
		t.selectWait.cases = t.selectWait.cases[:0]
		for _, c := range cases {
			c.disarm(t)
		}
	}
}

// RecvCase receives from a [Receiver].
type RecvCase[T any] struct {
	r   *Receiver[T]
	v   T
	err error
}

// OnRecv is a Select case that receives from r. When it wins, Value holds
// the value and Err is nil, or Err is ErrClosed.
func OnRecv[T any](r *Receiver[T]) *RecvCase[T] { return &RecvCase[T]{r: r} }

// Value returns what the case received.
func (c *RecvCase[T]) Value() T { return c.v }

// Err returns ErrClosed if the channel was closed, else nil.
func (c *RecvCase[T]) Err() error { return c.err }

func (c *RecvCase[T]) start(t *Task) { c.r.c.check(t, "OnRecv") }

func (c *RecvCase[T]) poll(*Task) bool {
	v, err := c.r.TryRecv()
	if err == ErrEmpty {
		return false
	}
	c.v, c.err = v, err
	return true
}

func (c *RecvCase[T]) arm(t *Task) { c.r.c.recvWaiter = t.rec.key }

func (c *RecvCase[T]) disarm(t *Task) { c.r.c.removeWaiter(t.rec.key, false) }

// SendCase sends on a [Sender].
type SendCase[T any] struct {
	s      *Sender[T]
	v      T
	err    error
	queued bool
}

// OnSend is a Select case that sends v on s. When it wins, Err is nil, or a
// *SendError wrapping ErrClosed.
func OnSend[T any](s *Sender[T], v T) *SendCase[T] { return &SendCase[T]{s: s, v: v} }

// Err returns the send's error.
func (c *SendCase[T]) Err() error { return c.err }

func (c *SendCase[T]) start(t *Task) { c.s.c.check(t, "OnSend"); c.err = nil }

func (c *SendCase[T]) poll(t *Task) bool {
	ch, me := c.s.c, t.rec.key
	if c.s.closed || ch.recvClosed {
		c.err = &SendError[T]{Value: c.v, Err: ErrClosed}
		return true
	}
	if !ch.mayPush(me) {
		return false
	}
	if len(ch.sendWaiters) > 0 && ch.sendWaiters[0] == me {
		ch.sendWaiters = ch.sendWaiters[1:]
		c.queued = false
	}
	ch.push(c.v)
	return true
}

func (c *SendCase[T]) arm(t *Task) {
	if !c.queued {
		c.s.c.sendWaiters = append(c.s.c.sendWaiters, t.rec.key)
		c.queued = true
	}
}

func (c *SendCase[T]) disarm(t *Task) {
	if c.queued {
		c.s.c.removeWaiter(t.rec.key, true)
		c.queued = false
	}
}

// CrossRecvCase receives from a [CrossReceiver].
type CrossRecvCase[T any] struct {
	r     *CrossReceiver[T]
	v     T
	err   error
	armed bool
}

// OnCrossRecv is a Select case that receives from r.
func OnCrossRecv[T any](r *CrossReceiver[T]) *CrossRecvCase[T] { return &CrossRecvCase[T]{r: r} }

// Value returns what the case received.
func (c *CrossRecvCase[T]) Value() T { return c.v }

// Err returns ErrClosed if the channel was closed, else nil.
func (c *CrossRecvCase[T]) Err() error { return c.err }

func (c *CrossRecvCase[T]) start(t *Task) {
	if t.rt != c.r.c.rt {
		panic("asyncrt: OnCrossRecv used by a task of another runtime")
	}
}

func (c *CrossRecvCase[T]) poll(*Task) bool {
	v, err := c.r.tryRecv()
	if err == ErrEmpty {
		return false
	}
	c.v, c.err = v, err
	return true
}

func (c *CrossRecvCase[T]) arm(t *Task) {
	ch := c.r.c
	ch.recvKey = t.rec.key
	ch.recvWaiting.Store(true)
	// A value may have arrived since poll: make sure it wakes us.
	if ch.enq.Load() != ch.deq.Load() || ch.senders.Load() == 0 {
		t.rt.enqueue(t.rec)
	}
	t.rt.externalWaits++
	c.armed = true
}

func (c *CrossRecvCase[T]) disarm(t *Task) {
	if c.armed {
		c.armed = false
		t.rt.externalWaits--
		c.r.c.removeWaiter(t.rec.key, false)
	}
}

// TimeCase completes at a point in time.
type TimeCase struct {
	d        time.Duration
	at       time.Time
	relative bool
	deadline int64
	timer    wheel.Timer
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

func (c *TimeCase) start(t *Task) {
	if c.relative {
		c.deadline = t.rt.eventTime() + int64(c.d)
	} else {
		c.deadline = t.rt.toNanos(c.at)
	}
}

func (c *TimeCase) poll(t *Task) bool { return t.rt.eventTime() >= c.deadline }

func (c *TimeCase) arm(t *Task) {
	c.timer = t.rt.timers.Schedule(c.deadline, timerEvent{task: t.rec.key, kind: timerWake})
}

func (c *TimeCase) disarm(t *Task) {
	t.rt.timers.Cancel(c.timer)
	c.timer = wheel.Timer{}
}

// CancelCase completes when a token is cancelled.
type CancelCase struct {
	tok   *CancellationToken
	armed bool
}

// OnCancel is a Select case that completes when tok is cancelled.
func OnCancel(tok *CancellationToken) *CancelCase { return &CancelCase{tok: tok} }

func (c *CancelCase) start(*Task)     {}
func (c *CancelCase) poll(*Task) bool { return c.tok.IsCancelled() }

func (c *CancelCase) arm(t *Task) {
	if c.tok.addWaiter(t) {
		c.armed = true
		t.rt.externalWaits++
	} else {
		t.rt.enqueue(t.rec) // cancelled since poll: go round again
	}
}

func (c *CancelCase) disarm(t *Task) {
	if c.armed {
		c.armed = false
		t.rt.externalWaits--
		c.tok.removeWaiter(t.rec.key, false)
	}
}

// JoinCase waits for a task to finish.
type JoinCase[T any] struct {
	h     JoinHandle[T]
	v     T
	err   error
	armed bool
}

// OnJoin is a Select case that completes when the task of h finishes, taking
// its result as Await would.
func OnJoin[T any](h JoinHandle[T]) *JoinCase[T] { return &JoinCase[T]{h: h} }

// Result returns the joined task's result.
func (c *JoinCase[T]) Result() (T, error) { return c.v, c.err }

func (c *JoinCase[T]) start(t *Task) {}

func (c *JoinCase[T]) poll(t *Task) bool {
	rt := c.h.rt
	if rt == nil || rt != t.rt {
		c.err = ErrInvalidHandle
		return true
	}
	rec, ok := rt.tasks.Get(c.h.key)
	switch {
	case !ok || rec.detached || rec.consumed:
		c.err = ErrJoined
		return true
	case rec == t.rec:
		c.err = fmt.Errorf("asyncrt: task %d selects on itself: %w", rec.id, ErrDeadlock)
		return true
	case rec.state != stateDone && !rec.waiter.IsZero() && rec.waiter != t.rec.key:
		c.err = ErrAwaitConflict
		return true
	case rec.state != stateDone:
		return false
	}
	c.v, c.err = c.h.Await(t) // finished: returns at once
	return true
}

func (c *JoinCase[T]) arm(t *Task) {
	if rec, ok := t.rt.tasks.Get(c.h.key); ok {
		rec.waiter = t.rec.key
		c.armed = true
	}
}

func (c *JoinCase[T]) disarm(t *Task) {
	if c.armed {
		c.armed = false
		if rec, ok := t.rt.tasks.Get(c.h.key); ok && rec.waiter == t.rec.key {
			rec.waiter = slab.Key{}
		}
	}
}

// NotifyCase takes a [Notify]'s permit.
type NotifyCase struct {
	n     *Notify
	armed bool
}

// OnNotify is a Select case that takes n's permit.
func OnNotify(n *Notify) *NotifyCase { return &NotifyCase{n: n} }

func (c *NotifyCase) start(t *Task) {
	if c.n.rt != t.rt {
		panic("asyncrt: OnNotify used by a task of another runtime")
	}
}

func (c *NotifyCase) poll(t *Task) bool {
	n := c.n
	if !n.permit || len(n.waiters) > 0 && n.waiters[0] != t.rec.key {
		return false
	}
	n.permit = false
	return true
}

func (c *NotifyCase) arm(t *Task) {
	c.n.waiters = append(c.n.waiters, t.rec.key)
	t.rt.externalWaits++
	c.armed = true
}

func (c *NotifyCase) disarm(t *Task) {
	if c.armed {
		c.armed = false
		c.n.cancelWait(t)
	}
}
