package asyncrt_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// stress drives a random tree of tasks: nested spawns on fresh and pooled
// coroutines, yields, random aborts (before a task starts, while it waits,
// after it finished) and panics. Every task records that it started and that
// its defer ran; every parent checks each child's result against what the
// child was planned to do and whether the abort reached it in time.
type stress struct {
	rng      *rand.Rand
	limit    int
	spawned  int
	started  []int
	deferred []int
	panicked []bool
	detached []bool
	problems []string
}

type stressChild struct {
	id      int
	h       asyncrt.JoinHandle[int]
	panics  bool
	aborted bool // Abort reported the child unfinished
	awaited bool
}

func (s *stress) newID() int {
	id := s.spawned
	s.spawned++
	s.started = append(s.started, 0)
	s.deferred = append(s.deferred, 0)
	s.panicked = append(s.panicked, false)
	s.detached = append(s.detached, false)
	return id
}

func (s *stress) spawn(t *asyncrt.Task, depth int) stressChild {
	c := stressChild{id: s.newID(), panics: s.rng.IntN(20) == 0}
	fn := s.task(c.id, depth, c.panics)
	c.h = asyncrt.Spawn(t, fn)
	return c
}

func (s *stress) task(id, depth int, panics bool) func(*asyncrt.Task) int {
	return func(t *asyncrt.Task) int {
		s.started[id]++
		defer func() { s.deferred[id]++ }()

		var kids []*stressChild
		defer func() {
			// Unwinding (aborted) before all children were awaited: let the
			// rest run on unowned. Detach never suspends, so it may be
			// called while an abort unwinds the task.
			for _, k := range kids {
				if !k.awaited {
					k.h.Detach()
					s.detached[k.id] = true
				}
			}
		}()

		if depth < 8 && s.spawned < s.limit {
			for range s.rng.IntN(6) {
				c := s.spawn(t, depth+1)
				kids = append(kids, &c)
			}
		}
		for range s.rng.IntN(3) {
			t.Yield()
		}
		for _, k := range kids {
			if s.rng.IntN(8) == 0 {
				k.aborted = k.h.Abort()
			}
			if s.rng.IntN(4) == 0 {
				t.Yield()
			}
		}
		for _, k := range kids {
			v, err := k.h.Await(t)
			k.awaited = true
			s.check(k, v, err)
		}
		if panics {
			s.panicked[id] = true
			panic(id)
		}
		return id * 2
	}
}

func (s *stress) check(k *stressChild, v int, err error) {
	var pe *asyncrt.PanicError
	switch {
	case k.aborted:
		if !errors.Is(err, asyncrt.ErrAborted) {
			s.problems = append(s.problems, fmt.Sprintf("task %d: aborted, got (%d, %v)", k.id, v, err))
		}
	case k.panics:
		if !errors.As(err, &pe) || pe.Value != k.id {
			s.problems = append(s.problems, fmt.Sprintf("task %d: should panic, got (%d, %v)", k.id, v, err))
		}
	case err != nil || v != k.id*2:
		s.problems = append(s.problems, fmt.Sprintf("task %d: got (%d, %v), want %d", k.id, v, err, k.id*2))
	}
}

func TestStressNestedSpawnAbortPanic(t *testing.T) {
	for _, pooled := range []bool{false, true} {
		t.Run(fmt.Sprintf("pooled=%v", pooled), func(t *testing.T) { testStressNestedSpawnAbortPanic(t, pooled) })
	}
}

func testStressNestedSpawnAbortPanic(t *testing.T, pooled bool) {
	tasks := 50_000
	if raceEnabled {
		tasks = 10_000
	}
	b := asyncrt.NewBuilder().UnhandledPanics(asyncrt.CountPanics)
	if pooled {
		b = b.TaskPool(256, false)
	}
	rt := newRuntime(t, b)
	s := &stress{rng: rand.New(rand.NewPCG(1, 2)), limit: tasks}

	block(t, rt, func(t *asyncrt.Task) int {
		for s.spawned < s.limit {
			var batch []stressChild
			for range 16 {
				batch = append(batch, s.spawn(t, 0))
			}
			for i := range batch {
				k := &batch[i]
				if s.rng.IntN(10) == 0 {
					k.aborted = k.h.Abort()
				}
				v, err := k.h.Await(t)
				k.awaited = true
				s.check(k, v, err)
			}
		}
		return 0
	})
	st := rt.Close() // aborts the orphans of aborted parents that are still running

	require.Empty(t, s.problems)
	assert.GreaterOrEqual(t, s.spawned, tasks)
	unhandled := 0
	for id := range s.spawned {
		if s.started[id] > 1 || s.deferred[id] != s.started[id] {
			t.Fatalf("task %d: started %d times, defer ran %d times", id, s.started[id], s.deferred[id])
		}
		if s.panicked[id] && s.detached[id] {
			unhandled++
		}
	}
	stats := rt.Stats()
	assert.Equal(t, uint64(s.spawned+1), stats.Spawned, "every task and the root")
	assert.Equal(t, stats.Spawned, stats.Completed+stats.Aborted+stats.Panicked)
	assert.Equal(t, uint64(unhandled), stats.UnhandledPanics, "panics of detached orphans are unhandled")
	assert.Equal(t, 0, stats.LiveTasks)
	assert.Equal(t, 0, stats.PoolInUse)
	assert.Zero(t, st.Referenced, "every handle was awaited or detached")
	assert.Empty(t, st.UnjoinedPanics)
	t.Logf("tasks %d, aborted at close %d, stats %+v", s.spawned, st.Aborted, stats)
}
