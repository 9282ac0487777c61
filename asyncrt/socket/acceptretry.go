package socket

import (
	"errors"
	"fmt"
	"log"
	"net"
	"syscall"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
)

// The default pauses of an AcceptRetry, those of net/http.Server.Serve: 5 ms
// after the first failed accept, doubling up to 1 s.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

// AcceptRetry keeps an accept loop going through failures that leave the
// listener usable, as net/http.Server.Serve does, so that a server survives
// running out of file descriptors:
//
//	var retry socket.AcceptRetry // the zero value: 5 ms doubling to 1 s, log.Printf
//	stop, accept := asyncrt.OnCancel(token), retry.OnAccept(l)
//	for {
//		if i, _ := asyncrt.Select(t, stop, accept); i == 0 {
//			return nil
//		}
//		if err := accept.Err(); err != nil {
//			return err // net.ErrClosed, or an error that waiting will not clear
//		}
//		serve(accept.Conn())
//	}
//
// When an accept fails with an error that clears by waiting (EMFILE,
// ENFILE, ENOBUFS, ENOMEM, ENOSPC, ECONNABORTED, ECONNRESET, EPERM, EPROTO,
// ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ENETDOWN, EINTR and the other
// network errors accept(2) passes on for a connection), the case does not
// complete: it counts the failure, logs it if it is the first of a burst,
// pauses accepting (Min, doubling up to Max) and then calls accept(2) again
// — whether or not a new connection arrived meanwhile, so that connections
// that queued in the backlog while descriptors were short are taken as soon
// as descriptors come back (an edge-triggered poller would not report them
// again). The first accept that does not fail ends the burst, whether it
// took a connection or found none waiting (out of descriptors, accept(2)
// fails even with an empty backlog): that is logged, with the number of
// failures and how long they lasted, and the pause goes back to Min.
//
// Any other error — net.ErrClosed once the listener is closed, or one that
// waiting will not clear (EBADF, EINVAL, ENOTSOCK, an option the listener
// sets on every accepted connection that the kernel refuses...) — completes
// the case with that error, for the loop to end and report.
//
// A pause does not hold up the loop's other cases: a stop case in the same
// Select wins at once; closing the listener ends a pause at once too, with
// net.ErrClosed.
//
// The zero value is ready to use. An AcceptRetry paces one listener (its
// pause and counters are that listener's) and is used by one task at a
// time. Set its fields before its first use.
type AcceptRetry struct {
	// Min is the pause after the first failed accept of a burst, and Max the
	// longest pause: each failure doubles the pause, up to Max. Zero means
	// 5 ms (or Max, if shorter) and 1 s (or Min, if longer), as in
	// net/http. Negative values, and a Min longer than Max, are misuse:
	// OnAccept, Accept and the case's Select panic, saying so.
	Min, Max time.Duration
	// Log receives two lines per burst of failures: the first failure, and
	// the accept that ends the burst (or, should the listener be closed or
	// fail for good first, the burst's count). Nil means log.Printf.
	Log func(format string, args ...any)
	// OnError, if set, is told of every failed accept that is retried, as
	// it happens (Log says only the first of a burst): for metrics, or a
	// test.
	//
	// Log and OnError run on the runtime's thread, inside the loop's
	// Select: they must not suspend the task (a log.Printf, a counter or a
	// non-blocking send is fine).
	OnError func(err error)

	l        *TCPListener
	own      *AcceptRetryCase // the case Accept reuses
	delay    time.Duration    // the next pause; 0: Min
	resumeAt time.Time        // when the current pause ends; zero: not pausing
	failures uint64
	bursts   uint64
	burst    struct {
		failures    uint64
		start       time.Time
		first, last error
	}
}

// Failures returns the number of failed accepts that were retried.
func (r *AcceptRetry) Failures() uint64 { return r.failures }

// Bursts returns the number of bursts: runs of failed accepts, each ended
// by the first accept that does not fail.
func (r *AcceptRetry) Bursts() uint64 { return r.bursts }

// OnAccept returns a Select case that accepts the next connection of l, as
// [OnAccept] does, but rides out the failures that leave l usable, as the
// type's documentation says. When it wins, Conn holds the connection and
// Err is nil, or Err is the error that ends the accept loop.
func (r *AcceptRetry) OnAccept(l *TCPListener) *AcceptRetryCase {
	r.bind(l, "AcceptRetry.OnAccept")
	return &AcceptRetryCase{r: r, in: OnAccept(l)}
}

