package asyncrt

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/orrery-go/orrery/slab"
)

// crossChan is a channel from any goroutine into one runtime. Values go
// through a bounded lock-free multi-producer ring (each slot carries a
// sequence number saying whose turn it is), so a send costs one
// compare-and-swap; a mutex is taken only to block and unblock senders when
// the ring is full. The receiving task's runtime is woken through its inbox,
// which pokes the runtime's eventfd only if it is parked.
type crossChan[T any] struct {
	rt      *Runtime
	ring    []crossSlot[T] // power-of-two length: the channel's capacity
	mask    uint64
	senders atomic.Int64
	closed  atomic.Bool   // the receiver closed
	blocked atomic.Int32  // senders waiting for room; read on every receive
	stop    chan struct{} // closed by the receiver's Close, for Forward
	space   chan struct{} // signalled when a value is taken, for Forward
	forward bool

	// The fields written on every send, on every receive, and when a side
	// blocks live on cache lines of their own, so that senders and the
	// receiver on different cores do not invalidate each other's lines.
	_   cacheLinePad
	enq atomic.Uint64 // next position to fill; senders
	_   cacheLinePad
	deq atomic.Uint64 // next position to take; the receiver
	_   cacheLinePad

	// The receiving task, when it waits: recvKey is written by the receiver
	// before it sets recvWaiting, and read on its runtime's thread.
	recvWaiting atomic.Bool
	recvKey     slab.Key
	wakePosted  atomic.Bool
	_           cacheLinePad

	// Blocked senders: goroutines on notFull, tasks in taskSenders.
	mu          sync.Mutex
	notFull     sync.Cond
	taskSenders []crossWaiter
}

// cacheLinePad separates fields written by different cores (two lines, as
// neighbouring lines are fetched in pairs).
type cacheLinePad [128]byte

type crossSlot[T any] struct {
	seq atomic.Uint64
	val T
}

// crossWaiter is a task of some runtime waiting on a cross channel.
type crossWaiter struct {
	rt  *Runtime
	key slab.Key
}

// CrossSender sends into a runtime from any goroutine. Its methods are safe
// for concurrent use.
type CrossSender[T any] struct {
	c      *crossChan[T]
	closed atomic.Bool
}

// CrossReceiver receives, in a task of its runtime, what other goroutines
// send.
type CrossReceiver[T any] struct {
	c      *crossChan[T]
	closed bool
}

// NewCrossChan makes a bounded FIFO channel from any goroutine into the
// tasks of rt, holding capacity values rounded up to a power of two (at
// least 2). A plain
// goroutine's Send blocks while the channel is full; a task's SendTask
// suspends instead. The receiving task suspends in Recv while it is empty,
// and its runtime is woken only if it is parked. Blocked senders are let go
// once the receiver has emptied half the channel, so that they refill it in
// a batch rather than one value per wake-up.
func NewCrossChan[T any](rt *Runtime, capacity int) (*CrossSender[T], *CrossReceiver[T], error) {
	if rt == nil {
		return nil, nil, errors.New("asyncrt: NewCrossChan called with a nil *Runtime")
	}
	if capacity < 1 || capacity > 1<<30 {
		return nil, nil, fmt.Errorf("asyncrt: channel capacity must be within [1, 2^30], got %d", capacity)
	}
	size := 2 // the slot sequence numbers need two slots to tell full from free
	for size < capacity {
		size *= 2
	}
	c := &crossChan[T]{rt: rt, ring: make([]crossSlot[T], size), mask: uint64(size - 1),
		stop: make(chan struct{}), space: make(chan struct{}, 1)}
	for i := range c.ring {
		c.ring[i].seq.Store(uint64(i))
	}
	c.senders.Store(1)
	c.notFull.L = &c.mu
	return &CrossSender[T]{c: c}, &CrossReceiver[T]{c: c}, nil
}

// tryPush adds v unless the channel is full. Safe from any goroutine.
func (c *crossChan[T]) tryPush(v T) bool {
	pos := c.enq.Load()
	for {
		s := &c.ring[pos&c.mask]
		switch seq := s.seq.Load(); {
		case seq == pos: // the slot is free for this position
			if c.enq.CompareAndSwap(pos, pos+1) {
				s.val = v
				s.seq.Store(pos + 1) // publish
				if c.recvWaiting.Load() && c.wakePosted.CompareAndSwap(false, true) {
					c.rt.inbox.post(c.rt, c)
				}
				return true
			}
			pos = c.enq.Load()
		case seq < pos: // not yet taken by the receiver: full
			return false
		default: // another sender took the position
			pos = c.enq.Load()
		}
	}
}

