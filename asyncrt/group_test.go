package asyncrt_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/asyncrt"
)

// newGroup builds a group for a test, closes it when the test ends and then
// checks that none of the goroutines it started is left behind.
func newGroup(t *testing.T, n int, configure func(int, *asyncrt.Builder)) *asyncrt.Group {
	t.Helper()
	before := goleak.IgnoreCurrent()
	g, err := asyncrt.NewGroup(n, configure)
	require.NoError(t, err)
	t.Cleanup(func() {
		g.Close()
		for i := range g.Len() {
			_, err := asyncrt.BlockOn(g.Runtime(i), func(*asyncrt.Task) int { return 0 })
			assert.ErrorIs(t, err, asyncrt.ErrClosed, "runtime %d", i)
		}
		goleak.VerifyNone(t, before)
	})
	return g
}

// runServed runs fn as the root of runtime 0 of a 2-runtime group while
// runtime 1's root keeps driving its runtime, for the tasks runtime 0
// spawns there, until fn has returned.
func runServed(g *asyncrt.Group, fn func(*asyncrt.Task) error) error {
	stop := make(chan struct{})
	return g.Run(func(task *asyncrt.Task, i int) error {
		if i == 1 {
			_, err := asyncrt.Go(task, func() (struct{}, error) { <-stop; return struct{}{}, nil })
			return err
		}
		defer close(stop)
		return fn(task)
	})
}

func TestGroupBuildClose(t *testing.T) {
	before := goleak.IgnoreCurrent()
	var seen []int
	g, err := asyncrt.NewGroup(3, func(i int, b *asyncrt.Builder) {
		seen = append(seen, i)
		b.TasksPerCycle(8 + i)
	})
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2}, seen)
	assert.Equal(t, 3, g.Len())
	for i := range 3 {
		require.NotNil(t, g.Runtime(i))
	}
	assert.NotSame(t, g.Runtime(0), g.Runtime(1))
	assert.Contains(t, panicMessage(func() { g.Runtime(3) }), "Group.Runtime(3): the group has runtimes 0 to 2")
	assert.Contains(t, panicMessage(func() { g.Runtime(-1) }), "Group.Runtime(-1)")
	st := g.Close()
	assert.Len(t, st.PerRuntime, 3)
	assert.Equal(t, asyncrt.ShutdownStats{}, st.Total)
	assert.Equal(t, st, g.Close(), "Close is idempotent")
	goleak.VerifyNone(t, before)

	// nil configure: defaults.
	g, err = asyncrt.NewGroup(1, nil)
	require.NoError(t, err)
	g.Close()
	goleak.VerifyNone(t, before)
}

func TestGroupBadN(t *testing.T) {
	for _, n := range []int{0, -1} {
		g, err := asyncrt.NewGroup(n, nil)
		assert.Nil(t, g)
		assert.ErrorContains(t, err, fmt.Sprintf("NewGroup needs at least one runtime, got n = %d", n))
	}
}

func TestGroupConfigureFails(t *testing.T) {
	before := goleak.IgnoreCurrent()
	g, err := asyncrt.NewGroup(3, func(i int, b *asyncrt.Builder) {
		if i == 1 {
			b.TasksPerCycle(0)
		}
	})
	assert.Nil(t, g)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "runtime 1")
	assert.Contains(t, err.Error(), "TasksPerCycle")
	goleak.VerifyNone(t, before) // runtime 0 was closed
}

func TestGroupRun(t *testing.T) {
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			g := newGroup(t, n, nil)
			var ran [4]atomic.Int32
			err := g.Run(func(task *asyncrt.Task, i int) error {
				if g.Runtime(i).CurrentTask() != task {
					return errors.New("root runs on another runtime")
				}
				ran[i].Add(1)
				return nil
			})
			require.NoError(t, err)
			for i := range n {
				assert.Equal(t, int32(1), ran[i].Load(), "runtime %d", i)
			}

			// Errors are joined, each naming its runtime.
			err = g.Run(func(_ *asyncrt.Task, i int) error {
				if i%2 == 1 {
					return fmt.Errorf("root %d failed", i)
				}
				return nil
			})
			require.Error(t, err)
			for i := 1; i < n; i += 2 {
				assert.Contains(t, err.Error(), fmt.Sprintf("group runtime %d: root %d failed", i, i))
			}
			assert.NotContains(t, err.Error(), "runtime 0")
			assert.Error(t, g.Run(nil))
		})
	}
}

