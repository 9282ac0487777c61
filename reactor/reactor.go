//go:build linux && (amd64 || arm64)

// Package reactor wraps the Linux readiness APIs an event loop needs: an
// edge-triggered epoll poller that reports readiness by a caller-chosen token,
// an eventfd waker to interrupt a wait from another goroutine, and a wait
// with sub-millisecond timeout precision.
//
// The package knows nothing of tasks or runtimes: it turns file descriptors
// into tokens and tokens into events. Errors are wrapped Go errors; the
// underlying syscall.Errno can be tested with errors.Is (for example
// errors.Is(err, unix.EBADF)).
package reactor

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Interest is the set of readiness kinds a registration asks for.
type Interest uint32

const (
	// Readable asks for read readiness, including peer hangup and errors,
	// which a read reports.
	Readable Interest = 1 << iota
	// Writable asks for write readiness.
	Writable
)

func (i Interest) epoll() uint32 {
	ev := uint32(unix.EPOLLET)
	if i&Readable != 0 {
		ev |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if i&Writable != 0 {
		ev |= unix.EPOLLOUT
	}
	return ev
}

// Event reports readiness of one registration.
type Event struct {
	// Token is the value the file descriptor was registered with.
	Token uint64
	// Readable: data, a hangup or an error is waiting to be read.
	Readable bool
	// Writable: the descriptor accepts writes (or has failed, which a write
	// will report).
	Writable bool
	// Hangup: the peer closed its end (EPOLLRDHUP or EPOLLHUP).
	Hangup bool
	// Error: an error is pending on the descriptor (EPOLLERR).
	Error bool
}

// ErrClosed is returned by the methods of a closed Poller or Waker.
var ErrClosed = errors.New("reactor: closed")

// Poller is an edge-triggered epoll instance. Register, Modify and Deregister
// are safe to call from any goroutine; Wait must be called from one goroutine
// at a time. With edge triggering, an event is reported once per change of
// readiness: the owner must read or write until EAGAIN before waiting for the
// next one.
type Poller struct {
	epfd   int
	closed atomic.Bool
	raw    []unix.EpollEvent
}

// NewPoller creates an epoll instance.
func NewPoller() (*Poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("reactor: epoll_create1: %w", os.NewSyscallError("epoll_create1", err))
	}
	return &Poller{epfd: fd}, nil
}

func (p *Poller) ctl(op int, opName string, fd int, token uint64, interest Interest) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if fd < 0 {
		return fmt.Errorf("reactor: %s: invalid file descriptor %d", opName, fd)
	}
	if op != unix.EPOLL_CTL_DEL && interest&^(Readable|Writable) != 0 {
		return fmt.Errorf("reactor: %s fd %d: unknown interest bits %#x", opName, fd, uint32(interest))
	}
	ev := unix.EpollEvent{Events: interest.epoll(), Fd: int32(uint32(token)), Pad: int32(uint32(token >> 32))}
	if err := unix.EpollCtl(p.epfd, op, fd, &ev); err != nil {
		return fmt.Errorf("reactor: %s fd %d: %w", opName, fd, os.NewSyscallError("epoll_ctl", err))
	}
	return nil
}

// Register adds fd to the poller, edge-triggered, reporting events under
// token.
func (p *Poller) Register(fd int, token uint64, interest Interest) error {
	return p.ctl(unix.EPOLL_CTL_ADD, "register", fd, token, interest)
}

// Modify changes the token or interest of a registered fd. It re-arms the
// edge: readiness that holds now is reported again.
func (p *Poller) Modify(fd int, token uint64, interest Interest) error {
	return p.ctl(unix.EPOLL_CTL_MOD, "modify", fd, token, interest)
}

// Deregister removes fd from the poller. Closing a descriptor removes it too,
// unless another descriptor refers to the same open file.
func (p *Poller) Deregister(fd int) error {
	return p.ctl(unix.EPOLL_CTL_DEL, "deregister", fd, 0, 0)
}

// pwait2 is cleared the first time epoll_pwait2 reports ENOSYS or EPERM.
var pwait2 atomic.Bool

func init() { pwait2.Store(true) }