// tryPop takes the oldest value. Receiver only.
func (c *crossChan[T]) tryPop() (T, bool) {
	var zero T
	pos := c.deq.Load()
	s := &c.ring[pos&c.mask]
	if s.seq.Load() != pos+1 {
		return zero, false
	}
	v := s.val
	s.val = zero
	s.seq.Store(pos + c.mask + 1) // free for the sender one lap later
	c.deq.Store(pos + 1)
	if c.blocked.Load() > 0 && (c.enq.Load()-pos-1 <= c.mask/2 || c.closed.Load()) {
		c.unblockSenders()
	}
	if c.forward {
		select {
		case c.space <- struct{}{}:
		default:
		}
	}
	return v, true
}

// unblockSenders lets the blocked senders retry.
func (c *crossChan[T]) unblockSenders() {
	c.mu.Lock()
	c.notFull.Broadcast()
	waiters := c.taskSenders
	c.taskSenders = nil
	c.blocked.Add(-int32(len(waiters)))
	c.mu.Unlock()
	for _, w := range waiters {
		w.rt.wakeFrom(c.rt, w.key)
	}
}

// runOnRuntime wakes the receiving task: it is the inbox job senders post.
func (c *crossChan[T]) runOnRuntime(rt *Runtime) {
	c.wakePosted.Store(false)
	if c.recvWaiting.Load() {
		rt.wake(c.recvKey)
	}
}

func (*crossChan[T]) refuse() bool { return false }

func (c *crossChan[T]) wakeReceiver() {
	if c.recvWaiting.Load() && c.wakePosted.CompareAndSwap(false, true) {
		c.rt.inbox.post(c.rt, c)
	}
}

// Send puts v in the channel, blocking the calling goroutine while it is
// full. Call it from goroutines that are not tasks; a task must use
// SendTask (calling Send from a task of the receiving runtime panics: it
// would block the thread the receiver needs). It returns a *[SendError]
// wrapping [ErrClosed] once this sender or the receiver is closed.
func (s *CrossSender[T]) Send(v T) error {
	c := s.c
	if c.rt.onRuntime() {
		panic("asyncrt: CrossSender.Send called from a task of the receiving runtime: " +
			"it would block the thread the receiver runs on; use SendTask")
	}
	if s.closed.Load() || c.closed.Load() {
		return &SendError[T]{Value: v, Err: ErrClosed}
	}
	if c.tryPush(v) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blocked.Add(1)
	defer c.blocked.Add(-1)
	for {
		if s.closed.Load() || c.closed.Load() {
			return &SendError[T]{Value: v, Err: ErrClosed}
		}
		// With blocked counted, a receiver taking a value now will signal.
		if c.tryPush(v) {
			return nil
		}
		c.notFull.Wait()
	}
}

// SendTask puts v in the channel from a task of any runtime, suspending it
// while the channel is full.
func (s *CrossSender[T]) SendTask(t *Task, v T) error {
	t.check("CrossSender.SendTask")
	c := s.c
	me := crossWaiter{rt: t.rt, key: t.rec.key}
	for {
		if s.closed.Load() || c.closed.Load() {
			return &SendError[T]{Value: v, Err: ErrClosed}
		}
		if c.tryPush(v) {
			return nil
		}
		c.mu.Lock()
		c.taskSenders = append(c.taskSenders, me)
		c.blocked.Add(1)
		c.mu.Unlock()
		if c.tryPush(v) { // room appeared before we were counted
			c.removeWaiter(me.key, true)
			return nil
		}
		t.rt.externalWaits++
		t.chanWait = chanWaitReg{c: c, send: true, external: true}
		t.wait = &t.chanWait
		t.suspend()
		t.wait = nil
		t.rt.externalWaits--
		c.removeWaiter(me.key, true)
	}
}

// TrySend puts v in the channel if there is room now; it never blocks. It
// returns a *[SendError] wrapping [ErrFull] or [ErrClosed] otherwise.
func (s *CrossSender[T]) TrySend(v T) error {
	c := s.c
	switch {
	case s.closed.Load() || c.closed.Load():
		return &SendError[T]{Value: v, Err: ErrClosed}
	case !c.tryPush(v):
		return &SendError[T]{Value: v, Err: ErrFull}
	}
	return nil
}

// Clone returns another sender on the same channel.
func (s *CrossSender[T]) Clone() *CrossSender[T] {
	n := &CrossSender[T]{c: s.c}
	if s.closed.Load() {
		n.closed.Store(true)
	} else {
		s.c.senders.Add(1)
	}
	return n
}

// Close closes this sender. Once every sender is closed, the receiver gets
// what is still buffered, then ErrClosed. Closing twice is harmless.
func (s *CrossSender[T]) Close() {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	c := s.c
	if c.senders.Add(-1) == 0 {
		c.wakeReceiver()
	}
	c.mu.Lock()
	c.notFull.Broadcast() // blocked Sends of this sender return ErrClosed
	c.mu.Unlock()
}

