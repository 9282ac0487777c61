package asyncrt

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt/internal/gid"
	"github.com/orrery-go/orrery/asyncrt/internal/wheel"
	"github.com/orrery-go/orrery/reactor"
	"github.com/orrery-go/orrery/slab"
)

// ioRec is a file descriptor registered with the runtime's poller,
// edge-triggered. It caches readiness per direction: an operation tries its
// system call first and waits only after EAGAIN, until the poller reports a
// new edge. Each direction has its own waiter, so one task can read while
// another writes.
type ioRec struct {
	fd    int
	token uint64
	dirs  [2]ioDir
	// hungUp: the poller reported a hangup or an error. Reads no longer
	// block, and no further edge will say so.
	hungUp bool
}

const (
	dirRead  = 0
	dirWrite = 1
)

type ioDir struct {
	ready    bool
	waiters  WaitQueue // external: the kernel feeds it
	deadline int64     // 0: none
	timer    wheel.Timer
	expired  bool
}

// register adds fd to the poller and returns its record. Both directions
// start ready: the first operation tries its system call.
func (rt *Runtime) register(fd int) (slab.Key, *ioRec, error) {
	k, rec, err := rt.ios.Alloc()
	if err != nil {
		return slab.Key{}, nil, err
	}
	rt.ioGen++
	*rec = ioRec{fd: fd, token: uint64(k.Index())<<32 | uint64(rt.ioGen)}
	for d := range rec.dirs {
		rec.dirs[d].ready = true
		rec.dirs[d].waiters.external = true
	}
	if err := rt.poller.Register(fd, rec.token, reactor.Readable|reactor.Writable); err != nil {
		rt.ios.Delete(k)
		return slab.Key{}, nil, err
	}
	rt.ioRegistered++
	rt.cycleExtras++
	return k, rec, nil
}

// deregister removes the record and wakes its waiters, who find the
// registration gone and report os.ErrClosed. The caller closes the fd.
func (rt *Runtime) deregister(k slab.Key) {
	rec, ok := rt.ios.Get(k)
	if !ok {
		return
	}
	_ = rt.poller.Deregister(rec.fd)
	for d := range rec.dirs {
		rt.timers.Cancel(rec.dirs[d].timer)
		rec.dirs[d].waiters.WakeAll() // before the record's memory is reused
	}
	rt.ios.Delete(k)
	rt.ioRegistered--
	rt.cycleExtras--
}

// dispatch applies a readiness event.
func (rt *Runtime) dispatch(ev reactor.Event) {
	_, rec, ok := rt.ios.At(uint32(ev.Token >> 32))
	if !ok || rec.token != ev.Token {
		return // a registration since closed
	}
	if ev.Hangup || ev.Error {
		rec.hungUp = true
	}
	if ev.Readable {
		rec.dirs[dirRead].ready = true
		rec.dirs[dirRead].waiters.WakeAll()
	}
	if ev.Writable {
		rec.dirs[dirWrite].ready = true
		rec.dirs[dirWrite].waiters.WakeAll()
	}
}

// waitIO suspends t until direction dir of registration k may be ready
// again. It returns os.ErrClosed if the registration was closed and
// os.ErrDeadlineExceeded if the direction's deadline passed. Any number of
// tasks may wait on one direction; an edge wakes them all.
func (rt *Runtime) waitIO(t *Task, k slab.Key, dir int) error {
	for {
		rec, ok := rt.ios.Get(k)
		if !ok {
			return os.ErrClosed
		}
		d := &rec.dirs[dir]
		switch {
		case d.expired:
			return os.ErrDeadlineExceeded
		case d.ready:
			return nil
		}
		w := t.Enqueue(&d.waiters)
		t.waitRegs()
		w.Release()
	}
}

// notReady records EAGAIN: the direction waits for the next edge.
func (rt *Runtime) notReady(k slab.Key, dir int) {
	if rec, ok := rt.ios.Get(k); ok {
		rec.dirs[dir].ready = false
	}
}

// setDeadline sets or clears (zero at) the deadline of a direction. A
// deadline already past expires at once, waking a waiter.
func (rt *Runtime) setDeadline(k slab.Key, dir int, at time.Time) error {
	rec, ok := rt.ios.Get(k)
	if !ok {
		return os.ErrClosed
	}
	d := &rec.dirs[dir]
	rt.timers.Cancel(d.timer)
	d.timer, d.deadline, d.expired = wheel.Timer{}, 0, false
	if at.IsZero() {
		return nil
	}
	d.deadline = rt.toNanos(at)
	if d.deadline <= rt.eventTime() {
		d.expired = true
		d.waiters.WakeAll()
		return nil
	}
	d.timer = rt.timers.Schedule(d.deadline, timerEvent{key: k, arg: uint64(dir), kind: timerIO})
	return nil
}