func TestGroupSpawnOnFromGoroutine(t *testing.T) {
	g := newGroup(t, 2, nil)
	done := make(chan error, 1)
	go func() {
		defer close(done)
		h, err := asyncrt.SpawnOn(g, 1, func(task *asyncrt.Task) int {
			if g.Runtime(1).CurrentTask() != task {
				return -1
			}
			return 42
		})
		if err != nil {
			done <- err
			return
		}
		v, err := h.Wait()
		if err == nil && v != 42 {
			err = fmt.Errorf("got %d", v)
		}
		done <- err
	}()
	require.NoError(t, g.Run(func(task *asyncrt.Task, i int) error {
		if i == 0 {
			return nil
		}
		// Runtime 1 runs until the goroutine's spawn has been waited for.
		_, err := asyncrt.Go(task, func() (struct{}, error) { return struct{}{}, <-done })
		return err
	}))
	assert.Contains(t, panicMessage(func() { _, _ = asyncrt.SpawnOn(g, 2, func(*asyncrt.Task) int { return 0 }) }),
		"SpawnOn(2)")
}

// TestGroupAwaitAcrossRuntimes awaits, from a task of runtime 0, a task
// spawned on runtime 1 that can only finish once a counter task of runtime 0
// has counted to the end: the awaiting runtime keeps running meanwhile.
func TestGroupAwaitAcrossRuntimes(t *testing.T) {
	g := newGroup(t, 2, nil)
	const count = 100
	send, recv, err := asyncrt.NewCrossChan[int](g.Runtime(1), 1)
	require.NoError(t, err)
	var got, selected int
	require.NoError(t, runServed(g, func(task *asyncrt.Task) error {
		h, err := asyncrt.SpawnOn(g, 1, func(t *asyncrt.Task) int {
			v, err := recv.Recv(t)
			if err != nil {
				return -1
			}
			return v
		})
		if err != nil {
			return err
		}
		counter := 0
		asyncrt.SpawnFunc(task, func(t *asyncrt.Task) {
			for counter < count {
				counter++
				t.Yield()
			}
			_ = send.SendTask(t, counter)
		}).Detach()
		got, err = h.Await(task)
		if err != nil {
			return err
		}
		if counter != count {
			return fmt.Errorf("the counter stood at %d when Await returned", counter)
		}
		// Await again, and through Select: the result stays.
		again, err := h.Await(task)
		if err != nil || again != got {
			return fmt.Errorf("second Await: %d, %v", again, err)
		}
		c := asyncrt.OnRemote(h)
		if _, err := asyncrt.Select(task, c); err != nil {
			return err
		}
		selected, err = c.Result()
		return err
	}))
	assert.Equal(t, count, got)
	assert.Equal(t, count, selected)
}

