package asyncrt_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

var simStart = time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC)

func simRuntime(t *testing.T, b *asyncrt.Builder) (*asyncrt.Runtime, *asyncrt.SimClock) {
	t.Helper()
	clock := asyncrt.NewSimClock(simStart)
	if b == nil {
		b = asyncrt.NewBuilder()
	}
	return newRuntime(t, b.Clock(clock)), clock
}

func TestSleepNeverWakesEarly(t *testing.T) {
	rt := newRuntime(t, nil)
	type wake struct {
		d             time.Duration
		calledAt, now time.Time
		real          time.Time
	}
	wakes := block(t, rt, func(t *asyncrt.Task) []wake {
		rng := rand.New(rand.NewPCG(7, 8))
		var hs []asyncrt.JoinHandle[wake]
		for range 300 {
			d := time.Duration(rng.Int64N(int64(20 * time.Millisecond)))
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) wake {
				at := t.Now()
				t.Sleep(d)
				return wake{d, at, t.Now(), time.Now()}
			}))
		}
		var out []wake
		for _, h := range hs {
			w, err := h.Await(t)
			if err != nil {
				panic(err)
			}
			out = append(out, w)
		}
		return out
	})
	for _, w := range wakes {
		deadline := w.calledAt.Add(w.d)
		assert.False(t, w.now.Before(deadline), "event time %v before deadline %v", w.now, deadline)
		assert.False(t, w.real.Before(deadline), "woke at %v, before deadline %v", w.real, deadline)
	}
}

func TestSleepZeroOrNegativeReturnsAtOnce(t *testing.T) {
	rt := newRuntime(t, nil)
	polls := block(t, rt, func(t *asyncrt.Task) uint64 {
		before := t.Runtime().Stats().Polls
		t.Sleep(0)
		t.Sleep(-time.Second)
		t.SleepUntil(t.Now().Add(-time.Hour))
		return t.Runtime().Stats().Polls - before
	})
	assert.Zero(t, polls, "no suspension")
}

func TestSimClockExactWakeTimes(t *testing.T) {
	rt, clock := simRuntime(t, nil)
	got := block(t, rt, func(t *asyncrt.Task) []time.Duration {
		var hs []asyncrt.JoinHandle[time.Duration]
		for _, d := range []time.Duration{3 * time.Second, time.Nanosecond, 1500 * time.Microsecond,
			time.Hour, 90 * 24 * time.Hour, 0} {
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) time.Duration {
				t.Sleep(d)
				return t.Now().Sub(simStart)
			}))
		}
		var out []time.Duration
		for _, h := range hs {
			v, _ := h.Await(t)
			out = append(out, v)
		}
		return out
	})
	assert.Equal(t, []time.Duration{3 * time.Second, time.Nanosecond, 1500 * time.Microsecond,
		time.Hour, 90 * 24 * time.Hour, 0}, got, "each task wakes at exactly its deadline")
	assert.Equal(t, 90*24*time.Hour, clock.Elapsed())
	assert.Equal(t, simStart.Add(90*24*time.Hour), clock.Now())
	assert.Zero(t, rt.Stats().Parks, "simulated, not waited: the runtime never slept")
}

// traceRun runs a small simulation with timers, intervals and timeouts and
// returns everything that happened, in order, with simulated timestamps.
func traceRun(t *testing.T) []string {
	rt, _ := simRuntime(t, nil)
	return block(t, rt, func(t *asyncrt.Task) []string {
		var log []string
		logf := func(t *asyncrt.Task, format string, args ...any) {
			log = append(log, fmt.Sprintf("%v ", t.Now().Sub(simStart))+fmt.Sprintf(format, args...))
		}
		rng := rand.New(rand.NewPCG(11, 12))
		var hs []asyncrt.JoinHandle[int]
		for i := range 20 {
			period := time.Duration(1+rng.IntN(50)) * time.Millisecond
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int {
				iv, err := t.Interval(period)
				if err != nil {
					panic(err)
				}
				for n := range 5 {
					iv.Tick(t)
					logf(t, "task %d tick %d", i, n)
					if n == 2 {
						_, err := asyncrt.Timeout(t, period/2, func(t *asyncrt.Task) int {
							t.Sleep(period)
							return 0
						})
						logf(t, "task %d timeout %v", i, err)
					}
				}
				return i
			}))
		}
		for _, h := range hs {
			_, _ = h.Await(t)
		}
		return log
	})
}

func TestSimulatedRunsAreReproducible(t *testing.T) {
	a, b := traceRun(t), traceRun(t)
	require.Len(t, a, 20*6)
	assert.Equal(t, a, b)
}

