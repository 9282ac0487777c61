package asyncrt_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/asyncrt"
)

func TestChanBasics(t *testing.T) {
	rt := newRuntime(t, nil)
	_, _, err := asyncrt.NewChan[int](rt, 0)
	assert.ErrorContains(t, err, "capacity must be at least 1")
	_, _, err = asyncrt.NewChan[int](nil, 1)
	assert.Error(t, err)

	type result struct {
		got                []int
		full, empty        error
		afterClose         error
		sendClosed         error
		value              int
		tryAfterRecvClosed error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		s, rx, _ := asyncrt.NewChan[int](rt, 2)
		_, r.empty = rx.TryRecv()
		_ = s.Send(t, 1)
		_ = s.TrySend(2)
		r.full = s.TrySend(3)
		if rx.Len() != 2 || rx.Cap() != 2 {
			panic("Len/Cap")
		}
		// A blocked sender resumes when the receiver makes room.
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) error { return s.Send(t, 3) })
		for range 3 {
			v, err := rx.Recv(t)
			if err != nil {
				panic(err)
			}
			r.got = append(r.got, v)
		}
		if err, _ := h.Await(t); err != nil {
			panic(err)
		}
		s.Close()
		s.Close() // harmless
		_, r.afterClose = rx.Recv(t)
		err := s.Send(t, 9)
		r.sendClosed = err
		var se *asyncrt.SendError[int]
		if errors.As(err, &se) {
			r.value = se.Value
		}
		s2, rx2, _ := asyncrt.NewChan[int](rt, 1)
		rx2.Close()
		r.tryAfterRecvClosed = s2.TrySend(1)
		return r
	})
	assert.Equal(t, []int{1, 2, 3}, r.got)
	assert.ErrorIs(t, r.full, asyncrt.ErrFull)
	assert.ErrorIs(t, r.empty, asyncrt.ErrEmpty)
	assert.ErrorIs(t, r.afterClose, asyncrt.ErrChanClosed)
	assert.ErrorIs(t, r.sendClosed, asyncrt.ErrChanClosed)
	assert.Equal(t, 9, r.value, "the value comes back")
	assert.ErrorIs(t, r.tryAfterRecvClosed, asyncrt.ErrChanClosed)
}

func TestChanDrainsAfterLastSenderCloses(t *testing.T) {
	rt := newRuntime(t, nil)
	got := block(t, rt, func(t *asyncrt.Task) []string {
		s, rx, _ := asyncrt.NewChan[string](rt, 8)
		s2 := s.Clone()
		_ = s.Send(t, "a")
		s.Close()
		_ = s2.Send(t, "b")
		_ = s2.Send(t, "c")
		s2.Close()
		var out []string
		for {
			v, err := rx.Recv(t)
			if err != nil {
				return append(out, err.Error())
			}
			out = append(out, v)
		}
	})
	assert.Equal(t, []string{"a", "b", "c", "asyncrt: Receiver.Recv: channel closed"}, got)
}

func TestChanReceiverCloseReleasesBlockedSenders(t *testing.T) {
	rt := newRuntime(t, nil)
	errs := block(t, rt, func(t *asyncrt.Task) []error {
		s, rx, _ := asyncrt.NewChan[int](rt, 1)
		_ = s.Send(t, 0)
		var hs []asyncrt.JoinHandle[error]
		for i := range 3 {
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) error { return s.Send(t, i) }))
		}
		t.Yield()
		rx.Close()
		var errs []error
		for _, h := range hs {
			err, _ := h.Await(t)
			errs = append(errs, err)
		}
		if _, senders := asyncrt.ChanWaiters(rx); senders != 0 {
			panic("senders left registered")
		}
		return errs
	})
	for _, err := range errs {
		assert.ErrorIs(t, err, asyncrt.ErrChanClosed)
	}
}

// Many senders, one receiver, random capacities and yields, random aborts of
// senders: every value a sender reports as sent is received exactly once, in
// order per sender, and nothing is left registered.
func TestChanStress(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rt := newRuntime(t, nil)
			block(t, rt, func(t *asyncrt.Task) int {
				rng := rand.New(rand.NewPCG(seed, 99))
				s, rx, _ := asyncrt.NewChan[[2]int](rt, 1+rng.IntN(8))
				const senders, each = 20, 300
				sent := make([]int, senders) // how many each sender got in
				var hs []asyncrt.JoinHandle[int]
				for i := range senders {
					si := s.Clone()
					yields := rng.IntN(3)
					hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int {
						defer si.Close()
						for j := range each {
							if err := si.Send(t, [2]int{i, j}); err != nil {
								panic(err)
							}
							sent[i] = j + 1
							for range yields {
								t.Yield()
							}
						}
						return 0
					}))
				}
				s.Close()
				// Abort a few senders along the way.
				aborter := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
					for i := range senders {
						if i%7 == 3 {
							t.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
							hs[i].Abort()
						}
					}
					return 0
				})
				next := make([]int, senders)
				for {
					v, err := rx.Recv(t)
					if errors.Is(err, asyncrt.ErrChanClosed) {
						break
					}
					if v[1] != next[v[0]] {
						panic(fmt.Sprintf("sender %d: got %d, want %d", v[0], v[1], next[v[0]]))
					}
					next[v[0]]++
				}
				_, _ = aborter.Await(t)
				for i := range senders {
					_, _ = hs[i].Await(t)
					if next[i] != sent[i] {
						panic(fmt.Sprintf("sender %d: sent %d, received %d", i, sent[i], next[i]))
					}
				}
				if recv, waiting := asyncrt.ChanWaiters(rx); recv != 0 || waiting != 0 {
					panic("registrations left behind")
				}
				return 0
			})
		})
	}
}

