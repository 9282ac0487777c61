package tasksync_test

import (
	"errors"
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/tasksync"
)

func newSemaphore(tb testing.TB, permits int) *tasksync.Semaphore {
	tb.Helper()
	s, err := tasksync.NewSemaphore(permits)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// acquirer spawns a task that acquires n permits, appends id to *order and
// returns the error of its Acquire.
func acquirer(t *asyncrt.Task, s *tasksync.Semaphore, n, id int, order *[]int) asyncrt.JoinHandle[error] {
	return asyncrt.Spawn(t, func(t *asyncrt.Task) error {
		if err := s.Acquire(t, n); err != nil {
			return err
		}
		*order = append(*order, id)
		return nil
	})
}

func TestSemaphoreUncontended(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 3)
	run(t, rt, func(tk *asyncrt.Task) {
		equal(t, "Acquire", s.Acquire(tk, 2), nil)
		equal(t, "TryAcquire(2)", s.TryAcquire(2), false)
		equal(t, "TryAcquire(1)", s.TryAcquire(1), true)
		equal(t, "Available", s.Available(), 0)
		s.Release(3)
		equal(t, "Available", s.Available(), 3)
		s.Release(0)
		equal(t, "Available", s.Available(), 3)
	})
}

func TestSemaphoreFIFO(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 0)
	run(t, rt, func(tk *asyncrt.Task) {
		var order []int
		var hs []asyncrt.JoinHandle[error]
		for id := range 8 {
			hs = append(hs, acquirer(tk, s, 1, id, &order))
		}
		tk.Yield() // every acquirer waits
		equal(t, "Waiting", s.Waiting(), 8)
		s.Release(3)
		s.Release(5)
		for _, h := range hs {
			equal(t, "Acquire", await(t, tk, h), nil)
		}
		equalSlices(t, "order", order, []int{0, 1, 2, 3, 4, 5, 6, 7})
		equal(t, "Available", s.Available(), 0)
		equal(t, "Waiting", s.Waiting(), 0)
	})
}

// A task asking for many permits at the head of the line is not starved by
// later tasks asking for few, and gets them before those.
func TestSemaphoreLargeRequestNotStarved(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 0)
	run(t, rt, func(tk *asyncrt.Task) {
		var order []int
		big := acquirer(tk, s, 3, 0, &order)
		var small []asyncrt.JoinHandle[error]
		for id := 1; id <= 3; id++ {
			small = append(small, acquirer(tk, s, 1, id, &order))
		}
		tk.Yield()
		s.Release(1)
		yieldN(tk, 3)
		s.Release(1)
		yieldN(tk, 3)
		equal(t, "acquired with 2 of 3 permits free", len(order), 0)
		equal(t, "Available", s.Available(), 2)
		equal(t, "TryAcquire with tasks in line", s.TryAcquire(1), false)
		s.Release(1)
		equal(t, "Acquire", await(t, tk, big), nil)
		equalSlices(t, "order", order, []int{0})
		s.Release(3)
		for _, h := range small {
			equal(t, "Acquire", await(t, tk, h), nil)
		}
		equalSlices(t, "order", order, []int{0, 1, 2, 3})
	})
}

// A task that arrives while another was woken for permits and has not run
// yet queues behind it, though the permits are free.
func TestSemaphoreNewcomerDoesNotOvertakeWoken(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 0)
	run(t, rt, func(tk *asyncrt.Task) {
		var order []int
		first := acquirer(tk, s, 1, 0, &order)
		tk.Yield()
		s.Release(1) // wakes first; it runs in the next cycle
		equal(t, "TryAcquire by a newcomer", s.TryAcquire(1), false)
		late := acquirer(tk, s, 1, 1, &order)
		equal(t, "first", await(t, tk, first), nil)
		s.Release(1)
		equal(t, "late", await(t, tk, late), nil)
		equalSlices(t, "order", order, []int{0, 1})
	})
}

