package tasksync

import (
	"math"

	"github.com/orrery-go/orrery/asyncrt"
)

// Semaphore is a counting semaphore for the tasks of one runtime. It holds a
// number of permits: a task takes n of them with [Semaphore.Acquire],
// waiting until they are available, and gives them back with
// [Semaphore.Release]. Use it to bound how many tasks do something at once,
// or as a budget that a ticker task refills.
//
// Waiting tasks are served strictly first come, first served. A task first
// in line that asks for many permits holds back the tasks behind it, even
// those that would be content with the permits already free, so a large
// request is never starved by small ones. A task that arrives while others
// wait, or were woken and have not yet run, queues behind them even if
// enough permits are free. Permits pass to waiters one at a time: Release
// wakes the task first in line, and each task that acquires wakes the next
// while permits remain.
//
// The number of permits is not capped: Release may add more than were ever
// taken, and a task may ask for more permits than the semaphore holds now —
// it waits (holding back the tasks behind it) until releases bring enough.
//
// A Semaphore belongs to the runtime of the first task that acquires through
// Acquire or OnAcquire (see the package documentation). Its zero value holds no permits; Release adds
// some. It must not be copied after first use.
type Semaphore struct {
	owner
	permits int
	closed  bool
	q       asyncrt.WaitQueue
	// blocked is the registration of the task first in line that was woken,
	// found fewer than need permits and waits on, keeping its place: Release
	// does not wake it again until there are need permits. It is zero or
	// ended when no such task is known.
	blocked asyncrt.Waiter
	need    int
}

// NewSemaphore returns a semaphore holding permits permits. A negative
// number is an error wrapping [ErrInvalid].
func NewSemaphore(permits int) (*Semaphore, error) {
	if permits < 0 {
		return nil, invalid("NewSemaphore", "permits must not be negative, got %d", permits)
	}
	return &Semaphore{permits: permits}, nil
}

// Acquire takes n permits, suspending t until they are available and every
// task that came before it has been served. It returns an error wrapping
// [ErrClosed] if the semaphore is closed before then, and one wrapping
// [ErrInvalid] if n < 1.
//
// If t is aborted or its [asyncrt.Timeout] expires while it waits, it
// unwinds from here without taking anything, and the task behind it in line
// is served in its place.
func (s *Semaphore) Acquire(t *asyncrt.Task, n int) error {
	s.bind(t, "Semaphore.Acquire", "Semaphore")
	switch {
	case n < 1:
		return invalid("Semaphore.Acquire", "n must be at least 1, got %d", n)
	case s.closed:
		return errAcquireClosed
	case s.permits >= n && s.q.Empty():
		s.permits -= n
		return nil
	}
	return s.acquireSlow(t, n)
}

// acquireSlow is Acquire for a task that has to wait in line.
func (s *Semaphore) acquireSlow(t *asyncrt.Task, n int) error {
	w := s.enqueue(t, n)
	done := false
	defer func() {
		if !done {
			// t is unwinding (aborted, or a Timeout expired) from Wait.
			s.leave(w)
		}
	}()
	for {
		t.Wait()
		if ok, closed := s.take(w, n); ok {
			done = true
			if closed {
				return errAcquireClosed
			}
			return nil
		}
	}
}

// enqueue registers t at the back of the line for n permits.
func (s *Semaphore) enqueue(t *asyncrt.Task, n int) asyncrt.Waiter {
	first := s.q.Empty()
	w := t.Enqueue(&s.q)
	if first && s.permits < n {
		s.blocked, s.need = w, n // nothing to wake it for until there are n
	} else {
		// The task first in line may have left without being served (see
		// wakeNext); it is woken now.
		s.wakeNext()
	}
	return w
}

// take ends the wait of registration w for n permits if it can: it took the
// permits, or the semaphore is closed. Otherwise w, if it was woken, is the
// task first in line and waits on for more permits, keeping its place.
func (s *Semaphore) take(w asyncrt.Waiter, n int) (done, closed bool) {
	if s.closed {
		s.leave(w)
		return true, true
	}
	if !w.Woken() {
		return false, false
	}
	if s.permits < n {
		s.blocked, s.need = w, n
		return false, false
	}
	s.permits -= n
	w.Release()
	s.blocked = asyncrt.Waiter{}
	s.wakeNext()
	return true, false
}

// leave ends registration w without taking permits: a wake it held passes
// to the next task in line, and if it held back the line, the next task
// is woken.
func (s *Semaphore) leave(w asyncrt.Waiter) {
	w.Cancel()
	s.wakeNext()
}

