package socket_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// descriptors runs the process out of file descriptors, so that accept(2)
// fails with EMFILE: fill lowers RLIMIT_NOFILE and opens /dev/null until
// the limit is reached, release closes those and restores the limit. The
// limit is the whole process's, so the tests that use it must not run in
// parallel with others (no test of this package calls t.Parallel).
type descriptors struct {
	saved   unix.Rlimit
	lowered bool
	fillers []int
}

// newDescriptors saves the limit and restores it, and frees what fill
// took, when the test ends, whatever happened to the test.
func newDescriptors(t *testing.T) *descriptors {
	t.Helper()
	d := &descriptors{}
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &d.saved))
	t.Cleanup(func() { assert.NoError(t, d.release()) })
	return d
}

// fill takes every descriptor but keep, which are left for the connections
// a test dials. It may be called from a task: it only makes system calls.
func (d *descriptors) fill(keep int) error {
	if !d.lowered {
		lowered := d.saved
		lowered.Cur = min(d.saved.Cur, 1024) // bounds the loop below
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lowered); err != nil {
			return err
		}
		d.lowered = true
	}
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EMFILE) {
			break
		}
		if err != nil {
			return err
		}
		d.fillers = append(d.fillers, fd)
	}
	if len(d.fillers) < keep {
		return fmt.Errorf("only %d descriptors were free, the test needs %d", len(d.fillers), keep)
	}
	for range keep {
		last := len(d.fillers) - 1
		if err := unix.Close(d.fillers[last]); err != nil {
			return err
		}
		d.fillers = d.fillers[:last]
	}
	return nil
}

// release gives the descriptors back and restores the limit; calling it
// again does nothing.
func (d *descriptors) release() error {
	var errs []error
	for _, fd := range d.fillers {
		errs = append(errs, unix.Close(fd))
	}
	d.fillers = nil
	if d.lowered {
		errs = append(errs, unix.Setrlimit(unix.RLIMIT_NOFILE, &d.saved))
		d.lowered = false
	}
	return errors.Join(errs...)
}

// fdRuntime builds a runtime (on clock, if not nil) for a test that runs the
// process out of descriptors. Its stall watchdog is off: the watchdog's
// goroutine opens two files in /proc when it starts, and would race the test
// for the last descriptors — take the one a test left for its client, or
// give one back in the middle of a burst. And the runtime is closed if the
// test is not over after a minute, so that an accept loop that stopped
// retrying fails the test (BlockOn returns asyncrt.ErrClosed) instead of
// hanging it.
func fdRuntime(t *testing.T, clock asyncrt.Clock) *asyncrt.Runtime {
	t.Helper()
	b := asyncrt.NewBuilder().StallThreshold(0)
	if clock != nil {
		b = b.Clock(clock)
	}
	rt := newRuntime(t, b)
	timer := time.AfterFunc(time.Minute, func() { rt.Close() })
	t.Cleanup(func() { timer.Stop() })
	return rt
}

// must panics on err: inside a task a test cannot call FailNow, and BlockOn
// reports the panic.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

// logLines records what an AcceptRetry logs. The runtime's thread writes
// it: read it from a task of that runtime, or once BlockOn has returned.
type logLines []string

func (l *logLines) logf(format string, args ...any) {
	*l = append(*l, fmt.Sprintf(format, args...))
}

