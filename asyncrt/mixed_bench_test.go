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

// memPeak is the peak of heap plus stack in use during a run, and its
// parts at that moment.
type memPeak struct{ objects, unused, stacks uint64 }

func (m memPeak) total() uint64 { return m.objects + m.unused + m.stacks }

// peakMemory samples heap plus stack in use every millisecond until stop
// is closed, then sends the peak. It reads runtime/metrics, which does not
// stop the world as runtime.ReadMemStats does: a stop every millisecond
// would preempt the runtime's thread as often and weigh on what is
// measured.
func peakMemory(stop <-chan struct{}) <-chan memPeak {
	peak := make(chan memPeak, 1)
	go func() {
		samples := []metrics.Sample{
			{Name: "/memory/classes/heap/objects:bytes"},
			{Name: "/memory/classes/heap/unused:bytes"},
			{Name: "/memory/classes/heap/stacks:bytes"},
		}
		var max memPeak
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			v := memPeak{samples[0].Value.Uint64(), samples[1].Value.Uint64(), samples[2].Value.Uint64()}
			if v.total() > max.total() {
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
// per run, with the peak's parts: live heap objects, free space in the
// heap's spans, and stacks (goroutines' and coroutines').
func measureMixed(b *testing.B, run func()) {
	b.ReportAllocs()
	var cpu time.Duration
	var peak memPeak
	for b.Loop() {
		runtime.GC()
		stop := make(chan struct{})
		peaks := peakMemory(stop)
		c0 := cpuTime(b)
		run()
		cpu += cpuTime(b) - c0
		close(stop)
		if p := <-peaks; p.total() > peak.total() {
			peak = p
		}
	}
	const mib = 1 << 20
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(peak.total())/mib, "peak-MiB")
	b.ReportMetric(float64(peak.objects)/mib, "objects-MiB")
	b.ReportMetric(float64(peak.unused)/mib, "unused-MiB")
	b.ReportMetric(float64(peak.stacks)/mib, "stacks-MiB")
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
