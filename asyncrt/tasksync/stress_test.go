package tasksync_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/tasksync"
)

// The stress tests drive each primitive with many tasks, scheduled by a
// seeded random source, and check it against a simple model after every
// step. A runtime on a simulated clock is single-threaded and replays
// identically, so every seed is one reproducible run.

var stressSeeds = []uint64{1, 2, 3, 4, 5, 6, 7, 8}

// pause lets time pass for a random while: nothing, a few yields, or a
// simulated sleep of a few milliseconds.
func pause(tk *asyncrt.Task, rng *rand.Rand) {
	switch rng.IntN(3) {
	case 0:
	case 1:
		yieldN(tk, rng.IntN(4))
	case 2:
		tk.Sleep(time.Duration(1+rng.IntN(4)) * time.Millisecond)
	}
}

// Workers acquire random numbers of permits through Acquire, Acquire under
// a Timeout, and OnAcquire in a Select with a timeout, hold them a random
// while, and release them; a chaos task aborts workers at random. The model
// counts the permits held: free plus held is always the capacity, the
// permits are granted in the order the requests arrived, and every worker
// not aborted finishes all its rounds.
func TestSemaphoreStress(t *testing.T) {
	for _, seed := range stressSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { semaphoreStress(t, seed) })
	}
}

func semaphoreStress(t *testing.T, seed uint64) {
	const capacity, workers, rounds = 6, 16, 50
	rng := rand.New(rand.NewPCG(seed, 0x5e3a))
	rt := newRuntime(t)
	s := newSemaphore(t, capacity)
	held := 0
	var arrived, lastGranted uint64 // tickets: requests in arrival order
	check := func(where string) {
		if a := s.Available(); a < 0 || a > capacity || a+held != capacity {
			t.Errorf("%s: %d permits free and %d held, capacity %d", where, a, held, capacity)
		}
	}
	type tally struct{ acquired, timedOut int }
	worker := func(tk *asyncrt.Task) tally {
		var r tally
		for range rounds {
			n := 1 + rng.IntN(capacity)
			d := time.Duration(1+rng.IntN(6)) * time.Millisecond
			arrived++
			ticket := arrived
			var err error
			switch rng.IntN(4) {
			case 0, 1:
				err = s.Acquire(tk, n)
			case 2:
				var terr error
				err, terr = asyncrt.Timeout(tk, d, func(tk *asyncrt.Task) error { return s.Acquire(tk, n) })
				if terr != nil {
					r.timedOut++
					continue
				}
			case 3:
				c := tasksync.OnAcquire(s, n)
				if i, _ := asyncrt.Select(tk, c, asyncrt.OnTimeout(d)); i == 1 {
					r.timedOut++
					continue
				}
				err = c.Err()
			}
			if err != nil {
				t.Errorf("acquiring %d: %v", n, err)
				return r
			}
			if ticket <= lastGranted {
				t.Errorf("request %d granted after request %d", ticket, lastGranted)
			}
			lastGranted = ticket
			held += n
			r.acquired++
			check("acquired")
			func() {
				defer func() { // also when the task is aborted while it holds them
					held -= n
					s.Release(n)
					check("released")
				}()
				pause(tk, rng)
			}()
		}
		return r
	}
	run(t, rt, func(tk *asyncrt.Task) {
		hs := make([]asyncrt.JoinHandle[tally], workers)
		for i := range hs {
			hs[i] = asyncrt.Spawn(tk, worker)
		}
		for range 40 {
			pause(tk, rng)
			check("chaos")
			if rng.IntN(8) == 0 {
				hs[rng.IntN(workers)].Abort()
			}
		}
		finished, acquired, timedOut := 0, 0, 0
		for _, h := range hs {
			r, err := h.Await(tk)
			switch {
			case err == nil:
				finished++
				if r.acquired+r.timedOut != rounds {
					t.Errorf("a worker finished with %d acquired and %d timed out, want %d rounds",
						r.acquired, r.timedOut, rounds)
				}
				acquired += r.acquired
				timedOut += r.timedOut
			case !errors.Is(err, asyncrt.ErrAborted):
				t.Errorf("worker: %v", err)
			}
		}
		t.Logf("%d of %d workers finished: %d acquisitions, %d timeouts; %d polls, %d timers fired",
			finished, workers, acquired, timedOut, rt.Stats().Polls, rt.Stats().TimersFired)
		if finished == 0 || acquired == 0 || timedOut == 0 {
			t.Errorf("%d workers finished, %d acquisitions: the run tests nothing", finished, acquired)
		}
		equal(t, "held at the end", held, 0)
		equal(t, "Available at the end", s.Available(), capacity)
		equal(t, "Waiting at the end", s.Waiting(), 0)
	})
}

