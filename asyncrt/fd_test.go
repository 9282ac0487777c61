package asyncrt_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
)

// pipe returns a non-blocking pipe; both ends are closed when the test ends
// unless the test closed them first.
func pipe(t *testing.T) (r, w int) {
	var p [2]int
	require.NoError(t, unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC))
	return p[0], p[1]
}

func TestRegisterFDRefusesBadDescriptors(t *testing.T) {
	rt := newRuntime(t, nil)
	errs := block(t, rt, func(t *asyncrt.Task) []error {
		var blocking [2]int
		if err := unix.Pipe2(blocking[:], unix.O_CLOEXEC); err != nil {
			return []error{err}
		}
		defer unix.Close(blocking[0])
		defer unix.Close(blocking[1])
		_, e1 := asyncrt.RegisterFD(t, blocking[0])
		_, e2 := asyncrt.RegisterFD(t, -1)
		_, e3 := asyncrt.RegisterFD(t, 1<<20) // not open
		return []error{e1, e2, e3}
	})
	assert.ErrorContains(t, errs[0], "blocking")
	assert.ErrorContains(t, errs[1], "not a file descriptor")
	assert.ErrorIs(t, errs[2], unix.EBADF)
}

// Several tasks wait for one descriptor; a write wakes them all, a deadline
// fails a wait, Deregister wakes the rest with os.ErrClosed, and nothing is
// left registered.
func TestFDWaitersDeadlinesAndDeregister(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	r, w := pipe(t)
	defer unix.Close(w)
	type result struct {
		woke     int
		deadline error
		closed   []error
		again    error
		regs     int
		timers   int
	}
	res := block(t, rt, func(t *asyncrt.Task) result {
		var res result
		fd, err := asyncrt.RegisterFD(t, r)
		if err != nil {
			panic(err)
		}
		fd.ClearReadable() // nothing to read yet
		waiter := func(t *asyncrt.Task) error { return fd.WaitReadable(t) }
		var hs []asyncrt.JoinHandle[error]
		for range 3 {
			hs = append(hs, asyncrt.Spawn(t, waiter))
		}
		t.Yield()
		if _, err := unix.Write(w, []byte("x")); err != nil {
			panic(err)
		}
		for _, h := range hs {
			if err, _ := h.Await(t); err == nil {
				res.woke++
			}
		}
		// Drain, then a deadline in the past fails the next wait at once.
		var b [8]byte
		_, _ = unix.Read(r, b[:])
		fd.ClearReadable()
		_ = fd.SetReadDeadline(t.Now().Add(time.Second))
		res.deadline = fd.WaitReadable(t) // the simulated clock jumps to it
		_ = fd.SetReadDeadline(time.Time{})
		hs = hs[:0]
		for range 2 {
			hs = append(hs, asyncrt.Spawn(t, waiter))
		}
		t.Yield()
		_ = fd.Deregister()
		for _, h := range hs {
			err, _ := h.Await(t)
			res.closed = append(res.closed, err)
		}
		res.again = fd.Deregister()
		st := t.Runtime().Stats()
		res.regs, res.timers = st.Registrations, st.PendingTimers
		return res
	})
	unix.Close(r)
	assert.Equal(t, 3, res.woke, "an edge wakes every waiter")
	assert.ErrorIs(t, res.deadline, os.ErrDeadlineExceeded)
	for _, err := range res.closed {
		assert.ErrorIs(t, err, os.ErrClosed)
	}
	assert.ErrorIs(t, res.again, os.ErrClosed)
	assert.Zero(t, res.regs)
	assert.Zero(t, res.timers)
}

