package asyncrt_test

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
)

// The mixed-load benchmarks run 10k workers that each sleep 1 ms and then
// send a value to one consumer, 100 times over: tasks and a runtime
// channel here, goroutines and a Go channel in the twin. Each op is a whole
// run; the metrics are the process's CPU time per run and the peak of heap
// plus stack in use during it, sampled every millisecond.

const (
	mixedWorkers = 10_000
	mixedRounds  = 100
	mixedSleep   = time.Millisecond
)

// cpuTime returns the process's user plus system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakMemory samples heap plus stack in use every millisecond until stop
// is closed, then sends the peak. It reads runtime/metrics, which does not
// stop the world as runtime.ReadMemStats does: a stop every millisecond
// would preempt the runtime's thread as often and weigh on what is
// measured.
func peakMemory(stop <-chan struct{}) <-chan uint64 {
	peak := make(chan uint64, 1)
	go func() {
		samples := []metrics.Sample{
			{Name: "/memory/classes/heap/objects:bytes"},
			{Name: "/memory/classes/heap/unused:bytes"},
			{Name: "/memory/classes/heap/stacks:bytes"},
		}
		var max uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			var v uint64
			for _, s := range samples {
				v += s.Value.Uint64()
			}
			if v > max {
				max = v
			}
			select {
			case <-stop:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	return peak
}

// measureMixed runs run once per op and reports CPU time and peak memory
// per run.
func measureMixed(b *testing.B, run func()) {
	b.ReportAllocs()
	var cpu time.Duration
	var peak uint64
	for b.Loop() {
		runtime.GC()
		stop := make(chan struct{})
		peaks := peakMemory(stop)
		c0 := cpuTime(b)
		run()
		cpu += cpuTime(b) - c0
		close(stop)
		peak = max(peak, <-peaks)
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}

// BenchmarkMixedLoad: 10k tasks × 100 (sleep, send) into one consumer task.
func BenchmarkMixedLoad(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	measureMixed(b, func() {
		got, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
			s, r, err := asyncrt.NewChan[int](rt, 1024)
			if err != nil {
				b.Fatal(err)
			}
			live := mixedWorkers // like the twin's WaitGroup: no handles kept
			for i := range mixedWorkers {
				asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
					defer func() { live-- }()
					for range mixedRounds {
						t.Sleep(mixedSleep)
						if err := s.Send(t, i); err != nil {
							b.Error(err)
							return
						}
					}
				}).Detach()
			}
			sum := 0
			for range mixedWorkers * mixedRounds {
				if _, err := r.Recv(t); err != nil {
					b.Fatal(err)
				}
				sum++
			}
			for live > 0 { // the last workers return after their last send
				t.Yield()
			}
			return sum
		})
		if err != nil || got != mixedWorkers*mixedRounds {
			b.Fatal(got, err)
		}
	})
}

// BenchmarkMixedLoadGoroutines is the twin: 10k goroutines × 100
// (time.Sleep, send) into one consumer goroutine over a Go channel.
func BenchmarkMixedLoadGoroutines(b *testing.B) {
	measureMixed(b, func() {
		ch := make(chan int, 1024)
		var wg sync.WaitGroup
		for i := range mixedWorkers {
			wg.Go(func() {
				for range mixedRounds {
					time.Sleep(mixedSleep) // the workload, as t.Sleep in the twin
					ch <- i
				}
			})
		}
		var got atomic.Int64
		done := make(chan struct{})
		go func() {
			for range mixedWorkers * mixedRounds {
				<-ch
				got.Add(1)
			}
			close(done)
		}()
		wg.Wait()
		<-done
		if got.Load() != mixedWorkers*mixedRounds {
			b.Fatal(got.Load())
		}
	})
}
