package asyncrt

import (
	"errors"
	"fmt"
	"strings"
)

// SendError is returned by a send that could not deliver its value: the
// channel was closed ([ErrChanClosed]) or, for TrySend, full ([ErrFull]).
// The value is handed back.
type SendError[T any] struct {
	// Op names the operation, "Sender.Send" say.
	Op    string
	Value T
	Err   error
}

func (e *SendError[T]) Error() string {
	return fmt.Sprintf("asyncrt: %s: %s: value not sent", e.Op, strings.TrimPrefix(e.Err.Error(), "asyncrt: "))
}

// Unwrap returns ErrChanClosed or ErrFull.
func (e *SendError[T]) Unwrap() error { return e.Err }

// localChan is the state of a channel between tasks of one runtime: a ring
// buffer and two wait queues, touched only by the runtime's thread, so it
// needs no atomics and no locks.
//
// Waiting tasks are served in FIFO order. Each value pushed wakes one
// waiting receiver, and the woken receivers have first claim on the values
// (a newcomer takes one only if there are more values than woken
// receivers); senders and free slots likewise.
type localChan[T any] struct {
	rt         *Runtime
	buf        []T
	head, n    int
	senders    int // open Sender handles
	recvClosed bool
	recvQ      WaitQueue
	sendQ      WaitQueue
}

// Sender sends on a channel made by [NewChan]. Any number of tasks may send
// through one Sender; Clone it for handles closed independently. The
// receivers see the channel closed once every Sender is closed.
type Sender[T any] struct {
	c      *localChan[T]
	closed bool
}

// Receiver receives from a channel made by [NewChan]. Any number of tasks
// may receive through it at once: each value goes to one of them, in the
// order they started waiting.
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

// canSend reports whether a sender that holds no wake may send now: there is
// a free slot beyond those kept for woken senders.
func (c *localChan[T]) canSend() bool { return len(c.buf)-c.n > c.sendQ.Woken() }

// canRecv is canSend for receivers.
func (c *localChan[T]) canRecv() bool { return c.n > c.recvQ.Woken() }

func (c *localChan[T]) push(v T) {
	i := c.head + c.n
	if i >= len(c.buf) {
		i -= len(c.buf)
	}
	c.buf[i] = v
	c.n++
	if c.recvQ.n > 0 {
		c.recvQ.WakeOne()
	}
}

func (c *localChan[T]) pop() T {
	var zero T
	v := c.buf[c.head]
	c.buf[c.head] = zero
	if c.head++; c.head == len(c.buf) {
		c.head = 0
	}
	c.n--
	if c.sendQ.n > 0 {
		c.sendQ.WakeOne()
	}
	if c.n == 0 && c.senders == 0 {
		c.recvQ.WakeAll() // drained and closed: the receivers still waiting are done
	}
	return v
}

func (c *localChan[T]) sendClosed(s *Sender[T]) bool { return s.closed || c.recvClosed }

func (c *localChan[T]) recvDone(r *Receiver[T]) bool {
	return r.closed || c.recvClosed || c.n == 0 && c.senders == 0
}

func (c *localChan[T]) check(t *Task, op string) {
	t.check(op)
	if t.rt != c.rt {
		panic("asyncrt: " + op + " called by a task of another runtime; use NewCrossChan between runtimes")
	}
}

// Send puts v in the channel, suspending t while it is full. Blocked senders
// are served in the order they started waiting. It returns a *[SendError]
// wrapping [ErrChanClosed] if this Sender or the Receiver is closed.
func (s *Sender[T]) Send(t *Task, v T) error {
	c := s.c
	c.check(t, "Sender.Send")
	if c.sendClosed(s) {
		return &SendError[T]{Op: "Sender.Send", Value: v, Err: ErrChanClosed}
	}
	if c.canSend() {
		c.push(v)
		return nil
	}
	w := t.Enqueue(&c.sendQ)
	for {
		t.waitRegs()
		if c.sendClosed(s) {
			w.Cancel()
			return &SendError[T]{Op: "Sender.Send", Value: v, Err: ErrChanClosed}
		}
		if w.Woken() && (w.n.counted && c.n < len(c.buf) || c.canSend()) {
			w.Release()
			c.push(v)
			return nil
		}
	}
}

// TrySend puts v in the channel if there is room now. It returns a
// *[SendError] wrapping [ErrFull] or [ErrChanClosed] otherwise.
func (s *Sender[T]) TrySend(v T) error {
	c := s.c
	c.rt.mustBeOnRuntime("Sender.TrySend")
	switch {
	case c.sendClosed(s):
		return &SendError[T]{Op: "Sender.TrySend", Value: v, Err: ErrChanClosed}
	case !c.canSend():
		return &SendError[T]{Op: "Sender.TrySend", Value: v, Err: ErrFull}
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

// Close closes this Sender. Once every Sender is closed, the receivers get
// what is still buffered, then ErrChanClosed. Closing twice is harmless.
func (s *Sender[T]) Close() {
	c := s.c
	c.rt.mustBeOnRuntime("Sender.Close")
	if s.closed {
		return
	}
	s.closed = true
	c.sendQ.WakeAll() // tasks sending through this Sender get ErrChanClosed
	if c.senders--; c.senders == 0 {
		c.recvQ.WakeAll()
	}
}

// Recv takes the oldest value, suspending t while the channel is empty.
// Waiting receivers are served in the order they started waiting. Once
// every Sender is closed and the buffer is drained (or after the Receiver's
// own Close) it returns [ErrChanClosed].
func (r *Receiver[T]) Recv(t *Task) (T, error) {
	c := r.c
	c.check(t, "Receiver.Recv")
	if c.canRecv() && !r.closed {
		return c.pop(), nil
	}
	var zero T
	if c.recvDone(r) {
		return zero, errRecvClosed
	}
	w := t.Enqueue(&c.recvQ)
	for {
		t.waitRegs()
		if w.Woken() && !r.closed && (w.n.counted && c.n > 0 || c.canRecv()) {
			w.Release()
			return c.pop(), nil
		}
		if c.recvDone(r) {
			w.Cancel()
			return zero, errRecvClosed
		}
	}
}

// TryRecv takes the oldest value if there is one. It returns [ErrEmpty] if
// the channel is empty, [ErrChanClosed] if it is empty and closed.
func (r *Receiver[T]) TryRecv() (T, error) {
	c := r.c
	c.rt.mustBeOnRuntime("Receiver.TryRecv")
	var zero T
	switch {
	case r.closed:
		return zero, errTryRecvClosed
	case c.canRecv():
		return c.pop(), nil
	case c.recvDone(r):
		return zero, errTryRecvClosed
	}
	return zero, errTryRecvEmpty
}

// Close closes the receiving end for every receiver: buffered values are
// dropped, blocked receivers and senders and later ones get ErrChanClosed.
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
	c.sendQ.WakeAll()
	c.recvQ.WakeAll()
}

// Len returns the number of buffered values.
func (r *Receiver[T]) Len() int { return r.c.n }

// Cap returns the channel's capacity.
func (r *Receiver[T]) Cap() int { return len(r.c.buf) }