// greeter runs an accept loop paced by r until stop is cancelled: it writes
// "hello" to each connection and closes it, and appends when (read from
// now) to accepted. It returns the error that ended the loop.
func greeter(t *asyncrt.Task, r *socket.AcceptRetry, l *socket.TCPListener, stop *asyncrt.CancellationToken,
	now func() time.Duration, accepted *[]time.Duration) error {
	halt, accept := asyncrt.OnCancel(stop), r.OnAccept(l)
	for {
		if i, _ := asyncrt.Select(t, halt, accept); i == 0 {
			return nil
		}
		if err := accept.Err(); err != nil {
			return err
		}
		*accepted = append(*accepted, now())
		c := accept.Conn()
		_, err := c.Write([]byte("hello\n")) // an empty send buffer takes it at once
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// dial connects to l; the connection waits in l's backlog until accepted.
func dial(t *asyncrt.Task, l *socket.TCPListener) *socket.TCPConn {
	c, err := socket.DialTCP(t, "tcp", l.AddrPort().String())
	must(err)
	return c
}

// greeting reads the server's line from c and closes c.
func greeting(c *socket.TCPConn) string {
	line, err := bufio.NewReader(c).ReadString('\n')
	must(err)
	must(c.Close())
	return line
}

// waitFor waits, on n's notifications, until done holds.
func waitFor(t *asyncrt.Task, n *asyncrt.Notify, done func() bool) {
	for !done() {
		n.Wait(t)
	}
}

// rawClient is a blocking client socket made while descriptors are free,
// so that it can connect once they have run out: connecting takes no new
// descriptor, and a loopback connection is made by the kernel and queued
// in the listener's backlog without waiting for the server's accept. Its
// calls run on goroutines (asyncrt.Go), off the runtime's thread; its reads
// give up after ten seconds.
type rawClient int

func newRawClient() (rawClient, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	tv := unix.NsecToTimeval(int64(10 * time.Second))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return -1, errors.Join(err, unix.Close(fd))
	}
	return rawClient(fd), nil
}

func (c rawClient) connect(t *asyncrt.Task, to netip.AddrPort) error {
	_, err := asyncrt.Go(t, func() (struct{}, error) {
		return struct{}{}, unix.Connect(int(c), &unix.SockaddrInet4{Port: int(to.Port()), Addr: to.Addr().As4()})
	})
	return err
}

// greeting reads what the server sent until it closed, and closes c.
func (c rawClient) greeting(t *asyncrt.Task) (string, error) {
	return asyncrt.Go(t, func() (string, error) {
		f := os.NewFile(uintptr(c), "client") // a blocking descriptor: plain blocking reads
		b, err := io.ReadAll(f)
		return string(b), errors.Join(err, f.Close())
	})
}

// TestAcceptRetrySurvivesRunningOutOfDescriptors runs an accept loop out of
// file descriptors while connections arrive: it logs the first failure
// only, and once descriptors come back it accepts the connections that
// queued in the backlog meanwhile without any new connection arriving (an
// edge-triggered poller reports nothing new for them), logs the recovery
// once, and goes on accepting.
func TestAcceptRetrySurvivesRunningOutOfDescriptors(t *testing.T) {
	fds := newDescriptors(t)
	rt := fdRuntime(t, nil)
	const queued = 3
	type result struct {
		addr                        string
		linesWhileOut, acceptedOut  int
		errs                        []error
		greetings                   []string
		acceptedAfterRelease, later int
		lines                       []string
		failures, bursts            uint64
		serverErr                   error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		l := listen(t)
		defer l.Close()
		r.addr = l.AddrPort().String()
		var lines logLines
		wake := asyncrt.NewNotify(t.Runtime())
		retry := &socket.AcceptRetry{Log: lines.logf, OnError: func(err error) {
			r.errs = append(r.errs, err)
			wake.Notify()
		}}
		stop := asyncrt.NewCancellationToken()
		var accepted []time.Duration // only their number matters here
		server := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			return greeter(t, retry, l, stop, func() time.Duration { return 0 }, &accepted)
		}, asyncrt.Named("greeter"))

		clients := make([]rawClient, queued)
		for i := range clients {
			c, err := newRawClient()
			must(err)
			clients[i] = c
		}
		must(fds.fill(0))
		for _, c := range clients { // they arrive while the server cannot take them
			must(c.connect(t, l.AddrPort()))
		}
		waitFor(t, wake, func() bool { return len(r.errs) >= 3 }) // it paused, retried, failed again
		r.linesWhileOut, r.acceptedOut = len(lines), len(accepted)
		must(fds.release())

		// No new connection: the queued ones must be taken all the same.
		for _, c := range clients {
			g, err := c.greeting(t)
			must(err)
			r.greetings = append(r.greetings, g)
		}
		r.acceptedAfterRelease = len(accepted)
		_, err := asyncrt.Timeout(t, 10*time.Second, func(t *asyncrt.Task) int {
			r.greetings = append(r.greetings, greeting(dial(t, l)))
			return 0
		})
		must(err)
		r.later = len(accepted)
		stop.Cancel()
		r.serverErr = server.Wait(t)
		r.lines, r.failures, r.bursts = lines, retry.Failures(), retry.Bursts()
		return r
	})
	require.NotEmpty(t, r.errs)
	for _, err := range r.errs {
		assert.ErrorIs(t, err, syscall.EMFILE)
	}
	assert.Equal(t, 1, r.linesWhileOut, "one line for the burst, however many failures")
	assert.Zero(t, r.acceptedOut, "nothing accepted while out of descriptors")
	assert.Equal(t, []string{"hello\n", "hello\n", "hello\n", "hello\n"}, r.greetings)
	assert.Equal(t, queued, r.acceptedAfterRelease, "the backlog was taken with no new connection")
	assert.Equal(t, queued+1, r.later, "and the next connection too")
	require.Len(t, r.lines, 2, "one line when the burst began, one when it ended")
	assert.Regexp(t, `^socket: accept tcp `+r.addr+`: accept4: too many open files; accepting again in 5ms`, r.lines[0])
	assert.Regexp(t, fmt.Sprintf(`^socket: accept tcp %s: accepting again after %d failed accepts over \d`, r.addr, len(r.errs)), r.lines[1])
	assert.Equal(t, uint64(len(r.errs)), r.failures)
	assert.Equal(t, uint64(1), r.bursts)
	assert.NoError(t, r.serverErr)
	assert.Zero(t, rt.Stats().Registrations)
}

