package asyncrt

import (
	"errors"
	"fmt"

	"github.com/orrery-go/orrery/slab"
)

var (
	// ErrFull is returned by TrySend on a full channel.
	ErrFull = errors.New("asyncrt: channel full")
	// ErrEmpty is returned by TryRecv on an empty channel.
	ErrEmpty = errors.New("asyncrt: channel empty")
)

// SendError is returned by a send that could not deliver its value: the
// channel was closed ([ErrClosed]) or, for TrySend, full ([ErrFull]). The
// value is handed back.
type SendError[T any] struct {
	Value T
	Err   error
}

func (e *SendError[T]) Error() string { return fmt.Sprintf("%v: value not sent", e.Err) }

// Unwrap returns ErrClosed or ErrFull.
func (e *SendError[T]) Unwrap() error { return e.Err }

// localChan is the state of a channel between tasks of one runtime: a ring
// buffer and its waiters, touched only by the runtime's thread, so it needs
// no atomics and no locks.
type localChan[T any] struct {
	rt          *Runtime
	buf         []T
	head, n     int
	senders     int // open Sender handles
	recvClosed  bool
	recvWaiter  slab.Key
	sendWaiters []slab.Key // FIFO of blocked senders
}

// Sender sends on a channel made by [NewChan]. Clone it for more senders;
// the receiver sees the channel closed once every Sender is closed.
type Sender[T any] struct {
	c      *localChan[T]
	closed bool
}

// Receiver receives from a channel made by [NewChan].
type Receiver[T any] struct {
	c      *localChan[T]
	closed bool
}

// NewChan makes a bounded FIFO channel for the tasks of rt, holding up to
// capacity values: Send suspends while it is full, Recv while it is empty.
// It allocates its buffer once; sending and receiving allocate nothing.
func NewChan[T any](rt *Runtime, capacity int) (*Sender[T], *Receiver[T], error) {
	if rt == nil {
		return nil, nil, errors.New("asyncrt: NewChan called with a nil *Runtime")
	}
	if capacity < 1 {
		return nil, nil, fmt.Errorf("asyncrt: channel capacity must be at least 1, got %d", capacity)
	}
	c := &localChan[T]{rt: rt, buf: make([]T, capacity), senders: 1}
	return &Sender[T]{c: c}, &Receiver[T]{c: c}, nil
}

func (c *localChan[T]) push(v T) {
	c.buf[(c.head+c.n)%len(c.buf)] = v
	c.n++
	if w := c.recvWaiter; !w.IsZero() {
		c.rt.wake(w)
	}
}

func (c *localChan[T]) pop() T {
	var zero T
	v := c.buf[c.head]
	c.buf[c.head] = zero
	c.head = (c.head + 1) % len(c.buf)
	c.n--
	if len(c.sendWaiters) > 0 {
		c.rt.wake(c.sendWaiters[0])
	}
	return v
}

// mayPush reports whether the sender me may put a value in now: there is
// room and no blocked sender is ahead of it.
func (c *localChan[T]) mayPush(me slab.Key) bool {
	return c.n < len(c.buf) && (len(c.sendWaiters) == 0 || c.sendWaiters[0] == me)
}

func (c *localChan[T]) check(t *Task, op string) {
	t.check(op)
	if t.rt != c.rt {
		panic("asyncrt: " + op + " called by a task of another runtime; use NewCrossChan between runtimes")
	}
}

// Send puts v in the channel, suspending t while it is full. Blocked senders
// are served in order. It returns a *[SendError] wrapping [ErrClosed] if this
// Sender or the Receiver is closed.
func (s *Sender[T]) Send(t *Task, v T) error {
	c := s.c
	c.check(t, "Sender.Send")
	me := t.rec.key
	queued := false
	for {
		if s.closed || c.recvClosed {
			if queued {
				c.removeWaiter(me, true)
			}
			return &SendError[T]{Value: v, Err: ErrClosed}
		}
		if c.mayPush(me) {
			if queued {
				c.sendWaiters = c.sendWaiters[1:]
			}
			c.push(v)
			if c.n < len(c.buf) && len(c.sendWaiters) > 0 {
				c.rt.wake(c.sendWaiters[0]) // room left: the next in line may go
			}
			return nil
		}
		if !queued {
			c.sendWaiters = append(c.sendWaiters, me)
			queued = true
		}
		t.chanWait = chanWaitReg{c: c, send: true}
		t.wait = &t.chanWait
		t.suspend()
		t.wait = nil
	}
}

// chanWaiter is a channel a task can be registered with.
type chanWaiter interface {
	removeWaiter(k slab.Key, send bool)
}