// A request larger than the permits the semaphore ever had waits until
// releases bring enough.
func TestSemaphoreRequestBeyondCapacity(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 2)
	run(t, rt, func(tk *asyncrt.Task) {
		var order []int
		h := acquirer(tk, s, 5, 0, &order)
		yieldN(tk, 3)
		equal(t, "Waiting", s.Waiting(), 1)
		s.Release(3)
		equal(t, "Acquire", await(t, tk, h), nil)
		equal(t, "Available", s.Available(), 0)
	})
}

func TestSemaphoreAbortWaiting(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 0)
	run(t, rt, func(tk *asyncrt.Task) {
		var order []int
		a := acquirer(tk, s, 1, 0, &order)
		b := acquirer(tk, s, 1, 1, &order)
		tk.Yield() // both wait at their suspension point
		a.Abort()
		if _, err := a.Await(tk); !errors.Is(err, asyncrt.ErrAborted) {
			t.Errorf("aborted Await: %v, want ErrAborted", err)
		}
		equal(t, "Waiting", s.Waiting(), 1)
		s.Release(1)
		equal(t, "b", await(t, tk, b), nil)
		equalSlices(t, "order", order, []int{1})
		equal(t, "Available", s.Available(), 0)
	})
}

// A task woken for permits and aborted before it ran passes its wake on.
func TestSemaphoreAbortWoken(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 0)
	run(t, rt, func(tk *asyncrt.Task) {
		var order []int
		a := acquirer(tk, s, 2, 0, &order)
		b := acquirer(tk, s, 2, 1, &order)
		c := acquirer(tk, s, 1, 2, &order)
		tk.Yield()
		s.Release(2) // wakes a
		a.Abort()    // before a runs
		if _, err := a.Await(tk); !errors.Is(err, asyncrt.ErrAborted) {
			t.Errorf("aborted Await: %v, want ErrAborted", err)
		}
		equal(t, "b", await(t, tk, b), nil)
		equal(t, "Available", s.Available(), 0)
		s.Release(1)
		equal(t, "c", await(t, tk, c), nil)
		equalSlices(t, "order", order, []int{1, 2})
		equal(t, "Available", s.Available(), 0)
	})
}

// A task first in line that holds back the line and is aborted lets the
// tasks behind it take the permits that are free.
func TestSemaphoreAbortBlockingHead(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 2)
	run(t, rt, func(tk *asyncrt.Task) {
		var order []int
		a := acquirer(tk, s, 3, 0, &order)
		b := acquirer(tk, s, 2, 1, &order)
		yieldN(tk, 3)
		equal(t, "Waiting", s.Waiting(), 2)
		a.Abort()
		_, _ = a.Await(tk)
		equal(t, "b", await(t, tk, b), nil)
		equalSlices(t, "order", order, []int{1})
		equal(t, "Available", s.Available(), 0)
	})
}

// A Timeout expiring while a task waits for permits unwinds it out of line.
func TestSemaphoreTimeout(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 1)
	run(t, rt, func(tk *asyncrt.Task) {
		if err := s.Acquire(tk, 1); err != nil {
			t.Errorf("Acquire: %v", err)
		}
		late := asyncrt.Spawn(tk, func(tk *asyncrt.Task) error {
			tk.Sleep(time.Millisecond) // queue behind the one that times out
			return s.Acquire(tk, 1)
		})
		_, err := asyncrt.Timeout(tk, 5*time.Millisecond, func(tk *asyncrt.Task) error {
			return s.Acquire(tk, 1)
		})
		if !errors.Is(err, asyncrt.ErrElapsed) {
			t.Errorf("Timeout: %v, want ErrElapsed", err)
		}
		equal(t, "Waiting", s.Waiting(), 1)
		s.Release(1)
		equal(t, "late", await(t, tk, late), nil)
		equal(t, "Available", s.Available(), 0)
	})
}