// TestAcceptRetryBacksOffDoublingToMaxAndResets times the pauses on a
// simulated clock: 5 ms after the first failure, doubling up to 1 s; the
// accept after the last pause takes the whole backlog at once; and a
// success starts the next burst at 5 ms again.
func TestAcceptRetryBacksOffDoublingToMaxAndResets(t *testing.T) {
	fds := newDescriptors(t)
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fdRuntime(t, clock)
	type result struct {
		addr             string
		failed, accepted []time.Duration
		errs             []error
		linesFirstBurst  int
		lines            []string
		failures, bursts uint64
		greetings        int
		serverErr        error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		l := listen(t)
		defer l.Close()
		r.addr = l.AddrPort().String()
		var lines logLines
		wake := asyncrt.NewNotify(t.Runtime())
		retry := &socket.AcceptRetry{Log: lines.logf, OnError: func(err error) {
			r.errs = append(r.errs, err)
			r.failed = append(r.failed, clock.Elapsed())
			wake.Notify()
		}}
		// The first burst: three connections queue, then the descriptors
		// run out, then the server starts: eleven accepts fail.
		clients := []*socket.TCPConn{dial(t, l), dial(t, l), dial(t, l)}
		must(fds.fill(0))
		stop := asyncrt.NewCancellationToken()
		server := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			return greeter(t, retry, l, stop, clock.Elapsed, &r.accepted)
		}, asyncrt.Named("greeter"))
		waitFor(t, wake, func() bool { return len(r.failed) >= 11 })
		r.linesFirstBurst = len(lines)
		must(fds.release())
		for _, c := range clients {
			if greeting(c) == "hello\n" {
				r.greetings++
			}
		}

		// The second burst starts from 5 ms again. The client's socket takes
		// the one descriptor left before its connection reaches the server.
		must(fds.fill(1))
		c := dial(t, l)
		waitFor(t, wake, func() bool { return len(r.failed) >= 13 })
		must(fds.release())
		if greeting(c) == "hello\n" {
			r.greetings++
		}
		stop.Cancel()
		r.serverErr = server.Wait(t)
		r.lines, r.failures, r.bursts = lines, retry.Failures(), retry.Bursts()
		return r
	})
	require.Len(t, r.failed, 13)
	for _, err := range r.errs {
		assert.ErrorIs(t, err, syscall.EMFILE)
	}
	var pauses []time.Duration
	for i := 1; i < 11; i++ {
		pauses = append(pauses, r.failed[i]-r.failed[i-1])
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{5 * ms, 10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second, time.Second}, pauses)
	first := r.failed[0]
	require.Len(t, r.accepted, 4)
	for _, at := range r.accepted[:3] {
		assert.Equal(t, 4275*ms, at-first, "the backlog is taken when the last pause ends")
	}
	assert.Equal(t, 5*ms, r.failed[12]-r.failed[11], "a success resets the pause")
	assert.Equal(t, 15*ms, r.accepted[3]-r.failed[11])
	assert.Equal(t, 4, r.greetings)
	assert.Equal(t, 1, r.linesFirstBurst)
	assert.Equal(t, []string{
		"socket: accept tcp " + r.addr + ": accept4: too many open files; accepting again in 5ms, " +
			"pausing up to 1s after further failures, which are counted but not logged until accepting works again",
		"socket: accept tcp " + r.addr + ": accepting again after 11 failed accepts over 4.275s",
		"socket: accept tcp " + r.addr + ": accept4: too many open files; accepting again in 5ms, " +
			"pausing up to 1s after further failures, which are counted but not logged until accepting works again",
		"socket: accept tcp " + r.addr + ": accepting again after 2 failed accepts over 15ms",
	}, r.lines)
	assert.Equal(t, uint64(13), r.failures)
	assert.Equal(t, uint64(2), r.bursts)
	assert.NoError(t, r.serverErr)
}

