package asyncrt_test

import (
	"iter"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
)

// newBenchRuntime builds a runtime for a benchmark and closes it at the end.
//
// A benchmark's root holds the thread for the whole run, a stall by the
// watchdog's measure: the report is dropped, the watching still costs what
// it costs.
func newBenchRuntime(b *testing.B, builder *asyncrt.Builder) *asyncrt.Runtime {
	b.Helper()
	rt, err := builder.OnStall(func(asyncrt.StallReport) {}).Build()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	return rt
}

// BenchmarkYieldRoundTrip measures one resume+suspend of a task: a single
// task yields in a loop, so every iteration is the executor resuming it and
// the task suspending back.
func BenchmarkYieldRoundTrip(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	b.ReportAllocs()
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		for b.Loop() {
			t.Yield()
		}
		return struct{}{}
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGoroutineHandoff is the Go baseline for YieldRoundTrip: two
// goroutines ping-ponging over unbuffered channels, one round trip per op.
func BenchmarkGoroutineHandoff(b *testing.B) {
	ping, pong := make(chan struct{}), make(chan struct{})
	go func() {
		for range ping {
			pong <- struct{}{}
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		ping <- struct{}{}
		<-pong
	}
	close(ping)
}

// BenchmarkSpawnAwait measures spawning a task on a fresh coroutine, running
// it and awaiting its result.
func BenchmarkSpawnAwait(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	b.ReportAllocs()
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		for i := 0; b.Loop(); i++ {
			h := asyncrt.Spawn(t, square)
			if _, err := h.Await(t); err != nil {
				b.Fatal(err)
			}
		}
		return struct{}{}
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSpawnPooledAwait is SpawnAwait on a runtime with a task pool.
func BenchmarkSpawnPooledAwait(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder().TaskPool(16, true))
	b.ReportAllocs()
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		for b.Loop() {
			if _, err := asyncrt.Spawn(t, square).Await(t); err != nil {
				b.Fatal(err)
			}
		}
		return struct{}{}
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGoSpawnAwait is the Go baseline for SpawnAwait: start a goroutine
// and receive its result over a channel.
func BenchmarkGoSpawnAwait(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ch := make(chan int, 1)
		go func() { ch <- 7 * 7 }()
		<-ch
	}
}

func square(*asyncrt.Task) int { return 7 * 7 }

// BenchmarkTimerScheduleCancel measures starting and stopping a timer on the
// runtime's wheel, with 10,000 other timers pending: a registration of the
// waiting layer with its own timer, armed with a duration (what Sleep and a
// Select timeout do) and cancelled.
func BenchmarkTimerScheduleCancel(b *testing.B) {
	benchTimerScheduleCancel(b, func(t *asyncrt.Task, w asyncrt.Waiter, at time.Time) {
		w.WakeAfter(time.Second)
	})
}

// BenchmarkTimerScheduleCancelAt is BenchmarkTimerScheduleCancel with the
// deadline given as a time.Time (Waiter.WakeAt).
func BenchmarkTimerScheduleCancelAt(b *testing.B) {
	benchTimerScheduleCancel(b, func(t *asyncrt.Task, w asyncrt.Waiter, at time.Time) {
		w.WakeAt(at)
	})
}

func benchTimerScheduleCancel(b *testing.B, arm func(*asyncrt.Task, asyncrt.Waiter, time.Time)) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	b.ReportAllocs()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		pendTimers(t)
		at := t.Now().Add(time.Second)
		for b.Loop() {
			w := t.NewWaiter()
			arm(t, w, at)
			w.Cancel()
		}
		return struct{}{}
	})
}

// pendTimers leaves 10,000 timers pending on t's runtime, an hour or more
// ahead, so that a timer benchmark works on a populated wheel.
func pendTimers(t *asyncrt.Task) {
	now := t.Now()
	for i := range 10_000 {
		t.NewWaiter().WakeAt(now.Add(time.Hour + time.Duration(i)*time.Millisecond))
	}
}

// BenchmarkTimeAfterFuncStop is the Go baseline: time.AfterFunc and Stop.
func BenchmarkTimeAfterFuncStop(b *testing.B) {
	b.ReportAllocs()
	f := func() {}
	for b.Loop() {
		tm := time.AfterFunc(time.Second, f)
		tm.Stop()
	}
}

// wakeIdle is how long the wake benchmarks let the waker idle before each
// wake-up: long enough for the runtime (or the receiving goroutine) to be
// truly asleep, past any spin. The idle time is part of what is measured
// (a wake of a sleeping thread), not a synchronisation: the acknowledgement
// over a channel is.
const wakeIdle = 2 * time.Millisecond

// BenchmarkCrossGoroutineWake measures waking a task of a runtime from
// another goroutine, after wakeIdle of quiet. Each op is a round trip: the
// goroutine notifies, the runtime resumes the task, the task acknowledges
// over a buffered channel. The p50/p99 metrics are the wake alone: from
// Notify to the task running. The runtime parks (Park: it sleeps in
// epoll_wait, and the wake is the kernel's), polls for 5 ms before it parks
// (SpinBeforePark5ms: the wake comes while it polls) or never parks (Spin).
func BenchmarkCrossGoroutineWake(b *testing.B) {
	for _, mode := range []struct {
		name    string
		builder func() *asyncrt.Builder
	}{
		{"Park", asyncrt.NewBuilder},
		{"SpinBeforePark5ms", func() *asyncrt.Builder { return asyncrt.NewBuilder().SpinBeforePark(5 * time.Millisecond) }},
		{"Spin", func() *asyncrt.Builder { return asyncrt.NewBuilder().Idle(asyncrt.Spin) }},
	} {
		b.Run(mode.name, func(b *testing.B) { benchCrossGoroutineWake(b, mode.builder()) })
	}
}