// Wait blocks until at least one registration is ready, the timeout expires,
// or (with a negative timeout) forever, and fills events; it returns how many
// it filled. A zero timeout polls without blocking.
//
// Timeouts are precise below a millisecond: Wait uses epoll_pwait2 where the
// kernel has it (Linux 5.11 and later). Elsewhere it rounds the timeout up to
// the next millisecond, so it may return up to a millisecond late but never
// early. A wait interrupted by a signal resumes with the time left.
func (p *Poller) Wait(events []Event, timeout time.Duration) (int, error) {
	if p.closed.Load() {
		return 0, ErrClosed
	}
	if len(events) == 0 {
		return 0, errors.New("reactor: Wait needs room for at least one event")
	}
	if cap(p.raw) < len(events) {
		p.raw = make([]unix.EpollEvent, len(events))
	}
	raw := p.raw[:len(events)]
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		n, err := p.wait(raw, timeout)
		if err == nil {
			for i := range n {
				events[i] = convert(&raw[i])
			}
			return n, nil
		}
		if err != unix.EINTR {
			return 0, fmt.Errorf("reactor: wait: %w", os.NewSyscallError("epoll_wait", err))
		}
		if timeout > 0 {
			if timeout = time.Until(deadline); timeout <= 0 {
				return 0, nil
			}
		}
	}
}

// wait makes one epoll wait system call. The pointers it passes are
// converted to uintptr inside the call expressions themselves, as package
// unsafe requires, so that raw and ts stay alive and in place until the
// kernel has written to them.
func (p *Poller) wait(raw []unix.EpollEvent, timeout time.Duration) (int, error) {
	switch {
	case timeout == 0:
		// A poll that cannot block skips the scheduler's syscall bookkeeping.
		// The arguments fit both epoll_wait and epoll_pwait (a nil signal
		// mask), whichever sysEpollPoll names.
		n, _, errno := unix.RawSyscall6(sysEpollPoll, uintptr(p.epfd),
			uintptr(unsafe.Pointer(&raw[0])), uintptr(len(raw)), 0, 0, 0)
		return errnoResult(n, errno)
	case timeout > 0 && pwait2.Load():
		ts := unix.NsecToTimespec(int64(timeout))
		n, _, errno := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(p.epfd),
			uintptr(unsafe.Pointer(&raw[0])), uintptr(len(raw)), uintptr(unsafe.Pointer(&ts)), 0, 0)
		// ENOSYS: a kernel before 5.11. EPERM: a seccomp filter that
		// refuses system calls it does not know (older container runtimes).
		if errno != unix.ENOSYS && errno != unix.EPERM {
			return errnoResult(n, errno)
		}
		pwait2.Store(false)
	}
	msec := -1
	if timeout > 0 {
		msec = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	return unix.EpollWait(p.epfd, raw, msec)
}

func errnoResult(n uintptr, errno unix.Errno) (int, error) {
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func convert(ev *unix.EpollEvent) Event {
	e := ev.Events
	return Event{
		Token:    uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32,
		Readable: e&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0,
		Writable: e&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0,
		Hangup:   e&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0,
		Error:    e&unix.EPOLLERR != 0,
	}
}

// Close releases the epoll instance. Later calls return ErrClosed.
func (p *Poller) Close() error {
	if !p.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	if err := unix.Close(p.epfd); err != nil {
		return fmt.Errorf("reactor: close poller: %w", os.NewSyscallError("close", err))
	}
	return nil
}

// Waker is an eventfd used to interrupt a Poller's Wait from any goroutine:
// register Fd with the poller (Readable), call Wake to make it ready, and
// Drain it when its token is reported. Wake and Drain are safe for concurrent
// use.
type Waker struct {
	fd     int
	closed atomic.Bool
}

// NewWaker creates a non-blocking eventfd.
func NewWaker() (*Waker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("reactor: eventfd: %w", os.NewSyscallError("eventfd", err))
	}
	return &Waker{fd: fd}, nil
}

// Fd returns the eventfd's descriptor, to register with a Poller.
func (w *Waker) Fd() int { return w.fd }

// Wake makes the eventfd readable. Waking a waker that is already awake is
// harmless.
func (w *Waker) Wake() error {
	if w.closed.Load() {
		return ErrClosed
	}
	one := [8]byte{1}
	for {
		_, err := unix.Write(w.fd, one[:])
		switch err {
		case nil, unix.EAGAIN: // EAGAIN: the counter is saturated, so it is readable anyway
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("reactor: wake: %w", os.NewSyscallError("write", err))
	}
}

// Drain resets the eventfd so that the next Wake is reported again.
func (w *Waker) Drain() error {
	if w.closed.Load() {
		return ErrClosed
	}
	var buf [8]byte
	for {
		_, err := unix.Read(w.fd, buf[:])
		switch err {
		case nil, unix.EAGAIN:
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("reactor: drain waker: %w", os.NewSyscallError("read", err))
	}
}

// Close releases the eventfd. Later calls return ErrClosed.
func (w *Waker) Close() error {
	if !w.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	if err := unix.Close(w.fd); err != nil {
		return fmt.Errorf("reactor: close waker: %w", os.NewSyscallError("close", err))
	}
	return nil
}
