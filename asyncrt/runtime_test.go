package asyncrt_test

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

func TestBuildRejectsInvalidOptions(t *testing.T) {
	cases := map[string]*asyncrt.Builder{
		"TasksPerCycle(0)":   asyncrt.NewBuilder().TasksPerCycle(0),
		"TasksPerCycle(-3)":  asyncrt.NewBuilder().TasksPerCycle(-3),
		"TaskPool(-1":        asyncrt.NewBuilder().TaskPool(-1, false),
		"TaskPool(0, true)":  asyncrt.NewBuilder().TaskPool(0, true),
		"UnhandledPanics(7)": asyncrt.NewBuilder().UnhandledPanics(asyncrt.PanicPolicy(7)),
	}
	for name, b := range cases {
		rt, err := b.Build()
		assert.Nil(t, rt, name)
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), name)
		}
	}
	// Every invalid option is reported, not just the first.
	_, err := asyncrt.NewBuilder().TasksPerCycle(0).TaskPool(-1, true).Build()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "TasksPerCycle")
	assert.Contains(t, err.Error(), "TaskPool")
}

func TestRuntimeWithoutAWorld(t *testing.T) {
	rt := newRuntime(t, nil)
	assert.Nil(t, block(t, rt, func(t *asyncrt.Task) asyncrt.World { return t.World() }),
		"a runtime needs no World")
	_, err := asyncrt.NewBuilder().World(nil).Build()
	assert.ErrorContains(t, err, "World(nil)")
}

func TestBlockOnReturnsRootResult(t *testing.T) {
	rt := newRuntime(t, nil)
	assert.Equal(t, "hello", block(t, rt, func(*asyncrt.Task) string { return "hello" }))
	// A runtime serves one BlockOn after another.
	assert.Equal(t, 2, block(t, rt, func(*asyncrt.Task) int { return 2 }))
}

func TestBlockOnBadArguments(t *testing.T) {
	_, err := asyncrt.BlockOn[int](nil, func(*asyncrt.Task) int { return 1 })
	assert.ErrorContains(t, err, "nil *Runtime")
	rt := newRuntime(t, nil)
	_, err = asyncrt.BlockOn[int](rt, nil)
	assert.ErrorContains(t, err, "nil function")
}

func TestBlockOnRootPanic(t *testing.T) {
	rt := newRuntime(t, nil)
	deferred := false
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		defer func() { deferred = true }()
		t.Yield()
		panic(io.ErrUnexpectedEOF)
	})
	var pe *asyncrt.PanicError
	require.ErrorAs(t, err, &pe)
	assert.True(t, deferred)
	assert.Equal(t, io.ErrUnexpectedEOF, pe.Value)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "PanicError unwraps an error value")
	assert.Contains(t, string(pe.Stack), "TestBlockOnRootPanic")
	assert.NotZero(t, pe.TaskID)
	assert.Contains(t, pe.Error(), "panicked")
}

func TestBlockOnDeadlock(t *testing.T) {
	rt := newRuntime(t, nil)
	var rootDeferred, childDeferred int
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		defer func() { rootDeferred++ }()
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			defer func() { childDeferred++ }()
			asyncrt.SuspendForever(t)
			return 1
		})
		v, _ := h.Await(t)
		return v
	})
	assert.ErrorIs(t, err, asyncrt.ErrDeadlock)
	assert.Equal(t, 1, rootDeferred, "the root is unwound before BlockOn returns")
	assert.Equal(t, 0, childDeferred, "other tasks stay until Close")

	st := rt.Close()
	assert.Equal(t, 1, st.Aborted)
	assert.Equal(t, 1, st.Referenced, "the root held the handle and never took the result")
	assert.Equal(t, 1, childDeferred)
}

func TestBlockOnInsideTaskPanics(t *testing.T) {
	rt := newRuntime(t, nil)
	msg := block(t, rt, func(t *asyncrt.Task) string {
		return panicMessage(func() {
			_, _ = asyncrt.BlockOn(t.Runtime(), func(*asyncrt.Task) int { return 1 })
		})
	})
	assert.Contains(t, msg, "BlockOn called from inside a task")
	assert.Contains(t, msg, "Await")
}

func TestBlockOnBusy(t *testing.T) {
	rt := newRuntime(t, nil)
	release := make(chan struct{})
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
			close(started)
			// Waits off the runtime's thread until released: the BlockOn
			// holds the runtime meanwhile.
			v, _ := asyncrt.Go(t, func() (int, error) { <-release; return 0, nil })
			return v
		})
		done <- err
	}()
	<-started
	_, err := asyncrt.BlockOn(rt, func(*asyncrt.Task) int { return 1 })
	assert.ErrorIs(t, err, asyncrt.ErrBusy)
	close(release)
	assert.NoError(t, <-done)
}

func TestTasksOutliveTheirBlockOn(t *testing.T) {
	rt := newRuntime(t, nil)
	progress := 0
	h := block(t, rt, func(t *asyncrt.Task) asyncrt.JoinHandle[int] {
		return asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			for range 10 {
				progress++
				t.Yield()
			}
			return progress
		})
	})
	assert.Equal(t, 0, progress, "the root returned before its child ran")
	v := block(t, rt, func(t *asyncrt.Task) int {
		v, err := h.Await(t)
		if err != nil {
			panic(err)
		}
		return v
	})
	assert.Equal(t, 10, v)
}