// chanWaitReg withdraws a task from a channel's (or token's) waiters when it
// unwinds. external says the wait was counted in the runtime's
// externalWaits.
type chanWaitReg struct {
	c        chanWaiter
	send     bool
	external bool
}

func (r *chanWaitReg) cancelWait(t *Task) {
	if r.external {
		t.rt.externalWaits--
	}
	r.c.removeWaiter(t.rec.key, r.send)
}

// removeWaiter takes k off the senders' line or the receiver's slot.
func (c *localChan[T]) removeWaiter(k slab.Key, send bool) {
	if !send {
		if c.recvWaiter == k {
			c.recvWaiter = slab.Key{}
		}
		return
	}
	for i, w := range c.sendWaiters {
		if w == k {
			c.sendWaiters = append(c.sendWaiters[:i], c.sendWaiters[i+1:]...)
			break
		}
	}
	// A slot freed for the one who left goes to the next in line.
	if c.n < len(c.buf) && len(c.sendWaiters) > 0 {
		c.rt.wake(c.sendWaiters[0])
	}
}

// TrySend puts v in the channel if there is room now. It returns a
// *[SendError] wrapping [ErrFull] or [ErrClosed] otherwise.
func (s *Sender[T]) TrySend(v T) error {
	c := s.c
	c.rt.mustBeOnRuntime("Sender.TrySend")
	switch {
	case s.closed || c.recvClosed:
		return &SendError[T]{Value: v, Err: ErrClosed}
	case c.n == len(c.buf) || len(c.sendWaiters) > 0:
		return &SendError[T]{Value: v, Err: ErrFull}
	}
	c.push(v)
	return nil
}

// Clone returns another Sender on the same channel.
func (s *Sender[T]) Clone() *Sender[T] {
	s.c.rt.mustBeOnRuntime("Sender.Clone")
	if s.closed {
		return &Sender[T]{c: s.c, closed: true}
	}
	s.c.senders++
	return &Sender[T]{c: s.c}
}

// Close closes this Sender. Once every Sender is closed, the receiver gets
// what is still buffered, then ErrClosed. Closing twice is harmless.
func (s *Sender[T]) Close() {
	c := s.c
	c.rt.mustBeOnRuntime("Sender.Close")
	if s.closed {
		return
	}
	s.closed = true
	if c.senders--; c.senders == 0 && !c.recvWaiter.IsZero() {
		c.rt.wake(c.recvWaiter)
	}
}

// Recv takes the oldest value, suspending t while the channel is empty. Once
// every Sender is closed and the buffer is drained (or after the Receiver's
// own Close) it returns [ErrClosed].
func (r *Receiver[T]) Recv(t *Task) (T, error) {
	c := r.c
	c.check(t, "Receiver.Recv")
	for {
		if r.closed {
			var zero T
			return zero, ErrClosed
		}
		if c.n > 0 {
			return c.pop(), nil
		}
		if c.senders == 0 {
			var zero T
			return zero, ErrClosed
		}
		c.recvWaiter = t.rec.key
		t.chanWait = chanWaitReg{c: c}
		t.wait = &t.chanWait
		t.suspend()
		t.wait = nil
		c.recvWaiter = slab.Key{}
	}
}

// TryRecv takes the oldest value if there is one. It returns [ErrEmpty] if
// the channel is empty, [ErrClosed] if it is empty and closed.
func (r *Receiver[T]) TryRecv() (T, error) {
	c := r.c
	c.rt.mustBeOnRuntime("Receiver.TryRecv")
	var zero T
	switch {
	case r.closed:
		return zero, ErrClosed
	case c.n > 0:
		return c.pop(), nil
	case c.senders == 0:
		return zero, ErrClosed
	}
	return zero, ErrEmpty
}

// Close closes the receiving end: buffered values are dropped, blocked and
// later senders get ErrClosed with their value.
func (r *Receiver[T]) Close() {
	c := r.c
	c.rt.mustBeOnRuntime("Receiver.Close")
	if r.closed {
		return
	}
	r.closed, c.recvClosed = true, true
	var zero T
	for c.n > 0 {
		c.buf[c.head] = zero
		c.head = (c.head + 1) % len(c.buf)
		c.n--
	}
	for _, w := range c.sendWaiters {
		c.rt.wake(w)
	}
}

// Len returns the number of buffered values.
func (r *Receiver[T]) Len() int { return r.c.n }

// Cap returns the channel's capacity.
func (r *Receiver[T]) Cap() int { return len(r.c.buf) }
