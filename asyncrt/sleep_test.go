package asyncrt_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/orrery-go/orrery/asyncrt"
)

// A sleep holds one timer and no registration, and an abort stops the
// timer, whichever way the task sleeps.
func TestSleepHoldsOnlyATimerAndAbortStopsIt(t *testing.T) {
	sleeps := map[string]func(t *asyncrt.Task){
		"Sleep":      func(t *asyncrt.Task) { t.Sleep(time.Hour) },
		"SleepUntil": func(t *asyncrt.Task) { t.SleepUntil(t.Now().Add(time.Hour)) },
		"Timer.Wait": func(t *asyncrt.Task) { t.NewTimer(time.Hour).Wait(t) },
		"Interval.Tick": func(t *asyncrt.Task) {
			iv, err := t.Interval(time.Hour)
			if err != nil {
				panic(err)
			}
			iv.Tick(t)
		},
	}
	for name, sleep := range sleeps {
		for _, pooled := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pooled=%v", name, pooled), func(t *testing.T) {
				b := asyncrt.NewBuilder()
				if pooled {
					b = b.TaskPool(4, false)
				}
				rt, _ := simRuntime(t, b)
				type seen struct {
					timers, regs int
					err          error
					after        asyncrt.Stats
				}
				s := block(t, rt, func(t *asyncrt.Task) seen {
					h := asyncrt.SpawnFunc(t, sleep)
					t.Yield() // it runs to its sleep
					var s seen
					st := t.Runtime().Stats()
					s.timers, s.regs = st.PendingTimers, st.Registrations
					h.Abort()
					s.err = h.Wait(t)
					s.after = t.Runtime().Stats()
					return s
				})
				assert.Equal(t, 1, s.timers, "the sleep's timer")
				// A Timer is a registration of its own (it outlives a wait);
				// the sleep adds none.
				wantRegs := 0
				if name == "Timer.Wait" {
					wantRegs = 1
				}
				assert.Equal(t, wantRegs, s.regs, "registrations while asleep")
				assert.ErrorIs(t, s.err, asyncrt.ErrAborted)
				assert.Zero(t, s.after.PendingTimers, "the abort stopped the sleep's timer")
				assert.Zero(t, s.after.Registrations)
			})
		}
	}
}

// A wake of another of the task's registrations while it sleeps resumes it
// early: it sleeps on to its deadline, and the wake is kept for its next
// Wait, which returns at once.
func TestSleepKeepsAnotherWaitsWake(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	type result struct {
		slept          time.Duration
		woken, promise bool
		queueWoken     int
		waitPolls      uint64
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var q asyncrt.WaitQueue
		waker := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
			t.Sleep(time.Millisecond)
			q.WakeOne()
		})
		var r result
		w := t.Enqueue(&q)
		start := t.Now()
		t.Sleep(10 * time.Millisecond)
		r.slept = t.Now().Sub(start)
		r.woken, r.promise, r.queueWoken = w.Woken(), w.Promised(), q.Woken()
		polls := t.Runtime().Stats().Polls
		t.Wait() // the wake that came during the sleep
		r.waitPolls = t.Runtime().Stats().Polls - polls
		w.Release()
		if err := waker.Wait(t); err != nil {
			panic(err)
		}
		return r
	})
	assert.Equal(t, 10*time.Millisecond, r.slept, "the wake did not cut the sleep short")
	assert.True(t, r.woken, "the registration is still woken after the sleep")
	assert.True(t, r.promise, "and still holds its counted wake")
	assert.Equal(t, 1, r.queueWoken)
	assert.Zero(t, r.waitPolls, "Wait returned without suspending")
}

// A deadline that passes during a sleep stops the sleep's timer, and the
// task can sleep again at once.
func TestTimeoutDuringSleepThenSleepAgain(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	got := block(t, rt, func(t *asyncrt.Task) []time.Duration {
		start := t.Now()
		_, err := asyncrt.Timeout(t, time.Second, func(t *asyncrt.Task) struct{} {
			t.Sleep(time.Hour)
			return struct{}{}
		})
		if !errors.Is(err, asyncrt.ErrElapsed) {
			panic(err)
		}
		cut := t.Now().Sub(start)
		pending := time.Duration(t.Runtime().Stats().PendingTimers)
		t.Sleep(time.Second)
		return []time.Duration{cut, pending, t.Now().Sub(start)}
	})
	assert.Equal(t, []time.Duration{time.Second, 0, 2 * time.Second}, got)
}