// TestAcceptRetryBurstEndsWithAnEmptyBacklog: out of descriptors, accept(2)
// fails even when no connection waits, so a burst can happen with an empty
// backlog; the first accept that finds none, once descriptors are back,
// ends it, and the next connection is taken as usual.
func TestAcceptRetryBurstEndsWithAnEmptyBacklog(t *testing.T) {
	fds := newDescriptors(t)
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fdRuntime(t, clock)
	type result struct {
		addr              string
		failed, accepted  []time.Duration
		errs              []error
		lines             []string
		linesBeforeSecond int
		failures, bursts  uint64
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		l := listen(t)
		defer l.Close()
		r.addr = l.AddrPort().String()
		var lines logLines
		wake := asyncrt.NewNotify(t.Runtime())
		logf := func(format string, args ...any) {
			lines.logf(format, args...)
			wake.Notify()
		}
		retry := &socket.AcceptRetry{Log: logf, OnError: func(err error) {
			r.errs = append(r.errs, err)
			r.failed = append(r.failed, clock.Elapsed())
			wake.Notify()
		}}
		// The first client queues; the server will take it with the last
		// descriptor and keep it, which leaves its next accept none.
		first := dial(t, l)
		must(fds.fill(1))
		stop := asyncrt.NewCancellationToken()
		var conns []*socket.TCPConn
		server := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
			halt, accept := asyncrt.OnCancel(stop), retry.OnAccept(l)
			for {
				if i, _ := asyncrt.Select(t, halt, accept); i == 0 {
					return
				}
				must(accept.Err())
				r.accepted = append(r.accepted, clock.Elapsed())
				conns = append(conns, accept.Conn())
				wake.Notify()
			}
		})
		waitFor(t, wake, func() bool { return len(r.failed) >= 3 })
		must(fds.release())
		waitFor(t, wake, func() bool { return len(lines) >= 2 }) // the burst is over
		r.linesBeforeSecond = len(lines)
		second := dial(t, l)
		waitFor(t, wake, func() bool { return len(r.accepted) >= 2 })
		stop.Cancel()
		must(server.Wait(t))
		for _, c := range append(conns, first, second) {
			must(c.Close())
		}
		r.lines, r.failures, r.bursts = lines, retry.Failures(), retry.Bursts()
		return r
	})
	require.Len(t, r.failed, 3)
	for _, err := range r.errs {
		assert.ErrorIs(t, err, syscall.EMFILE)
	}
	require.Len(t, r.accepted, 2)
	t0 := r.accepted[0]
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{t0, t0 + 5*ms, t0 + 15*ms}, r.failed, "failing with no connection waiting")
	assert.Equal(t, []string{
		"socket: accept tcp " + r.addr + ": accept4: too many open files; accepting again in 5ms, " +
			"pausing up to 1s after further failures, which are counted but not logged until accepting works again",
		"socket: accept tcp " + r.addr + ": accepting again after 3 failed accepts over 35ms",
	}, r.lines)
	assert.Equal(t, 2, r.linesBeforeSecond, "the burst ended before the next client came, at the retry that found the backlog empty")
	assert.Equal(t, uint64(3), r.failures)
	assert.Equal(t, uint64(1), r.bursts)
}