// Recv takes the oldest value, suspending t while the channel is empty.
// Once every sender is closed and the buffer drained (or after the
// receiver's Close), it returns [ErrClosed]. A task waiting here keeps the
// runtime from reporting a deadlock: senders are other goroutines.
func (r *CrossReceiver[T]) Recv(t *Task) (T, error) {
	c := r.c
	t.check("CrossReceiver.Recv")
	if t.rt != c.rt {
		panic("asyncrt: CrossReceiver.Recv called by a task of another runtime")
	}
	for {
		v, err := r.tryRecv()
		if err != ErrEmpty {
			return v, err
		}
		c.recvKey = t.rec.key
		c.recvWaiting.Store(true)
		// Look again now that senders can see the flag.
		if c.enq.Load() != c.deq.Load() || c.senders.Load() == 0 {
			c.recvWaiting.Store(false)
			continue
		}
		t.rt.externalWaits++
		t.chanWait = chanWaitReg{c: c, external: true}
		t.wait = &t.chanWait
		t.suspend()
		t.wait = nil
		t.rt.externalWaits--
		c.recvWaiting.Store(false)
	}
}

// TryRecv takes the oldest value if there is one: [ErrEmpty] if there is
// none, [ErrClosed] if there will be none.
func (r *CrossReceiver[T]) TryRecv() (T, error) {
	r.c.rt.mustBeOnRuntime("CrossReceiver.TryRecv")
	return r.tryRecv()
}

func (r *CrossReceiver[T]) tryRecv() (T, error) {
	c := r.c
	var zero T
	if r.closed {
		return zero, ErrClosed
	}
	if v, ok := c.tryPop(); ok {
		return v, nil
	}
	if c.senders.Load() == 0 {
		// Every sender has closed, so every send has finished: a value
		// published before the last Close is visible now.
		if v, ok := c.tryPop(); ok {
			return v, nil
		}
		return zero, ErrClosed
	}
	return zero, ErrEmpty
}

// removeWaiter withdraws a waiting task (the receiver, or a sender).
func (c *crossChan[T]) removeWaiter(k slab.Key, send bool) {
	if !send {
		if c.recvKey == k {
			c.recvWaiting.Store(false)
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, w := range c.taskSenders {
		if w.key == k {
			c.taskSenders = append(c.taskSenders[:i], c.taskSenders[i+1:]...)
			c.blocked.Add(-1)
			return
		}
	}
}

// Close closes the receiving end: buffered values are dropped, and blocked
// or later sends return ErrClosed with their value.
func (r *CrossReceiver[T]) Close() {
	c := r.c
	c.rt.mustBeOnRuntime("CrossReceiver.Close")
	if r.closed {
		return
	}
	r.closed = true
	c.closed.Store(true)
	for {
		if _, ok := c.tryPop(); !ok {
			break
		}
	}
	c.mu.Lock()
	waiters := c.taskSenders
	c.notFull.Broadcast()
	close(c.stop)
	c.mu.Unlock()
	for _, w := range waiters {
		w.rt.wakeFrom(c.rt, w.key)
	}
}

// Len returns the number of buffered values.
func (r *CrossReceiver[T]) Len() int { return int(r.c.enq.Load() - r.c.deq.Load()) }

// wakeFrom wakes task k of rt from the thread of runtime from: directly when
// that is rt's own thread, through rt's inbox otherwise.
func (rt *Runtime) wakeFrom(from *Runtime, k slab.Key) {
	if from == rt {
		rt.wake(k)
		return
	}
	rt.inbox.post(rt, wakeJob{k})
}

type wakeJob struct{ k slab.Key }

func (j wakeJob) runOnRuntime(rt *Runtime) { rt.wake(j.k) }
func (wakeJob) refuse() bool               { return false }

// Forward starts a goroutine that moves values from the Go channel ch into
// a new cross channel of rt with the given capacity, so that a task can
// receive from ch without blocking its runtime. When ch is closed and
// drained, the receiver gets ErrClosed. Closing the receiver, or the
// runtime, stops the goroutine; a value it had already taken from ch is then
// dropped.
func Forward[T any](rt *Runtime, ch <-chan T, capacity int) (*CrossReceiver[T], error) {
	if ch == nil {
		return nil, errors.New("asyncrt: Forward called with a nil channel")
	}
	s, r, err := NewCrossChan[T](rt, capacity)
	if err != nil {
		return nil, err
	}
	c := r.c
	c.forward = true
	go func() {
		defer s.Close()
		for {
			var v T
			select {
			case got, ok := <-ch:
				if !ok {
					return
				}
				v = got
			case <-c.stop:
				return
			case <-rt.exited:
				return
			}
			for {
				err := s.TrySend(v)
				if err == nil {
					break
				}
				if errors.Is(err, ErrClosed) {
					return
				}
				select {
				case <-c.space:
				case <-c.stop:
					return
				case <-rt.exited:
					return
				}
			}
		}
	}()
	return r, nil
}
