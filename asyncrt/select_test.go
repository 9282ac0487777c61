package asyncrt_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

func TestSelectChoosesTheReadyCase(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	type result struct {
		first, second, third, fourth int
		value                        string
		at                           time.Duration
		badEmpty, badNil             error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		s1, rx1, _ := asyncrt.NewChan[string](rt, 1)
		_, rx2, _ := asyncrt.NewChan[string](rt, 1)
		recv1, recv2 := asyncrt.OnRecv(rx1), asyncrt.OnRecv(rx2)
		timeout := asyncrt.OnTimeout(time.Second)

		_ = s1.Send(t, "ready")
		r.first, _ = asyncrt.Select(t, recv2, recv1, timeout)
		r.value = recv1.Value()

		// Nothing ready: the timeout wins, exactly a second later.
		start := t.Now()
		r.second, _ = asyncrt.Select(t, recv1, recv2, timeout)
		r.at = t.Now().Sub(start)

		// A value sent while Select waits wakes it.
		asyncrt.After(t, 10*time.Millisecond, func(t *asyncrt.Task) error { return s1.Send(t, "late") })
		r.third, _ = asyncrt.Select(t, timeout, recv1)

		// Both ready: the first listed wins.
		_ = s1.Send(t, "x")
		r.fourth, _ = asyncrt.Select(t, asyncrt.OnDeadline(t.Now()), recv1)

		_, r.badEmpty = asyncrt.Select(t)
		_, r.badNil = asyncrt.Select(t, recv1, nil)
		return r
	})
	assert.Equal(t, 1, r.first)
	assert.Equal(t, "ready", r.value)
	assert.Equal(t, 2, r.second)
	assert.Equal(t, time.Second, r.at)
	assert.Equal(t, 1, r.third)
	assert.Equal(t, 0, r.fourth)
	assert.ErrorContains(t, r.badEmpty, "at least one case")
	assert.ErrorContains(t, r.badNil, "case 1 is nil")
	assert.Zero(t, rt.Stats().PendingTimers, "losing timer cases leave no timer")
}

func TestSelectAllCaseKinds(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	type result struct {
		order  []int
		joined int
		sent   []int
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		s, rx, _ := asyncrt.NewChan[int](rt, 1)
		_ = s.Send(t, 0) // full
		cs, crx, _ := asyncrt.NewCrossChan[int](rt, 1)
		tok := asyncrt.NewCancellationToken()
		n := asyncrt.NewNotify(rt)
		job := asyncrt.Spawn(t, func(t *asyncrt.Task) int { t.Sleep(50 * time.Millisecond); return 42 })

		send := asyncrt.OnSend(s, 7)
		cross := asyncrt.OnCrossRecv(crx)
		cancel := asyncrt.OnCancel(tok)
		notify := asyncrt.OnNotify(n)
		join := asyncrt.OnJoin(job)
		cases := []asyncrt.SelectCase{send, cross, cancel, notify, join}

		asyncrt.After(t, 10*time.Millisecond, func(*asyncrt.Task) int { _ = cs.TrySend(1); return 0 })
		asyncrt.After(t, 20*time.Millisecond, func(*asyncrt.Task) int { n.Notify(); return 0 })
		asyncrt.After(t, 30*time.Millisecond, func(*asyncrt.Task) int { tok.Cancel(); return 0 })
		asyncrt.After(t, 40*time.Millisecond, func(t *asyncrt.Task) int { v, _ := rx.Recv(t); return v })

		for range 5 {
			i, err := asyncrt.Select(t, cases...)
			if err != nil {
				panic(err)
			}
			r.order = append(r.order, i)
			switch i {
			case 1:
				cases[1] = asyncrt.OnTimeout(time.Hour) // consumed: replace
			case 2:
				cases[2] = asyncrt.OnTimeout(time.Hour)
			case 0:
				cases[0] = asyncrt.OnTimeout(time.Hour)
			}
		}
		r.joined, _ = join.Result()
		v, _ := rx.Recv(t)
		r.sent = append(r.sent, v)
		if asyncrt.ExternalWaits(rt) != 0 || asyncrt.TokenWaiters(tok) != 0 || asyncrt.NotifyWaiters(n) != 0 {
			panic("registrations left behind")
		}
		if recv, senders := asyncrt.CrossChanWaiters(crx); recv != 0 || senders != 0 {
			panic("cross registrations left behind")
		}
		return r
	})
	assert.Equal(t, []int{1, 3, 2, 0, 4}, r.order, "cases complete in the order their events come")
	assert.Equal(t, 42, r.joined)
	assert.Equal(t, []int{7}, r.sent)
}

