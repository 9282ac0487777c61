package asyncrt

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Group is a set of runtimes started together, each on its own goroutine
// and OS thread: a runtime per core. Each has its own options (its own
// World or none, pinned to a CPU or not); tasks of one reach another through
// [SpawnOn] and [RemoteHandle.Await], and through cross channels
// ([NewCrossChan], whose SendTask suspends a task of any runtime while the
// channel is full). One call runs a root on every runtime ([Group.Run]),
// one stops them all ([Group.Shutdown], [Group.Close]), and one reads their
// counters ([Group.Stats]).
//
// A Group's methods are safe for concurrent use from any goroutine, except
// that Run, Shutdown and Close must not be called from a task of one of its
// runtimes (they would wait on the thread they run on).
type Group struct {
	rts []*Runtime
}

// NewGroup builds n runtimes (n >= 1). Runtime i is built from a
// [NewBuilder] that configure(i, b) has set up, or with the default options
// if configure is nil; attach a World or pin runtime i to a CPU there. If a
// runtime fails to build, NewGroup closes those already built and returns
// the error, naming the runtime.
func NewGroup(n int, configure func(i int, b *Builder)) (*Group, error) {
	if n < 1 {
		return nil, fmt.Errorf("asyncrt: NewGroup needs at least one runtime, got n = %d", n)
	}
	g := &Group{rts: make([]*Runtime, 0, n)}
	for i := range n {
		b := NewBuilder()
		if configure != nil {
			configure(i, b)
		}
		rt, err := b.Build()
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("asyncrt: NewGroup: runtime %d: %w", i, err)
		}
		g.rts = append(g.rts, rt)
	}
	return g, nil
}

// Len returns the number of runtimes in the group.
func (g *Group) Len() int { return len(g.rts) }

// Runtime returns runtime i of the group. It panics if i is out of range.
func (g *Group) Runtime(i int) *Runtime {
	g.checkIndex("Group.Runtime", i)
	return g.rts[i]
}

func (g *Group) checkIndex(op string, i int) {
	if i < 0 || i >= len(g.rts) {
		panic(fmt.Sprintf("asyncrt: %s(%d): the group has runtimes 0 to %d", op, i, len(g.rts)-1))
	}
}

// mustBeOutside panics if the caller is one of the group's runtimes.
func (g *Group) mustBeOutside(op string) {
	for i, rt := range g.rts {
		if rt.onRuntime() {
			panic(fmt.Sprintf("asyncrt: %s called from a task of the group's runtime %d: "+
				"it would wait on the thread it blocks; call it from an ordinary goroutine", op, i))
		}
	}
}