// TestAcceptRetryStopCaseCutsPauseShort: while accepts are paused, the
// loop's stop case wins at once, and the pause goes on, not restarted, in
// the loop's next Select.
func TestAcceptRetryStopCaseCutsPauseShort(t *testing.T) {
	fds := newDescriptors(t)
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fdRuntime(t, clock)
	type result struct {
		failed           []time.Duration
		first, second    int
		stoppedAt, gotAt time.Duration
		conn             bool
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		l := listen(t)
		defer l.Close()
		wake := asyncrt.NewNotify(t.Runtime())
		retry := &socket.AcceptRetry{Min: time.Second, Log: func(string, ...any) {}, OnError: func(error) {
			r.failed = append(r.failed, clock.Elapsed())
			wake.Notify()
		}}
		stop1, stop2 := asyncrt.NewCancellationToken(), asyncrt.NewCancellationToken()
		server := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
			accept := retry.OnAccept(l)
			r.first, _ = asyncrt.Select(t, asyncrt.OnCancel(stop1), accept)
			r.stoppedAt = clock.Elapsed()
			r.second, _ = asyncrt.Select(t, asyncrt.OnCancel(stop2), accept)
			r.gotAt = clock.Elapsed()
			if c := accept.Conn(); c != nil {
				r.conn = true
				must(c.Close())
			}
		})
		must(fds.fill(1))
		c := dial(t, l)
		waitFor(t, wake, func() bool { return len(r.failed) >= 1 })
		t.Sleep(100 * time.Millisecond)
		stop1.Cancel()
		waitFor(t, wake, func() bool { return len(r.failed) >= 2 })
		must(fds.release())
		must(server.Wait(t))
		must(c.Close())
		return r
	})
	require.Len(t, r.failed, 2)
	t0 := r.failed[0]
	assert.Equal(t, 0, r.first, "the stop case wins during the pause")
	assert.Equal(t, 100*time.Millisecond, r.stoppedAt-t0, "at once")
	assert.Equal(t, time.Second, r.failed[1]-t0, "the next Select keeps the pause's end")
	assert.Equal(t, 1, r.second)
	assert.True(t, r.conn)
	assert.Equal(t, 2*time.Second, r.gotAt-t0)
}

// TestAcceptRetryEndsWhenTheListenerCloses: net.ErrClosed ends the loop,
// from an idle listener closed by another goroutine, and during a pause at
// once; a burst that ends so is reported.
func TestAcceptRetryEndsWhenTheListenerCloses(t *testing.T) {
	fds := newDescriptors(t)
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fdRuntime(t, clock)
	type result struct {
		idleErr, pausedErr error
		idleLines          int
		failedAt, endedAt  time.Duration
		addr               string
		lines              []string
		failures           uint64
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		var lines logLines

		// Idle: the loop waits for a connection; another goroutine closes.
		l := listen(t)
		idle := &socket.AcceptRetry{Log: lines.logf}
		server := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			_, err := idle.Accept(t, l)
			return err
		})
		t.Yield() // the server waits in Accept
		must(onGoroutine(t, l.Close))
		r.idleErr = server.Wait(t)
		r.idleLines = len(lines)

		// Paused for a minute: the Close ends the pause at once.
		l = listen(t)
		r.addr = l.AddrPort().String()
		wake := asyncrt.NewNotify(t.Runtime())
		paused := &socket.AcceptRetry{Min: time.Minute, Log: lines.logf, OnError: func(error) {
			r.failedAt = clock.Elapsed()
			wake.Notify()
		}}
		server = asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			_, err := paused.Accept(t, l)
			r.endedAt = clock.Elapsed()
			return err
		})
		must(fds.fill(1))
		c := dial(t, l)
		waitFor(t, wake, func() bool { return paused.Failures() >= 1 })
		must(l.Close())
		r.pausedErr = server.Wait(t)
		must(fds.release())
		must(c.Close())
		r.lines, r.failures = lines, paused.Failures()
		return r
	})
	assert.ErrorIs(t, r.idleErr, net.ErrClosed)
	assert.Zero(t, r.idleLines, "a plain close is not worth a line")
	assert.ErrorIs(t, r.pausedErr, net.ErrClosed)
	assert.Equal(t, r.failedAt, r.endedAt, "the Close cut the minute's pause short")
	assert.Equal(t, uint64(1), r.failures)
	require.Len(t, r.lines, 2)
	assert.Contains(t, r.lines[0], "too many open files; accepting again in 1m0s")
	assert.Equal(t, "socket: accept tcp "+r.addr+": stopped after 1 failed accept over 0s: accept tcp "+
		r.addr+": use of closed network connection", r.lines[1])
}

