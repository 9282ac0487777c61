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
