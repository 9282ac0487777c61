package asyncrt_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/asyncrt"
)

// nopWorld is a World with no systems.
type nopWorld struct{ name string }

func (*nopWorld) Locked() bool             { return false }
func (*nopWorld) HasDeferred() bool        { return false }
func (*nopWorld) ApplyDeferred() error     { return nil }
func (*nopWorld) TaskEnded() error         { return nil }
func (*nopWorld) SchedulesVersion() uint64 { return 1 }
func (*nopWorld) Finalize()                {}
func (*nopWorld) RunSystems(time.Time) (time.Time, bool, error) {
	return time.Time{}, false, nil
}

func TestInNodePlacesTasks(t *testing.T) {
	w1, w2 := &nopWorld{"w1"}, &nopWorld{"w2"}
	rt := newRuntime(t, asyncrt.NewBuilder().World(w1).World(w2))
	node := asyncrt.NewNode("exchange", w2, 42)
	assert.Equal(t, "exchange", node.Name())
	assert.Equal(t, "exchange", node.String())
	assert.Equal(t, 42, node.Value())
	assert.Same(t, w2, node.World())
	assert.Zero(t, node.Tasks())
	assert.Zero(t, node.Abort(), "a node no task ran on")
	bare := asyncrt.NewNode("bare", nil, nil)

	type place struct {
		node  *asyncrt.Node
		world asyncrt.World
	}
	where := func(t *asyncrt.Task) place { return place{t.Node(), t.World()} }
	block(t, rt, func(task *asyncrt.Task) struct{} {
		assert.Equal(t, place{nil, w1}, where(task), "a root is on no node, on the first World")
		assert.Equal(t, place{nil, w1}, block2(task, asyncrt.Spawn(task, where)), "a child stays on its parent's")

		inNode := asyncrt.Spawn(task, func(task *asyncrt.Task) []place {
			out := []place{where(task)}
			// Children and grandchildren stay on the node, on its World.
			child := asyncrt.Spawn(task, func(task *asyncrt.Task) []place {
				return []place{where(task), block2(task, asyncrt.Spawn(task, where))}
			})
			out = append(out, block2(task, child)...)
			// A task of the node can spawn on another node, or on one
			// with no World.
			out = append(out, block2(task, asyncrt.Spawn(task, where, asyncrt.InNode(bare))))
			assert.Equal(t, 1, node.Tasks())
			return out
		}, asyncrt.InNode(node), asyncrt.Named("in node"))
		got := block2(task, inNode)
		assert.Equal(t, []place{{node, w2}, {node, w2}, {node, w2}, {bare, nil}}, got)
		assert.Zero(t, node.Tasks())
		assert.Zero(t, bare.Tasks())

		// The last InNode option wins.
		assert.Equal(t, place{node, w2}, block2(task, asyncrt.Spawn(task, where, asyncrt.InNode(bare), asyncrt.InNode(node))))
		// JoinSet members too.
		set := asyncrt.NewJoinSet[place]()
		set.Spawn(task, where, asyncrt.InNode(node))
		res, ok := set.Next(task)
		require.True(t, ok)
		v, err := res.Value, res.Error()
		assert.NoError(t, err)
		assert.Equal(t, place{node, w2}, v)

		// Remote spawns run on no node.
		p, err := asyncrt.Go(task, func() (place, error) {
			h, err := asyncrt.SpawnRemote(rt.Handle(), where)
			if err != nil {
				return place{}, err
			}
			return h.Wait()
		})
		assert.NoError(t, err)
		assert.Equal(t, place{nil, w1}, p)
		return struct{}{}
	})
}

// block2 awaits h and fails the task if it did not return.
func block2[T any](t *asyncrt.Task, h asyncrt.JoinHandle[T]) T {
	v, err := h.Await(t)
	if err != nil {
		panic(err)
	}
	return v
}