// Receivers read at random paces through Recv, TryRecv and Select while
// the sender sends bursts; one receiver is aborted and one unsubscribed at
// random points. Every receiver must get every value in order, except
// that a lag is reported with exactly the number of values it lost — those
// overwritten before it read them — and never when none was lost.
func TestBroadcastStress(t *testing.T) {
	for _, seed := range stressSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { broadcastStress(t, seed) })
	}
}

func broadcastStress(t *testing.T, seed uint64) {
	const capacity, receivers, total = 8, 6, 3000
	rng := rand.New(rand.NewPCG(seed, 0xb0ad))
	rt := newRuntime(t)
	b, err := tasksync.NewBroadcast[uint64](capacity)
	if err != nil {
		t.Fatal(err)
	}
	type tally struct{ got, missed, lags uint64 }
	receiver := func(r *tasksync.BroadcastReceiver[uint64]) func(*asyncrt.Task) tally {
		return func(tk *asyncrt.Task) tally {
			var n tally
			next := uint64(0) // the model's cursor
			c := tasksync.OnBroadcastRecv(r)
			for {
				if rng.IntN(16) == 0 {
					pause(tk, rng)
				}
				var v uint64
				var err error
				switch rng.IntN(3) {
				case 0:
					v, err = r.Recv(tk)
				case 1:
					v, err = r.TryRecv()
				case 2:
					if i, _ := asyncrt.Select(tk, c, asyncrt.OnTimeout(time.Millisecond)); i == 1 {
						continue
					}
					v, err = c.Value(), c.Err()
				}
				var lag *tasksync.LaggedError
				switch {
				case err == nil:
					if v != next {
						t.Errorf("received %d, want %d", v, next)
					}
					next = v + 1
					n.got++
				case errors.As(err, &lag):
					oldest := b.Sent() - capacity
					if b.Sent() < capacity || next >= oldest || next+lag.Missed != oldest || !errors.Is(err, tasksync.ErrLagged) {
						t.Errorf("lagged %d at %d with %d sent, want to the oldest in the ring", lag.Missed, next, b.Sent())
					}
					next = oldest
					n.missed += lag.Missed
					n.lags++
				case errors.Is(err, tasksync.ErrEmpty):
					if next != b.Sent() {
						t.Errorf("TryRecv empty at %d with %d sent", next, b.Sent())
					}
				case errors.Is(err, tasksync.ErrClosed):
					return n
				default:
					t.Errorf("receive: %v", err)
					return n
				}
			}
		}
	}
	run(t, rt, func(tk *asyncrt.Task) {
		rxs := make([]*tasksync.BroadcastReceiver[uint64], receivers)
		hs := make([]asyncrt.JoinHandle[tally], receivers)
		for i := range rxs {
			rxs[i] = b.Subscribe()
			hs[i] = asyncrt.Spawn(tk, receiver(rxs[i]))
		}
		abortAt, unsubAt := uint64(rng.IntN(total)), uint64(rng.IntN(total))
		for seq := uint64(0); seq < total; {
			for burst := rng.IntN(capacity + 3); burst > 0 && seq < total; burst-- {
				if seq == abortAt {
					hs[0].Abort()
				}
				if seq == unsubAt {
					b.Unsubscribe(rxs[1])
				}
				if err := b.Send(seq); err != nil {
					t.Errorf("Send: %v", err)
				}
				seq++
			}
			pause(tk, rng)
		}
		b.Close()
		equal(t, "Send after Close", errors.Is(b.Send(0), tasksync.ErrClosed), true)
		var lags, missed uint64
		for i, h := range hs {
			n, err := h.Await(tk)
			switch {
			case i == 0:
				if !errors.Is(err, asyncrt.ErrAborted) {
					t.Errorf("aborted receiver: %v", err)
				}
			case err != nil:
				t.Errorf("receiver %d: %v", i, err)
			case i == 1:
				if n.got+n.missed > uint64(unsubAt) {
					t.Errorf("unsubscribed receiver got %d and missed %d of the %d sent before", n.got, n.missed, unsubAt)
				}
			default:
				if n.got+n.missed != total {
					t.Errorf("receiver %d got %d and missed %d, want %d in all", i, n.got, n.missed, total)
				}
				lags += n.lags
				missed += n.missed
			}
		}
		t.Logf("%d lags, %d values missed; %d polls", lags, missed, rt.Stats().Polls)
		if lags == 0 {
			t.Errorf("no receiver lagged: the run does not test lag accounting")
		}
		equal(t, "Receivers", b.Receivers(), receivers-1)
	})
}