// TestAcceptRetryEndsOnErrorsWaitingWillNotClear: a listener whose every
// accepted connection fails the same way (here a keep-alive period the
// kernel refuses, EINVAL) ends the loop with the error instead of dropping
// every client while it retries.
func TestAcceptRetryEndsOnErrorsWaitingWillNotClear(t *testing.T) {
	rt := newRuntime(t, nil)
	var lines logLines
	retry := &socket.AcceptRetry{Log: lines.logf}
	err := block(t, rt, func(t *asyncrt.Task) error {
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0", socket.KeepAlive(10*time.Hour)) // over TCP_KEEPIDLE's 32767 s
		must(err)
		defer l.Close()
		c := dial(t, l)
		defer c.Close()
		_, err = retry.Accept(t, l)
		return err
	})
	assert.ErrorIs(t, err, syscall.EINVAL)
	assert.ErrorContains(t, err, "setsockopt TCP_KEEPIDLE")
	assert.Zero(t, retry.Failures())
	assert.Empty(t, lines, "the error is the loop's to report")
}

// TestAcceptRetryMisuse: settings that make no sense, and a second
// listener, panic with a message that says what to do instead.
func TestAcceptRetryMisuse(t *testing.T) {
	rt := newRuntime(t, nil)
	msgs := block(t, rt, func(t *asyncrt.Task) map[string]string {
		l, other := listen(t), listen(t)
		defer l.Close()
		defer other.Close()
		m := map[string]string{}
		m["negative"] = panicMessage(func() { (&socket.AcceptRetry{Min: -time.Second}).OnAccept(l) })
		m["min>max"] = panicMessage(func() { (&socket.AcceptRetry{Min: 2 * time.Second, Max: time.Second}).OnAccept(l) })
		m["min only"] = panicMessage(func() { (&socket.AcceptRetry{Min: 2 * time.Second}).OnAccept(l) })
		m["max only"] = panicMessage(func() { (&socket.AcceptRetry{Max: time.Millisecond}).OnAccept(l) })
		m["nil"] = panicMessage(func() { new(socket.AcceptRetry).OnAccept(nil) })
		two := &socket.AcceptRetry{}
		two.OnAccept(l)
		m["second"] = panicMessage(func() { two.OnAccept(other) })
		changed := &socket.AcceptRetry{}
		accept := changed.OnAccept(l)
		changed.Max = -1
		m["changed"] = panicMessage(func() { _, _ = asyncrt.Select(t, accept) })
		return m
	})
	assert.Contains(t, msgs["negative"], "socket: AcceptRetry.Min (-1s) and Max (0s) must not be negative")
	assert.Contains(t, msgs["min>max"], "socket: AcceptRetry.Min (2s) is longer than Max (1s)")
	assert.Contains(t, msgs["min>max"], "make Min at most Max, or leave either zero")
	assert.Empty(t, msgs["min only"], "Max defaults to Min when Min is longer than 1s")
	assert.Empty(t, msgs["max only"], "Min defaults to Max when Max is shorter than 5ms")
	assert.Contains(t, msgs["nil"], "called with a nil listener")
	assert.Contains(t, msgs["second"], "make one AcceptRetry per listener")
	assert.Contains(t, msgs["changed"], "must not be negative")
	assert.Zero(t, rt.Stats().Registrations)
}
