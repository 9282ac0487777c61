package asyncrt

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// crossChan is a channel from any goroutine into one runtime. Values go
// through a bounded lock-free multi-producer ring, so a send costs one
// compare-and-swap; a mutex is taken only to block and unblock senders when
// the ring is full. A sender publishes a value by stamping its slot with the
// position it filled; the receiver frees slots by advancing deq, which
// senders read only when the room they last saw runs out, so that while the
// receiver keeps up the only cache lines crossing between the cores are the
// slots' as they fill. Receiving tasks wait in a queue of the runtime; a sender
// that finds them waiting posts one job to the runtime's inbox, which pokes
// the runtime's eventfd only if it is parked.
type crossChan[T any] struct {
	rt    *Runtime
	group *Group         // NewGroupChan: only the group's runtimes send
	ring  []crossSlot[T] // power-of-two length: the channel's capacity
	mask  uint64
	clear bool // T holds pointers: the receiver zeroes the slots it takes
	// multi: GOMAXPROCS was above 1 when the channel was made, so a sender
	// can run while the receiver watches (see awaitValue). Read once:
	// runtime.GOMAXPROCS takes the scheduler's lock.
	multi   bool
	senders atomic.Int64
	closed  atomic.Bool   // the receiver closed
	stop    chan struct{} // closed by the receiver's Close, for Forward
	space   chan struct{} // signalled when a value is taken, for Forward
	forward bool

	// The fields written on every send, on every receive, and when a side
	// blocks live on cache lines of their own, so that senders and the
	// receiver on different cores do not invalidate each other's lines.
	_   cacheLinePad
	enq atomic.Uint64 // next position to fill; senders
	// deqSeen is a value of deq that senders read: positions before
	// deqSeen+len(ring) have room. It lags deq, which senders read only to
	// refresh it, so they rarely touch the receiver's line.
	deqSeen atomic.Uint64
	_       cacheLinePad
	deq     atomic.Uint64 // next position to take; the receiver
	_       cacheLinePad

	// recvWaiting says receiving tasks wait in recvQ (the runtime's), so a
	// sender must post a wake-up; wakePosted coalesces those posts.
	recvWaiting atomic.Bool
	wakePosted  atomic.Bool
	recvQ       WaitQueue
	_           cacheLinePad

	// Blocked senders: goroutines on notFull (goBlocked counts them), tasks
	// of any runtime in sendQ.
	mu        sync.Mutex
	notFull   sync.Cond
	goBlocked atomic.Int32
	sendQ     SharedWaitQueue
}

// cacheLinePad separates fields written by different cores (two lines, as
// neighbouring lines are fetched in pairs).
type cacheLinePad [128]byte

// crossSlot is one place of the ring: seq is pos+1 once the value for
// position pos is published there, and anything else until then.
type crossSlot[T any] struct {
	seq atomic.Uint64
	val T
}

// CrossSender sends into a runtime from any goroutine. Its methods are safe
// for concurrent use.
type CrossSender[T any] struct {
	c      *crossChan[T]
	closed atomic.Bool
}

// CrossReceiver receives, in tasks of its runtime, what other goroutines
// send. Any number of the runtime's tasks may receive through it at once:
// each value goes to one of them, in the order they started waiting.
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
	size := 2 // as documented; one slot would do
	for size < capacity {
		size *= 2
	}
	c := &crossChan[T]{
		rt: rt, ring: make([]crossSlot[T], size), mask: uint64(size - 1),
		clear: hasPointers(reflect.TypeFor[T]()), multi: runtime.GOMAXPROCS(0) > 1,
		stop: make(chan struct{}), space: make(chan struct{}, 1),
	}
	c.senders.Store(1)
	c.notFull.L = &c.mu
	c.recvQ.external = true
	return &CrossSender[T]{c: c}, &CrossReceiver[T]{c: c}, nil
}

// tryPush adds v unless the channel is full. Safe from any goroutine.
func (c *crossChan[T]) tryPush(v T) bool {
	size := int64(c.mask + 1)
	pos := c.enq.Load()
	for {
		// Signed: pos may be stale, behind a deq that has since passed it;
		// the compare-and-swap below then fails and pos is read again.
		if int64(pos-c.deqSeen.Load()) >= size {
			deq := c.deq.Load()
			c.deqSeen.Store(deq) // racing senders may store older values: that only costs a refresh
			if int64(pos-deq) >= size {
				return false // full: the receiver has not taken position pos-size
			}
		}
		if c.enq.CompareAndSwap(pos, pos+1) {
			// deq > pos-size: the receiver is done with the slot.
			s := &c.ring[pos&c.mask]
			s.val = v
			s.seq.Store(pos + 1) // publish
			c.wakeReceivers()
			return true
		}
		pos = c.enq.Load()
	}
}

