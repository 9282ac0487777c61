package socket

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
)

// sock is what TCP listeners, TCP connections and UDP sockets share: a
// non-blocking descriptor registered with a runtime's poller through
// asyncrt's public FD API or, on a runtime with a simulated network, a
// simulated endpoint (sim; then reg is nil and fd -1). Every method tests
// sim first, once, and the simulated branches live in sim.go.
//
// Everything but closed is set before the socket is handed to its user and
// never changes, so any goroutine may read it. closed is set by the first
// Close, on any goroutine; the descriptor itself is closed on the runtime's
// thread (see asyncrt.FD.Close), so a system call made by a task never meets
// a closed or reused descriptor number.
type sock struct {
	rt      *asyncrt.Runtime
	reg     *asyncrt.FD
	fd      int
	network string
	local   netip.AddrPort
	remote  netip.AddrPort
	family6 bool
	closed  atomic.Bool
	// drained: the last read was short, so it emptied the receive queue;
	// the next Read waits for the poller's next edge before it reads
	// (unless the poller saw a hangup). The runtime's thread only.
	drained bool
	// sim is the simulated endpoint, or nil on the operating system's
	// network.
	sim *simSock
}

// The two directions of a socket.
const (
	dirRead  = 0
	dirWrite = 1
)

// init registers fd, which is closed on failure, as s.
func (s *sock) init(t *asyncrt.Task, fd int, network string, family6 bool) error {
	reg, err := asyncrt.RegisterFD(t, fd)
	if err != nil {
		unix.Close(fd)
		return err
	}
	s.rt, s.reg, s.fd, s.network, s.family6 = t.Runtime(), reg, fd, network, family6
	return nil
}

func (s *sock) opErr(op string, err error) error {
	return opError(op, s.network, s.local, s.remote, err)
}

// anyGoroutine ends the misuse panics: the methods that need no task.
const anyGoroutine = "only Close, the deadline setters and the address methods are safe from any goroutine"

// mustBeOnThread panics unless the caller runs on the socket's runtime.
func (s *sock) mustBeOnThread(op string) {
	if !s.rt.OnThread() {
		panic(fmt.Sprintf("socket: %s called from a goroutine that is not running its "+
			"runtime: a socket belongs to the runtime that made it, which is "+
			"single-threaded, so call it from one of that runtime's tasks; %s", op, anyGoroutine))
	}
}

// callerTask returns the task calling an operation that, to fit a standard
// interface (io.Reader, net.Conn), takes no *asyncrt.Task.
func callerTask(rt *asyncrt.Runtime, op string) *asyncrt.Task {
	if t := rt.CurrentTask(); t != nil {
		return t
	}
	panic(fmt.Sprintf("socket: %s called from a goroutine that is not one of its runtime's "+
		"tasks: a socket's reads and writes run on the runtime that made it, which is "+
		"single-threaded, so call it from a task of that runtime, or hand the data across "+
		"with asyncrt.Go from such a task, a channel (asyncrt.NewCrossChan) or "+
		"asyncrt.SpawnRemote; %s", op, anyGoroutine))
}

// checkTask panics unless t is the calling task and belongs to the socket's
// runtime: for the operations that take the *asyncrt.Task explicitly.
func (s *sock) checkTask(t *asyncrt.Task, op string) {
	t.Check(op)
	if t.Runtime() != s.rt {
		panic(fmt.Sprintf("socket: %s called by a task of another runtime: a socket belongs "+
			"to the runtime that made it, so call it from a task of that runtime, or hand "+
			"the work across with a channel (asyncrt.NewCrossChan) or asyncrt.SpawnRemote", op))
	}
}

// closeSock closes the socket from any goroutine: later operations fail with
// net.ErrClosed at once, and tasks waiting on it wake with net.ErrClosed as
// soon as the runtime's thread has closed the descriptor.
func (s *sock) closeSock() error {
	if s.sim != nil {
		return s.simClose()
	}
	if !s.closed.CompareAndSwap(false, true) {
		return s.opErr("close", net.ErrClosed)
	}
	if err := s.reg.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return s.opErr("close", err)
	}
	return nil
}

// setDeadlines sets deadlines from any goroutine (see asyncrt.FD).
func (s *sock) setDeadlines(t time.Time, dirs ...int) error {
	if s.sim != nil {
		return s.simSetDeadlines(t, dirs)
	}
	if s.closed.Load() {
		return s.opErr("set deadline", net.ErrClosed)
	}
	for _, d := range dirs {
		set := s.reg.SetReadDeadline
		if d == dirWrite {
			set = s.reg.SetWriteDeadline
		}
		if err := set(t); err != nil {
			return s.opErr("set deadline", netErr(err))
		}
	}
	return nil
}

// wait waits for direction dir after EAGAIN. It returns an error for the
// caller to wrap, or nil to retry the system call.
func (s *sock) wait(t *asyncrt.Task, dir int) error {
	if dir == dirRead {
		s.reg.ClearReadable()
		return netErr(s.reg.WaitReadable(t))
	}
	s.reg.ClearWritable()
	return netErr(s.reg.WaitWritable(t))
}

// notReady records that a short read emptied the receive queue.
func (s *sock) notReady(dir int) {
	if dir == dirRead {
		s.reg.ClearReadable()
	} else {
		s.reg.ClearWritable()
	}
}

// netErr turns the FD layer's os.ErrClosed into package net's error for a
// closed connection.
func netErr(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return net.ErrClosed
	}
	return err
}

func (s *sock) setInt(level, opt, v int, name string) error {
	s.mustBeOnThread("set " + name)
	if s.closed.Load() {
		return s.opErr("set "+name, net.ErrClosed)
	}
	if s.sim != nil {
		s.sim.setOpt(level, opt, v)
		return nil
	}
	if err := unix.SetsockoptInt(s.fd, level, opt, v); err != nil {
		return s.opErr("set "+name, os.NewSyscallError("setsockopt", err))
	}
	return nil
}

func (s *sock) getInt(level, opt int, name string) (int, error) {
	s.mustBeOnThread("get " + name)
	if s.closed.Load() {
		return 0, s.opErr("get "+name, net.ErrClosed)
	}
	if s.sim != nil {
		return s.sim.getOpt(level, opt), nil
	}
	v, err := unix.GetsockoptInt(s.fd, level, opt)
	if err != nil {
		return 0, s.opErr("get "+name, os.NewSyscallError("getsockopt", err))
	}
	return v, nil
}