func TestSelectAbortAndTimeoutLeaveNoRegistration(t *testing.T) {
	rt := newRuntime(t, nil)
	err := block(t, rt, func(t *asyncrt.Task) error {
		_, rx, _ := asyncrt.NewChan[int](rt, 1)
		cs, crx, _ := asyncrt.NewCrossChan[int](rt, 1)
		defer cs.Close()
		tok := asyncrt.NewCancellationToken()
		n := asyncrt.NewNotify(rt)
		selecting := func(t *asyncrt.Task) int {
			i, _ := asyncrt.Select(t, asyncrt.OnRecv(rx), asyncrt.OnCrossRecv(crx), asyncrt.OnCancel(tok),
				asyncrt.OnNotify(n), asyncrt.OnTimeout(time.Hour))
			return i
		}
		// Aborted while selecting.
		h := asyncrt.Spawn(t, selecting)
		t.Yield()
		h.Abort()
		if _, err := h.Await(t); !errors.Is(err, asyncrt.ErrAborted) {
			return fmt.Errorf("abort: %v", err)
		}
		// Timed out while selecting.
		if _, err := asyncrt.Timeout(t, time.Millisecond, selecting); !errors.Is(err, asyncrt.ErrElapsed) {
			return fmt.Errorf("timeout: %v", err)
		}
		if recv, _ := asyncrt.ChanWaiters(rx); recv != 0 {
			return errors.New("receiver registration left")
		}
		if recv, _ := asyncrt.CrossChanWaiters(crx); recv != 0 {
			return errors.New("cross receiver registration left")
		}
		if asyncrt.TokenWaiters(tok) != 0 || asyncrt.NotifyWaiters(n) != 0 || asyncrt.ExternalWaits(rt) != 0 {
			return errors.New("waiter left")
		}
		if p := t.Runtime().Stats().PendingTimers; p != 0 {
			return fmt.Errorf("%d timers left", p)
		}
		return nil
	})
	assert.NoError(t, err)
}

// Goroutines feed a cross channel and cancel tokens while tasks select over
// them, a local channel and timeouts; every value is received exactly once.
func TestSelectStress(t *testing.T) {
	rt := newRuntime(t, nil)
	const producers, each = 4, 500
	cs, crx, _ := asyncrt.NewCrossChan[int](rt, 8)
	var wg sync.WaitGroup
	for p := range producers {
		sp := cs.Clone()
		wg.Go(func() {
			defer sp.Close()
			for j := range each {
				if err := sp.Send(p*each + j); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	cs.Close()
	seen := block(t, rt, func(t *asyncrt.Task) map[int]int {
		seen := map[int]int{}
		ls, lrx, _ := asyncrt.NewChan[int](rt, 4)
		rng := rand.New(rand.NewPCG(1, 1))
		// A relay task moves some values through the local channel.
		relay := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			defer ls.Close()
			cross := asyncrt.OnCrossRecv(crx)
			tick := asyncrt.OnTimeout(50 * time.Microsecond)
			for {
				i, _ := asyncrt.Select(t, cross, tick)
				if i == 1 {
					continue // a timeout: go round
				}
				if cross.Err() != nil {
					return 0
				}
				if rng.IntN(2) == 0 {
					_ = ls.Send(t, cross.Value())
				} else {
					seen[cross.Value()]++
				}
			}
		})
		recv := asyncrt.OnRecv(lrx)
		for {
			i, err := asyncrt.Select(t, recv, asyncrt.OnTimeout(100*time.Microsecond))
			if err != nil {
				panic(err)
			}
			if i == 1 {
				continue // timed out
			}
			if recv.Err() != nil {
				break
			}
			seen[recv.Value()]++
		}
		_, _ = relay.Await(t)
		return seen
	})
	wg.Wait()
	require.Len(t, seen, producers*each)
	for v, n := range seen {
		require.Equal(t, 1, n, "value %d received %d times", v, n)
	}
}

func TestTimeCaseResetReusesOneCase(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	got := block(t, rt, func(t *asyncrt.Task) []time.Duration {
		tok := asyncrt.NewCancellationToken()
		cancel, timeout := asyncrt.OnCancel(tok), asyncrt.OnTimeout(0)
		var at []time.Duration
		for _, d := range []time.Duration{3 * time.Millisecond, time.Millisecond, 0, 2 * time.Second} {
			timeout.Reset(d)
			if i, err := asyncrt.Select(t, cancel, timeout); i != 1 || err != nil {
				panic(fmt.Sprint("select: ", i, err))
			}
			at = append(at, t.Now().Sub(simStart))
		}
		timeout.ResetAt(simStart.Add(5 * time.Second))
		if i, _ := asyncrt.Select(t, cancel, timeout); i != 1 {
			panic("ResetAt")
		}
		return append(at, t.Now().Sub(simStart))
	})
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{3 * ms, 4 * ms, 4 * ms, 2004 * ms, 5000 * ms}, got)
}

// A server loop selects on the shutdown signal next to its work.
func TestSelectOnShutdown(t *testing.T) {
	rt := newRuntime(t, nil)
	h := rt.ShutdownHandle()
	got := block(t, rt, func(t *asyncrt.Task) []int {
		tx, rx, _ := asyncrt.NewChan[int](t.Runtime(), 4)
		_ = tx.Send(t, 1)
		var got []int
		work, stop := asyncrt.OnRecv(rx), asyncrt.OnShutdown()
		for {
			i, err := asyncrt.Select(t, stop, work)
			if err != nil {
				panic(err)
			}
			if i == 0 {
				return append(got, -1)
			}
			got = append(got, work.Value())
			if len(got) == 1 {
				h.Trigger() // from a task too: the signal arrives through the inbox
			}
		}
	})
	assert.Equal(t, []int{1, -1}, got)
	assert.Zero(t, rt.Stats().Registrations)
}
