package asyncrt

import (
	"net"
	"os"
	"time"

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
// registration gone and report net.ErrClosed. The caller closes the fd.
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
// again. It returns net.ErrClosed if the registration was closed and
// os.ErrDeadlineExceeded if the direction's deadline passed. Any number of
// tasks may wait on one direction; an edge wakes them all.
func (rt *Runtime) waitIO(t *Task, k slab.Key, dir int) error {
	for {
		rec, ok := rt.ios.Get(k)
		if !ok {
			return net.ErrClosed
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
		return net.ErrClosed
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
