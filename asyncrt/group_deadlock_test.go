package asyncrt_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// groupChans makes a group channel into every runtime of g.
func groupChans(t *testing.T, g *asyncrt.Group, capacity int) ([]*asyncrt.CrossSender[int], []*asyncrt.CrossReceiver[int]) {
	t.Helper()
	ss := make([]*asyncrt.CrossSender[int], g.Len())
	rs := make([]*asyncrt.CrossReceiver[int], g.Len())
	for i := range g.Len() {
		s, r, err := asyncrt.NewGroupChan[int](g, i, capacity)
		require.NoError(t, err)
		ss[i], rs[i] = s, r
	}
	return ss, rs
}

// untilParked yields t until runtime rt has parked at least once more than
// parks: it then waits, its tasks with nothing to do.
func untilParked(t *asyncrt.Task, rt *asyncrt.Runtime, parks uint64) {
	for rt.Stats().Parks <= parks {
		t.Yield()
	}
}

// assertGroupDeadlock checks that err reports runtime i of a group
// deadlocked.
func assertGroupDeadlock(t *testing.T, err error, runtimes ...int) {
	t.Helper()
	require.ErrorIs(t, err, asyncrt.ErrDeadlock)
	for _, i := range runtimes {
		assert.Contains(t, err.Error(), "group runtime "+string(rune('0'+i))+": asyncrt: deadlock")
	}
	assert.Contains(t, err.Error(), "every runtime of the group waits on the others")
}

func TestGroupDeadlockEveryRuntimeWaitsOnAnother(t *testing.T) {
	g := newGroup(t, 2, nil)
	_, rs := groupChans(t, g, 1)
	err := g.Run(func(t *asyncrt.Task, i int) error {
		_, err := rs[i].Recv(t)
		return err
	})
	assertGroupDeadlock(t, err, 0, 1)
}

func TestGroupDeadlockRemoteAwaitCycle(t *testing.T) {
	// Runtime 0 awaits a task on runtime 1, which awaits a task on runtime
	// 0 that waits for a value nobody sends; runtime 1's root waits too.
	g := newGroup(t, 2, nil)
	_, rs := groupChans(t, g, 1)
	err := g.Run(func(t *asyncrt.Task, i int) error {
		if i == 1 {
			_, err := rs[1].Recv(t)
			return err
		}
		return awaitOn(t, g, 1, func(t *asyncrt.Task) error {
			return awaitOn(t, g, 0, func(t *asyncrt.Task) error {
				_, err := rs[0].Recv(t)
				return err
			})
		})
	})
	assertGroupDeadlock(t, err, 0, 1)
}

// awaitOn runs fn as a task on runtime i of g and awaits it from t.
func awaitOn(t *asyncrt.Task, g *asyncrt.Group, i int, fn func(*asyncrt.Task) error) error {
	h, err := asyncrt.SpawnOn(g, i, fn)
	if err != nil {
		return err
	}
	ferr, err := h.Await(t)
	return errors.Join(ferr, err)
}

func TestGroupDeadlockWhenThePeerFinishes(t *testing.T) {
	// Runtime 1 returns without sending: runtime 0 can never be woken.
	g := newGroup(t, 2, nil)
	_, rs := groupChans(t, g, 1)
	err := g.Run(func(t *asyncrt.Task, i int) error {
		if i == 1 {
			return nil
		}
		_, err := rs[0].Recv(t)
		return err
	})
	assertGroupDeadlock(t, err, 0)
	assert.NotContains(t, err.Error(), "group runtime 1")
}

func TestGroupNotDeadlockedWhileAPeerWorks(t *testing.T) {
	// Runtime 0 waits on the group and parks; runtime 1 keeps working
	// until it has seen runtime 0 park, then sends.
	g := newGroup(t, 2, nil)
	ss, rs := groupChans(t, g, 1)
	got := -1
	err := g.Run(func(t *asyncrt.Task, i int) error {
		if i == 0 {
			v, err := rs[0].Recv(t)
			got = v
			return err
		}
		untilParked(t, g.Runtime(0), 0)
		return ss[0].SendTask(t, 42)
	})
	require.NoError(t, err)
	assert.Equal(t, 42, got)
}