// fireIODeadline expires a direction's deadline.
func (rt *Runtime) fireIODeadline(k slab.Key, dir int) {
	rec, ok := rt.ios.Get(k)
	if !ok {
		return
	}
	d := &rec.dirs[dir]
	d.timer, d.expired = wheel.Timer{}, true
	d.waiters.WakeAll()
}

// FD is a non-blocking file descriptor registered with a runtime's epoll
// poller, edge-triggered, for reading and writing: a socket, an eventfd, a
// timerfd, inotify, a pipe, or the descriptor of a third-party library. The
// package's own TCP and UDP (package socket) are built on it and nothing
// else.
//
// Readiness is cached per direction. The pattern is: try the system call;
// on EAGAIN call ClearReadable (or ClearWritable) and wait with WaitReadable
// (or WaitWritable), which returns once the poller reports a new edge; then
// try again. Any number of tasks may wait on one direction; an edge wakes
// them all. Each direction has a deadline on the runtime's timer wheel.
//
// An FD belongs to its runtime: use it from that runtime's tasks. Three
// methods are the exception, safe from any goroutine (as net.Conn's Close
// and deadlines are): [FD.Close], [FD.SetReadDeadline] and
// [FD.SetWriteDeadline]. Called from another goroutine they hand the work to
// the runtime's thread, which does it at the start of its next cycle (a
// parked runtime is woken for it), so that the descriptor is never closed
// under a system call of a task, nor its number reused while a task still
// holds it. [FD.Fd] and [FD.Runtime] are safe from any goroutine too.
type FD struct {
	rt     *Runtime
	key    slab.Key
	fd     int
	closed atomic.Bool // Close or Deregister was called, on any goroutine
	// Deadlines set from other goroutines wait here for the runtime's
	// thread (see setDeadline).
	dlMu     sync.Mutex
	dlAt     [2]time.Time
	dlDirty  atomic.Uint32 // per direction (1<<dir): dlAt[dir] is not applied yet
	dlPosted bool          // a job to apply them is in the inbox
}

// RegisterFD registers fd, which must be non-blocking, with the poller of
// t's runtime. Both directions start ready, so the first operation tries its
// system call. The FD does not own fd until Close: Deregister leaves it open.
func RegisterFD(t *Task, fd int) (*FD, error) {
	t.check("RegisterFD")
	if fd < 0 {
		return nil, fmt.Errorf("asyncrt: RegisterFD(%d): not a file descriptor", fd)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil, fmt.Errorf("asyncrt: RegisterFD(%d): %w", fd, os.NewSyscallError("fcntl", err))
	}
	if flags&unix.O_NONBLOCK == 0 {
		return nil, fmt.Errorf("asyncrt: RegisterFD(%d): the descriptor is blocking; "+
			"open it with O_NONBLOCK (or unix.SetNonblock) so that it cannot stall the runtime", fd)
	}
	k, _, err := t.rt.register(fd)
	if err != nil {
		return nil, fmt.Errorf("asyncrt: RegisterFD(%d): %w", fd, err)
	}
	return &FD{rt: t.rt, key: k, fd: fd}, nil
}

// Fd returns the descriptor.
func (f *FD) Fd() int { return f.fd }

// Runtime returns the runtime the descriptor is registered with.
func (f *FD) Runtime() *Runtime { return f.rt }

func (f *FD) check(t *Task, op string) {
	t.check(op)
	if t.rt != f.rt {
		panic("asyncrt: " + op + " called by a task of another runtime; an FD belongs to the runtime it was registered with")
	}
}

// elsewhere reports whether the caller is not on the runtime's thread: a
// goroutine of its own, a task of another runtime, or anyone once the
// runtime is closed (its thread is gone, and its goroutine's identity may
// have been reused). Where goroutine identities cannot be read, every caller
// is taken to be on the thread, as the package's other checks do.
func (f *FD) elsewhere() bool {
	return f.rt.closed.Load() || gid.Supported && !f.rt.onRuntime()
}

