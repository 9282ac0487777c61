package asyncrt_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// chanModel is what a channel stress run checks against: the values that
// were sent (their Send returned nil) and the values received, in the order
// the channel gave them out. The model is a multiset with per-sender order:
// every value sent is received exactly once, no value is received that was
// not sent, and each sender's values come out in the order it sent them.
type chanModel struct {
	mu       sync.Mutex
	sent     map[[2]int]bool
	received [][2]int
}

func newChanModel() *chanModel { return &chanModel{sent: make(map[[2]int]bool)} }

func (m *chanModel) send(v [2]int) {
	m.mu.Lock()
	m.sent[v] = true
	m.mu.Unlock()
}

func (m *chanModel) recv(v [2]int) {
	m.mu.Lock()
	m.received = append(m.received, v)
	m.mu.Unlock()
}

func (m *chanModel) check(t *testing.T, seed uint64) {
	t.Helper()
	seen := make(map[[2]int]bool, len(m.received))
	last := map[int]int{}
	for _, v := range m.received {
		require.False(t, seen[v], "seed %d: %v received twice", seed, v)
		seen[v] = true
		require.True(t, m.sent[v], "seed %d: %v received but never sent", seed, v)
		if prev, ok := last[v[0]]; ok {
			require.Greater(t, v[1], prev, "seed %d: sender %d out of order", seed, v[0])
		}
		last[v[0]] = v[1]
	}
	require.Equal(t, len(m.sent), len(seen), "seed %d: values lost", seed)
}

// TestLocalChanManyReceiversManySenders runs N receiving and M sending tasks
// on one local channel under a simulated clock, with random aborts of
// receivers and senders at their suspension points, receivers that
// sometimes wait in a Select with a timeout, and random yields and sleeps.
// Every run ends with the senders closing: every receiver still running
// must then see ErrChanClosed, nothing may be left registered, and what came
// out must match the model.
func TestLocalChanManyReceiversManySenders(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		receivers, senders, each := 1+rng.IntN(6), 1+rng.IntN(6), 1+rng.IntN(60)
		capacity := 1 + rng.IntN(4)
		m := newChanModel()
		rt, _ := simRuntime(t, nil)
		block(t, rt, func(t *asyncrt.Task) int {
			tx, rx, err := asyncrt.NewChan[[2]int](t.Runtime(), capacity)
			if err != nil {
				panic(err)
			}
			pause := func(t *asyncrt.Task) {
				switch rng.IntN(4) {
				case 0:
					t.Yield()
				case 1:
					t.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
				}
			}
			var recvs []asyncrt.JoinHandle[error]
			for range receivers {
				recvs = append(recvs, asyncrt.Spawn(t, func(t *asyncrt.Task) error {
					for {
						var v [2]int
						var err error
						if rng.IntN(3) == 0 {
							c := asyncrt.OnRecv(rx)
							i, serr := asyncrt.Select(t, asyncrt.OnTimeout(time.Duration(rng.IntN(3))*time.Millisecond), c)
							if serr != nil {
								return serr
							}
							if i == 0 {
								continue // timed out: nothing taken
							}
							v, err = c.Value(), c.Err()
						} else {
							v, err = rx.Recv(t)
						}
						if err != nil {
							if !errors.Is(err, asyncrt.ErrChanClosed) {
								return err
							}
							return nil
						}
						m.recv(v)
						pause(t)
					}
				}))
			}
			var sends []asyncrt.JoinHandle[int]
			var clones []*asyncrt.Sender[[2]int]
			for i := range senders {
				s := tx.Clone()
				clones = append(clones, s)
				sends = append(sends, asyncrt.Spawn(t, func(t *asyncrt.Task) int {
					defer s.Close()
					for j := range each {
						v := [2]int{i, j}
						if err := s.Send(t, v); err != nil {
							panic(err)
						}
						m.send(v)
						pause(t)
					}
					return 0
				}))
			}
			tx.Close()
			// Abort some of each while the run goes on, always leaving one
			// receiver to drain the channel.
			for range rng.IntN(4) {
				t.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
				if rng.IntN(2) == 0 && len(recvs) > 1 {
					recvs[1+rng.IntN(len(recvs)-1)].Abort()
				} else {
					sends[rng.IntN(len(sends))].Abort()
				}
			}
			for i, h := range sends {
				if _, err := h.Await(t); err != nil && !errors.Is(err, asyncrt.ErrAborted) {
					panic(err)
				}
				clones[i].Close() // a sender aborted before it started never ran its defer
			}
			for _, h := range recvs {
				if err, herr := h.Await(t); err != nil || herr != nil && !errors.Is(herr, asyncrt.ErrAborted) {
					panic(fmt.Sprint(err, herr))
				}
			}
			// Values left by aborted receivers are still in the channel.
			for {
				v, err := rx.TryRecv()
				if err != nil {
					break
				}
				m.recv(v)
			}
			if st := t.Runtime().Stats(); st.Registrations != 0 || st.PendingTimers != 0 {
				panic(fmt.Sprintf("left behind: %d registrations, %d timers", st.Registrations, st.PendingTimers))
			}
			return 0
		})
		m.check(t, seed)
	}
}