func TestGroupLocalWaitFedFromAPeer(t *testing.T) {
	// In a running group a runtime whose tasks wait on one another is not
	// deadlocked while a peer may spawn work on it: here the peer's task
	// feeds the root's local channel.
	g := newGroup(t, 2, nil)
	handoff, hr, err := asyncrt.NewGroupChan[*asyncrt.Sender[int]](g, 1, 1)
	require.NoError(t, err)
	got := -1
	err = g.Run(func(t *asyncrt.Task, i int) error {
		if i == 0 {
			s, r, err := asyncrt.NewChan[int](t.Runtime(), 1)
			if err != nil {
				return err
			}
			if err := handoff.SendTask(t, s); err != nil {
				return err
			}
			got, err = r.Recv(t)
			return err
		}
		s, err := hr.Recv(t)
		if err != nil {
			return err
		}
		untilParked(t, g.Runtime(0), 0)
		h, err := asyncrt.SpawnOn(g, 0, func(t *asyncrt.Task) error { return s.Send(t, 7) })
		if err != nil {
			return err
		}
		sendErr, err := h.Await(t)
		return errors.Join(sendErr, err)
	})
	require.NoError(t, err)
	assert.Equal(t, 7, got)
}

func TestGroupOutsideWaitIsNotDeadlock(t *testing.T) {
	// Runtime 1 waits on a cross channel the test feeds: the outside
	// world, so runtime 0, waiting on runtime 1, is not deadlocked.
	g := newGroup(t, 2, nil)
	ss, rs := groupChans(t, g, 1)
	in, inR, err := asyncrt.NewCrossChan[int](g.Runtime(1), 1)
	require.NoError(t, err)
	parked := make(chan struct{})
	go func() {
		// Wait until both runtimes sleep with nothing to do.
		for g.Runtime(0).Stats().Parks == 0 || g.Runtime(1).Stats().Parks == 0 {
			runtime.Gosched()
		}
		close(parked)
		assert.NoError(t, in.Send(5))
	}()
	got := -1
	err = g.Run(func(t *asyncrt.Task, i int) error {
		if i == 0 {
			v, err := rs[0].Recv(t)
			got = v
			return err
		}
		v, err := inR.Recv(t)
		if err != nil {
			return err
		}
		return ss[0].SendTask(t, v)
	})
	require.NoError(t, err)
	<-parked
	assert.Equal(t, 5, got)
}

func TestGroupCloseEndsAPeerWait(t *testing.T) {
	// Runtime 0 waits on the group, runtime 1 on the outside; a Close from
	// outside ends both.
	g, err := asyncrt.NewGroup(2, nil)
	require.NoError(t, err)
	_, rs := groupChans(t, g, 1)
	_, inR, err := asyncrt.NewCrossChan[int](g.Runtime(1), 1)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		done <- g.Run(func(t *asyncrt.Task, i int) error {
			if i == 0 {
				_, err := rs[0].Recv(t)
				return err
			}
			_, err := inR.Recv(t)
			return err
		})
	}()
	for g.Runtime(0).Stats().Parks == 0 || g.Runtime(1).Stats().Parks == 0 {
		runtime.Gosched()
	}
	g.Close()
	err = <-done
	require.ErrorIs(t, err, asyncrt.ErrClosed)
	assert.NotErrorIs(t, err, asyncrt.ErrDeadlock)
}