// wakeReceivers has the runtime wake its receiving tasks, if any wait.
func (c *crossChan[T]) wakeReceivers() {
	if c.recvWaiting.Load() && c.wakePosted.CompareAndSwap(false, true) {
		c.rt.inbox.post(c.rt, c)
	}
}

// tryPop takes the oldest value. Runtime's thread only.
func (c *crossChan[T]) tryPop() (T, bool) {
	var zero T
	pos := c.deq.Load()
	s := &c.ring[pos&c.mask]
	if s.seq.Load() != pos+1 {
		return zero, false
	}
	v := s.val
	if c.clear {
		s.val = zero
	}
	c.deq.Store(pos + 1) // frees the slot for the sender one lap later
	if (c.goBlocked.Load() > 0 || c.sendQ.Len() > 0) && (c.enq.Load()-pos-1 <= c.mask/2 || c.closed.Load()) {
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

// recvSpin is how long a receiver that finds the channel empty watches it
// before it suspends. A value sent meanwhile is taken without the round
// trip through the runtime's inbox that wakes a suspended receiver (the
// sender's post, the runtime taking it, the receiver's wake-up), which is
// most of the cost of a value when a sender streams into a channel the
// receiver keeps empty: CrossChanSend/cap1 gave 645 ns a value without the
// watch and 126 ns with it (a Go channel of one: 102 ns). Idle, the watch
// costs each blocking Recv 0.5 µs of CPU.
const recvSpin = 500 * time.Nanosecond

// awaitValue watches the channel briefly for the next value, when that can
// pay: no other task is ready, no other receiver waits, t is not unwinding
// (an aborted or timed-out task must stop at its suspension point, not take
// a value), a sender is still open, and another goroutine can run to send.
// It reports whether the value was published. A simulated runtime does not
// watch: what it sees must not depend on how fast another goroutine is.
func (c *crossChan[T]) awaitValue(t *Task) bool {
	rt := t.rt
	if rt.ready.len() > 0 || !c.recvQ.Empty() || rt.sim != nil || t.rec.signal != 0 ||
		c.senders.Load() == 0 || !c.multi {
		return false
	}
	pos := c.deq.Load()
	s := &c.ring[pos&c.mask]
	start := time.Now()
	for s.seq.Load() != pos+1 {
		// Reading the clock between looks paces them: a look while the
		// sender writes the slot's cache line takes the line from it.
		if time.Since(start) > recvSpin {
			return false
		}
	}
	return true
}

// avail returns how many values senders have claimed room for.
func (c *crossChan[T]) avail() int { return int(c.enq.Load() - c.deq.Load()) }

// unblockSenders lets the blocked senders retry.
func (c *crossChan[T]) unblockSenders() {
	c.mu.Lock()
	c.notFull.Broadcast()
	c.mu.Unlock()
	c.sendQ.WakeAll()
}

// runOnRuntime is the job senders post: wake receiving tasks for the values
// that arrived.
func (c *crossChan[T]) runOnRuntime(*Runtime) {
	c.wakePosted.Store(false)
	c.settle()
}

// settle wakes as many waiting receivers as there are values not yet
// promised to woken ones (all of them once every sender is gone), and tells
// senders whether receivers still wait. Runtime's thread only.
func (c *crossChan[T]) settle() {
	q := &c.recvQ
	if c.senders.Load() == 0 || c.closed.Load() {
		q.WakeAll()
	}
	for q.n > 0 && c.avail() > q.woken {
		q.WakeOne()
	}
	// Woken receivers count as waiting: one that finds the value it was
	// woken for not yet published waits again.
	c.recvWaiting.Store(q.n > 0 || q.woken > 0)
}

func (*crossChan[T]) refuse() bool { return false }

// Send puts v in the channel, blocking the calling goroutine while it is
// full. Call it from goroutines that are not tasks; a task must use
// SendTask (calling Send from a task of the receiving runtime panics: it
// would block the thread the receiver needs). It returns a *[SendError]
// wrapping [ErrChanClosed] once this sender or the receiver is closed.
func (s *CrossSender[T]) Send(v T) error {
	c := s.c
	c.checkGroupSender("CrossSender.Send")
	if c.rt.onRuntime() {
		panic("asyncrt: CrossSender.Send called from a task of the receiving runtime: " +
			"it would block the thread the receiver runs on; use SendTask")
	}
	if s.closed.Load() || c.closed.Load() {
		return &SendError[T]{Op: "CrossSender.Send", Value: v, Err: ErrChanClosed}
	}
	if c.tryPush(v) || c.spinPush(v) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.goBlocked.Add(1)
	defer c.goBlocked.Add(-1)
	for {
		if s.closed.Load() || c.closed.Load() {
			return &SendError[T]{Op: "CrossSender.Send", Value: v, Err: ErrChanClosed}
		}
		// With blocked counted, a receiver taking a value now will signal.
		if c.tryPush(v) {
			return nil
		}
		c.notFull.Wait()
	}
}

// sendSpin is how long a goroutine's Send retries a full channel before it
// blocks. A blocked sender is woken by the runtime's thread, and the Go
// scheduler queues a goroutine woken there behind that thread, which is
// locked and does not give its processor up until it parks: the woken
// sender can wait tens of microseconds for a CPU. A sender that retries
// for a moment needs no waking when the receiver keeps up.
const sendSpin = 20 * time.Microsecond

// spinPush retries tryPush for up to sendSpin, letting other goroutines run
// between tries.
func (c *crossChan[T]) spinPush(v T) bool {
	start := time.Now()
	for time.Since(start) < sendSpin {
		runtime.Gosched()
		if c.closed.Load() {
			return false // Send reports it
		}
		if c.tryPush(v) {
			return true
		}
	}
	return false
}

// SendTask puts v in the channel from a task of any runtime, suspending it
// while the channel is full. Blocked tasks retry once the receiver has
// emptied half the channel.
func (s *CrossSender[T]) SendTask(t *Task, v T) error {
	t.check("CrossSender.SendTask")
	c := s.c
	c.checkGroupTask(t, "CrossSender.SendTask")
	for {
		if s.closed.Load() || c.closed.Load() {
			return &SendError[T]{Op: "CrossSender.SendTask", Value: v, Err: ErrChanClosed}
		}
		if c.tryPush(v) {
			return nil
		}
		w := c.sendQ.enqueue(t, peers(t.rt, c.rt))
		// Look again now that the receiver can see a sender waiting.
		if c.tryPush(v) {
			w.Release()
			return nil
		}
		if !s.closed.Load() && !c.closed.Load() {
			t.waitRegs()
		}
		w.Release()
	}
}

// TrySend puts v in the channel if there is room now; it never blocks. It
// returns a *[SendError] wrapping [ErrFull] or [ErrChanClosed] otherwise.
func (s *CrossSender[T]) TrySend(v T) error {
	c := s.c
	c.checkGroupSender("CrossSender.TrySend")
	switch {
	case s.closed.Load() || c.closed.Load():
		return &SendError[T]{Op: "CrossSender.TrySend", Value: v, Err: ErrChanClosed}
	case !c.tryPush(v):
		return &SendError[T]{Op: "CrossSender.TrySend", Value: v, Err: ErrFull}
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
// what is still buffered, then ErrChanClosed. Closing twice is harmless.
func (s *CrossSender[T]) Close() {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	c := s.c
	if c.senders.Add(-1) == 0 {
		c.recvWaiting.Store(true) // whatever it was: the receivers must learn of the close
		c.wakeReceivers()
	}
	c.mu.Lock()
	c.notFull.Broadcast() // blocked Sends of this sender return ErrChanClosed
	c.mu.Unlock()
	c.sendQ.WakeAll()
}

// Recv takes the oldest value, suspending t while the channel is empty.
// Finding it empty when no other task is ready and no other task waits to
// receive, Recv first watches it for half a microsecond (not under a
// [SimClock], nor if GOMAXPROCS was 1 when the channel was made): a value a sender is about to publish
// is then taken without suspending. Waiting tasks are served in the order they
// started waiting. Once every
// sender is closed and the buffer drained (or after the receiver's Close),
// it returns [ErrChanClosed]. A task waiting here keeps the runtime from
// reporting a deadlock: senders are other goroutines (except on a channel
// made by [NewGroupChan], where only the group's runtimes send: see
// [Group]).
func (r *CrossReceiver[T]) Recv(t *Task) (T, error) {
	c := r.c
	t.check("CrossReceiver.Recv")
	if t.rt != c.rt {
		panic("asyncrt: CrossReceiver.Recv called by a task of another runtime")
	}
	// With no wake in flight nothing is promised, and the value to take
	// is the one at deq: looking at its slot does not need enq, the
	// senders' cache line, which reading would take from them.
	if q := &c.recvQ; q.woken == 0 || c.avail() > q.woken {
		if v, err := r.tryRecv(); err != ErrEmpty {
			return v, recvErr(err)
		}
	}
	var zero T
	if r.closed {
		return zero, errCrossRecvClosed
	}
	if c.awaitValue(t) {
		if v, err := r.tryRecv(); err != ErrEmpty {
			return v, recvErr(err)
		}
	}
	w := t.Enqueue(&c.recvQ)
	c.recvWaiting.Store(true)
	c.settle() // look again now that senders can see the flag
	for {
		t.waitRegs()
		if w.Woken() && (w.n.counted || c.avail() > c.recvQ.woken) {
			if v, ok := c.tryPop(); ok {
				w.Release()
				c.settle()
				return v, nil
			}
		}
		if r.closed || c.closed.Load() || c.senders.Load() == 0 && c.avail() == 0 {
			w.Cancel()
			v, err := r.tryRecv()
			if err == ErrEmpty {
				err = ErrChanClosed
			}
			return v, recvErr(err)
		}
	}
}

// recvErr names CrossReceiver.Recv in a closed channel's error.
func recvErr(err error) error {
	if err == ErrChanClosed {
		return errCrossRecvClosed
	}
	return err
}

// TryRecv takes the oldest value if there is one: [ErrEmpty] if there is
// none, [ErrChanClosed] if there will be none.
func (r *CrossReceiver[T]) TryRecv() (T, error) {
	r.c.rt.mustBeOnRuntime("CrossReceiver.TryRecv")
	v, err := r.tryRecv()
	switch err {
	case ErrEmpty:
		err = errCrossTryRecvEmpty
	case ErrChanClosed:
		err = errCrossTryRecvClosed
	}
	return v, err
}

func (r *CrossReceiver[T]) tryRecv() (T, error) {
	c := r.c
	var zero T
	if r.closed {
		return zero, ErrChanClosed
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
		return zero, ErrChanClosed
	}
	return zero, ErrEmpty
}

// Close closes the receiving end: buffered values are dropped, and blocked
// or later sends return ErrChanClosed with their value.
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
	c.notFull.Broadcast()
	close(c.stop)
	c.mu.Unlock()
	c.sendQ.WakeAll()
	c.recvQ.WakeAll()
}

// Len returns the number of buffered values.
func (r *CrossReceiver[T]) Len() int { return int(r.c.enq.Load() - r.c.deq.Load()) }

// Forward starts a goroutine that moves values from the Go channel ch into
// a new cross channel of rt with the given capacity, so that a task can
// receive from ch without blocking its runtime. When ch is closed and
// drained, the receiver gets ErrChanClosed. Closing the receiver, or the
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
				if errors.Is(err, ErrChanClosed) {
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

// NewGroupChan makes a channel between the runtimes of g: a cross channel
// (see [NewCrossChan]) into the tasks of runtime to, that only the group's
// runtimes send to, from their tasks (SendTask, [OnCrossSend]) or their
// threads (TrySend, Send). Because nothing outside the group can feed it, a
// task waiting to receive from it waits on the group, and [Group.Run] can
// tell a group whose runtimes all wait on one another, which is deadlocked,
// from one that waits on the outside world. Send to a runtime of the group
// from other goroutines with [NewCrossChan].
//
// Sending from a goroutine or a task outside the group panics. A sender may
// be closed from anywhere, but a group waiting for a close from outside is
// not waited for: it is found deadlocked (see [Group]). It panics if
// to is out of range.
func NewGroupChan[T any](g *Group, to int, capacity int) (*CrossSender[T], *CrossReceiver[T], error) {
	if g == nil {
		return nil, nil, errors.New("asyncrt: NewGroupChan called with a nil *Group")
	}
	g.checkIndex("NewGroupChan", to)
	s, r, err := NewCrossChan[T](g.rts[to], capacity)
	if err != nil {
		return nil, nil, fmt.Errorf("asyncrt: NewGroupChan: %w", err)
	}
	s.c.group = g
	s.c.recvQ.peer = true
	return s, r, nil
}

// checkGroupSender panics if c is a group channel and the caller is not on
// one of the group's runtimes.
func (c *crossChan[T]) checkGroupSender(op string) {
	if c.group == nil {
		return
	}
	for _, rt := range c.group.rts {
		if rt.onRuntime() {
			return
		}
	}
	panic("asyncrt: " + op + " called from outside the group on a channel made by NewGroupChan: " +
		"only the group's runtimes send to it; feed a runtime from other goroutines through NewCrossChan")
}

// checkGroupTask panics if c is a group channel and t is not a task of one
// of the group's runtimes.
func (c *crossChan[T]) checkGroupTask(t *Task, op string) {
	if c.group != nil && t.rt.group != c.group {
		panic("asyncrt: " + op + " called by a task outside the group on a channel made by NewGroupChan: " +
			"only the group's runtimes send to it; use NewCrossChan for a channel between runtimes of no common group")
	}
}

// hasPointers reports whether values of type t hold pointers the garbage
// collector follows.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true // pointers, strings, slices, maps, channels, functions, interfaces
}
