package tasksync

import "github.com/orrery-go/orrery/asyncrt"

// Broadcast sends one stream of values to many receivers: every receiver
// gets every value, in order, through its own cursor into a bounded ring —
// market data fanned out to strategies, say. The sender never waits and
// never suspends: when the ring is full, the oldest value is overwritten. A
// receiver that falls so far behind that values it had not read were
// overwritten gets a *[LaggedError] saying how many it missed, and carries
// on from the oldest value still in the ring.
//
// A Broadcast belongs to the runtime of the first task that calls Recv or
// selects on OnBroadcastRecv (see the package documentation). It must not be copied after first
// use. Values stay in the ring until they are overwritten, so the ring keeps
// the last capacity values alive.
type Broadcast[T any] struct {
	owner
	buf []T
	// sent is the number of values sent: the sequence number of the next.
	// The ring holds sequence numbers max(0, sent-len(buf)) to sent-1, value
	// s at buf[s%len(buf)].
	sent      uint64
	closed    bool
	receivers int
	q         asyncrt.WaitQueue // receivers waiting for the next value
}

// NewBroadcast returns a Broadcast whose ring holds capacity values. A
// capacity below 1 is an error wrapping [ErrInvalid]. The ring is allocated
// here, once: sending and receiving allocate nothing.
func NewBroadcast[T any](capacity int) (*Broadcast[T], error) {
	if capacity < 1 {
		return nil, invalid("NewBroadcast", "capacity must be at least 1, got %d", capacity)
	}
	return &Broadcast[T]{buf: make([]T, capacity)}, nil
}

// Send puts v in the ring, overwriting the oldest value if the ring is full,
// and wakes every waiting receiver. It never waits. It returns an error
// wrapping [ErrClosed] after Close. A value sent while nobody is subscribed
// is kept in the ring all the same, but receivers subscribed later start
// after it.
func (b *Broadcast[T]) Send(v T) error {
	if b.closed {
		return errSendClosed
	}
	b.buf[b.sent%uint64(len(b.buf))] = v
	b.sent++
	if b.q.Len() > 0 {
		b.q.WakeAll()
	}
	return nil
}

// Subscribe returns a new receiver that starts at the next value sent.
func (b *Broadcast[T]) Subscribe() *BroadcastReceiver[T] {
	b.receivers++
	return &BroadcastReceiver[T]{b: b, next: b.sent}
}

// Unsubscribe closes r, as r.Close does.
func (b *Broadcast[T]) Unsubscribe(r *BroadcastReceiver[T]) {
	if r.b != b {
		panic("tasksync: Broadcast.Unsubscribe called with a receiver of another Broadcast: " +
			"unsubscribe a receiver from the Broadcast it subscribed to")
	}
	r.Close()
}

// Close closes the Broadcast: Send fails from now on, and each receiver,
// once it has read what the ring still holds for it, gets an error wrapping
// [ErrClosed]. Closing twice does nothing.
func (b *Broadcast[T]) Close() {
	if b.closed {
		return
	}
	b.closed = true
	b.q.WakeAll()
}

// Receivers returns the number of receivers subscribed and not closed.
func (b *Broadcast[T]) Receivers() int { return b.receivers }

// Cap returns the capacity of the ring.
func (b *Broadcast[T]) Cap() int { return len(b.buf) }

// Sent returns the number of values sent so far.
func (b *Broadcast[T]) Sent() uint64 { return b.sent }

// BroadcastReceiver reads a [Broadcast] through its own cursor. One task at
// a time may receive through it; give each task its own with
// [Broadcast.Subscribe].
type BroadcastReceiver[T any] struct {
	b      *Broadcast[T]
	next   uint64 // sequence number of the next value to read
	closed bool
}

// Recv returns the next value in order, suspending t while there is none.
// If the receiver fell behind and values it had not read were overwritten,
// it returns a *[LaggedError] instead, saying how many, and moves the
// cursor to the oldest value in the ring: the next Recv returns that. Once
// the Broadcast is closed and the receiver has read everything, or once
// the receiver is closed, it returns an error wrapping [ErrClosed].
func (r *BroadcastReceiver[T]) Recv(t *asyncrt.Task) (T, error) {
	b := r.b
	b.bind(t, "BroadcastReceiver.Recv", "Broadcast")
	if v, ok, err := r.poll("BroadcastReceiver.Recv"); ok {
		return v, err
	}
	w := t.Enqueue(&b.q)
	for {
		t.Wait()
		if v, ok, err := r.poll("BroadcastReceiver.Recv"); ok {
			w.Release() // WakeAll's wakes are for everyone: none to pass on
			return v, err
		}
	}
}