func TestGroupRunWhileRunning(t *testing.T) {
	g := newGroup(t, 2, nil)
	release, releaseR, err := asyncrt.NewCrossChan[int](g.Runtime(0), 1)
	require.NoError(t, err)
	started := make(chan struct{}, 2)
	done := make(chan error, 1)
	go func() {
		done <- g.Run(func(t *asyncrt.Task, i int) error {
			started <- struct{}{}
			if i == 0 {
				_, err := releaseR.Recv(t)
				return err
			}
			return nil
		})
	}()
	<-started
	err = g.Run(func(*asyncrt.Task, int) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Group.Run called while the group is already running")
	require.NoError(t, release.Send(1))
	require.NoError(t, <-done)
	// Once the first has returned, the group runs again.
	require.NoError(t, g.Run(func(*asyncrt.Task, int) error { return nil }))
}

func TestGroupChanBadInput(t *testing.T) {
	g := newGroup(t, 2, nil)
	_, _, err := asyncrt.NewGroupChan[int](nil, 0, 1)
	assert.ErrorContains(t, err, "NewGroupChan called with a nil *Group")
	_, _, err = asyncrt.NewGroupChan[int](g, 0, 0)
	assert.ErrorContains(t, err, "NewGroupChan: asyncrt: channel capacity must be within [1, 2^30], got 0")
	assert.Contains(t, panicMessage(func() { _, _, _ = asyncrt.NewGroupChan[int](g, 2, 1) }),
		"NewGroupChan(2): the group has runtimes 0 to 1")

	s, _, err := asyncrt.NewGroupChan[int](g, 0, 1)
	require.NoError(t, err)
	msg := panicMessage(func() { _ = s.TrySend(1) })
	assert.Contains(t, msg, "CrossSender.TrySend called from outside the group on a channel made by NewGroupChan")
	assert.Contains(t, msg, "NewCrossChan")
	assert.Contains(t, panicMessage(func() { _ = s.Send(1) }), "CrossSender.Send called from outside the group")

	// A task of a runtime outside the group.
	other, err := asyncrt.New()
	require.NoError(t, err)
	defer other.Close()
	var taskMsg, selectMsg string
	_, err = asyncrt.BlockOn(other, func(task *asyncrt.Task) int {
		taskMsg = panicMessage(func() { _ = s.SendTask(task, 1) })
		selectMsg = panicMessage(func() { asyncrt.Select(task, asyncrt.OnCrossSend(s, 1)) })
		return 0
	})
	require.NoError(t, err)
	assert.Contains(t, taskMsg, "CrossSender.SendTask called by a task outside the group on a channel made by NewGroupChan")
	assert.Contains(t, selectMsg, "OnCrossSend called by a task outside the group")
}

func TestGroupChanSendsFromTheGroup(t *testing.T) {
	// Every way of sending from the group's own runtimes works: SendTask,
	// TrySend from a task, and a Select case.
	g := newGroup(t, 2, nil)
	ss, rs := groupChans(t, g, 4)
	var got []int
	err := g.Run(func(t *asyncrt.Task, i int) error {
		if i == 1 {
			if err := ss[0].SendTask(t, 1); err != nil {
				return err
			}
			if err := ss[0].TrySend(2); err != nil {
				return err
			}
			c := asyncrt.OnCrossSend(ss[0], 3)
			asyncrt.Select(t, c)
			if c.Err() != nil {
				return c.Err()
			}
			ss[0].Close()
			return nil
		}
		for {
			v, err := rs[0].Recv(t)
			if errors.Is(err, asyncrt.ErrChanClosed) {
				return nil
			}
			if err != nil {
				return err
			}
			got = append(got, v)
		}
	})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3}, got)
}

// TestGroupDeadlockStress passes a token round a ring of runtimes over
// group channels, K hops, while every runtime also runs tasks that await
// tasks on its peers and yield at random. Once the token stops, every root
// waits on the group: Run must report the deadlock on every runtime, and
// only then, never while a hop is on its way. The model: the hops seen are
// exactly 1..K, each once.
func TestGroupDeadlockStress(t *testing.T) {
	const n, hops = 3, 300
	for _, spin := range []bool{false, true} {
		name := "park"
		if spin {
			name = "spin"
		}
		t.Run(name, func(t *testing.T) {
			g := newGroup(t, n, func(i int, b *asyncrt.Builder) {
				if spin && i == 1 {
					b.Idle(asyncrt.Spin)
				}
				if i == 2 {
					b.SpinBeforePark(20 * time.Microsecond)
				}
			})
			ss, rs := groupChans(t, g, 2)
			var mu sync.Mutex
			seen := make(map[int]int)
			err := g.Run(func(t *asyncrt.Task, i int) error {
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				if i == 0 {
					if err := ss[1].SendTask(t, 1); err != nil {
						return err
					}
				}
				for {
					v, err := rs[i].Recv(t)
					if err != nil {
						return err
					}
					mu.Lock()
					seen[v]++
					mu.Unlock()
					// A detour through a peer: await a task there.
					peer := (i + 1 + rng.IntN(n-1)) % n
					h, err := asyncrt.SpawnOn(g, peer, func(t *asyncrt.Task) int {
						for range rng.IntN(3) {
							t.Yield()
						}
						return v
					})
					if err != nil {
						return err
					}
					if back, err := h.Await(t); err != nil || back != v {
						return errors.Join(err, errors.New("the detour lost the hop"))
					}
					if v == hops {
						continue // the last hop: everyone waits from now on
					}
					if err := ss[(i+1)%n].SendTask(t, v+1); err != nil {
						return err
					}
				}
			})
			assertGroupDeadlock(t, err, 0, 1, 2)
			assert.Zero(t, asyncrt.GroupBusy(g), "each Run leaves the busy count where it found it")
			for i, r := range rs {
				assert.Zero(t, r.Len(), "a hop is left in runtime %d's channel", i)
			}
			require.Len(t, seen, hops)
			for v := 1; v <= hops; v++ {
				assert.Equal(t, 1, seen[v], "hop %d", v)
			}
		})
	}
}