// Close turns every waiting task away with ErrClosed: with a wake in
// flight to the task first in line, or with none.
func TestSemaphoreClose(t *testing.T) {
	for _, woken := range []bool{false, true} {
		t.Run(map[bool]string{false: "waiting", true: "woken"}[woken], func(t *testing.T) {
			rt := newRuntime(t)
			s := newSemaphore(t, 1)
			run(t, rt, func(tk *asyncrt.Task) {
				var order []int
				var hs []asyncrt.JoinHandle[error]
				for id := range 4 {
					hs = append(hs, acquirer(tk, s, 2, id, &order))
				}
				tk.Yield()
				if woken {
					s.Release(1) // wakes the first: it has not run when Close comes
				}
				s.Close()
				s.Close()
				for _, h := range hs {
					err := await(t, tk, h)
					if !errors.Is(err, tasksync.ErrClosed) {
						t.Errorf("Acquire after Close: %v, want ErrClosed", err)
					}
					errorContains(t, err, "tasksync: Semaphore.Acquire: semaphore closed")
				}
				equal(t, "acquired", len(order), 0)
				if err := s.Acquire(tk, 1); !errors.Is(err, tasksync.ErrClosed) {
					t.Errorf("Acquire on closed: %v", err)
				}
				equal(t, "TryAcquire on closed", s.TryAcquire(1), false)
				before := s.Available()
				s.Release(1)
				equal(t, "Available after Release", s.Available(), before+1)
			})
		})
	}
}

func TestSemaphoreInvalid(t *testing.T) {
	_, err := tasksync.NewSemaphore(-1)
	if !errors.Is(err, tasksync.ErrInvalid) {
		t.Errorf("NewSemaphore(-1): %v, want ErrInvalid", err)
	}
	errorContains(t, err, "tasksync: NewSemaphore:", "-1")
	rt := newRuntime(t)
	s := newSemaphore(t, 1)
	run(t, rt, func(tk *asyncrt.Task) {
		err := s.Acquire(tk, 0)
		if !errors.Is(err, tasksync.ErrInvalid) {
			t.Errorf("Acquire(0): %v, want ErrInvalid", err)
		}
		errorContains(t, err, "tasksync: Semaphore.Acquire:")
		equal(t, "TryAcquire(0)", s.TryAcquire(0), false)
		equal(t, "TryAcquire(-1)", s.TryAcquire(-1), false)
		mustPanic(t, func() { s.Release(-1) }, "Semaphore.Release", "negative")
		mustPanic(t, func() { s.Release(int(^uint(0) >> 1)) }, "math.MaxInt")
		c := tasksync.OnAcquire(s, 0)
		if _, err := asyncrt.Select(tk, c); !errors.Is(c.Err(), tasksync.ErrInvalid) || err != nil {
			t.Errorf("OnAcquire(0): %v, %v", err, c.Err())
		}
		equal(t, "Available", s.Available(), 1)
	})
}

func TestSemaphoreMisuse(t *testing.T) {
	rt := newRuntime(t)
	other := newRuntime(t)
	s := newSemaphore(t, 1)
	run(t, rt, func(tk *asyncrt.Task) {
		mustPanic(t, func() { _ = s.Acquire(nil, 1) }, "Semaphore.Acquire", "nil *asyncrt.Task")
		equal(t, "Acquire", s.Acquire(tk, 1), nil) // binds s to rt
		s.Release(1)
	})
	run(t, other, func(tk *asyncrt.Task) {
		mustPanic(t, func() { _ = s.Acquire(tk, 1) }, "Semaphore.Acquire", "another runtime")
		mustPanic(t, func() { _, _ = asyncrt.Select(tk, tasksync.OnAcquire(s, 1)) }, "OnAcquire", "another runtime")
		mustPanic(t, func() { _, _ = asyncrt.Select(tk, tasksync.OnAcquire(nil, 1)) }, "nil *Semaphore")
	})
}