// Accept waits for the next connection of l, as [TCPListener.Accept] does,
// but rides out the failures that leave l usable, as the type's
// documentation says: it returns a connection, or the error that ends the
// accept loop (net.ErrClosed once l is closed, from any goroutine). t must
// be the calling task, of the listener's runtime.
func (r *AcceptRetry) Accept(t *asyncrt.Task, l *TCPListener) (*TCPConn, error) {
	r.bind(l, "AcceptRetry.Accept")
	if r.own == nil {
		r.own = &AcceptRetryCase{r: r, in: OnAccept(l)}
	}
	if _, err := asyncrt.Select(t, r.own); err != nil {
		return nil, err // not reached: one non-nil case
	}
	return r.own.c, r.own.err
}

// bind checks the settings and ties r to l, the one listener it paces.
func (r *AcceptRetry) bind(l *TCPListener, op string) {
	if l == nil {
		panic("socket: " + op + " called with a nil listener: pass the *TCPListener " +
			"that ListenTCP returned")
	}
	if r.l != nil && r.l != l {
		panic("socket: " + op + " called with a second listener: an AcceptRetry paces " +
			"one listener (its pause and its counters are that listener's), so make " +
			"one AcceptRetry per listener")
	}
	r.bounds()
	r.l = l
}

// bounds returns the pauses, with the defaults filled in; it panics on
// settings that make no sense, saying how to fix them.
func (r *AcceptRetry) bounds() (lo, hi time.Duration) {
	lo, hi = r.Min, r.Max
	switch {
	case lo < 0 || hi < 0:
		panic(fmt.Sprintf("socket: AcceptRetry.Min (%v) and Max (%v) must not be negative: "+
			"they are the first and the longest pause after a failed accept; leave them "+
			"zero for %v and %v", lo, hi, acceptRetryMin, acceptRetryMax))
	case lo > hi && hi != 0:
		panic(fmt.Sprintf("socket: AcceptRetry.Min (%v) is longer than Max (%v): Min is "+
			"the first pause after a failed accept and Max the longest; make Min at most "+
			"Max, or leave either zero for its default (%v, %v)",
			lo, hi, acceptRetryMin, acceptRetryMax))
	}
	if hi == 0 {
		hi = max(acceptRetryMax, lo)
	}
	if lo == 0 {
		lo = min(acceptRetryMin, hi)
	}
	return lo, hi
}

func (r *AcceptRetry) logf(format string, args ...any) {
	if r.Log != nil {
		r.Log(format, args...)
		return
	}
	log.Printf(format, args...)
}

// where names the listener in log lines, as a *net.OpError would.
func (r *AcceptRetry) where() string {
	return "accept " + r.l.network + " " + r.l.local.String()
}

// failed records a failed accept that will be retried, and starts a pause.
func (r *AcceptRetry) failed(now time.Time, err error) {
	lo, hi := r.bounds()
	if r.delay == 0 {
		r.delay = lo
	}
	pause := min(r.delay, hi) // Max may have been lowered since
	r.delay = hi
	if pause <= hi/2 { // no overflow
		r.delay = 2 * pause
	}
	r.resumeAt = now.Add(pause)
	r.failures++
	b := &r.burst
	b.failures++
	b.last = err
	if b.failures == 1 {
		r.bursts++
		b.start, b.first = now, err
		r.logf("socket: %v; accepting again in %v, pausing up to %v after further "+
			"failures, which are counted but not logged until accepting works again", err, pause, hi)
	}
	if r.OnError != nil {
		r.OnError(err)
	}
}

// accepted ends a burst, if one is on: accept(2) took a connection, or
// found none waiting.
func (r *AcceptRetry) accepted(now time.Time) {
	r.delay, r.resumeAt = 0, time.Time{}
	if r.burst.failures > 0 {
		r.logf("socket: %s: accepting again after %s", r.where(), r.endBurst(now))
	}
}

// ended reports the burst, if one is on, when err ends the loop.
func (r *AcceptRetry) ended(now time.Time, err error) {
	r.resumeAt = time.Time{}
	if r.burst.failures > 0 {
		r.logf("socket: %s: stopped after %s: %v", r.where(), r.endBurst(now), err)
	}
}