// TestGroupAwaitSelectWaits: OnRemote waits in Select, and leaves nothing
// registered when another case wins.
func TestGroupAwaitSelectWaits(t *testing.T) {
	g := newGroup(t, 2, nil)
	err := runServed(g, func(task *asyncrt.Task) error {
		gate := asyncrt.NewNotify(g.Runtime(1))
		h, err := asyncrt.SpawnOn(g, 1, func(t *asyncrt.Task) string {
			gate.Wait(t)
			return "done"
		})
		if err != nil {
			return err
		}
		c := asyncrt.OnRemote(h)
		// Nothing is ready: the timeout case wins and nothing stays
		// registered with the remote handle.
		if k, err := asyncrt.Select(task, c, asyncrt.OnTimeout(0)); err != nil || k != 1 {
			return fmt.Errorf("Select: %d, %v", k, err)
		}
		gate.Notify()
		if k, err := asyncrt.Select(task, c); err != nil || k != 0 {
			return fmt.Errorf("Select: %d, %v", k, err)
		}
		v, err := c.Result()
		if err != nil || v != "done" {
			return fmt.Errorf("Result: %q, %v", v, err)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Zero(t, g.Stats().Total.Registrations)
}

func TestGroupAwaitAbortedAndPanicking(t *testing.T) {
	g := newGroup(t, 2, nil)
	err := runServed(g, func(task *asyncrt.Task) error {
		started := asyncrt.NewNotify(g.Runtime(0))
		hung, err := asyncrt.SpawnOn(g, 1, func(t *asyncrt.Task) int {
			started.Notify()
			t.ShutdownSignal() // until aborted
			return 1
		})
		if err != nil {
			return err
		}
		started.Wait(task)
		hung.Abort()
		if _, err := hung.Await(task); !errors.Is(err, asyncrt.ErrAborted) {
			return fmt.Errorf("aborted: %v", err)
		}
		boom, err := asyncrt.SpawnOn(g, 1, func(*asyncrt.Task) int { panic("boom") })
		if err != nil {
			return err
		}
		_, err = boom.Await(task)
		var pe *asyncrt.PanicError
		if !errors.As(err, &pe) || pe.Value != "boom" {
			return fmt.Errorf("panicked: %v", err)
		}
		return nil
	})
	require.NoError(t, err)
	st := g.Stats()
	assert.Equal(t, uint64(1), st.PerRuntime[1].Aborted)
	assert.Equal(t, uint64(1), st.PerRuntime[1].Panicked)
	assert.Zero(t, st.Total.UnhandledPanics)
}

func TestGroupAwaitRefusedByClose(t *testing.T) {
	g := newGroup(t, 2, nil)
	h, err := asyncrt.SpawnOn(g, 1, func(*asyncrt.Task) int { return 1 })
	require.NoError(t, err)
	g.Runtime(1).Close() // never driven: the spawn is refused
	v, err := asyncrt.BlockOn(g.Runtime(0), func(t *asyncrt.Task) error {
		_, err := h.Await(t)
		return err
	})
	require.NoError(t, err)
	assert.ErrorIs(t, v, asyncrt.ErrClosed)
	_, err = asyncrt.SpawnOn(g, 1, func(*asyncrt.Task) int { return 1 })
	assert.ErrorIs(t, err, asyncrt.ErrClosed)
}

// TestGroupSpawnOnSuspendsWhenFull: a task spawning onto a runtime whose
// remote-spawn limit is reached suspends, and its runtime runs on.
func TestGroupSpawnOnSuspendsWhenFull(t *testing.T) {
	const limit, spawns = 2, 20
	g := newGroup(t, 2, func(_ int, b *asyncrt.Builder) { b.RemoteSpawnLimit(limit) })
	var sum int
	err := runServed(g, func(task *asyncrt.Task) error {
		var hs []*asyncrt.RemoteHandle[int]
		for k := range spawns {
			h, err := asyncrt.SpawnOn(g, 1, func(*asyncrt.Task) int { return k })
			if err != nil {
				return err
			}
			hs = append(hs, h)
		}
		for _, h := range hs {
			v, err := h.Await(task)
			if err != nil {
				return err
			}
			sum += v
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, spawns*(spawns-1)/2, sum)
}

func TestGroupStatsSummed(t *testing.T) {
	g := newGroup(t, 3, func(_ int, b *asyncrt.Builder) { b.MeasurePolls(true) })
	require.NoError(t, g.Run(func(task *asyncrt.Task, i int) error {
		var hs []asyncrt.JoinHandle[struct{}]
		for range i + 1 {
			hs = append(hs, asyncrt.SpawnFunc(task, func(t *asyncrt.Task) { t.Yield() }))
		}
		for _, h := range hs {
			if _, err := h.Await(task); err != nil {
				return err
			}
		}
		return nil
	}))
	st := g.Stats()
	require.Len(t, st.PerRuntime, 3)
	var spawned, completed, polls, cycles, hist uint64
	for i, s := range st.PerRuntime {
		assert.Equal(t, uint64(i+2), s.Spawned, "runtime %d: root and %d tasks", i, i+1)
		spawned += s.Spawned
		completed += s.Completed
		polls += s.Polls
		cycles += s.Cycles
		hist += s.PollTimes.Count()
	}
	assert.Equal(t, spawned, st.Total.Spawned)
	assert.Equal(t, uint64(9), st.Total.Spawned)
	assert.Equal(t, completed, st.Total.Completed)
	assert.Equal(t, polls, st.Total.Polls)
	assert.Equal(t, cycles, st.Total.Cycles)
	assert.Equal(t, hist, st.Total.PollTimes.Count())
	assert.NotZero(t, hist)
	assert.Zero(t, st.Total.Digest)
	assert.Zero(t, st.Total.LiveTasks)
}

// TestGroupCloseWhileWaiting closes a group whose tasks wait on each other
// across runtimes: everything is aborted and nothing is left behind
// (newGroup's goleak check).
func TestGroupCloseWhileWaiting(t *testing.T) {
	const n, per = 3, 4
	g := newGroup(t, n, nil)
	// Every task says it has started: a task aborted before it first runs
	// never runs, so its defer would not count.
	started := make(chan struct{}, n*(1+2*per))
	ran := make(chan error, 1)
	var defers, returned atomic.Int32
	go func() {
		ran <- g.Run(func(task *asyncrt.Task, i int) error {
			for range per {
				h, err := asyncrt.SpawnOn(g, (i+1)%n, func(t *asyncrt.Task) int {
					defer defers.Add(1)
					started <- struct{}{}
					t.ShutdownSignal()
					return 0
				})
				if err != nil {
					return err
				}
				asyncrt.SpawnFunc(task, func(t *asyncrt.Task) {
					defer defers.Add(1)
					started <- struct{}{}
					_, _ = h.Await(t)
					// The remote task was aborted by the close of its
					// runtime while this one still ran.
					returned.Add(1)
				}).Detach()
			}
			started <- struct{}{}
			task.ShutdownSignal()
			return nil
		})
	}()
	for range cap(started) {
		<-started
	}
	st := g.Close()
	err := <-ran
	for i := range n {
		assert.ErrorContains(t, err, fmt.Sprintf("group runtime %d: ", i))
	}
	assert.ErrorIs(t, err, asyncrt.ErrClosed)
	assert.Equal(t, int32(2*n*per), defers.Load(), "every waiting task unwound")
	// Runtimes close in parallel: an awaiter whose runtime had not closed
	// yet when the remote task was aborted returns from Await and ends.
	assert.Equal(t, 2*n*per-int(returned.Load()), st.Total.Aborted,
		"remote tasks and awaiters (roots are unwound by their BlockOn)")
	assert.Zero(t, st.Total.RemoteRefused)
	total := g.Stats().Total
	assert.Zero(t, total.LiveTasks)
	assert.Zero(t, total.Registrations)
}

func TestGroupShutdown(t *testing.T) {
	g := newGroup(t, 2, nil)
	ran := make(chan error, 1)
	started := make(chan struct{}, 2)
	go func() {
		ran <- g.Run(func(task *asyncrt.Task, i int) error {
			started <- struct{}{}
			task.ShutdownSignal()
			return nil
		})
	}()
	<-started
	<-started
	st := g.Shutdown(1 << 40)
	require.NoError(t, <-ran)
	assert.Equal(t, asyncrt.ShutdownStats{}, st.Total)
}

// groupVal is a value of the cross-runtime stress: who sent it, in order.
type groupVal struct{ from, sender, seq int }

// groupLedger is one runtime's part of the stress model, touched only by
// that runtime's tasks (no locks) and read once the group's Run returned.
type groupLedger struct {
	sent, unsent, received []groupVal
	ended                  int // tasks whose defer ran
}

// TestGroupCrossStress: on a 3-runtime group, senders on every runtime send
// numbered values to receivers on the other runtimes through cross channels
// (SendTask suspends them while a channel is full), while the roots abort
// some senders and some receivers mid-way. Against the model: every value
// whose SendTask returned nil is received exactly once, every other value
// was reported unsent (a SendError, or the sender aborted inside SendTask),
// and every task ended.
func TestGroupCrossStress(t *testing.T) {
	const n, receivers = 3, 3
	senders, values := 8, 200
	if raceEnabled {
		senders, values = 4, 60
	}
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			g := newGroup(t, n, nil)
			ledgers := make([]groupLedger, n)
			// into[j] is the channel into runtime j; clones[i][s][j] is
			// sender s of runtime i's sender on it.
			into := make([]*asyncrt.CrossReceiver[groupVal], n)
			clones := make([][][]*asyncrt.CrossSender[groupVal], n)
			for i := range n {
				clones[i] = make([][]*asyncrt.CrossSender[groupVal], senders)
				for s := range senders {
					clones[i][s] = make([]*asyncrt.CrossSender[groupVal], n)
				}
			}
			for j := range n {
				send, recv, err := asyncrt.NewCrossChan[groupVal](g.Runtime(j), 2+round)
				require.NoError(t, err)
				into[j] = recv
				for i := range n {
					for s := range senders {
						if i != j {
							clones[i][s][j] = send.Clone()
						}
					}
				}
				send.Close() // the clones keep the channel open
			}
			err := g.Run(func(task *asyncrt.Task, i int) error {
				l := &ledgers[i]
				var hs []asyncrt.JoinHandle[struct{}]
				for r := range receivers {
					hs = append(hs, asyncrt.SpawnFunc(task, func(t *asyncrt.Task) {
						defer func() { l.ended++ }()
						for {
							v, err := into[i].Recv(t)
							if err != nil {
								return // every sender closed
							}
							l.received = append(l.received, v)
							if (v.seq+r)%7 == 0 {
								t.Yield()
							}
						}
					}))
				}
				for s := range senders {
					hs = append(hs, asyncrt.SpawnFunc(task, func(t *asyncrt.Task) {
						var inFlight *groupVal
						defer func() {
							if inFlight != nil { // aborted inside SendTask
								l.unsent = append(l.unsent, *inFlight)
							}
							for _, c := range clones[i][s] {
								if c != nil {
									c.Close()
								}
							}
							l.ended++
						}()
						for seq := range values {
							to := (i + 1 + (s+seq)%(n-1)) % n
							v := groupVal{i, s, seq}
							inFlight = &v
							err := clones[i][s][to].SendTask(t, v)
							inFlight = nil
							var se *asyncrt.SendError[groupVal]
							switch {
							case err == nil:
								l.sent = append(l.sent, v)
							case errors.As(err, &se) && se.Value == v:
								l.unsent = append(l.unsent, v)
							default:
								panic(err)
							}
						}
					}))
				}
				// Mid-way, abort a third of the senders and a receiver (not
				// the first: someone must drain the channel).
				for range values / 4 {
					task.Yield()
				}
				for k := 1; k < senders; k += 3 {
					hs[receivers+k].Abort()
				}
				hs[1+round%(receivers-1)].Abort()
				for k, h := range hs {
					if _, err := h.Await(task); err != nil && !errors.Is(err, asyncrt.ErrAborted) {
						return fmt.Errorf("task %d: %w", k, err)
					}
				}
				return nil
			})
			require.NoError(t, err)

			attempted, sent := map[groupVal]int{}, map[groupVal]bool{}
			for i, l := range ledgers {
				assert.Equal(t, receivers+senders, l.ended, "runtime %d: every task ended", i)
				for _, v := range l.sent {
					sent[v] = true
					attempted[v]++
				}
				for _, v := range l.unsent {
					attempted[v]++
				}
			}
			received := map[groupVal]int{}
			for j, l := range ledgers {
				for _, v := range l.received {
					received[v]++
					require.NotEqual(t, j, v.from, "a runtime received its own value")
					require.True(t, sent[v], "%v received but not sent", v)
				}
			}
			for v := range sent {
				require.Equal(t, 1, received[v], "%v sent: received exactly once", v)
			}
			for v, c := range attempted {
				require.Equal(t, 1, c, "%v is either sent or unsent, once", v)
			}
			assert.Len(t, received, len(sent))
			total := g.Stats().Total
			assert.Zero(t, total.LiveTasks)
			assert.Zero(t, total.Registrations)
			t.Logf("sent %d, unsent %d", len(sent), len(attempted)-len(sent))
		})
	}
}
