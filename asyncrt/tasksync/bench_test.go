package tasksync_test

import (
	"testing"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/tasksync"
)

// Each benchmark sits next to its Go baseline, so one run compares both;
// compare runs with benchstat.

func newBenchRuntime(b *testing.B) *asyncrt.Runtime {
	b.Helper()
	rt, err := asyncrt.NewBuilder().OnStall(func(asyncrt.StallReport) {}).Build() // the root never suspends
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	return rt
}

// BenchmarkSemaphoreAcquireRelease measures an uncontended Acquire and
// Release of one permit by one task.
func BenchmarkSemaphoreAcquireRelease(b *testing.B) {
	rt := newBenchRuntime(b)
	s, _ := tasksync.NewSemaphore(1)
	b.ReportAllocs()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		for b.Loop() {
			if err := s.Acquire(t, 1); err != nil {
				b.Error(err)
				break
			}
			s.Release(1)
		}
		return struct{}{}
	})
}

// BenchmarkGoChanSemaphore is the baseline: a buffered Go channel of
// capacity 1 used as a semaphore by one goroutine.
func BenchmarkGoChanSemaphore(b *testing.B) {
	sem := make(chan struct{}, 1)
	b.ReportAllocs()
	for b.Loop() {
		sem <- struct{}{}
		<-sem
	}
}

// BenchmarkSemaphoreHandoff measures the contended path: two tasks share
// one permit, and each acquisition waits for the other task's release (a
// suspension, a wake and a resumption per op).
func BenchmarkSemaphoreHandoff(b *testing.B) {
	rt := newBenchRuntime(b)
	s, _ := tasksync.NewSemaphore(1)
	b.ReportAllocs()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		done := false
		peer := asyncrt.Spawn(t, func(t *asyncrt.Task) struct{} {
			for !done {
				_ = s.Acquire(t, 1)
				t.Yield()
				s.Release(1)
			}
			return struct{}{}
		})
		for b.Loop() {
			_ = s.Acquire(t, 1)
			t.Yield()
			s.Release(1)
		}
		done = true
		_, _ = peer.Await(t)
		return struct{}{}
	})
}

// BenchmarkBroadcastSendRecv measures sending one value and receiving it
// through one receiver, by one task (never suspending).
func BenchmarkBroadcastSendRecv(b *testing.B) {
	rt := newBenchRuntime(b)
	bc, _ := tasksync.NewBroadcast[int](64)
	r := bc.Subscribe()
	b.ReportAllocs()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		for i := 0; b.Loop(); i++ {
			if err := bc.Send(i); err != nil {
				b.Error(err)
				break
			}
			if _, err := r.Recv(t); err != nil {
				b.Error(err)
				break
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

// BenchmarkBroadcastFanOut4 measures one value sent to four receivers,
// each read by its own waiting task: a Send wakes all four.
func BenchmarkBroadcastFanOut4(b *testing.B) {
	rt := newBenchRuntime(b)
	bc, _ := tasksync.NewBroadcast[int](64)
	b.ReportAllocs()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		var hs []asyncrt.JoinHandle[struct{}]
		for range 4 {
			r := bc.Subscribe()
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) struct{} {
				for {
					if _, err := r.Recv(t); err != nil {
						return struct{}{}
					}
				}
			}))
		}
		for i := 0; b.Loop(); i++ {
			_ = bc.Send(i)
			t.Yield() // the receivers take it
		}
		bc.Close()
		for _, h := range hs {
			_, _ = h.Await(t)
		}
		return struct{}{}
	})
}

// BenchmarkWatchSendChanged measures a Send and a Changed by one task.
func BenchmarkWatchSendChanged(b *testing.B) {
	rt := newBenchRuntime(b)
	w := tasksync.NewWatch(0)
	r := w.Subscribe()
	b.ReportAllocs()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		for i := 0; b.Loop(); i++ {
			w.Send(i)
			if _, err := r.Changed(t); err != nil {
				b.Error(err)
				break
			}
		}
		return struct{}{}
	})
}
