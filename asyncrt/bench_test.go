package asyncrt_test

import (
	"testing"

	"github.com/orrery-go/orrery/asyncrt"
)

// newBenchRuntime builds a runtime for a benchmark and closes it at the end.
func newBenchRuntime(b *testing.B, builder *asyncrt.Builder) *asyncrt.Runtime {
	b.Helper()
	rt, err := builder.Build()
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
	rt := newBenchRuntime(b, asyncrt.NewBuilder(nil))
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
	rt := newBenchRuntime(b, asyncrt.NewBuilder(nil))
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

// BenchmarkSpawnPooledAwait is SpawnAwait on the runtime's coroutine pool.
func BenchmarkSpawnPooledAwait(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder(nil).TaskPool(16, true))
	b.ReportAllocs()
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		for b.Loop() {
			h, err := asyncrt.SpawnPooled(t, square)
			if err != nil {
				b.Fatal(err)
			}
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
