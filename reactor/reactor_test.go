package reactor_test

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/reactor"
)

func newPoller(t *testing.T) *reactor.Poller {
	t.Helper()
	p, err := reactor.NewPoller()
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// socketpair returns two connected, non-blocking stream sockets.
func socketpair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func wait(t *testing.T, p *reactor.Poller, timeout time.Duration) []reactor.Event {
	t.Helper()
	events := make([]reactor.Event, 16)
	n, err := p.Wait(events, timeout)
	require.NoError(t, err)
	return events[:n]
}

func TestReadableIsEdgeTriggered(t *testing.T) {
	p := newPoller(t)
	a, b := socketpair(t)
	const token = 1<<40 | 42 // tokens use all 64 bits
	require.NoError(t, p.Register(a, token, reactor.Readable))
	assert.Empty(t, wait(t, p, 0), "nothing to read yet")

	_, err := unix.Write(b, []byte("x"))
	require.NoError(t, err)
	evs := wait(t, p, time.Second)
	require.Len(t, evs, 1)
	assert.Equal(t, uint64(token), evs[0].Token)
	assert.True(t, evs[0].Readable)
	assert.False(t, evs[0].Hangup)

	assert.Empty(t, wait(t, p, 0), "edge-triggered: no second report without a new edge")
	_, err = unix.Write(b, []byte("y"))
	require.NoError(t, err)
	assert.Len(t, wait(t, p, time.Second), 1, "new data is a new edge")
}

func TestWritableAndHangup(t *testing.T) {
	p := newPoller(t)
	a, b := socketpair(t)
	require.NoError(t, p.Register(a, 7, reactor.Readable|reactor.Writable))
	evs := wait(t, p, time.Second)
	require.Len(t, evs, 1)
	assert.True(t, evs[0].Writable)
	assert.False(t, evs[0].Readable)

	require.NoError(t, unix.Shutdown(b, unix.SHUT_WR))
	evs = wait(t, p, time.Second)
	require.Len(t, evs, 1)
	assert.True(t, evs[0].Readable, "a hangup is reported as readable so a read sees EOF")
	assert.True(t, evs[0].Hangup)
}

func TestModifyAndDeregister(t *testing.T) {
	p := newPoller(t)
	a, b := socketpair(t)
	require.NoError(t, p.Register(a, 1, reactor.Readable))
	_, _ = unix.Write(b, []byte("x"))
	require.Len(t, wait(t, p, time.Second), 1)

	// Modify re-arms: the unread data is reported again, under the new token.
	require.NoError(t, p.Modify(a, 2, reactor.Readable))
	evs := wait(t, p, time.Second)
	require.Len(t, evs, 1)
	assert.Equal(t, uint64(2), evs[0].Token)

	require.NoError(t, p.Deregister(a))
	_, _ = unix.Write(b, []byte("y"))
	assert.Empty(t, wait(t, p, 10*time.Millisecond))
	assert.ErrorIs(t, p.Deregister(a), unix.ENOENT)
}

func TestBadArguments(t *testing.T) {
	p := newPoller(t)
	assert.ErrorContains(t, p.Register(-1, 0, reactor.Readable), "invalid file descriptor")
	a, _ := socketpair(t)
	assert.ErrorContains(t, p.Register(a, 0, reactor.Interest(8)), "unknown interest")

	fd, err := unix.Eventfd(0, 0)
	require.NoError(t, err)
	require.NoError(t, unix.Close(fd))
	err = p.Register(fd, 0, reactor.Readable)
	assert.ErrorIs(t, err, unix.EBADF)
	assert.Contains(t, err.Error(), "register fd")

	require.NoError(t, p.Register(a, 0, reactor.Readable))
	assert.ErrorIs(t, p.Register(a, 0, reactor.Readable), unix.EEXIST)
	_, err = p.Wait(nil, 0)
	assert.ErrorContains(t, err, "room for at least one event")
}

func TestClosed(t *testing.T) {
	p, err := reactor.NewPoller()
	require.NoError(t, err)
	require.NoError(t, p.Close())
	assert.ErrorIs(t, p.Close(), reactor.ErrClosed)
	assert.ErrorIs(t, p.Register(0, 0, reactor.Readable), reactor.ErrClosed)
	_, err = p.Wait(make([]reactor.Event, 1), 0)
	assert.ErrorIs(t, err, reactor.ErrClosed)

	w, err := reactor.NewWaker()
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.ErrorIs(t, w.Wake(), reactor.ErrClosed)
	assert.ErrorIs(t, w.Drain(), reactor.ErrClosed)
	assert.ErrorIs(t, w.Close(), reactor.ErrClosed)
}

func TestWaitTimeoutNeverEarly(t *testing.T) {
	for _, precise := range []bool{true, false} {
		name := "epoll_pwait2"
		if !precise {
			name = "millisecond fallback"
		}
		t.Run(name, func(t *testing.T) {
			prev := reactor.UsePwait2(precise)
			defer reactor.UsePwait2(prev)
			p := newPoller(t)
			for _, d := range []time.Duration{50 * time.Microsecond, 300 * time.Microsecond,
				time.Millisecond + 200*time.Microsecond, 3 * time.Millisecond} {
				for range 5 {
					start := time.Now()
					assert.Empty(t, wait(t, p, d))
					assert.GreaterOrEqual(t, time.Since(start), d, "woke before the timeout")
				}
			}
		})
	}
}

func TestWaitSurvivesSignals(t *testing.T) {
	p := newPoller(t)
	tid := make(chan int, 1)
	result := make(chan error, 1)
	const d = 100 * time.Millisecond
	var elapsed time.Duration
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid <- unix.Gettid()
		start := time.Now()
		n, err := p.Wait(make([]reactor.Event, 4), d)
		elapsed = time.Since(start)
		if err == nil && n != 0 {
			err = errors.New("spurious event")
		}
		result <- err
	}()
	target := <-tid
	var sent atomic.Int32
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			// SIGURG is the Go runtime's preemption signal: harmless, and it
			// interrupts epoll_wait with EINTR.
			if unix.Tgkill(unix.Getpid(), target, unix.SIGURG) == nil {
				sent.Add(1)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	err := <-result
	close(stop)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, elapsed, d, "an interrupted wait resumes with the time left")
	assert.Positive(t, sent.Load())
}

func TestWakerInterruptsWait(t *testing.T) {
	p := newPoller(t)
	w, err := reactor.NewWaker()
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, p.Register(w.Fd(), 99, reactor.Readable))

	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = w.Wake()
		_ = w.Wake() // coalesces
	}()
	evs := wait(t, p, -1)
	require.Len(t, evs, 1)
	assert.Equal(t, uint64(99), evs[0].Token)
	require.NoError(t, w.Drain())
	assert.Empty(t, wait(t, p, 0), "drained: quiet until the next Wake")
	require.NoError(t, w.Drain(), "draining an empty waker is harmless")
	require.NoError(t, w.Wake())
	assert.Len(t, wait(t, p, time.Second), 1)
}