// TestGroupShutdownUnderLoad stops a group while every runtime's producers
// send across cross channels and await tasks they spawn on their peers.
// Each producer stops at its runtime's shutdown signal and closes its
// sender; each root receives until every sender into it is closed. Against
// the model: every value a producer sent is received exactly once, every
// remote task a producer awaited returned its own value, nothing is left to
// abort, and (newGroup) no goroutine is left behind.
func TestGroupShutdownUnderLoad(t *testing.T) {
	const n, producers = 3, 4
	g := newGroup(t, n, nil)
	clones := make([][]*asyncrt.CrossSender[groupVal], n)
	vs := make([]*asyncrt.CrossSender[groupVal], n)
	vr := make([]*asyncrt.CrossReceiver[groupVal], n)
	for i := range n {
		s, r, err := asyncrt.NewGroupChan[groupVal](g, i, 8)
		require.NoError(t, err)
		vs[i], vr[i] = s, r
	}
	for i := range n {
		for range producers {
			clones[i] = append(clones[i], vs[(i+1)%n].Clone())
		}
	}
	for _, s := range vs {
		s.Close() // the producers' clones keep the channels open
	}
	var sentCount atomic.Int64
	ledgers := make([]groupLedger, n)
	remoteBad := make([]int, n)
	done := make(chan error, 1)
	go func() {
		done <- g.Run(func(t *asyncrt.Task, i int) error {
			led := &ledgers[i]
			hs := make([]asyncrt.JoinHandle[error], producers)
			for p := range producers {
				s := clones[i][p]
				hs[p] = asyncrt.Spawn(t, func(t *asyncrt.Task) error {
					defer s.Close()
					for seq := 0; ; seq++ {
						v := groupVal{from: i, sender: p, seq: seq}
						send := asyncrt.OnCrossSend(s, v)
						if k, _ := asyncrt.Select(t, send, asyncrt.OnShutdown()); k == 1 {
							return nil
						}
						if send.Err() != nil {
							return send.Err()
						}
						led.sent = append(led.sent, v)
						sentCount.Add(1)
						if seq%16 == 0 {
							h, err := asyncrt.SpawnOn(g, (i+1)%n, func(*asyncrt.Task) int { return seq })
							if err != nil {
								continue // refused: the peer is shutting down
							}
							if back, err := h.Await(t); err == nil && back != seq {
								remoteBad[i]++
							}
						}
					}
				})
			}
			for {
				v, err := vr[i].Recv(t)
				if errors.Is(err, asyncrt.ErrChanClosed) {
					break
				}
				if err != nil {
					return err
				}
				led.received = append(led.received, v)
			}
			var errs []error
			for _, h := range hs {
				perr, err := h.Await(t)
				errs = append(errs, perr, err)
			}
			return errors.Join(errs...)
		})
	}()
	for sentCount.Load() < 3000 {
		runtime.Gosched()
	}
	st := g.Shutdown(1 << 40)
	require.NoError(t, <-done)
	assert.Zero(t, asyncrt.GroupBusy(g))
	assert.Zero(t, st.Total.Aborted, "every task ended by itself")
	assert.Zero(t, st.Total.RemoteRefused)
	for i := range n {
		assert.Zero(t, remoteBad[i], "runtime %d: a remote task returned another's value", i)
		from := (i + n - 1) % n
		want := map[groupVal]int{}
		for _, v := range ledgers[from].sent {
			want[v]++
		}
		got := map[groupVal]int{}
		for _, v := range ledgers[i].received {
			got[v]++
		}
		assert.Equal(t, want, got, "runtime %d received exactly what runtime %d sent", i, from)
		assert.NotEmpty(t, ledgers[from].sent)
	}
}

func TestGroupTimerKeepsThePeerLive(t *testing.T) {
	// Runtime 0 has a timer (a Timeout around its receive), so runtime 1,
	// waiting on it, is not deadlocked before the timeout fires and runtime
	// 0 sends.
	g := newGroup(t, 2, nil)
	ss, rs := groupChans(t, g, 1)
	got := -1
	err := g.Run(func(t *asyncrt.Task, i int) error {
		if i == 0 {
			_, err := asyncrt.Timeout(t, 20*time.Millisecond, func(t *asyncrt.Task) int {
				v, _ := rs[0].Recv(t)
				return v
			})
			if !errors.Is(err, asyncrt.ErrElapsed) {
				return fmt.Errorf("the receive ended before its timeout: %w", err)
			}
			return ss[1].SendTask(t, 7)
		}
		v, err := rs[1].Recv(t)
		got = v
		return err
	})
	require.NoError(t, err)
	assert.Equal(t, 7, got)
}