func TestCloseAbortsLeftoverTasks(t *testing.T) {
	rt := newRuntime(t, nil)
	var deferred, neverRan int
	block(t, rt, func(t *asyncrt.Task) int {
		for range 5 {
			asyncrt.Spawn(t, func(t *asyncrt.Task) int {
				defer func() { deferred++ }()
				for {
					t.Yield()
				}
			})
		}
		t.Yield() // let them start
		asyncrt.Spawn(t, func(*asyncrt.Task) int { neverRan++; return 0 }).Detach()
		return 0
	})
	st := rt.Close()
	assert.Equal(t, 6, st.Aborted)
	assert.Equal(t, 5, st.Referenced, "five handles were dropped without Await or Detach")
	assert.Equal(t, 5, deferred, "defers of aborted tasks run during Close")
	assert.Equal(t, 0, neverRan, "a task that never started does not run at Close")
	assert.Equal(t, st, rt.Close(), "Close is idempotent")

	_, err := asyncrt.BlockOn(rt, func(*asyncrt.Task) int { return 1 })
	assert.ErrorIs(t, err, asyncrt.ErrClosed)
	s := rt.Stats()
	assert.Equal(t, uint64(6), s.Aborted)
	assert.Equal(t, 0, s.LiveTasks)
}

func TestCloseDuringBlockOn(t *testing.T) {
	rt := newRuntime(t, nil)
	started := make(chan struct{})
	done := make(chan error, 1)
	deferred := false
	go func() {
		_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
			defer func() { deferred = true }()
			close(started)
			for {
				t.Yield()
			}
		})
		done <- err
	}()
	<-started
	rt.Close()
	assert.ErrorIs(t, <-done, asyncrt.ErrClosed)
	assert.True(t, deferred)
}

func TestCloseFromTaskPanics(t *testing.T) {
	rt := newRuntime(t, nil)
	msg := block(t, rt, func(t *asyncrt.Task) string {
		return panicMessage(func() { t.Runtime().Close() })
	})
	assert.Contains(t, msg, "Close called from inside one of its tasks")
}

func TestStats(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().TaskPool(4, true).UnhandledPanics(asyncrt.CountPanics))
	var refusedErr error
	inside := block(t, rt, func(t *asyncrt.Task) asyncrt.Stats {
		ok := asyncrt.Spawn(t, func(*asyncrt.Task) int { return 1 })
		bad := asyncrt.Spawn(t, func(*asyncrt.Task) int { panic("boom") })
		slow := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			for {
				t.Yield()
			}
		})
		asyncrt.Spawn(t, func(*asyncrt.Task) int { panic("nobody joins me") }).Detach()
		refusedErr = asyncrt.SpawnFunc(t, func(*asyncrt.Task) {}).Wait(t) // the pool's 4 are taken
		t.Yield()                                                         // all four run once
		_, _ = ok.Await(t)
		_, _ = bad.Await(t)
		slow.Abort()
		_, _ = slow.Await(t)
		return t.Runtime().Stats() // live, from inside
	})
	assert.Equal(t, uint64(5), inside.Spawned)
	assert.Equal(t, uint64(1), inside.Completed)
	assert.Equal(t, uint64(2), inside.Panicked)
	assert.Equal(t, uint64(1), inside.Aborted)
	assert.Equal(t, uint64(1), inside.UnhandledPanics)
	assert.Equal(t, 1, inside.LiveTasks, "the root itself")
	assert.Equal(t, 0, inside.PoolInUse)
	assert.Equal(t, 4, inside.PoolCapacity)
	assert.Equal(t, uint64(1), inside.SpawnsRefused)
	assert.ErrorIs(t, refusedErr, asyncrt.ErrPoolFull)
	assert.NotZero(t, inside.Polls)
	assert.NotZero(t, inside.Cycles)

	outside := rt.Stats() // published when BlockOn returned
	assert.Equal(t, uint64(2), outside.Completed, "the root completed too")
	assert.Equal(t, 0, outside.LiveTasks)
	assert.GreaterOrEqual(t, outside.Polls, inside.Polls)
}

func TestPanicPolicyString(t *testing.T) {
	assert.Equal(t, "ReturnPanics", asyncrt.ReturnPanics.String())
	assert.Equal(t, "CountPanics", asyncrt.CountPanics.String())
	assert.Equal(t, "PanicPolicy(9)", asyncrt.PanicPolicy(9).String())
}

func TestErrorsAreDistinct(t *testing.T) {
	all := []error{asyncrt.ErrAborted, asyncrt.ErrDeadlock, asyncrt.ErrPoolFull, asyncrt.ErrClosed,
		asyncrt.ErrBusy, asyncrt.ErrJoined, asyncrt.ErrInvalidHandle, asyncrt.ErrGoexit,
		asyncrt.ErrChanClosed, asyncrt.ErrFull, asyncrt.ErrEmpty, asyncrt.ErrElapsed}
	for i, a := range all {
		for j, b := range all {
			assert.Equal(t, i == j, errors.Is(a, b), "%v vs %v", a, b)
		}
	}
}

func TestMeasurePollsCountsEveryPoll(t *testing.T) {
	for _, measure := range []bool{false, true} {
		rt := newRuntime(t, asyncrt.NewBuilder().MeasurePolls(measure))
		s := block(t, rt, func(t *asyncrt.Task) asyncrt.Stats {
			for range 100 {
				t.Yield()
			}
			// Awaiting a task that has not started runs it inline.
			_, _ = asyncrt.Spawn(t, func(*asyncrt.Task) int { return 1 }).Await(t)
			return t.Runtime().Stats()
		})
		if !measure {
			assert.Zero(t, s.PollTimes.Count())
			continue
		}
		// The root's polls so far (the current one is still running) and
		// the inline one.
		assert.Equal(t, s.Polls, s.PollTimes.Count())
		assert.Greater(t, s.PollTimes.Count(), uint64(100))
		assert.Positive(t, s.PollTimes.Sum)
	}
}
