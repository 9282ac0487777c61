package tasksync

import (
	"errors"
	"fmt"
	"sync"

	"github.com/orrery-go/orrery/asyncrt"
)

// CrossBroadcast sends one stream of values to receivers on several
// runtimes: every subscriber gets every value sent after it subscribed, in
// order — one feed runtime fanning out to several strategy runtimes, say.
// Each subscriber has a bounded channel of its own into its runtime
// ([asyncrt.NewCrossChan]); unlike [Broadcast], which overwrites what a slow
// receiver has not read, a CrossBroadcast holds the sender back: a sending
// task suspends while any subscriber's channel is full (its runtime runs
// on), so backpressure crosses runtimes and nothing is lost.
//
// Subscribe, Send, Close and Subscribers are safe from any goroutine. A
// subscriber that closes its receiver is dropped at the next send.
type CrossBroadcast[T any] struct {
	capacity int
	mu       sync.Mutex
	subs     []*asyncrt.CrossSender[T]
	closed   bool
}

// ErrBroadcastClosed is returned by the sends and Subscribe of a closed
// [CrossBroadcast].
var ErrBroadcastClosed = errors.New("tasksync: the broadcast is closed")

// NewCrossBroadcast returns a CrossBroadcast whose subscribers each buffer
// up to capacity values (rounded up to a power of two, as
// asyncrt.NewCrossChan does). A capacity below 1 is an error wrapping
// [ErrInvalid].
func NewCrossBroadcast[T any](capacity int) (*CrossBroadcast[T], error) {
	if capacity < 1 {
		return nil, invalid("NewCrossBroadcast", "capacity must be at least 1, got %d", capacity)
	}
	return &CrossBroadcast[T]{capacity: capacity}, nil
}

// Subscribe returns a receiver on rt that gets every value sent from now
// on; receive from it with its Recv or in a Select (asyncrt.OnCrossRecv)
// from rt's tasks, and Close it to unsubscribe. Once the broadcast is
// closed, the receiver gets what was sent and then asyncrt.ErrChanClosed.
func (b *CrossBroadcast[T]) Subscribe(rt *asyncrt.Runtime) (*asyncrt.CrossReceiver[T], error) {
	if rt == nil {
		return nil, invalid("CrossBroadcast.Subscribe", "nil *asyncrt.Runtime")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("tasksync: CrossBroadcast.Subscribe: %w", ErrBroadcastClosed)
	}
	tx, rx, err := asyncrt.NewCrossChan[T](rt, b.capacity)
	if err != nil {
		return nil, fmt.Errorf("tasksync: CrossBroadcast.Subscribe: %w", err)
	}
	b.subs = append(b.subs, tx)
	return rx, nil
}

// Subscribers returns the number of subscribers not yet dropped.
func (b *CrossBroadcast[T]) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// SendTask sends v to every subscriber from a task of any runtime,
// suspending t while a subscriber's channel is full. Subscribers whose
// receiver was closed are dropped. It returns an error wrapping
// [ErrBroadcastClosed] if the broadcast was closed before v went to every
// subscriber.
func (b *CrossBroadcast[T]) SendTask(t *asyncrt.Task, v T) error {
	return b.send(v, func(s *asyncrt.CrossSender[T]) error { return s.SendTask(t, v) })
}

// Send is SendTask for a goroutine that is not a task: it blocks the
// goroutine while a subscriber's channel is full.
func (b *CrossBroadcast[T]) Send(v T) error {
	return b.send(v, func(s *asyncrt.CrossSender[T]) error { return s.Send(v) })
}

func (b *CrossBroadcast[T]) send(v T, to func(*asyncrt.CrossSender[T]) error) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return fmt.Errorf("tasksync: CrossBroadcast.Send: %w", ErrBroadcastClosed)
	}
	subs := append([]*asyncrt.CrossSender[T](nil), b.subs...) // sends wait: not under the lock
	b.mu.Unlock()
	var gone []*asyncrt.CrossSender[T]
	for _, s := range subs {
		if err := to(s); err != nil {
			if !errors.Is(err, asyncrt.ErrChanClosed) {
				return fmt.Errorf("tasksync: CrossBroadcast.Send: %w", err)
			}
			gone = append(gone, s)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(gone) > 0 {
		b.drop(gone)
	}
	if b.closed && len(gone) > 0 {
		return fmt.Errorf("tasksync: CrossBroadcast.Send: %w", ErrBroadcastClosed)
	}
	return nil
}

// drop removes senders whose receivers are gone; b.mu is held.
func (b *CrossBroadcast[T]) drop(gone []*asyncrt.CrossSender[T]) {
	keep := b.subs[:0]
	for _, s := range b.subs {
		dropped := false
		for _, g := range gone {
			if s == g {
				dropped = true
				s.Close()
				break
			}
		}
		if !dropped {
			keep = append(keep, s)
		}
	}
	clear(b.subs[len(keep):])
	b.subs = keep
}

// Close closes the broadcast: every subscriber receives what was sent and
// then asyncrt.ErrChanClosed, and later sends and subscriptions fail.
// Closing twice does nothing.
func (b *CrossBroadcast[T]) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for _, s := range b.subs {
		s.Close()
	}
	b.subs = nil
}