func TestOnAcquire(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 1)
	run(t, rt, func(tk *asyncrt.Task) {
		acq := tasksync.OnAcquire(s, 1)
		i, err := asyncrt.Select(tk, acq, asyncrt.OnTimeout(time.Second))
		equal(t, "winner", i, 0)
		equal(t, "err", err, nil)
		equal(t, "Err", acq.Err(), nil)
		equal(t, "Available", s.Available(), 0)

		// Nothing free: the timeout wins and the case leaves the line.
		start := tk.Now()
		i, _ = asyncrt.Select(tk, acq, asyncrt.OnTimeout(time.Second))
		equal(t, "winner", i, 1)
		equal(t, "waited", tk.Now().Sub(start), time.Second)
		equal(t, "Waiting", s.Waiting(), 0)

		// The case is reused: it waits in line, behind a task.
		var order []int
		a := acquirer(tk, s, 1, 0, &order)
		tk.Yield()
		h := asyncrt.Spawn(tk, func(tk *asyncrt.Task) error {
			_, err := asyncrt.Select(tk, acq)
			order = append(order, 1)
			return errors.Join(err, acq.Err())
		})
		tk.Yield()
		equal(t, "Waiting", s.Waiting(), 2)
		s.Release(2)
		equal(t, "a", await(t, tk, a), nil)
		equal(t, "select", await(t, tk, h), nil)
		equalSlices(t, "order", order, []int{0, 1})

		s.Close()
		i, _ = asyncrt.Select(tk, acq)
		equal(t, "winner", i, 0)
		if !errors.Is(acq.Err(), tasksync.ErrClosed) {
			t.Errorf("OnAcquire on closed: %v", acq.Err())
		}
		errorContains(t, acq.Err(), "tasksync: OnAcquire: semaphore closed")
	})
}

// A Select woken for permits that another case wins passes the wake to the
// next task in line.
func TestOnAcquireLosesAfterWake(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 0)
	w := tasksync.NewWatch(0)
	run(t, rt, func(tk *asyncrt.Task) {
		var order []int
		rx := w.Subscribe()
		sel := asyncrt.Spawn(tk, func(tk *asyncrt.Task) int {
			i, _ := asyncrt.Select(tk, tasksync.OnChanged(rx), tasksync.OnAcquire(s, 1))
			return i
		})
		tk.Yield()
		b := acquirer(tk, s, 1, 1, &order)
		tk.Yield()
		s.Release(1) // wakes the Select, first in line
		w.Send(1)    // which the watch's case, listed first, wins
		equal(t, "winner", await(t, tk, sel), 0)
		equal(t, "b", await(t, tk, b), nil)
		equalSlices(t, "order", order, []int{1})
		equal(t, "Available", s.Available(), 0)
	})
}

// A Select aborted while it holds the line back as the task first in line:
// the runtime ends its registration without telling the semaphore (a Select
// case has no hook for that), so the task behind is woken by the next
// operation on the semaphore. Acquire itself has no such delay: see
// TestSemaphoreAbortBlockingHead.
func TestOnAcquireAbortedWhileBlockingHead(t *testing.T) {
	rt := newRuntime(t)
	s := newSemaphore(t, 2)
	run(t, rt, func(tk *asyncrt.Task) {
		var order []int
		sel := asyncrt.Spawn(tk, func(tk *asyncrt.Task) int {
			i, _ := asyncrt.Select(tk, tasksync.OnAcquire(s, 3))
			return i
		})
		tk.Yield()
		b := acquirer(tk, s, 2, 1, &order)
		yieldN(tk, 3)
		sel.Abort() // Select unregisters its cases as it unwinds: b is served at once
		_, _ = sel.Await(tk)
		equal(t, "b", await(t, tk, b), nil)
		equal(t, "Waiting", s.Waiting(), 0)
		equalSlices(t, "order", order, []int{1})
		equal(t, "Available", s.Available(), 0)
	})
}
