package asyncrt_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
)

// BenchmarkLocalChanSendRecv measures a Send and a Recv by one task on a
// local channel (never suspending).
func BenchmarkLocalChanSendRecv(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	s, r, _ := asyncrt.NewChan[int](rt, 64)
	b.ReportAllocs()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		for i := 0; b.Loop(); i++ {
			if err := s.Send(t, i); err != nil {
				b.Fatal(err)
			}
			if _, err := r.Recv(t); err != nil {
				b.Fatal(err)
			}
		}
		return struct{}{}
	})
}

// BenchmarkGoChanSendRecv is the baseline: a send and a receive on a
// buffered Go channel by one goroutine.
func BenchmarkGoChanSendRecv(b *testing.B) {
	ch := make(chan int, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ch <- i
		<-ch
	}
}

// BenchmarkCrossChanSend measures values streamed from a goroutine into a
// task through a cross channel, per value, at capacities 1, 64 and 1024, on
// a runtime that parks at once and on one that spins 50 µs first.
func BenchmarkCrossChanSend(b *testing.B) {
	for _, spin := range []time.Duration{0, 50 * time.Microsecond} {
		for _, capacity := range []int{1, 64, 1024} {
			b.Run(fmt.Sprintf("spin=%v/cap%d", spin, capacity), func(b *testing.B) {
				benchCrossChanSend(b, asyncrt.NewBuilder().SpinBeforePark(spin), capacity)
			})
		}
	}
}

func benchCrossChanSend(b *testing.B, builder *asyncrt.Builder, capacity int) {
	rt := newBenchRuntime(b, builder)
	s, r, _ := asyncrt.NewCrossChan[int](rt, capacity)
	done := make(chan int)
	go func() {
		v, _ := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
			n := 0
			for {
				if _, err := r.Recv(t); err != nil {
					return n
				}
				n++
			}
		})
		done <- v
	}()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.Send(i); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	<-done
	st := rt.Stats()
	b.ReportMetric(float64(st.Parks)/float64(b.N), "parks/op")
}

// BenchmarkGoChanCrossGoroutine is the baseline for CrossChanSend: values
// streamed from one goroutine to another over a buffered Go channel.
func BenchmarkGoChanCrossGoroutine(b *testing.B) { benchGoChanCross(b, false) }

// BenchmarkGoChanCrossThread is BenchmarkGoChanCrossGoroutine with the
// receiving goroutine holding its OS thread (runtime.LockOSThread), as a
// runtime's goroutine does: the Go scheduler can then no longer run the
// receiver on the sender's processor, right after the sender blocks, so
// every value crosses to another thread as it does into a runtime. It is the
// floor for CrossChanSend beside the plain Go channel.
func BenchmarkGoChanCrossThread(b *testing.B) { benchGoChanCross(b, true) }

func benchGoChanCross(b *testing.B, lockReceiver bool) {
	for _, capacity := range []int{1, 64, 1024} {
		b.Run(fmt.Sprintf("cap%d", capacity), func(b *testing.B) {
			ch := make(chan int, capacity)
			done := make(chan int)
			go func() {
				if lockReceiver {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
				}
				n := 0
				for range ch {
					n++
				}
				done <- n
			}()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				ch <- i
			}
			close(ch)
			<-done
		})
	}
}

// BenchmarkSelectWait measures a Select that suspends: a task waits on a
// channel or a timeout, reusing its cases, and another task feeds the
// channel a value per yield. One op is a send, a wake-up and a Select.
func BenchmarkSelectWait(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	s, r, _ := asyncrt.NewChan[int](rt, 1)
	b.ReportAllocs()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		feeder := asyncrt.Spawn(t, func(t *asyncrt.Task) struct{} {
			for i := 0; ; i++ {
				if s.TrySend(i) != nil {
					return struct{}{} // closed: done
				}
				t.Yield()
			}
		})
		onRecv, onTime := asyncrt.OnRecv(r), asyncrt.OnTimeout(0)
		for b.Loop() {
			onTime.Reset(time.Hour)
			if i, err := asyncrt.Select(t, onRecv, onTime); i != 0 || err != nil {
				b.Fatal(i, err)
			}
		}
		r.Close()
		_, _ = feeder.Await(t)
		return struct{}{}
	})
}