func benchCrossGoroutineWake(b *testing.B, builder *asyncrt.Builder) {
	rt := newBenchRuntime(b, builder)
	n := asyncrt.NewNotify(rt)
	ack := make(chan time.Time, 1)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
			for {
				n.Wait(t)
				select {
				case <-stop:
					return struct{}{}
				default:
				}
				ack <- time.Now()
			}
		})
	}()
	lat := make([]time.Duration, 0, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		time.Sleep(wakeIdle) // the idle spell before the wake under measure
		start := time.Now()
		n.Notify()
		woke := <-ack
		if len(lat) < cap(lat) {
			lat = append(lat, woke.Sub(start))
		}
	}
	b.StopTimer()
	close(stop)
	n.Notify()
	<-done
	reportPercentiles(b, lat)
}

// BenchmarkGoroutineChanWake is the Go baseline for CrossGoroutineWake: a
// goroutine blocked on a channel, woken by another after wakeIdle,
// acknowledging back; the metrics are the wake alone. In the Locked
// variant the receiver holds its thread (runtime.LockOSThread), as the
// runtime's goroutine does: the matching floor.
func BenchmarkGoroutineChanWake(b *testing.B) {
	for _, locked := range []bool{false, true} {
		name := "Plain"
		if locked {
			name = "Locked"
		}
		b.Run(name, func(b *testing.B) {
			wake, ack := make(chan struct{}), make(chan time.Time, 1)
			go func() {
				if locked {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
				}
				for range wake {
					ack <- time.Now()
				}
			}()
			lat := make([]time.Duration, 0, 1<<20)
			b.ReportAllocs()
			for b.Loop() {
				time.Sleep(wakeIdle) // the idle spell before the wake under measure
				start := time.Now()
				wake <- struct{}{}
				woke := <-ack
				if len(lat) < cap(lat) {
					lat = append(lat, woke.Sub(start))
				}
			}
			b.StopTimer()
			close(wake)
			reportPercentiles(b, lat)
		})
	}
}

// BenchmarkSleepLateness measures how late a 1 ms sleep wakes, in Park and
// Spin modes, reported as p50 and p99 of the lateness.
func BenchmarkSleepLateness(b *testing.B) {
	for _, mode := range []asyncrt.IdleStrategy{asyncrt.Park, asyncrt.Spin} {
		b.Run(mode.String(), func(b *testing.B) {
			rt := newBenchRuntime(b, asyncrt.NewBuilder().Idle(mode))
			var late []time.Duration
			b.ReportAllocs()
			_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
				for b.Loop() {
					deadline := time.Now().Add(time.Millisecond)
					t.SleepUntil(deadline)
					late = append(late, time.Since(deadline))
				}
				return struct{}{}
			})
			reportPercentiles(b, late)
		})
	}
}

// reportPercentiles reports the p50 and p99 of samples as metrics.
func reportPercentiles(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkWaiterNewRelease measures a registration's life alone: taken from
// the runtime's pool, linked to its task, ended.
func BenchmarkWaiterNewRelease(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	b.ReportAllocs()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		for b.Loop() {
			t.NewWaiter().Release()
		}
		return struct{}{}
	})
}

// BenchmarkTimerNewStop measures a Timer started and stopped unwaited, with
// 10,000 timers pending: a Timer arms the wheel only when a task waits on
// it, so this is a registration's life.
func BenchmarkTimerNewStop(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	b.ReportAllocs()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		pendTimers(t)
		for b.Loop() {
			t.NewTimer(time.Second).Stop()
		}
		return struct{}{}
	})
}

// BenchmarkSleepSim measures one Sleep on the simulated clock: the task
// arms a timer and suspends, the clock jumps to the deadline, the timer
// fires and the task resumes.
func BenchmarkSleepSim(b *testing.B) {
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := newBenchRuntime(b, asyncrt.NewBuilder().Clock(clock))
	b.ReportAllocs()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		for b.Loop() {
			t.Sleep(time.Microsecond)
		}
		return struct{}{}
	})
}

// BenchmarkCoroSwitchFloor is the floor under YieldRoundTrip: a bare
// iter.Pull coroutine resumed and suspended once per op, as a task is.
func BenchmarkCoroSwitchFloor(b *testing.B) {
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		for yield(struct{}{}) {
		}
	})
	defer stop()
	b.ReportAllocs()
	for b.Loop() {
		next()
	}
}

// BenchmarkCoroSpawnFloor is the floor under SpawnAwait: a bare iter.Pull
// coroutine made, run to completion and its value taken, once per op.
func BenchmarkCoroSpawnFloor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		next, stop := iter.Pull(func(yield func(int) bool) { yield(7 * 7) })
		if v, ok := next(); !ok || v != 49 {
			b.Fatal(v, ok)
		}
		stop()
	}
}