func TestSimulatedHourOfTicks(t *testing.T) {
	rt, clock := simRuntime(t, nil)
	ticks := block(t, rt, func(t *asyncrt.Task) []time.Time {
		iv, err := t.Interval(time.Second)
		if err != nil {
			panic(err)
		}
		var ticks []time.Time
		for range 3600 {
			ticks = append(ticks, iv.Tick(t))
		}
		return ticks
	})
	require.Len(t, ticks, 3600)
	for i, tick := range ticks {
		require.Equal(t, simStart.Add(time.Duration(i+1)*time.Second), tick)
	}
	assert.Equal(t, time.Hour, clock.Elapsed())
	assert.Zero(t, rt.Stats().Parks, "simulated, not waited: the runtime never slept")
}

func TestTimeoutUnwindsAndRunsDefers(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	type result struct {
		v       int
		err     error
		cleaned bool
		after   bool
		now     time.Duration
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		r.v, r.err = asyncrt.Timeout(t, time.Second, func(t *asyncrt.Task) int {
			defer func() { r.cleaned = true }()
			t.Sleep(time.Hour)
			r.after = true
			return 1
		})
		r.now = t.Now().Sub(simStart)
		return r
	})
	assert.ErrorIs(t, r.err, asyncrt.ErrElapsed)
	assert.Zero(t, r.v)
	assert.True(t, r.cleaned, "defers of the cut-off work run")
	assert.False(t, r.after)
	assert.Equal(t, time.Second, r.now, "cut off exactly at the deadline")
	assert.Zero(t, rt.Stats().PendingTimers, "the hour-long sleep left no timer behind")
}

func TestTimeoutReturnsInTime(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	v, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) error {
		v, err := asyncrt.Timeout(t, time.Second, func(t *asyncrt.Task) int {
			t.Sleep(10 * time.Millisecond)
			return 5
		})
		if v != 5 {
			return errors.Join(err, errors.New("wrong value"))
		}
		return err
	})
	require.NoError(t, err)
	assert.NoError(t, v)
	assert.Zero(t, rt.Stats().PendingTimers, "the unused deadline was cancelled")
}

func TestNestedTimeouts(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	type result struct{ inner, outer error }
	r := block(t, rt, func(t *asyncrt.Task) []result {
		var out []result
		// The inner deadline comes first: only the inner call is cut off.
		var r1 result
		_, r1.outer = asyncrt.Timeout(t, 2*time.Second, func(t *asyncrt.Task) int {
			_, r1.inner = asyncrt.Timeout(t, time.Second, func(t *asyncrt.Task) int {
				t.Sleep(time.Hour)
				return 0
			})
			return 0
		})
		out = append(out, r1)
		// The outer deadline comes first: it unwinds through the inner call.
		var r2 result
		r2.inner = errors.New("inner Timeout returned")
		_, r2.outer = asyncrt.Timeout(t, time.Second, func(t *asyncrt.Task) int {
			_, r2.inner = asyncrt.Timeout(t, time.Hour, func(t *asyncrt.Task) int {
				t.Sleep(2 * time.Hour)
				return 0
			})
			return 0
		})
		out = append(out, r2)
		return out
	})
	assert.ErrorIs(t, r[0].inner, asyncrt.ErrElapsed)
	assert.NoError(t, r[0].outer)
	assert.ErrorIs(t, r[1].outer, asyncrt.ErrElapsed)
	assert.EqualError(t, r[1].inner, "inner Timeout returned", "the inner call never returned")
}

func TestTimeoutZeroCutsAtFirstSuspension(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		ran bool
		err error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		_, r.err = asyncrt.Timeout(t, 0, func(t *asyncrt.Task) int {
			r.ran = true
			t.Yield()
			return 1
		})
		return r
	})
	assert.True(t, r.ran, "the function starts")
	assert.ErrorIs(t, r.err, asyncrt.ErrElapsed)
}

func TestTimeoutKeepsPanicsAndAborts(t *testing.T) {
	rt := newRuntime(t, nil)
	err := block(t, rt, func(t *asyncrt.Task) error {
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			v, _ := asyncrt.Timeout(t, time.Hour, func(t *asyncrt.Task) int {
				panic("inside a timeout")
			})
			return v
		})
		_, err := h.Await(t)
		return err
	})
	var pe *asyncrt.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "inside a timeout", pe.Value)
	assert.Contains(t, string(pe.Stack), "TestTimeoutKeepsPanicsAndAborts", "the stack points at the panic")

	err = block(t, rt, func(t *asyncrt.Task) error {
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			_, err := asyncrt.Timeout(t, time.Hour, func(t *asyncrt.Task) int {
				t.Sleep(2 * time.Hour)
				return 0
			})
			if err != nil {
				return 2 // must not happen: the abort goes through
			}
			return 1
		})
		t.Yield()
		h.Abort()
		_, err := h.Await(t)
		return err
	})
	assert.ErrorIs(t, err, asyncrt.ErrAborted)
}