// WaitReadable suspends t until the descriptor may be readable: at once if
// no EAGAIN was recorded since the last edge, otherwise until the next one.
// It returns os.ErrDeadlineExceeded once the read deadline has passed and
// os.ErrClosed once the FD is deregistered or closed (a task already
// waiting when another goroutine closes it wakes with os.ErrClosed).
func (f *FD) WaitReadable(t *Task) error {
	f.check(t, "FD.WaitReadable")
	if f.closed.Load() {
		return os.ErrClosed
	}
	return f.rt.waitIO(t, f.key, dirRead)
}

// WaitWritable is WaitReadable for writing.
func (f *FD) WaitWritable(t *Task) error {
	f.check(t, "FD.WaitWritable")
	if f.closed.Load() {
		return os.ErrClosed
	}
	return f.rt.waitIO(t, f.key, dirWrite)
}

// ClearReadable records that a read found nothing (EAGAIN): the next
// WaitReadable waits for a new edge.
func (f *FD) ClearReadable() {
	f.rt.mustBeOnRuntime("FD.ClearReadable")
	f.rt.notReady(f.key, dirRead)
}

// HungUp reports whether the poller has seen the peer hang up, or an
// error, on the descriptor. From then on a read does not block (it returns
// end of file or the error) and the poller reports no new edge for it: code
// that, after a read that emptied the receive queue, waits for the next edge
// instead of reading must read at once when HungUp is true. It must be
// called on the runtime's thread.
func (f *FD) HungUp() bool {
	f.rt.mustBeOnRuntime("FD.HungUp")
	rec, ok := f.rt.ios.Get(f.key)
	return ok && rec.hungUp
}

// ClearWritable records that a write found no room (EAGAIN).
func (f *FD) ClearWritable() {
	f.rt.mustBeOnRuntime("FD.ClearWritable")
	f.rt.notReady(f.key, dirWrite)
}

// SetReadDeadline sets (or, with the zero time, clears) the read deadline:
// once it has passed, waiting and later waits for reading fail with
// os.ErrDeadlineExceeded until it is moved. A time already past expires at
// once. It returns os.ErrClosed once the FD is closed or deregistered, or
// its runtime closed.
//
// It is safe from any goroutine. From one that is not the runtime's, the
// deadline takes effect when the runtime's thread takes it, at the start of
// its next cycle, for tasks already waiting too; the runtime applies the
// latest deadline set for the direction, from whichever goroutine, so a
// deadline set later on the runtime's thread is never overwritten by one an
// earlier call handed over.
func (f *FD) SetReadDeadline(at time.Time) error { return f.setDeadline(dirRead, at) }

// SetWriteDeadline is SetReadDeadline for writing.
func (f *FD) SetWriteDeadline(at time.Time) error { return f.setDeadline(dirWrite, at) }

func (f *FD) setDeadline(dir int, at time.Time) error {
	if f.closed.Load() {
		return os.ErrClosed
	}
	bit := uint32(1) << dir
	if !f.elsewhere() {
		if f.dlDirty.Load()&bit != 0 {
			// A deadline handed over from another goroutine is pending:
			// this one is later and replaces it.
			f.dlMu.Lock()
			f.dlDirty.And(^bit)
			f.dlMu.Unlock()
		}
		return f.rt.setDeadline(f.key, dir, at)
	}
	if f.rt.closed.Load() {
		return os.ErrClosed // nothing can wait any more
	}
	f.dlMu.Lock()
	f.dlAt[dir] = at
	f.dlDirty.Or(bit)
	post := !f.dlPosted
	f.dlPosted = true
	f.dlMu.Unlock()
	if post && !f.rt.inbox.post(f.rt, fdDeadlines{f}) {
		f.dlMu.Lock()
		f.dlPosted = false
		f.dlMu.Unlock()
		return os.ErrClosed // the runtime has closed meanwhile
	}
	return nil
}

// fdDeadlines applies, on the runtime's thread, the deadlines other
// goroutines set.
type fdDeadlines struct{ f *FD }

func (j fdDeadlines) runOnRuntime(rt *Runtime) {
	f := j.f
	f.dlMu.Lock()
	f.dlPosted = false
	dirty := f.dlDirty.Swap(0)
	at := f.dlAt
	f.dlMu.Unlock()
	if f.closed.Load() {
		return
	}
	for dir := range at {
		if dirty&(1<<dir) != 0 {
			_ = rt.setDeadline(f.key, dir, at[dir])
		}
	}
}