func TestCrossChanFromGoroutines(t *testing.T) {
	rt := newRuntime(t, nil)
	const senders, each = 8, 2000
	s, rx, err := asyncrt.NewCrossChan[[2]int](rt, 16)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range senders {
		si := s.Clone()
		wg.Go(func() {
			defer si.Close()
			for j := range each {
				if err := si.Send([2]int{i, j}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	s.Close()
	got := block(t, rt, func(t *asyncrt.Task) int {
		next := make([]int, senders)
		n := 0
		for {
			v, err := rx.Recv(t)
			if errors.Is(err, asyncrt.ErrChanClosed) {
				return n
			}
			if v[1] != next[v[0]] {
				panic(fmt.Sprintf("sender %d out of order: %d, want %d", v[0], v[1], next[v[0]]))
			}
			next[v[0]]++
			n++
			if n%100 == 0 {
				t.Sleep(100 * time.Microsecond) // let the senders fill it and block
			}
		}
	})
	wg.Wait()
	assert.Equal(t, senders*each, got)
}

func TestCrossChanFromTasksOfAnotherRuntime(t *testing.T) {
	rtA := newRuntime(t, nil)
	rtB := newRuntime(t, nil)
	s, rx, _ := asyncrt.NewCrossChan[int](rtB, 2)
	done := make(chan error, 1)
	go func() {
		_, err := asyncrt.BlockOn(rtA, func(t *asyncrt.Task) error {
			defer s.Close()
			for i := range 100 {
				if err := s.SendTask(t, i); err != nil { // suspends rtA's task, not its thread
					return err
				}
			}
			return nil
		})
		done <- err
	}()
	sum := block(t, rtB, func(t *asyncrt.Task) int {
		sum := 0
		for {
			v, err := rx.Recv(t)
			if err != nil {
				return sum
			}
			sum += v
			t.Sleep(50 * time.Microsecond)
		}
	})
	require.NoError(t, <-done)
	assert.Equal(t, 99*100/2, sum)
}

func TestCrossChanSendFromReceivingRuntimePanics(t *testing.T) {
	rt := newRuntime(t, nil)
	msg := block(t, rt, func(t *asyncrt.Task) string {
		s, _, _ := asyncrt.NewCrossChan[int](rt, 1)
		return panicMessage(func() { _ = s.Send(1) })
	})
	assert.Contains(t, msg, "use SendTask")
}

func TestCrossChanCloseAndTry(t *testing.T) {
	rt := newRuntime(t, nil)
	s, rx, _ := asyncrt.NewCrossChan[int](rt, 2)
	require.NoError(t, s.TrySend(1))
	require.NoError(t, s.TrySend(2))
	assert.ErrorIs(t, s.TrySend(5), asyncrt.ErrFull)
	blocked := make(chan error, 1)
	go func() { blocked <- s.Send(3) }() // blocks: full
	errs := block(t, rt, func(t *asyncrt.Task) []error {
		v, err := rx.TryRecv()
		if err != nil || v != 1 {
			panic("TryRecv")
		}
		if v, _ = rx.Recv(t); v != 2 {
			panic("Recv")
		}
		v, _ = rx.Recv(t) // the blocked send goes through
		if v != 3 {
			panic("Recv after the blocked send")
		}
		_, empty := rx.TryRecv()
		rx.Close()
		return []error{empty}
	})
	assert.ErrorIs(t, errs[0], asyncrt.ErrEmpty)
	assert.NoError(t, <-blocked)
	assert.ErrorIs(t, s.Send(4), asyncrt.ErrChanClosed, "the receiver is closed")
	assert.Equal(t, 0, rx.Len())
}

func TestForwardFromGoChannel(t *testing.T) {
	rt := newRuntime(t, nil)
	ch := make(chan int)
	go func() {
		for i := range 500 {
			ch <- i
		}
		close(ch)
	}()
	rx, err := asyncrt.Forward(rt, ch, 4)
	require.NoError(t, err)
	got := block(t, rt, func(t *asyncrt.Task) []int {
		var out []int
		for {
			v, err := rx.Recv(t)
			if err != nil {
				return out
			}
			out = append(out, v)
		}
	})
	require.Len(t, got, 500)
	for i, v := range got {
		require.Equal(t, i, v)
	}
	_, err = asyncrt.Forward[int](rt, nil, 1)
	assert.Error(t, err)
}

func TestForwardStopsWhenReceiverCloses(t *testing.T) {
	before := goleak.IgnoreCurrent()
	rt, err := asyncrt.New()
	require.NoError(t, err)
	never := make(chan int) // never sent on, never closed
	rx, err := asyncrt.Forward(rt, never, 1)
	require.NoError(t, err)
	block(t, rt, func(t *asyncrt.Task) int { rx.Close(); return 0 })
	rt.Close()
	goleak.VerifyNone(t, before) // the forwarding goroutine is gone too
}