// TryRecv is Recv without waiting: when there is no value for the receiver
// yet, it returns an error wrapping [ErrEmpty].
func (r *BroadcastReceiver[T]) TryRecv() (T, error) {
	if v, ok, err := r.poll("BroadcastReceiver.TryRecv"); ok {
		return v, err
	}
	var zero T
	return zero, &opError{"BroadcastReceiver.TryRecv", "no value yet", ErrEmpty}
}

// poll takes the receiver's next value, a lag or the end, and reports
// whether it had any of them. op names the operation in its errors.
func (r *BroadcastReceiver[T]) poll(op string) (v T, ok bool, err error) {
	b := r.b
	switch {
	case r.closed:
		return v, true, &opError{op, "receiver closed", ErrClosed}
	case r.next < b.sent:
		if n := uint64(len(b.buf)); b.sent-r.next > n {
			oldest := b.sent - n
			missed := oldest - r.next
			r.next = oldest
			return v, true, &LaggedError{Op: op, Missed: missed}
		}
		v = b.buf[r.next%uint64(len(b.buf))]
		r.next++
		return v, true, nil
	case b.closed:
		return v, true, &opError{op, "broadcast closed", ErrClosed}
	}
	return v, false, nil
}

// Len returns the number of values waiting for the receiver in the ring
// (not counting values it already lost to lag).
func (r *BroadcastReceiver[T]) Len() int {
	return int(min(r.b.sent-r.next, uint64(len(r.b.buf))))
}

// Close closes the receiver: its receives, and a receive waiting on it,
// return an error wrapping [ErrClosed]; the Broadcast no longer counts it.
// Closing twice does nothing.
func (r *BroadcastReceiver[T]) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.b.receivers--
	if r.b.q.Len() > 0 {
		r.b.q.WakeAll() // a task waiting on r sees it closed; the others wait on
	}
}

// BroadcastRecvCase is an [asyncrt.Select] case that receives from a
// [BroadcastReceiver]. Make one with [OnBroadcastRecv]; it may be reused
// across Select calls by one task at a time.
type BroadcastRecvCase[T any] struct {
	r   *BroadcastReceiver[T]
	w   asyncrt.Waiter
	v   T
	err error
}

// OnBroadcastRecv returns a Select case that receives from r as
// [BroadcastReceiver.Recv] does. When it wins, Value holds the value and
// Err is nil, or Err is a *[LaggedError] or wraps [ErrClosed].
func OnBroadcastRecv[T any](r *BroadcastReceiver[T]) *BroadcastRecvCase[T] {
	return &BroadcastRecvCase[T]{r: r}
}

// Value returns the value the case received.
func (c *BroadcastRecvCase[T]) Value() T { return c.v }

// Err returns the error of the case's last completion.
func (c *BroadcastRecvCase[T]) Err() error { return c.err }

// Begin implements [asyncrt.SelectCase].
func (c *BroadcastRecvCase[T]) Begin(t *asyncrt.Task) {
	if c.r == nil {
		panic("tasksync: OnBroadcastRecv was given a nil *BroadcastReceiver: get one with Broadcast.Subscribe")
	}
	c.r.b.bind(t, "OnBroadcastRecv", "Broadcast")
	c.w = asyncrt.Waiter{}
}

// Poll implements [asyncrt.SelectCase].
func (c *BroadcastRecvCase[T]) Poll(*asyncrt.Task) bool {
	v, ok, err := c.r.poll("OnBroadcastRecv")
	if ok {
		c.v, c.err = v, err
		c.w.Release()
	}
	return ok
}

// Register implements [asyncrt.SelectCase].
func (c *BroadcastRecvCase[T]) Register(t *asyncrt.Task) { c.w = t.Enqueue(&c.r.b.q) }

// Unregister implements [asyncrt.SelectCase].
func (c *BroadcastRecvCase[T]) Unregister(*asyncrt.Task) { c.w.Cancel() }