// endBurst describes the burst and starts afresh.
func (r *AcceptRetry) endBurst(now time.Time) string {
	b := &r.burst
	s := fmt.Sprintf("%d failed accept", b.failures)
	if b.failures > 1 {
		s += "s"
	}
	s += " over " + now.Sub(b.start).String()
	if b.last.Error() != b.first.Error() {
		s += " (the last: " + b.last.Error() + ")"
	}
	b.failures, b.first, b.last = 0, nil, nil
	return s
}

// retryable reports whether an accept error may clear by waiting: running
// out of descriptors or memory, or an error about one connection, which is
// gone (accept(2) passes on a connection's pending network error, and asks
// that it be treated like EAGAIN). Every other error ends the loop, as in
// net/http.Server.Serve: one that a wait will not clear, or that nobody
// expected, is better reported than retried forever.
func retryable(err error) bool {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, asyncrt.ErrClosed) {
		return false
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case
		// Out of descriptors or memory, or epoll's max_user_watches reached
		// when registering the connection:
		syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ENOSPC,
		// Interrupted:
		syscall.EINTR, syscall.EAGAIN,
		// The connection is gone, or a firewall refused it:
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.ETIMEDOUT, syscall.EPERM,
		// The new connection's network errors, which accept(2) passes on:
		syscall.EPROTO, syscall.ENOPROTOOPT, syscall.EOPNOTSUPP, syscall.ENOSR,
		syscall.ESOCKTNOSUPPORT, syscall.EPROTONOSUPPORT, syscall.ENETDOWN, syscall.ENONET,
		syscall.EHOSTDOWN, syscall.EHOSTUNREACH, syscall.ENETUNREACH:
		return true
	}
	return false
}

// AcceptRetryCase is the Select case of [AcceptRetry.OnAccept].
type AcceptRetryCase struct {
	r          *AcceptRetry
	in         *AcceptCase
	timer      asyncrt.Waiter // wakes the task when a pause ends
	registered bool           // between Register and Unregister
	c          *TCPConn
	err        error
}

// Conn returns the connection the case accepted.
func (c *AcceptRetryCase) Conn() *TCPConn { return c.c }

// Err returns the error that completed the case: nil with a connection, or
// the error that ends the accept loop.
func (c *AcceptRetryCase) Err() error { return c.err }

// Begin implements asyncrt.SelectCase.
func (c *AcceptRetryCase) Begin(t *asyncrt.Task) {
	c.in.Begin(t)
	c.r.bounds()
	c.c, c.err = nil, nil
}

// Poll implements asyncrt.SelectCase.
func (c *AcceptRetryCase) Poll(t *asyncrt.Task) bool {
	r := c.r
	if !r.resumeAt.IsZero() && !c.in.l.closed.Load() && t.Now().Before(r.resumeAt) {
		return false // pausing
	}
	r.resumeAt = time.Time{}
	c.timer.Release()
	if !c.in.Poll(t) {
		// The backlog is empty: wait for the next connection. accept(2)
		// reports EMFILE and the like before it looks at the backlog, so
		// a burst may end here, with nobody to accept.
		r.accepted(t.Now())
		return false
	}
	conn, err := c.in.Conn(), c.in.Err()
	switch {
	case err == nil:
		r.accepted(t.Now())
	case !retryable(err):
		r.ended(t.Now(), err)
	default:
		r.failed(t.Now(), err)
		if c.registered {
			// The accept case ended its registration on completing: wait
			// again, for the end of the pause (or a Close).
			c.in.Register(t)
			c.armTimer(t)
		}
		return false
	}
	c.c, c.err = conn, err
	return true
}

// Register implements asyncrt.SelectCase. While accepts are paused, the
// task waits for the end of the pause, and on the listener so that a Close
// ends the pause at once.
func (c *AcceptRetryCase) Register(t *asyncrt.Task) {
	c.registered = true
	c.in.Register(t)
	if !c.r.resumeAt.IsZero() {
		c.armTimer(t)
	}
}

func (c *AcceptRetryCase) armTimer(t *asyncrt.Task) {
	c.timer = t.NewWaiter()
	c.timer.WakeAt(c.r.resumeAt)
}

// Unregister implements asyncrt.SelectCase.
func (c *AcceptRetryCase) Unregister(t *asyncrt.Task) {
	c.registered = false
	c.in.Unregister(t)
	c.timer.Cancel()
}

var _ asyncrt.SelectCase = (*AcceptRetryCase)(nil)
