package reactor_test

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
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

// waitResult is what a Wait on another goroutine returned.
type waitResult struct {
	events  []reactor.Event
	err     error
	elapsed time.Duration
}

// waitOnThread runs p.Wait with timeout on a goroutine locked to its OS
// thread and returns that thread's ID and where the result will arrive.
func waitOnThread(p *reactor.Poller, timeout time.Duration) (tid int, result <-chan waitResult) {
	tids := make(chan int, 1)
	res := make(chan waitResult, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		events := make([]reactor.Event, 4)
		start := time.Now()
		n, err := p.Wait(events, timeout)
		res <- waitResult{events[:n], err, time.Since(start)}
	}()
	return <-tids, res
}

// epollWaits are the numbers of the system calls Wait sleeps in.
var epollWaits = map[string][]int{
	"amd64": {unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2, 232}, // 232: epoll_wait
	"arm64": {unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2},
}[runtime.GOARCH]

// blockedInWait reports whether thread tid of this process is asleep in one
// of the epoll wait system calls, as /proc/self/task/<tid>/syscall shows
// ("running" while the thread is not blocked in a system call).
func blockedInWait(t *testing.T, tid int) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/syscall", tid))
	require.NoError(t, err)
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return false
	}
	nr, err := strconv.Atoi(f[0])
	return err == nil && slices.Contains(epollWaits, nr)
}

// awaitBlocked waits, without sleeping, until thread tid is asleep in
// Wait's system call. It fails the test if the wait returns first.
func awaitBlocked(t *testing.T, tid int, result <-chan waitResult) {
	t.Helper()
	if epollWaits == nil {
		t.Skipf("the epoll system call numbers of %s are not known here", runtime.GOARCH)
	}
	for !blockedInWait(t, tid) {
		select {
		case r := <-result:
			t.Fatalf("Wait returned %d events, error %v, before it was interrupted", len(r.events), r.err)
		default:
			runtime.Gosched()
		}
	}
}

// A signal interrupts epoll_wait (EINTR); Wait goes back to waiting: it
// returns only when there is something to report.
func TestWaitSurvivesSignals(t *testing.T) {
	for name, c := range map[string]struct {
		timeout time.Duration
		precise bool
	}{
		"no timeout":                        {-1, true},
		"timeout, epoll_pwait2":             {time.Hour, true},
		"timeout, the millisecond fallback": {time.Hour, false},
	} {
		t.Run(name, func(t *testing.T) {
			prev := reactor.UsePwait2(c.precise)
			defer reactor.UsePwait2(prev)
			p := newPoller(t)
			w, err := reactor.NewWaker()
			require.NoError(t, err)
			defer w.Close()
			require.NoError(t, p.Register(w.Fd(), 5, reactor.Readable))

			tid, result := waitOnThread(p, c.timeout)
			for range 3 {
				awaitBlocked(t, tid, result)
				// SIGURG is the Go runtime's preemption signal: harmless, and
				// it interrupts epoll_wait with EINTR. The thread is asleep
				// in the wait: the signal wakes it.
				require.NoError(t, unix.Tgkill(unix.Getpid(), tid, unix.SIGURG))
			}
			awaitBlocked(t, tid, result) // waiting again after the last one
			require.NoError(t, w.Wake())
			r := <-result
			require.NoError(t, r.err)
			require.Len(t, r.events, 1, "the wake, and nothing before it")
			assert.Equal(t, uint64(5), r.events[0].Token)
		})
	}
}

// A wait with a timeout, interrupted by signals, resumes with the time left:
// it never returns before the timeout (a lower bound the poller guarantees).
func TestWaitSurvivesSignalsUntilItsTimeout(t *testing.T) {
	p := newPoller(t)
	const d = 50 * time.Millisecond
	tid, result := waitOnThread(p, d)
	sent := 0
	var r waitResult
	for done := false; !done; {
		select {
		case r = <-result:
			done = true
		default:
			if blockedInWait(t, tid) {
				// Interrupt the wait each time it is asleep again.
				require.NoError(t, unix.Tgkill(unix.Getpid(), tid, unix.SIGURG))
				sent++
			}
			runtime.Gosched()
		}
	}
	require.NoError(t, r.err)
	assert.Empty(t, r.events, "nothing to report")
	assert.GreaterOrEqual(t, r.elapsed, d, "an interrupted wait resumes with the time left")
	t.Logf("interrupted %d times", sent)
}

func TestWakerInterruptsWait(t *testing.T) {
	p := newPoller(t)
	w, err := reactor.NewWaker()
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, p.Register(w.Fd(), 99, reactor.Readable))

	tid, result := waitOnThread(p, -1)
	awaitBlocked(t, tid, result) // asleep in the wait, with no timeout
	require.NoError(t, w.Wake())
	require.NoError(t, w.Wake()) // coalesces
	r := <-result
	require.NoError(t, r.err)
	require.Len(t, r.events, 1)
	assert.Equal(t, uint64(99), r.events[0].Token)
	require.NoError(t, w.Drain())
	assert.Empty(t, wait(t, p, 0), "drained: quiet until the next Wake")
	require.NoError(t, w.Drain(), "draining an empty waker is harmless")
	require.NoError(t, w.Wake())
	assert.Len(t, wait(t, p, time.Second), 1)
}