func TestIntervalMissedTickBehaviors(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		b    asyncrt.MissedTickBehavior
		want []time.Duration // scheduled tick times
	}{
		// Period 10 ms; the task is busy for 35 ms after the first tick, so
		// it takes the 20 ms tick late, at 45 ms. What follows differs.
		{asyncrt.Burst, []time.Duration{10 * ms, 20 * ms, 30 * ms, 40 * ms, 50 * ms}},
		{asyncrt.Skip, []time.Duration{10 * ms, 20 * ms, 50 * ms, 60 * ms, 70 * ms}},
		{asyncrt.Delay, []time.Duration{10 * ms, 20 * ms, 55 * ms, 65 * ms, 75 * ms}},
	} {
		t.Run(tc.b.String(), func(t *testing.T) {
			rt, _ := simRuntime(t, nil)
			got := block(t, rt, func(t *asyncrt.Task) []time.Duration {
				iv, err := t.Interval(10 * ms)
				if err != nil {
					panic(err)
				}
				if err := iv.SetMissedTickBehavior(tc.b); err != nil {
					panic(err)
				}
				var out []time.Duration
				for i := range 5 {
					out = append(out, iv.Tick(t).Sub(simStart))
					if i == 0 {
						t.Sleep(35 * ms)
					}
				}
				if tc.b == asyncrt.Burst && t.Now().Sub(simStart) != 50*ms {
					panic("the burst should have caught up by 50 ms")
				}
				return out
			})
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestIntervalResetAndErrors(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	type result struct {
		ticks   []time.Duration
		errZero error
		errNeg  error
		errBeh  error
		period  time.Duration
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		_, r.errZero = t.Interval(0)
		_, r.errNeg = t.Interval(-time.Second)
		iv, _ := t.Interval(time.Second)
		r.period = iv.Period()
		r.errBeh = iv.SetMissedTickBehavior(asyncrt.MissedTickBehavior(9))
		r.ticks = append(r.ticks, iv.Tick(t).Sub(simStart))
		t.Sleep(300 * time.Millisecond)
		iv.Reset()
		r.ticks = append(r.ticks, iv.Tick(t).Sub(simStart))
		return r
	})
	assert.ErrorContains(t, r.errZero, "must be positive")
	assert.ErrorContains(t, r.errNeg, "must be positive")
	assert.ErrorContains(t, r.errBeh, "unknown missed-tick behavior")
	assert.Equal(t, time.Second, r.period)
	assert.Equal(t, []time.Duration{time.Second, 2300 * time.Millisecond}, r.ticks)
}

func TestAfter(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	type result struct {
		at        time.Duration
		cancelled error
		ran       bool
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		h := asyncrt.After(t, 5*time.Second, func(t *asyncrt.Task) time.Duration { return t.Now().Sub(simStart) })
		c := asyncrt.After(t, time.Second, func(t *asyncrt.Task) int { r.ran = true; return 0 })
		t.Yield()
		c.Abort()
		_, r.cancelled = c.Await(t)
		r.at, _ = h.Await(t)
		return r
	})
	assert.Equal(t, 5*time.Second, r.at)
	assert.ErrorIs(t, r.cancelled, asyncrt.ErrAborted)
	assert.False(t, r.ran)
}

func TestNowIsTheCycleEventTime(t *testing.T) {
	rt, clock := simRuntime(t, nil)
	type result struct{ before, within, next time.Time }
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		r.before = t.Now()
		clock.Advance(time.Second) // time passes within the cycle
		r.within = t.Now()
		t.Yield()
		r.next = t.Now()
		return r
	})
	assert.Equal(t, r.before, r.within, "one clock read per cycle")
	assert.Equal(t, r.before.Add(time.Second), r.next, "read again in the next cycle")
}

func TestSimClockServesOneRuntime(t *testing.T) {
	clock := asyncrt.NewSimClock(simStart)
	rt := newRuntime(t, asyncrt.NewBuilder().Clock(clock))
	_, err := asyncrt.NewBuilder().Clock(clock).Build()
	assert.ErrorContains(t, err, "already used by another runtime")
	rt.Close()
	rt2, err := asyncrt.NewBuilder().Clock(clock).Build()
	require.NoError(t, err, "free again once its runtime is closed")
	rt2.Close()

	_, err = asyncrt.NewBuilder().Clock(nil).Build()
	assert.ErrorContains(t, err, "Clock(nil)")
}