func TestGroupOfOne(t *testing.T) {
	g := newGroup(t, 1, nil)
	err := g.Run(func(t *asyncrt.Task, _ int) error {
		s, r, err := asyncrt.NewChan[int](t.Runtime(), 1)
		if err != nil {
			return err
		}
		defer s.Close()
		_, err = r.Recv(t)
		return err
	})
	assertGroupDeadlock(t, err, 0)
	// Awaiting a task it spawned on itself is no deadlock; the group runs
	// again after one.
	err = g.Run(func(t *asyncrt.Task, _ int) error {
		h, err := asyncrt.SpawnOn(g, 0, func(*asyncrt.Task) int { return 3 })
		if err != nil {
			return err
		}
		_, err = h.Await(t)
		return err
	})
	require.NoError(t, err)
	assert.Zero(t, asyncrt.GroupBusy(g))
}

// startAwaitingPeer starts a Run of a 2-runtime group in which runtime 0's
// root waits for the shutdown signal, and runtime 1's root spawns work on
// runtime 0 and awaits it. It returns once both roots run and the work is
// spawned; the Run's error comes on the channel, and the Await's result in
// got and awaitErr once it has.
func startAwaitingPeer(g *asyncrt.Group, work func(*asyncrt.Task) int) (done <-chan error, got *int, awaitErr *error) {
	spawned, rootZero := make(chan struct{}), make(chan struct{})
	ran := make(chan error, 1)
	got, awaitErr = new(int), new(error)
	go func() {
		ran <- g.Run(func(t *asyncrt.Task, i int) error {
			if i == 0 {
				close(rootZero)
				t.ShutdownSignal()
				return nil
			}
			h, err := asyncrt.SpawnOn(g, 0, work)
			if err != nil {
				return err
			}
			close(spawned)
			*got, *awaitErr = h.Await(t)
			return nil
		})
	}()
	<-spawned
	<-rootZero
	return ran, got, awaitErr
}

func TestGroupShutdownDrainServesAPeer(t *testing.T) {
	// Runtime 0's root returns at the shutdown signal; the task runtime 1
	// spawned there still works, and Shutdown's drain finishes it while
	// runtime 1's root awaits it: no deadlock.
	g := newGroup(t, 2, nil)
	done, got, awaitErr := startAwaitingPeer(g, func(t *asyncrt.Task) int {
		t.ShutdownSignal()
		t.Sleep(20 * time.Millisecond) // work left for the drain
		return 42
	})
	st := g.Shutdown(1 << 40)
	require.NoError(t, <-done)
	require.NoError(t, *awaitErr)
	assert.Equal(t, 42, *got)
	assert.Zero(t, st.Total.Aborted)
}

func TestGroupCloseOfOneRuntime(t *testing.T) {
	// Closing one runtime during Run ends the work waiting for it: its
	// peer's Await returns ErrAborted or ErrClosed, not a deadlock of the
	// group.
	g := newGroup(t, 2, nil)
	done, _, awaitErr := startAwaitingPeer(g, func(t *asyncrt.Task) int {
		t.ShutdownSignal()
		return 1
	})
	g.Runtime(0).Close()
	err := <-done
	require.ErrorIs(t, err, asyncrt.ErrClosed) // runtime 0's
	assert.NotErrorIs(t, err, asyncrt.ErrDeadlock)
	// Aborted if the task had started, refused if not.
	assert.True(t, errors.Is(*awaitErr, asyncrt.ErrAborted) || errors.Is(*awaitErr, asyncrt.ErrClosed), "%v", *awaitErr)
}

func TestGroupShutdownLetsEveryRootStart(t *testing.T) {
	// A Shutdown that comes while some roots of a Run have not started yet
	// waits for them: each sees the shutdown signal and returns, rather
	// than finding its runtime closed.
	const n = 4
	for range 20 {
		g := newGroup(t, n, nil)
		first := make(chan struct{}, n)
		done := make(chan error, 1)
		go func() {
			done <- g.Run(func(t *asyncrt.Task, i int) error {
				first <- struct{}{}
				t.ShutdownSignal()
				return nil
			})
		}()
		<-first // one root runs; the others may not have started
		g.Shutdown(1 << 40)
		require.NoError(t, <-done)
	}
}