func (fdDeadlines) refuse() bool { return false }

// Deregister removes the descriptor from the poller without closing it.
// Tasks waiting on it wake with os.ErrClosed. Deregistering twice, or after
// Close, returns os.ErrClosed. Unlike Close, it must be called on the
// runtime's thread: the caller owns the descriptor again when it returns.
func (f *FD) Deregister() error {
	f.rt.mustBeOnRuntime("FD.Deregister")
	if f.rt.closed.Load() || !f.closed.CompareAndSwap(false, true) {
		return os.ErrClosed
	}
	f.rt.deregister(f.key)
	return nil
}

// Close deregisters the descriptor and closes it. Tasks waiting on it wake
// with os.ErrClosed. Closing twice, or after Deregister, returns
// os.ErrClosed.
//
// It is safe from any goroutine. From one that is not the runtime's, the FD
// counts as closed as soon as Close returns (its waits and deadline setters
// report os.ErrClosed), and the runtime's thread deregisters and closes the
// descriptor at the start of its next cycle, waking its waiters; Close then
// returns nil without waiting, and an error of close(2) goes unreported. If
// the runtime is not being driven (no BlockOn running), that happens at the
// next BlockOn or at Runtime.Close; after Runtime.Close, Close closes the
// descriptor at once.
func (f *FD) Close() error {
	if !f.elsewhere() {
		if err := f.Deregister(); err != nil {
			return err
		}
		return f.closeFd()
	}
	if !f.closed.CompareAndSwap(false, true) {
		return os.ErrClosed
	}
	if f.rt.closed.Load() || !f.rt.inbox.post(f.rt, fdClose{f}) {
		// The runtime is closed: no task can wait on the descriptor or use
		// its number any more.
		return f.closeFd()
	}
	return nil
}

// closeFd closes the descriptor. Whoever won the closed flag calls it, once.
func (f *FD) closeFd() error {
	if err := unix.Close(f.fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// fdClose closes, on the runtime's thread, an FD another goroutine closed.
type fdClose struct{ f *FD }

func (j fdClose) runOnRuntime(rt *Runtime) {
	rt.deregister(j.f.key)
	_ = j.f.closeFd()
}

// refuse closes the descriptor of a close that arrived as the runtime shut
// down: on its thread (shutting down, with tasks left to unwind) as a job
// would, elsewhere (the runtime is gone) at once.
func (j fdClose) refuse() bool {
	if j.f.rt.onRuntime() && !j.f.rt.closed.Load() {
		j.runOnRuntime(j.f.rt)
	} else {
		_ = j.f.closeFd()
	}
	return false
}

// ReadyCase completes when a registered descriptor may be readable or
// writable: the "fd is readable" case of [Select].
type ReadyCase struct {
	f   *FD
	dir int
	w   Waiter
	err error
}

// OnReadable is a Select case that completes when f may be readable (or its
// read deadline passed, or it was closed: see Err).
func OnReadable(f *FD) *ReadyCase { return &ReadyCase{f: f, dir: dirRead} }

// OnWritable is OnReadable for writing.
func OnWritable(f *FD) *ReadyCase { return &ReadyCase{f: f, dir: dirWrite} }

// Err returns nil when the descriptor is ready, os.ErrDeadlineExceeded or
// os.ErrClosed otherwise.
func (c *ReadyCase) Err() error { return c.err }

// Begin implements [SelectCase].
func (c *ReadyCase) Begin(t *Task) { c.f.check(t, "OnReadable/OnWritable") }

// Poll implements [SelectCase].
func (c *ReadyCase) Poll(*Task) bool {
	rec, ok := c.f.rt.ios.Get(c.f.key)
	switch {
	case !ok || c.f.closed.Load():
		c.err = os.ErrClosed
	case rec.dirs[c.dir].expired:
		c.err = os.ErrDeadlineExceeded
	case rec.dirs[c.dir].ready:
		c.err = nil
	default:
		return false
	}
	c.w.Release()
	return true
}

// Register implements [SelectCase].
func (c *ReadyCase) Register(t *Task) {
	if rec, ok := c.f.rt.ios.Get(c.f.key); ok {
		c.w = t.Enqueue(&rec.dirs[c.dir].waiters)
	}
}

// Unregister implements [SelectCase].
func (c *ReadyCase) Unregister(*Task) { c.w.Cancel() }