// Run runs fn(t, i) as the root task of every runtime i of the group at
// once, each in a [BlockOn] of its own goroutine, and returns when every
// root has returned. The error joins each runtime's error (as [Run] reports
// it), wrapped with the runtime's index; it is nil if every root returned
// nil. A root that fails does not stop the others: to stop them all, have
// the roots watch their shutdown signal ([OnShutdown]) and call
// [Group.Shutdown], or trigger each runtime's [ShutdownHandle].
func (g *Group) Run(fn func(t *Task, i int) error) error {
	if fn == nil {
		return errors.New("asyncrt: Group.Run called with a nil function")
	}
	g.mustBeOutside("Group.Run")
	errs := make([]error, len(g.rts))
	var wg sync.WaitGroup
	for i, rt := range g.rts {
		wg.Go(func() {
			if err := Run(rt, func(t *Task) error { return fn(t, i) }); err != nil {
				errs[i] = fmt.Errorf("asyncrt: group runtime %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// SpawnOn starts fn as a task on runtime i of the group and returns a handle
// to its result: await it from a task of any runtime with
// [RemoteHandle.Await] (or [OnRemote] in a Select), or wait for it from a
// goroutine with [RemoteHandle.Wait]. The task starts on the World the
// runtime's roots get (the first attached, or none).
//
// Call it from an ordinary goroutine or from a task of one of the group's
// runtimes. While runtime i has [Builder.RemoteSpawnLimit] spawns pending, a
// goroutine blocks, as in [SpawnRemote], and a task of the group suspends
// (its runtime runs its other tasks) until there is room; an aborted task
// unwinds from there and fn never runs. A task of a runtime outside the
// group would block its thread there: use [TrySpawnRemote] from it. The
// error wraps [ErrClosed] if runtime i is closed. It panics if i is out of
// range.
func SpawnOn[T any](g *Group, i int, fn func(*Task) T) (*RemoteHandle[T], error) {
	g.checkIndex("SpawnOn", i)
	h := g.rts[i].Handle()
	for _, rt := range g.rts {
		if !rt.onRuntime() {
			continue
		}
		if t := rt.CurrentTask(); t != nil {
			return spawnRemoteTask(t, h, fn)
		}
		// The runtime's own goroutine (a system, a hook) can neither
		// suspend nor block.
		return spawnRemote(h, fn, false, "SpawnOn")
	}
	return spawnRemote(h, fn, true, "SpawnOn")
}

// spawnRemoteTask is SpawnRemote for a task of any runtime: it suspends t,
// rather than blocking its thread, while the target has no room.
func spawnRemoteTask[T any](t *Task, h *Handle, fn func(*Task) T) (*RemoteHandle[T], error) {
	t.check("SpawnOn")
	for {
		r, err := spawnRemote(h, fn, false, "SpawnOn")
		if err != errInboxFull {
			return r, err
		}
		ib := &h.rt.inbox
		w := ib.roomQ.Enqueue(t)
		// Look again now that the runtime's take can see the registration.
		r, err = spawnRemote(h, fn, false, "SpawnOn")
		if err != errInboxFull {
			w.Release()
			return r, err
		}
		t.waitRegs()
		w.Release()
	}
}

// GroupShutdownStats is what [Group.Close] (or [Group.Shutdown]) found left
// on the group's runtimes.
type GroupShutdownStats struct {
	// PerRuntime holds each runtime's [ShutdownStats], by index.
	PerRuntime []ShutdownStats
	// Total sums the counts of PerRuntime and holds every runtime's
	// UnjoinedPanics, in runtime order.
	Total ShutdownStats
}

// Shutdown stops every runtime of the group gracefully and at once, as
// [Runtime.Shutdown] stops one: it fires every runtime's shutdown signal
// first, then waits for a running Run (or BlockOn) to return, drives each
// runtime until its tasks have finished or timeout has passed, and closes
// them all, aborting the stragglers. Tasks waiting on another runtime of
// the group keep being served meanwhile, since every runtime drains at the
// same time. It returns what [Group.Close] returns.
func (g *Group) Shutdown(timeout time.Duration) GroupShutdownStats {
	g.mustBeOutside("Group.Shutdown")
	deadline := time.Now().Add(timeout)
	for _, rt := range g.rts {
		rt.ShutdownHandle().Trigger()
	}
	var wg sync.WaitGroup
	for _, rt := range g.rts {
		wg.Go(func() { rt.Shutdown(time.Until(deadline)) })
	}
	wg.Wait()
	return g.Close()
}

// Close closes every runtime of the group at once, as [Runtime.Close]
// closes one: unfinished tasks are aborted (their defers run), running
// roots return [ErrClosed], and every runtime's goroutines and threads end
// before Close returns. Close is idempotent: later calls return the same
// statistics.
func (g *Group) Close() GroupShutdownStats {
	g.mustBeOutside("Group.Close")
	per := make([]ShutdownStats, len(g.rts))
	var wg sync.WaitGroup
	for i, rt := range g.rts {
		wg.Go(func() { per[i] = rt.Close() })
	}
	wg.Wait()
	st := GroupShutdownStats{PerRuntime: per}
	for _, s := range per {
		st.Total.Aborted += s.Aborted
		st.Total.Referenced += s.Referenced
		st.Total.UnjoinedPanics = append(st.Total.UnjoinedPanics, s.UnjoinedPanics...)
		st.Total.Abandoned += s.Abandoned
		st.Total.RemoteRefused += s.RemoteRefused
	}
	return st
}

// GroupStats holds the counters of a group's runtimes.
type GroupStats struct {
	// PerRuntime holds each runtime's [Runtime.Stats], by index.
	PerRuntime []Stats
	// Total sums every counter and gauge of PerRuntime, PollTimes included
	// (bucket by bucket). Digest is not summed: the order of events across
	// threads is not reproducible, so Total.Digest is 0; read each
	// runtime's in PerRuntime.
	Total Stats
}

// Stats returns the counters of every runtime of the group. Called from a
// task of one of them, that runtime's are read live and the others'
// published copies, as [Runtime.Stats] does.
func (g *Group) Stats() GroupStats {
	st := GroupStats{PerRuntime: make([]Stats, len(g.rts))}
	for i, rt := range g.rts {
		s := rt.Stats()
		st.PerRuntime[i] = s
		addStats(&st.Total, &s)
	}
	return st
}

// addStats adds s to sum, all but Digest.
func addStats(sum, s *Stats) {
	sum.Spawned += s.Spawned
	sum.SpawnsRefused += s.SpawnsRefused
	sum.Completed += s.Completed
	sum.Aborted += s.Aborted
	sum.Panicked += s.Panicked
	sum.UnhandledPanics += s.UnhandledPanics
	sum.Polls += s.Polls
	sum.Cycles += s.Cycles
	sum.TimersFired += s.TimersFired
	sum.Parks += s.Parks
	sum.Spins += s.Spins
	sum.IOPolls += s.IOPolls
	sum.Stalls += s.Stalls
	sum.LiveTasks += s.LiveTasks
	sum.PendingTimers += s.PendingTimers
	sum.Registrations += s.Registrations
	sum.PoolInUse += s.PoolInUse
	sum.PoolCapacity += s.PoolCapacity
	sum.ReadyTasks += s.ReadyTasks
	for b, c := range s.PollTimes.Counts {
		sum.PollTimes.Counts[b] += c
	}
	sum.PollTimes.Sum += s.PollTimes.Sum
}