func TestSelectOnReadable(t *testing.T) {
	rt := newRuntime(t, nil)
	r, w := pipe(t)
	defer unix.Close(w)
	idx, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		fd, err := asyncrt.RegisterFD(t, r)
		if err != nil {
			panic(err)
		}
		defer fd.Close()
		fd.ClearReadable()
		go func() { _, _ = unix.Write(w, []byte("x")) }()
		never := asyncrt.NewCancellationToken()
		ready := asyncrt.OnReadable(fd)
		i, err := asyncrt.Select(t, asyncrt.OnCancel(never), ready)
		if err != nil || ready.Err() != nil {
			panic(errors.Join(err, ready.Err()))
		}
		return i
	})
	require.NoError(t, err)
	assert.Equal(t, 1, idx)
}

// readerGone reports whether the read end of the pipe whose write end is w
// is closed: writing then fails with EPIPE (Go ignores SIGPIPE for
// descriptors other than 1 and 2). A write that succeeds puts a byte in the
// pipe.
func readerGone(w int) bool {
	_, err := unix.Write(w, []byte("x"))
	return errors.Is(err, unix.EPIPE)
}

// A goroutine closes an FD a task waits on: the task wakes with
// os.ErrClosed, the descriptor is closed, and the FD reports os.ErrClosed
// from then on.
func TestFDCloseFromAnotherGoroutine(t *testing.T) {
	rt := newRuntime(t, nil)
	r, w := pipe(t)
	defer unix.Close(w)
	type result struct {
		waiting                      int
		closeErr, waitErr            error
		again, againHere             error
		deadline, waitAfter, dereg   error
		registrations, pendingTimers int
	}
	res := block(t, rt, func(t *asyncrt.Task) result {
		var res result
		fd, err := asyncrt.RegisterFD(t, r)
		if err != nil {
			panic(err)
		}
		fd.ClearReadable()
		if err := fd.SetReadDeadline(t.Now().Add(time.Hour)); err != nil {
			panic(err)
		}
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) error { return fd.WaitReadable(t) })
		t.Yield()
		res.waiting = t.Runtime().Stats().Registrations
		res.closeErr = fromGoroutineValue(t, fd.Close)
		res.waitErr, _ = h.Await(t)
		res.again = fromGoroutineValue(t, fd.Close)
		res.againHere = fd.Close()
		res.deadline = fd.SetReadDeadline(time.Time{})
		res.waitAfter = fd.WaitReadable(t)
		res.dereg = fd.Deregister()
		st := t.Runtime().Stats()
		res.registrations, res.pendingTimers = st.Registrations, st.PendingTimers
		return res
	})
	assert.Equal(t, 1, res.waiting)
	assert.NoError(t, res.closeErr)
	assert.ErrorIs(t, res.waitErr, os.ErrClosed)
	assert.ErrorIs(t, res.again, os.ErrClosed)
	assert.ErrorIs(t, res.againHere, os.ErrClosed)
	assert.ErrorIs(t, res.deadline, os.ErrClosed)
	assert.ErrorIs(t, res.waitAfter, os.ErrClosed)
	assert.ErrorIs(t, res.dereg, os.ErrClosed)
	assert.Zero(t, res.registrations)
	assert.Zero(t, res.pendingTimers, "the deadline's timer went with the registration")
	assert.True(t, readerGone(w), "the descriptor is closed")
}

// fromGoroutineValue runs fn on a new goroutine and waits for its result
// without blocking the runtime's thread.
func fromGoroutineValue[T any](t *asyncrt.Task, fn func() T) T {
	done := make(chan T, 1)
	go func() { done <- fn() }()
	v, _ := asyncrt.Go(t, func() (T, error) { return <-done, nil })
	return v
}

