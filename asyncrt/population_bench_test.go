package asyncrt_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
)

// The population benchmarks check that no per-operation cost grows with the
// work a runtime holds: each runs the same operation beside 1k and 100k (or
// 1M) idle tasks or timers, and the sub-benchmarks' ratio is the growth.

var populations = []struct {
	name string
	n    int
}{{"1k", 1_000}, {"100k", 100_000}}

// sleepers spawns n tasks that sleep for an hour, so that they stay live
// through the benchmark, and returns a function that aborts them.
func sleepers(t *asyncrt.Task, n int) (stop func(*asyncrt.Task)) {
	set := asyncrt.NewJoinSet[struct{}]()
	for range n {
		set.SpawnFunc(t, func(t *asyncrt.Task) { t.Sleep(time.Hour) })
	}
	t.Yield() // every sleeper runs to its Sleep
	return set.Shutdown
}

// BenchmarkSpawnWithLive is SpawnAwait (a fresh coroutine per task) beside
// 1k and 100k sleeping tasks.
func BenchmarkSpawnWithLive(b *testing.B) {
	benchSpawnWithLive(b, asyncrt.NewBuilder)
}

// BenchmarkSpawnPooledWithLive is SpawnWithLive on a runtime with a task
// pool.
func BenchmarkSpawnPooledWithLive(b *testing.B) {
	benchSpawnWithLive(b, func() *asyncrt.Builder { return asyncrt.NewBuilder().TaskPool(16, false) })
}

func benchSpawnWithLive(b *testing.B, builder func() *asyncrt.Builder) {
	for _, pop := range populations {
		b.Run(pop.name, func(b *testing.B) {
			rt := newBenchRuntime(b, builder())
			_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
				stop := sleepers(t, pop.n)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := asyncrt.Spawn(t, square).Await(t); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				stop(t)
				return struct{}{}
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkTimerWithPending is TimerScheduleCancel beside 1k and 1M pending
// timers, on the real and the simulated clock.
func BenchmarkTimerWithPending(b *testing.B) {
	for _, clock := range []string{"real", "sim"} {
		for _, n := range []int{1_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/%s", clock, countName(n)), func(b *testing.B) {
				builder := asyncrt.NewBuilder()
				if clock == "sim" {
					builder.Clock(asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
				}
				rt := newBenchRuntime(b, builder)
				_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
					now := t.Now()
					pending := make([]asyncrt.Waiter, n)
					for i := range pending {
						// Spread over a day, so the timers fill every level
						// of the wheel.
						pending[i] = t.NewWaiter()
						pending[i].WakeAt(now.Add(time.Hour + time.Duration(i)*(24*time.Hour/time.Duration(n))))
					}
					b.ReportAllocs()
					for b.Loop() {
						w := t.NewWaiter()
						w.WakeAfter(time.Second)
						w.Cancel()
					}
					b.StopTimer()
					for _, w := range pending {
						w.Cancel()
					}
					return struct{}{}
				})
			})
		}
	}
}

// BenchmarkChanWakeWithBlocked measures a value passed between two tasks
// over a local channel, the receiver suspended each time, beside 1k and 100k
// tasks blocked on channels of their own.
func BenchmarkChanWakeWithBlocked(b *testing.B) {
	for _, pop := range populations {
		b.Run(pop.name, func(b *testing.B) {
			rt := newBenchRuntime(b, asyncrt.NewBuilder())
			_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
				blocked := asyncrt.NewJoinSet[struct{}]()
				senders := make([]*asyncrt.Sender[int], pop.n)
				for i := range senders {
					s, r, err := asyncrt.NewChan[int](rt, 1)
					if err != nil {
						b.Fatal(err)
					}
					senders[i] = s
					blocked.SpawnFunc(t, func(t *asyncrt.Task) { _, _ = r.Recv(t) })
				}
				s, r, err := asyncrt.NewChan[int](rt, 1)
				if err != nil {
					b.Fatal(err)
				}
				recv := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
					for {
						if _, err := r.Recv(t); err != nil {
							return
						}
					}
				})
				t.Yield() // every receiver suspends
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if err := s.Send(t, i); err != nil {
						b.Fatal(err)
					}
					t.Yield() // the receiver takes it and suspends again
				}
				b.StopTimer()
				s.Close()
				if err := recv.Wait(t); err != nil {
					b.Fatal(err)
				}
				for _, s := range senders {
					s.Close()
				}
				for blocked.Len() > 0 {
					blocked.Next(t)
				}
				return struct{}{}
			})
		})
	}
}

func countName(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}