// Receivers wait for changes at random paces through Changed and Select
// while a sender sends; one is aborted at random. Each change a receiver
// sees is the latest value at that moment, versions only go up, and after
// Close every receiver has seen the last value before it gets ErrClosed.
func TestWatchStress(t *testing.T) {
	for _, seed := range stressSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { watchStress(t, seed) })
	}
}

func watchStress(t *testing.T, seed uint64) {
	const receivers, total = 6, 2000
	rng := rand.New(rand.NewPCG(seed, 0x3a7c))
	rt := newRuntime(t)
	w := tasksync.NewWatch[uint64](0)
	receiver := func(r *tasksync.WatchReceiver[uint64]) func(*asyncrt.Task) uint64 {
		return func(tk *asyncrt.Task) uint64 {
			last, seen := uint64(0), uint64(0)
			c := tasksync.OnChanged(r)
			for {
				if rng.IntN(4) == 0 {
					pause(tk, rng)
				}
				var v uint64
				var err error
				if rng.IntN(2) == 0 {
					v, err = r.Changed(tk)
				} else {
					if i, _ := asyncrt.Select(tk, c, asyncrt.OnTimeout(time.Millisecond)); i == 1 {
						continue
					}
					v, err = c.Value(), c.Err()
				}
				if errors.Is(err, tasksync.ErrClosed) {
					if cur, _ := w.Borrow(); last != cur {
						t.Errorf("closed after seeing %d, the last value is %d", last, cur)
					}
					return seen
				}
				cur, version := w.Borrow()
				if err != nil || v != cur || v <= last || version != v {
					t.Errorf("Changed = %d, %v after %d; the watch holds %d at version %d", v, err, last, cur, version)
				}
				last = v
				seen++
			}
		}
	}
	run(t, rt, func(tk *asyncrt.Task) {
		hs := make([]asyncrt.JoinHandle[uint64], receivers)
		for i := range hs {
			hs[i] = asyncrt.Spawn(tk, receiver(w.Subscribe()))
		}
		abortAt := uint64(rng.IntN(total))
		for v := uint64(1); v <= total; v++ {
			if v == abortAt {
				hs[0].Abort()
			}
			w.Send(v) // the value is its version
			if rng.IntN(3) == 0 {
				pause(tk, rng)
			}
		}
		w.Close()
		for i, h := range hs {
			seen, err := h.Await(tk)
			switch {
			case i == 0:
				if !errors.Is(err, asyncrt.ErrAborted) {
					t.Errorf("aborted receiver: %v", err)
				}
			case err != nil:
				t.Errorf("receiver %d: %v", i, err)
			case seen == 0 || seen > total:
				t.Errorf("receiver %d saw %d changes", i, seen)
			}
		}
	})
}