// wakeNext wakes the task first in line if no wake is in flight and there
// are permits it may take: at most one waiter is woken at a time, so none
// can overtake another. Every operation calls it, so that a line left
// blocked by a registration that ended without the semaphore being told
// (its task finished holding it) moves on at the next operation.
func (s *Semaphore) wakeNext() {
	if s.q.Len() == 0 || s.q.Woken() > 0 || s.permits < 1 {
		return
	}
	if s.blocked.Active() && s.permits < s.need {
		return
	}
	s.blocked = asyncrt.Waiter{}
	s.q.WakeOne()
}

// TryAcquire takes n permits if it can without waiting: they are available
// and no task is waiting for permits. It reports whether it took them. It
// never succeeds for n < 1 or on a closed semaphore.
func (s *Semaphore) TryAcquire(n int) bool {
	if n < 1 || s.closed {
		return false
	}
	if s.permits >= n && s.q.Empty() {
		s.permits -= n
		return true
	}
	s.wakeNext()
	return false
}

// Release adds n permits and wakes the task first in line if it can now
// take its permits. Releasing 0 does nothing; a negative n, or a total
// beyond math.MaxInt, panics. Releasing to a closed semaphore is allowed
// (it wakes nobody): a task that holds permits while another closes the
// semaphore may give them back as usual.
func (s *Semaphore) Release(n int) {
	if n < 0 {
		panic("tasksync: Semaphore.Release called with a negative number of permits: " +
			"release what was acquired, or close the semaphore to turn waiters away")
	}
	if n > math.MaxInt-s.permits {
		panic("tasksync: Semaphore.Release would take the number of permits past math.MaxInt: " +
			"release only what was acquired")
	}
	s.permits += n
	s.wakeNext()
}

// Available returns the number of permits free now. Permits may be free
// while tasks wait: the task first in line waits for more than are free.
func (s *Semaphore) Available() int { return s.permits }

// Waiting returns the number of tasks in line for permits: those waiting,
// and those woken that have not yet run.
func (s *Semaphore) Waiting() int { return s.q.Len() + s.q.Woken() }

// Close closes the semaphore: every waiting task, and every later Acquire,
// gets an error wrapping [ErrClosed], and TryAcquire fails. Permits held by
// tasks may still be released. Closing twice does nothing.
func (s *Semaphore) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.blocked = asyncrt.Waiter{}
	s.q.WakeAll()
}

// AcquireCase is an [asyncrt.Select] case that acquires permits of a
// [Semaphore]. Make one with [OnAcquire]; it may be reused across Select
// calls by one task at a time.
type AcquireCase struct {
	s   *Semaphore
	n   int
	w   asyncrt.Waiter
	err error
}

// OnAcquire returns a Select case that takes n permits of s, waiting in
// line as [Semaphore.Acquire] does. When it wins, Err is nil and the task
// holds the permits, or Err wraps [ErrClosed] or [ErrInvalid]. If another
// case wins, or the task is aborted or timed out inside the Select, the case
// leaves the line without taking anything and the task behind it is served.
func OnAcquire(s *Semaphore, n int) *AcquireCase { return &AcquireCase{s: s, n: n} }

// Err returns the error of the case's last completion: nil if it took the
// permits.
func (c *AcquireCase) Err() error { return c.err }

// Begin implements [asyncrt.SelectCase].
func (c *AcquireCase) Begin(t *asyncrt.Task) {
	if c.s == nil {
		panic("tasksync: OnAcquire was given a nil *Semaphore: make one with NewSemaphore")
	}
	c.s.bind(t, "OnAcquire", "Semaphore")
	c.w, c.err = asyncrt.Waiter{}, nil
}

// Poll implements [asyncrt.SelectCase].
func (c *AcquireCase) Poll(*asyncrt.Task) bool {
	s := c.s
	if c.n < 1 {
		c.err = invalid("OnAcquire", "n must be at least 1, got %d", c.n)
		c.w.Cancel()
		return true
	}
	if !c.w.Active() { // not in line: a newcomer
		switch {
		case s.closed:
			c.err = errOnAcquireClosed
		case s.permits >= c.n && s.q.Empty():
			s.permits -= c.n
		default:
			return false
		}
		return true
	}
	done, closed := s.take(c.w, c.n)
	if closed {
		c.err = errOnAcquireClosed
	}
	return done
}

// Register implements [asyncrt.SelectCase].
func (c *AcquireCase) Register(t *asyncrt.Task) { c.w = c.s.enqueue(t, c.n) }

// Unregister implements [asyncrt.SelectCase].
func (c *AcquireCase) Unregister(*asyncrt.Task) {
	if c.w.Active() {
		c.s.leave(c.w)
	}
}
