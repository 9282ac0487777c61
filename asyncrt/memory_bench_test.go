package asyncrt_test

import (
	"iter"
	"runtime"
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
)

// The memory benchmarks report what an idle task costs: heap and stack in
// use per task, after a GC, with 100k of them asleep, beside the same
// figure for goroutines blocked on a channel and for bare iter.Pull
// coroutines. Each op builds and measures the whole population.

const idlePopulation = 100_000

// inUse returns the heap and stack in use after a full GC.
func inUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

func reportPerItem(b *testing.B, total uint64, n int) {
	b.ReportMetric(float64(total)/float64(n), "B/idle")
}

// BenchmarkIdleTaskMemory: 100k tasks asleep in t.Sleep.
func BenchmarkIdleTaskMemory(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	var per uint64
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		hs := make([]asyncrt.JoinHandle[struct{}], idlePopulation)
		for b.Loop() {
			before := inUse()
			for i := range hs {
				hs[i] = asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { t.Sleep(time.Hour) })
			}
			t.Yield() // every task runs to its Sleep
			per = inUse() - before
			for _, h := range hs {
				h.Abort()
				_ = h.Wait(t) // ErrAborted
			}
		}
		return struct{}{}
	})
	reportPerItem(b, per, idlePopulation)
}

// BenchmarkIdleGoroutineMemory is the Go baseline: 100k goroutines blocked
// on a channel receive.
func BenchmarkIdleGoroutineMemory(b *testing.B) {
	benchIdleGoroutines(b, func(release <-chan struct{}) { <-release })
}

// BenchmarkIdleSleepingGoroutineMemory is the baseline closest to a
// sleeping task: 100k goroutines waiting on a channel or a timer.
func BenchmarkIdleSleepingGoroutineMemory(b *testing.B) {
	benchIdleGoroutines(b, func(release <-chan struct{}) {
		select {
		case <-release:
		case <-time.After(time.Hour): // a timer, as a sleeping task has
		}
	})
}

// benchIdleGoroutines measures 100k goroutines waiting in wait until
// release is closed.
func benchIdleGoroutines(b *testing.B, wait func(release <-chan struct{})) {
	var per uint64
	for b.Loop() {
		before := inUse()
		release := make(chan struct{})
		done := make(chan struct{}, idlePopulation)
		for range idlePopulation {
			go func() {
				wait(release)
				done <- struct{}{}
			}()
		}
		per = inUse() - before
		close(release)
		for range idlePopulation {
			<-done
		}
	}
	reportPerItem(b, per, idlePopulation)
}

// BenchmarkIdleCoroMemory is the floor: 100k bare iter.Pull coroutines
// suspended in their first yield.
func BenchmarkIdleCoroMemory(b *testing.B) {
	var per uint64
	for b.Loop() {
		before := inUse()
		stops := make([]func(), idlePopulation)
		for i := range stops {
			next, stop := iter.Pull(func(yield func(int) bool) { yield(1) })
			next()
			stops[i] = stop
		}
		per = inUse() - before
		for _, stop := range stops {
			stop()
		}
	}
	reportPerItem(b, per, idlePopulation)
}