// A Close from another goroutine while no BlockOn drives the runtime is
// carried out by the next BlockOn, or by Runtime.Close; after Runtime.Close,
// Close closes the descriptor itself. None of them hangs or panics.
func TestFDCloseWhileIdleAndAfterRuntimeClose(t *testing.T) {
	rt := newRuntime(t, nil)
	var r, w [3]int
	for i := range r {
		r[i], w[i] = pipe(t)
		defer unix.Close(w[i])
	}
	fds := block(t, rt, func(t *asyncrt.Task) [3]*asyncrt.FD {
		var fds [3]*asyncrt.FD
		for i := range fds {
			fd, err := asyncrt.RegisterFD(t, r[i])
			if err != nil {
				panic(err)
			}
			fds[i] = fd
		}
		return fds
	})

	require.NoError(t, fds[0].Close())
	assert.ErrorIs(t, fds[0].Close(), os.ErrClosed)
	assert.False(t, readerGone(w[0]), "nothing runs the runtime yet")
	block(t, rt, func(*asyncrt.Task) int { return 0 }) // takes the close first
	assert.True(t, readerGone(w[0]), "the next BlockOn closed it")

	require.NoError(t, fds[1].Close())
	rt.Close()
	assert.True(t, readerGone(w[1]), "Runtime.Close closed it")

	assert.ErrorIs(t, fds[2].SetReadDeadline(time.Now()), os.ErrClosed, "the runtime is closed")
	require.NoError(t, fds[2].Close())
	assert.True(t, readerGone(w[2]))
	assert.ErrorIs(t, fds[2].Close(), os.ErrClosed)
}

// Deadlines set from another goroutine reach a task already waiting.
func TestFDDeadlineFromAnotherGoroutine(t *testing.T) {
	rt := newRuntime(t, nil)
	r, w := pipe(t)
	defer unix.Close(w)
	type result struct {
		sets          []error
		past, cleared error
		timers        int
	}
	res := block(t, rt, func(t *asyncrt.Task) result {
		var res result
		fd, err := asyncrt.RegisterFD(t, r)
		if err != nil {
			panic(err)
		}
		defer fd.Close()
		fd.ClearReadable()
		set := func(at time.Time) {
			res.sets = append(res.sets, fromGoroutineValue(t, func() error { return fd.SetReadDeadline(at) }))
		}
		wait := func(t *asyncrt.Task) error { return fd.WaitReadable(t) }

		h := asyncrt.Spawn(t, wait)
		t.Yield() // waiting
		set(time.Now())
		res.past, _ = h.Await(t)

		// In the future, then cleared: the wait ends with the data.
		set(time.Now().Add(time.Hour))
		h = asyncrt.Spawn(t, wait)
		t.Yield()
		set(time.Time{})
		if _, err := unix.Write(w, []byte("x")); err != nil {
			panic(err)
		}
		res.cleared, _ = h.Await(t)
		res.timers = t.Runtime().Stats().PendingTimers
		return res
	})
	for _, err := range res.sets {
		assert.NoError(t, err)
	}
	assert.ErrorIs(t, res.past, os.ErrDeadlineExceeded)
	assert.NoError(t, res.cleared, "the deadline was cleared")
	assert.Zero(t, res.timers, "clearing cancelled the deadline's timer")
}

// The latest deadline wins. A deadline another goroutine hands over is
// still waiting for the runtime's thread when a task, after it, sets its
// own: the runtime must not apply the older one over it.
func TestFDLatestDeadlineWins(t *testing.T) {
	rt := newRuntime(t, nil)
	r, w := pipe(t)
	defer unix.Close(w)
	got := block(t, rt, func(t *asyncrt.Task) error {
		fd, err := asyncrt.RegisterFD(t, r)
		if err != nil {
			panic(err)
		}
		defer fd.Close()
		fd.ClearReadable()
		// The task blocks its thread (briefly) for the goroutine, so the
		// runtime cannot take the goroutine's deadline before the task's.
		set := make(chan error)
		go func() { set <- fd.SetReadDeadline(time.Now().Add(-time.Second)) }()
		if err := <-set; err != nil {
			panic(err)
		}
		if err := fd.SetReadDeadline(time.Time{}); err != nil { // later: no deadline
			panic(err)
		}
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) error { return fd.WaitReadable(t) })
		t.Yield() // the runtime takes the goroutine's job here
		if _, err := unix.Write(w, []byte("x")); err != nil {
			panic(err)
		}
		err, _ = h.Await(t)
		return err
	})
	assert.NoError(t, got, "the older deadline must not win")
}
