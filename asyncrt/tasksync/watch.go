package tasksync

import "github.com/orrery-go/orrery/asyncrt"

// Watch holds the latest value of something and tells its receivers when it
// changes: configuration, a risk limit, a connection's state, the last
// trade price. Sending never waits: it replaces the value and bumps its
// version. A receiver waits for a version newer than the last it saw and
// gets the value current at that time; the values in between are skipped
// by design — a Watch is for state, not for a stream of events (see
// [Broadcast] for that).
//
// A Watch belongs to the runtime of the first task that calls Changed or
// selects on OnChanged (see the package documentation). It must not be copied after first use.
type Watch[T any] struct {
	owner
	value   T
	version uint64
	closed  bool
	q       asyncrt.WaitQueue
}

// NewWatch returns a Watch holding initial, at version 0.
func NewWatch[T any](initial T) *Watch[T] { return &Watch[T]{value: initial} }

// Send replaces the value with v, bumps the version and wakes every waiting
// receiver. It never suspends. Sending on a closed Watch panics, as sending
// on a closed Go channel does: the owner of a Watch closes it when it will
// send no more.
func (w *Watch[T]) Send(v T) {
	if w.closed {
		panic("tasksync: Watch.Send called after Watch.Close: close a Watch only when " +
			"nothing will send on it any more")
	}
	w.value = v
	w.version++
	if w.q.Len() > 0 {
		w.q.WakeAll()
	}
}

// Borrow returns the current value and its version. It marks nothing as
// seen.
func (w *Watch[T]) Borrow() (T, uint64) { return w.value, w.version }

// Subscribe returns a new receiver that has seen the current version: its
// first Changed waits for the next Send.
func (w *Watch[T]) Subscribe() *WatchReceiver[T] {
	return &WatchReceiver[T]{w: w, seen: w.version}
}

// Close closes the Watch: once a receiver has seen the last value sent, its
// Changed returns an error wrapping [ErrClosed] instead of waiting. Closing
// twice does nothing.
func (w *Watch[T]) Close() {
	if w.closed {
		return
	}
	w.closed = true
	w.q.WakeAll()
}

// WatchReceiver follows a [Watch]: it remembers the version it last saw.
// One task at a time may wait on a receiver; give each task its own with
// [Watch.Subscribe] or [WatchReceiver.Clone].
type WatchReceiver[T any] struct {
	w    *Watch[T]
	seen uint64
}

// Changed waits until the Watch's version is newer than the one the
// receiver last saw, marks it seen and returns the value. If the Watch is
// closed and its last value was seen, it returns an error wrapping
// [ErrClosed].
func (r *WatchReceiver[T]) Changed(t *asyncrt.Task) (T, error) {
	w := r.w
	w.bind(t, "WatchReceiver.Changed", "Watch")
	if v, ok, err := r.poll(errChangedClosed); ok {
		return v, err
	}
	reg := t.Enqueue(&w.q)
	for {
		t.Wait()
		if v, ok, err := r.poll(errChangedClosed); ok {
			reg.Release() // WakeAll's wakes are for everyone: none to pass on
			return v, err
		}
	}
}

// poll returns the value if it changed since the receiver last looked, or
// closed if the Watch is closed, and reports whether it returned either.
func (r *WatchReceiver[T]) poll(closed error) (v T, ok bool, err error) {
	w := r.w
	switch {
	case w.version != r.seen:
		r.seen = w.version
		return w.value, true, nil
	case w.closed:
		return v, true, closed
	}
	return v, false, nil
}

// HasChanged reports whether the Watch holds a version the receiver has not
// seen.
func (r *WatchReceiver[T]) HasChanged() bool { return r.w.version != r.seen }

// BorrowAndUpdate returns the current value and its version, and marks the
// version seen.
func (r *WatchReceiver[T]) BorrowAndUpdate() (T, uint64) {
	r.seen = r.w.version
	return r.w.value, r.w.version
}

// Clone returns another receiver on the same Watch that has seen what r has
// seen.
func (r *WatchReceiver[T]) Clone() *WatchReceiver[T] {
	return &WatchReceiver[T]{w: r.w, seen: r.seen}
}

// ChangedCase is an [asyncrt.Select] case that waits for a [Watch] to
// change. Make one with [OnChanged]; it may be reused across Select calls by
// one task at a time.
type ChangedCase[T any] struct {
	r   *WatchReceiver[T]
	reg asyncrt.Waiter
	v   T
	err error
}

// OnChanged returns a Select case that completes as [WatchReceiver.Changed]
// does. When it wins, Value holds the new value and Err is nil, or Err wraps
// [ErrClosed].
func OnChanged[T any](r *WatchReceiver[T]) *ChangedCase[T] { return &ChangedCase[T]{r: r} }

// Value returns the value the case received.
func (c *ChangedCase[T]) Value() T { return c.v }

// Err returns the error of the case's last completion.
func (c *ChangedCase[T]) Err() error { return c.err }

// Begin implements [asyncrt.SelectCase].
func (c *ChangedCase[T]) Begin(t *asyncrt.Task) {
	if c.r == nil {
		panic("tasksync: OnChanged was given a nil *WatchReceiver: get one with Watch.Subscribe")
	}
	c.r.w.bind(t, "OnChanged", "Watch")
	c.reg = asyncrt.Waiter{}
}

// Poll implements [asyncrt.SelectCase].
func (c *ChangedCase[T]) Poll(*asyncrt.Task) bool {
	v, ok, err := c.r.poll(errOnChangedClosed)
	if ok {
		c.v, c.err = v, err
		c.reg.Release()
	}
	return ok
}

// Register implements [asyncrt.SelectCase].
func (c *ChangedCase[T]) Register(t *asyncrt.Task) { c.reg = t.Enqueue(&c.r.w.q) }

// Unregister implements [asyncrt.SelectCase].
func (c *ChangedCase[T]) Unregister(*asyncrt.Task) { c.reg.Cancel() }