func TestTimer(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	type result struct {
		stoppedPending, stoppedAgain, stoppedFired bool
		expiredBefore, expiredAfter                bool
		waitedUntil                                time.Duration
		pending                                    int
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		a := t.NewTimer(time.Second)
		r.stoppedPending = a.Stop()
		r.stoppedAgain = a.Stop()
		b := t.NewTimer(2 * time.Second)
		r.expiredBefore = b.Expired()
		b.Wait(t)
		r.waitedUntil = t.Now().Sub(simStart)
		r.expiredAfter = b.Expired()
		r.stoppedFired = b.Stop()
		t.NewTimerAt(t.Now().Add(-time.Second)).Wait(t) // already expired
		r.pending = t.Runtime().Stats().PendingTimers
		return r
	})
	assert.True(t, r.stoppedPending)
	assert.False(t, r.stoppedAgain)
	assert.False(t, r.expiredBefore)
	assert.True(t, r.expiredAfter)
	assert.False(t, r.stoppedFired)
	assert.Equal(t, 2*time.Second, r.waitedUntil)
	assert.Zero(t, r.pending)
}

func TestMillionPendingTimers(t *testing.T) {
	if testing.Short() {
		t.Skip("a million timers")
	}
	// Making a million timers holds the thread long enough to be a stall.
	rt := newRuntime(t, asyncrt.NewBuilder().OnStall(func(asyncrt.StallReport) {}))
	perTimer := block(t, rt, func(t *asyncrt.Task) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		// Timers of the waiting layer: registrations, each with its own
		// timer on the wheel.
		timers := make([]asyncrt.Waiter, 1_000_000)
		for i := range timers {
			timers[i] = t.NewWaiter()
			timers[i].WakeAt(t.Now().Add(time.Hour + time.Duration(i)*time.Microsecond))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if n := t.Runtime().Stats().PendingTimers; n != len(timers) {
			panic(fmt.Sprintf("%d timers pending", n))
		}
		handles := float64(len(timers)) * float64(unsafe.Sizeof(asyncrt.Waiter{}))
		per := (float64(after.HeapAlloc) - float64(before.HeapAlloc) - handles) / float64(len(timers))
		for _, w := range timers {
			w.Cancel()
		}
		return per
	})
	t.Logf("%.0f bytes of runtime memory per pending timer and its registration (the caller's Waiter values not counted)", perTimer)
	assert.Less(t, perTimer, 300.0)
	assert.Zero(t, rt.Stats().PendingTimers)
	assert.Zero(t, rt.Stats().Registrations)
}

func TestTimeoutAt(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	type result struct {
		err  error
		at   time.Duration
		past error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		_, r.err = asyncrt.TimeoutAt(t, simStart.Add(90*time.Minute), func(t *asyncrt.Task) int {
			t.Sleep(2 * time.Hour)
			return 0
		})
		r.at = t.Now().Sub(simStart)
		_, r.past = asyncrt.TimeoutAt(t, simStart, func(t *asyncrt.Task) int { t.Yield(); return 0 })
		return r
	})
	assert.ErrorIs(t, r.err, asyncrt.ErrElapsed)
	assert.Equal(t, 90*time.Minute, r.at)
	assert.ErrorIs(t, r.past, asyncrt.ErrElapsed)
}

// TestLongestDurationsMeanNever checks that durations near the largest
// time.Duration saturate rather than wrap into the past: a sleep, a timer,
// a Select timeout and Waiter.WakeAfter that long never fire.
func TestLongestDurationsMeanNever(t *testing.T) {
	rt, clock := simRuntime(t, nil)
	clock.Advance(time.Hour) // a later event time makes the sum overflow sooner
	const forever = time.Duration(math.MaxInt64)
	type result struct {
		errs    []error
		expired bool
		woken   bool
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		_, err := asyncrt.Timeout(t, time.Second, func(t *asyncrt.Task) int {
			t.Sleep(forever)
			return 1
		})
		r.errs = append(r.errs, err)
		_, err = asyncrt.Timeout(t, time.Second, func(t *asyncrt.Task) int {
			w := t.NewWaiter()
			w.WakeAfter(forever)
			t.Wait()
			r.woken = true
			return 1
		})
		r.errs = append(r.errs, err)
		_, err = asyncrt.Timeout(t, time.Second, func(t *asyncrt.Task) int {
			i, _ := asyncrt.Select(t, asyncrt.OnNotify(asyncrt.NewNotify(rt)), asyncrt.OnTimeout(forever))
			return i
		})
		r.errs = append(r.errs, err)
		r.expired = t.NewTimer(forever).Expired()
		return r
	})
	for i, err := range r.errs {
		assert.ErrorIs(t, err, asyncrt.ErrElapsed, "wait %d", i)
	}
	assert.False(t, r.woken)
	assert.False(t, r.expired)
}