// TestCrossChanManyReceiversManySenders is the cross-goroutine version:
// goroutines and the tasks of a second runtime send, N tasks of the
// receiving runtime receive, some of them through Select, and some
// receivers are aborted. Every value sent arrives once, in each sender's
// order.
func TestCrossChanManyReceiversManySenders(t *testing.T) {
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 0xc055))
		receivers, goSenders, taskSenders := 1+rng.IntN(5), 1+rng.IntN(4), 1+rng.IntN(4)
		each := 200
		m := newChanModel()
		rt := newRuntime(t, nil)
		other := newRuntime(t, nil)
		tx, rx, err := asyncrt.NewCrossChan[[2]int](rt, 1+rng.IntN(8))
		require.NoError(t, err)
		var wg sync.WaitGroup
		for i := range goSenders {
			s := tx.Clone()
			wg.Go(func() {
				defer s.Close()
				for j := range each {
					if err := s.Send([2]int{i, j}); err != nil {
						panic(err)
					}
					m.send([2]int{i, j})
				}
			})
		}
		var taskTx []*asyncrt.CrossSender[[2]int]
		for range taskSenders {
			taskTx = append(taskTx, tx.Clone())
		}
		tx.Close()
		wg.Go(func() {
			_, err := asyncrt.BlockOn(other, func(t *asyncrt.Task) int {
				var hs []asyncrt.JoinHandle[int]
				for k, s := range taskTx {
					hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int {
						defer s.Close()
						for j := range each {
							v := [2]int{goSenders + k, j}
							if err := s.SendTask(t, v); err != nil {
								panic(err)
							}
							m.send(v)
							if j%7 == 0 {
								t.Yield()
							}
						}
						return 0
					}))
				}
				for _, h := range hs {
					_, _ = h.Await(t)
				}
				return 0
			})
			if err != nil {
				panic(err)
			}
		})
		aborts := rng.IntN(receivers)
		block(t, rt, func(t *asyncrt.Task) int {
			var hs []asyncrt.JoinHandle[error]
			for r := range receivers {
				useSelect := r%2 == 1
				hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) error {
					c := asyncrt.OnCrossRecv(rx)
					for {
						var v [2]int
						var err error
						if useSelect {
							if _, err = asyncrt.Select(t, c); err != nil {
								return err
							}
							v, err = c.Value(), c.Err()
						} else {
							v, err = rx.Recv(t)
						}
						if errors.Is(err, asyncrt.ErrChanClosed) {
							return nil
						}
						if err != nil {
							return err
						}
						m.recv(v)
						if v[1]%5 == 0 {
							t.Yield()
						}
					}
				}))
			}
			for i := range aborts {
				t.Yield()
				hs[i].Abort()
			}
			for _, h := range hs {
				if err, herr := h.Await(t); err != nil || herr != nil && !errors.Is(herr, asyncrt.ErrAborted) {
					panic(fmt.Sprint(err, herr))
				}
			}
			if st := t.Runtime().Stats(); st.Registrations != 0 {
				panic(fmt.Sprintf("left behind: %d registrations", st.Registrations))
			}
			return 0
		})
		wg.Wait()
		m.check(t, seed)
	}
}