func TestInNodeMisuse(t *testing.T) {
	assert.Equal(t, "asyncrt: InNode(nil): pass the node to spawn the task on (asyncrt.NewNode), "+
		"or leave the option out to stay on the parent's node", panicMessage(func() { asyncrt.InNode(nil) }))

	w := &nopWorld{"attached"}
	rt := newRuntime(t, asyncrt.NewBuilder().World(w))
	stray := asyncrt.NewNode("stray", &nopWorld{"not attached"}, nil)
	node := asyncrt.NewNode("node", w, nil)
	block(t, rt, func(task *asyncrt.Task) struct{} {
		before := task.Runtime().Stats()
		msg := panicMessage(func() { asyncrt.SpawnFunc(task, func(*asyncrt.Task) {}, asyncrt.InNode(stray)) })
		assert.Equal(t, `asyncrt: InNode("stray"): the node's World is not attached to this runtime; `+
			"attach it with Builder.World so that its systems run", msg)
		after := task.Runtime().Stats()
		assert.Equal(t, before.LiveTasks, after.LiveTasks)
		assert.Equal(t, before.Spawned, after.Spawned)
		assert.Zero(t, stray.Tasks())
		assert.NoError(t, asyncrt.SpawnFunc(task, func(*asyncrt.Task) {}, asyncrt.InNode(node)).Wait(task))
		return struct{}{}
	})

	// A node is bound to the runtime of its first task.
	other := newRuntime(t, asyncrt.NewBuilder().World(&nopWorld{"other"}))
	msg, err := asyncrt.BlockOn(other, func(task *asyncrt.Task) string {
		return panicMessage(func() { asyncrt.SpawnFunc(task, func(*asyncrt.Task) {}, asyncrt.InNode(node)) })
	})
	require.NoError(t, err)
	assert.Equal(t, `asyncrt: InNode("node"): the node belongs to another runtime; a node's tasks all run on one runtime`, msg)

	// Abort from another goroutine than the node's runtime.
	assert.Contains(t, panicMessage(func() { node.Abort() }), "asyncrt: Node.Abort called from a goroutine that is not running its runtime")
}

// The same checks on a runtime with a pool of coroutines: a refused spawn
// must not keep one.
func TestInNodeMisusePooled(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().TaskPool(2, true))
	stray := asyncrt.NewNode("stray", &nopWorld{"not attached"}, nil)
	block(t, rt, func(task *asyncrt.Task) struct{} {
		for range 3 {
			assert.NotEmpty(t, panicMessage(func() { asyncrt.SpawnFunc(task, func(*asyncrt.Task) {}, asyncrt.InNode(stray)) }))
		}
		assert.Zero(t, task.Runtime().Stats().PoolInUse)
		assert.NoError(t, asyncrt.SpawnFunc(task, func(*asyncrt.Task) {}).Wait(task), "the pool has room")
		return struct{}{}
	})
}

// Abort asks exactly the node's unfinished tasks to unwind, in the order
// they were spawned, and returns how many.
func TestNodeAbort(t *testing.T) {
	rt, clock := simRuntime(t, nil)
	node := asyncrt.NewNode("host", nil, nil)
	block(t, rt, func(task *asyncrt.Task) struct{} {
		var unwound []string
		sleeper := func(name string) func(*asyncrt.Task) {
			return func(task *asyncrt.Task) {
				defer func() { unwound = append(unwound, name) }()
				task.Sleep(time.Hour)
			}
		}
		// Spawned in this order: a, b (which spawns b1 at once), c; c is
		// awaited by the root, off the node.
		a := asyncrt.SpawnFunc(task, sleeper("a"), asyncrt.InNode(node))
		b := asyncrt.SpawnFunc(task, func(task *asyncrt.Task) {
			defer func() { unwound = append(unwound, "b") }()
			asyncrt.SpawnFunc(task, sleeper("b1")).Detach()
			task.Sleep(time.Hour)
		}, asyncrt.InNode(node))
		done := asyncrt.SpawnFunc(task, func(*asyncrt.Task) {}, asyncrt.InNode(node))
		c := asyncrt.SpawnFunc(task, sleeper("c"), asyncrt.InNode(node))
		outside := asyncrt.SpawnFunc(task, sleeper("outside"))
		require.NoError(t, done.Wait(task))
		task.Sleep(time.Millisecond) // all have started, and sleep
		assert.Equal(t, 4, node.Tasks(), "a, b, b1 and c")

		assert.Equal(t, 4, node.Abort())
		for _, h := range []asyncrt.JoinHandle[struct{}]{a, b, c} {
			assert.ErrorIs(t, h.Wait(task), asyncrt.ErrAborted)
		}
		task.Yield()
		assert.Zero(t, node.Tasks())
		// The spawn order, b1 (spawned by b when it ran) after c.
		assert.Equal(t, []string{"a", "b", "c", "b1"}, unwound)
		assert.Zero(t, node.Abort())
		assert.False(t, outside.IsFinished(), "a task of no node is untouched")

		// The node takes tasks again (a restarted host).
		again := asyncrt.Spawn(task, func(task *asyncrt.Task) int {
			task.Sleep(time.Minute)
			return 7
		}, asyncrt.InNode(node))
		assert.Equal(t, 7, block2(task, again))

		// A task of the node aborting its own node unwinds at its next
		// suspension.
		var reached []string
		self := asyncrt.SpawnFunc(task, func(task *asyncrt.Task) {
			reached = append(reached, "before")
			assert.Equal(t, 1, node.Abort())
			reached = append(reached, "after Abort")
			task.Yield()
			reached = append(reached, "after Yield")
		}, asyncrt.InNode(node))
		assert.ErrorIs(t, self.Wait(task), asyncrt.ErrAborted)
		assert.Equal(t, []string{"before", "after Abort"}, reached)
		outside.Abort()
		_ = outside.Wait(task)
		return struct{}{}
	})
	assert.Equal(t, time.Minute+time.Millisecond, clock.Elapsed(), "no hour-long sleep ran its course")
}

