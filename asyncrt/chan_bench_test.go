package asyncrt_test

import (
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
// task through a cross channel, per value.
func BenchmarkCrossChanSend(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	s, r, _ := asyncrt.NewCrossChan[int](rt, 1024)
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
func BenchmarkGoChanCrossGoroutine(b *testing.B) {
	ch := make(chan int, 1024)
	done := make(chan int)
	go func() {
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
