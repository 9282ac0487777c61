package asyncrt

import (
	"slices"

	"github.com/orrery-go/orrery/slab"
)

// joinSetCore is the untyped part of a JoinSet that finishing tasks report
// to.
type joinSetCore struct {
	done    []slab.Key // finished members, in the order they finished
	waiters WaitQueue  // tasks waiting in Next
}

// JoinSet runs a group of tasks and yields their results as they finish.
// Use it from the tasks of one runtime. Tasks left in a set keep running;
// AbortAll stops them.
type JoinSet[T any] struct {
	rt      *Runtime
	members map[slab.Key]JoinHandle[T]
	core    joinSetCore
	// refused counts spawns a full bounded pool refused: Next returns an
	// ErrPoolFull result for each, before waiting on running members.
	refused int
}

// JoinResult is a finished member of a JoinSet.
type JoinResult[T any] struct {
	// ID is the task's ID (see Task.ID).
	ID    uint64
	Value T
	// Err is ErrAborted, a *PanicError or ErrGoexit, as for Await, or
	// ErrPoolFull for a spawn a full bounded task pool refused (ID 0).
	Err error
}

// Error returns how the member ended as one error: Err, or, for a set whose
// result type is error, the error the member returned (see JoinHandle.Wait).
func (r JoinResult[T]) Error() error {
	if r.Err != nil {
		return r.Err
	}
	return resultError(r.Value)
}

// NewJoinSet returns an empty set.
func NewJoinSet[T any]() *JoinSet[T] {
	return &JoinSet[T]{members: make(map[slab.Key]JoinHandle[T])}
}

// Spawn starts fn as a member of the set and returns its task's ID (0 if a
// full bounded task pool refused it: Next then returns its ErrPoolFull).
func (s *JoinSet[T]) Spawn(t *Task, fn func(*Task) T, opts ...SpawnOption) uint64 {
	t.check("JoinSet.Spawn")
	s.bind(t)
	return s.add(t, Spawn(t, fn, opts...))
}

// SpawnFunc starts fn, which returns nothing, as a member of the set, like
// Spawn; its result's Value is T's zero value.
func (s *JoinSet[T]) SpawnFunc(t *Task, fn func(*Task), opts ...SpawnOption) uint64 {
	t.check("JoinSet.SpawnFunc")
	if fn == nil {
		panic("asyncrt: JoinSet.SpawnFunc called with a nil function")
	}
	s.bind(t)
	at := t.rt.place(t, opts)
	co := t.rt.coroutine()
	if co == nil {
		return s.add(t, JoinHandle[T]{rt: t.rt, refused: true})
	}
	return s.add(t, spawnOn[T](t, co, voidBody(fn), nil, voidPC(fn), at, opts))
}

func (s *JoinSet[T]) bind(t *Task) {
	if s.rt == nil {
		s.rt = t.rt
	} else if s.rt != t.rt {
		panic("asyncrt: JoinSet.Spawn called by a task of another runtime")
	}
}

func (s *JoinSet[T]) add(t *Task, h JoinHandle[T]) uint64 {
	if h.refused {
		s.refused++
		return 0
	}
	rec, _ := t.rt.tasks.Get(h.key)
	rec.set = &s.core
	s.members[h.key] = h
	return rec.id
}

// Len returns the number of members not yet returned by Next.
func (s *JoinSet[T]) Len() int { return len(s.members) + s.refused }

// Next suspends t until a member finishes and returns its result, in the
// order members finish; ok is false when the set is empty.
func (s *JoinSet[T]) Next(t *Task) (res JoinResult[T], ok bool) {
	t.check("JoinSet.Next")
	for {
		if res, ok := s.take(t); ok {
			return res, true
		}
		if len(s.members) == 0 {
			return res, false
		}
		w := t.Enqueue(&s.core.waiters)
		for len(s.core.done) == 0 && len(s.members) > 0 {
			t.waitRegs()
		}
		w.Release()
	}
}

// TryNext returns a finished member's result if there is one.
func (s *JoinSet[T]) TryNext(t *Task) (JoinResult[T], bool) {
	t.check("JoinSet.TryNext")
	return s.take(t)
}

func (s *JoinSet[T]) take(t *Task) (JoinResult[T], bool) {
	if s.refused > 0 {
		s.refused--
		return JoinResult[T]{Err: ErrPoolFull}, true
	}
	for len(s.core.done) > 0 {
		k := s.core.done[0]
		s.core.done = s.core.done[1:]
		h, ok := s.members[k]
		if !ok {
			continue
		}
		delete(s.members, k)
		rec, _ := t.rt.tasks.Get(k)
		id := rec.id
		v, err := h.await(t) // finished: returns at once
		return JoinResult[T]{ID: id, Value: v, Err: err}, true
	}
	return JoinResult[T]{}, false
}

// AbortAll aborts every member still running and returns how many it
// aborted. Their results (ErrAborted) still come out of Next.
func (s *JoinSet[T]) AbortAll() int {
	if s.rt == nil {
		return 0
	}
	s.rt.mustBeOnRuntime("JoinSet.AbortAll")
	// In the order the members were spawned, so that they unwind in the
	// same order on every run.
	hs := make([]JoinHandle[T], 0, len(s.members))
	ids := make(map[slab.Key]uint64, len(s.members))
	for k, h := range s.members {
		hs = append(hs, h)
		if rec, ok := s.rt.tasks.Get(k); ok {
			ids[k] = rec.id
		}
	}
	slices.SortFunc(hs, func(a, b JoinHandle[T]) int { return cmpU64(ids[a.key], ids[b.key]) })
	n := 0
	for _, h := range hs {
		if h.Abort() {
			n++
		}
	}
	return n
}

// Shutdown aborts every member and waits until all have finished, dropping
// their results.
func (s *JoinSet[T]) Shutdown(t *Task) {
	s.AbortAll()
	for {
		if _, ok := s.Next(t); !ok {
			return
		}
	}
}