func TestBuilderNetwork(t *testing.T) {
	_, err := asyncrt.NewBuilder().Network(nil).Build()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "asyncrt: invalid runtime options: Network(nil): pass the network to use (simnet.New), "+
		"or leave the option out for the operating system's")

	// A network whose Attach fails fails the build, and leaks nothing: no
	// goroutine, and the clock is free for another runtime.
	before := goleak.IgnoreCurrent()
	clock := asyncrt.NewSimClock(simStart)
	bad := &fakeNetwork{err: errors.New("no room")}
	rt, err := asyncrt.NewBuilder().Clock(clock).Network(bad).Build()
	assert.Nil(t, rt)
	assert.EqualError(t, err, "asyncrt: attaching the network: no room")
	assert.Equal(t, 1, bad.attached)
	goleak.VerifyNone(t, before)

	good := &fakeNetwork{}
	rt = newRuntime(t, asyncrt.NewBuilder().Clock(clock).Network(good))
	assert.Same(t, rt, good.rt)
	assert.Same(t, good, rt.Network().(*fakeNetwork))
	assert.Nil(t, newRuntime(t, nil).Network())
}

type fakeNetwork struct {
	err      error
	attached int
	rt       *asyncrt.Runtime
}

func (n *fakeNetwork) Attach(rt *asyncrt.Runtime) error {
	n.attached++
	if n.err != nil {
		return n.err
	}
	n.rt = rt
	return nil
}

// digestRun runs tasks that sleep and yield in an order given by delays,
// on a simulated clock, and returns the runtime's digest.
func digestRun(t *testing.T, delays []time.Duration) uint64 {
	rt, _ := simRuntime(t, nil)
	return block(t, rt, func(task *asyncrt.Task) uint64 {
		set := asyncrt.NewJoinSet[struct{}]()
		for _, d := range delays {
			set.SpawnFunc(task, func(task *asyncrt.Task) {
				task.Sleep(d)
				task.Yield()
			})
		}
		for {
			if _, ok := set.Next(task); !ok {
				break
			}
		}
		return task.Runtime().Stats().Digest
	})
}

func TestStatsDigest(t *testing.T) {
	delays := []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, time.Millisecond}
	first := digestRun(t, delays)
	assert.Equal(t, first, digestRun(t, delays), "the same run, the same digest")
	assert.NotZero(t, first)
	swapped := slices.Clone(delays)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	assert.NotEqual(t, first, digestRun(t, swapped), "the same tasks and timers in another order")
	assert.NotEqual(t, first, digestRun(t, append(slices.Clone(delays), 0)), "one more task")
}

// AbortAll and Cancel wake their tasks in the order they were spawned and
// the tokens made, whatever the order of the maps behind them: the order
// the tasks record, and the digest, are the same on every run.
func TestWakeOrderIsCreationOrder(t *testing.T) {
	const n = 64
	type result struct {
		aborted, cancelled []int
		digest             uint64
	}
	once := func() result {
		rt, _ := simRuntime(t, nil)
		return block(t, rt, func(task *asyncrt.Task) result {
			var r result
			set := asyncrt.NewJoinSet[struct{}]()
			for i := range n {
				set.SpawnFunc(task, func(task *asyncrt.Task) {
					defer func() { r.aborted = append(r.aborted, i) }()
					task.Sleep(time.Hour)
				})
			}
			task.Yield()
			assert.Equal(t, n, set.AbortAll())
			set.Shutdown(task)

			parent := asyncrt.NewCancellationToken()
			tokens := make([]*asyncrt.CancellationToken, n)
			for i := range tokens {
				tokens[i] = parent.Child()
			}
			var waiters []asyncrt.JoinHandle[struct{}]
			// Spawned in reverse, so that spawn order is not token order.
			for i := n - 1; i >= 0; i-- {
				waiters = append(waiters, asyncrt.SpawnFunc(task, func(task *asyncrt.Task) {
					tokens[i].Cancelled(task)
					r.cancelled = append(r.cancelled, i)
				}))
			}
			task.Yield()
			parent.Cancel()
			for _, w := range waiters {
				assert.NoError(t, w.Wait(task))
			}
			r.digest = task.Runtime().Stats().Digest
			return r
		})
	}
	first := once()
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, first.aborted, "AbortAll in spawn order")
	assert.Equal(t, want, first.cancelled, "Cancel in the order the tokens were made")
	for range 5 {
		assert.Equal(t, first, once())
	}
}
