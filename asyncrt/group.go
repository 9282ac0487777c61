package asyncrt

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
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
// # Deadlocks
//
// While [Group.Run] runs, the group, not each runtime alone, says when it is
// deadlocked. A runtime with no timer whose tasks wait only on the group —
// on a remote task of another runtime ([RemoteHandle.Await], [OnRemote]),
// on room to spawn there ([SpawnOn]) or to send to a cross channel another
// runtime receives from ([CrossSender.SendTask], [OnCrossSend]), on a
// channel between the group's runtimes ([NewGroupChan]), or on its own
// tasks, which a peer may spawn work for — sleeps, and is not deadlocked
// while another runtime of the group still works. Once every runtime of the
// group is in that state, or has finished its root, no runtime of the group
// can wake any of them: each of those still waiting returns an error
// wrapping [ErrDeadlock] from Run. A task waiting on the outside world (IO,
// a timer, a channel from [NewCrossChan] or a tasksync.CrossBroadcast,
// which any goroutine may feed) keeps its runtime busy and so the group
// undeadlocked, as it keeps a runtime alone.
//
// As for a runtime alone, what other goroutines might still do is not
// counted: a [SpawnOn] or a [CrossSender.Close] from outside the group
// does not keep it from being found deadlocked. Once [Group.Shutdown] or
// [Group.Close] has begun, or a runtime of the group has been closed on its
// own, the group reports no deadlock for the rest of the Run (the closes
// end the waits). Outside Run, each runtime decides alone, and a wait on its
// peers counts as a wait on the outside world.
//
// A Group's methods are safe for concurrent use from any goroutine, except
// that Run, Shutdown and Close must not be called from a task of one of its
// runtimes (they would wait on the thread they run on).
type Group struct {
	rts []*Runtime
	// running is set while Run runs; active counts the runtimes of a
	// running group that are neither waiting only on the group
	// (gsPeerIdle) nor finished (see idlePeers).
	running atomic.Bool
	active  atomic.Int32
	closing atomic.Bool // Shutdown or Close has begun
	// rootsMu guards roots: while a Run starts its roots, a channel closed
	// once every root has started (or its Run failed), for Shutdown.
	rootsMu sync.Mutex
	roots   chan struct{}
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
		rt.group = g
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
// [Group.Shutdown], or trigger each runtime's [ShutdownHandle]. A group
// whose runtimes all wait on one another is deadlocked (see the Group
// type's documentation): every runtime still waiting returns an error
// wrapping [ErrDeadlock]. Run returns an error, running nothing, if another
// Run of the group has not returned.
func (g *Group) Run(fn func(t *Task, i int) error) error {
	if fn == nil {
		return errors.New("asyncrt: Group.Run called with a nil function")
	}
	g.mustBeOutside("Group.Run")
	if !g.running.CompareAndSwap(false, true) {
		return errors.New("asyncrt: Group.Run called while the group is already running; wait for the first Run to return")
	}
	defer g.running.Store(false)
	// Every runtime counts as busy from now until its root returns: one
	// whose root has not started yet is about to. A runtime takes part in
	// the group's deadlock detection (gstate) only once its root runs, so
	// that a BlockOn of someone else's that still drives it (Run then
	// fails with ErrBusy) never does. Each Run leaves the count where it
	// found it; adding rather than storing keeps a wake of the last Run
	// still between its increment and its undo from skewing this one.
	g.active.Add(int32(len(g.rts)))
	allStarted := make(chan struct{})
	var toStart atomic.Int32
	toStart.Store(int32(len(g.rts)))
	g.rootsMu.Lock()
	g.roots = allStarted
	g.rootsMu.Unlock()
	defer func() {
		g.rootsMu.Lock()
		g.roots = nil
		g.rootsMu.Unlock()
	}()
	errs := make([]error, len(g.rts))
	var wg sync.WaitGroup
	for i, rt := range g.rts {
		wg.Go(func() {
			started := false
			err := Run(rt, func(t *Task) error {
				rt.gstate.Store(gsRunning)
				started = true
				if toStart.Add(-1) == 0 {
					close(allStarted)
				}
				return fn(t, i)
			})
			if !started && toStart.Add(-1) == 0 {
				close(allStarted)
			}
			g.leave(rt, started)
			if err != nil {
				errs[i] = fmt.Errorf("asyncrt: group runtime %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// The states of a runtime in a running group's deadlock detection
// (Runtime.gstate).
const (
	gsOff        int32 = iota // not in Group.Run: the runtime decides alone
	gsRunning                 // counted in Group.active
	gsPeerIdle                // parked, its tasks waiting only on the group
	gsDeadlocked              // found deadlocked with the whole group
)

// errGroupDeadlock is what every runtime of a deadlocked group returns.
var errGroupDeadlock = fmt.Errorf("%w (every runtime of the group waits on the others, or has finished)", ErrDeadlock)

// idlePeers is idle for a runtime of a running group that has no timer
// and whose tasks wait, if at all, only on the group's other runtimes: on
// their remote tasks' results, on room in their inboxes or cross channels,
// or on group channels. Another goroutine could still post it work (a
// SpawnOn from outside the group), but, as for a runtime alone, that does
// not count: the runtime is deadlocked if every other runtime of the group
// is in the same state or has finished.
//
// The count of busy runtimes (Group.active) only reaches zero when that is
// so: a runtime leaves the count here, after publishing gsPeerIdle, and is
// counted again by whoever posts it work (poke, through wake), before the
// post can be seen, or by itself when it finds the work first. A busy
// runtime that posts is counted while it posts, so the count cannot pass
// through zero between the two. The runtime that takes it to zero declares
// the deadlock.
func (rt *Runtime) idlePeers(g *Group, drainUntil time.Time) error {
	if !rt.gstate.CompareAndSwap(gsRunning, gsPeerIdle) {
		return nil // its root has just returned: Run's leave has it
	}
	if rt.attn.Load()&attnInbox != 0 {
		// Work was posted while the runtime still counted as busy, so its
		// poster did not count it again: it must not leave the count.
		if !rt.gstate.CompareAndSwap(gsPeerIdle, gsRunning) {
			g.release() // a poster did count it again, after all
		}
		return nil
	}
	// From here any post counts the runtime busy again (wake).
	g.release()
	if rt.attn.Load()&attnInbox == 0 && rt.gstate.Load() != gsDeadlocked {
		multi := runtime.GOMAXPROCS(0) > 1
		switch {
		case rt.cfg.idle == Spin && multi:
			// Go round the loop now and then, as a spinning runtime
			// does, so that the watchdog sees the thread. (With one
			// processor the peers could not run meanwhile.)
			rt.spin(time.Millisecond)
		case rt.cfg.spinBeforePark > 0 && multi && rt.spin(rt.cfg.spinBeforePark):
		default:
			rt.park(-1, drainUntil)
		}
	}
	if g.wake(rt) {
		return nil
	}
	if rt.gstate.Load() == gsDeadlocked {
		return errGroupDeadlock
	}
	return nil // a poster counted the runtime busy again
}

// wake moves rt from gsPeerIdle to gsRunning, if it is there, and reports
// whether it did. The count goes up first: a runtime is never seen running
// and uncounted, which would let a peer that goes idle meanwhile take the
// count to zero while rt still works.
func (g *Group) wake(rt *Runtime) bool {
	g.active.Add(1)
	if rt.gstate.CompareAndSwap(gsPeerIdle, gsRunning) {
		return true
	}
	g.release()
	return false
}

// release takes one from the count of busy runtimes. Whoever takes it to
// zero declares the deadlock.
func (g *Group) release() {
	if g.active.Add(-1) == 0 {
		g.declareDeadlock()
	}
}

// leave takes rt, whose Run has returned, out of the running group; started
// says whether its root ran. If every other runtime waits on the group, none
// of them can be woken.
func (g *Group) leave(rt *Runtime, started bool) {
	// A drain that drives rt after its root returned (Group.Shutdown) may
	// have left the count already, as a runtime going idle.
	if st := rt.gstate.Swap(gsOff); !started || st == gsRunning {
		g.release()
	}
}

// declareDeadlock ends the wait of every runtime of the group that waits
// on the others: each returns errGroupDeadlock from its BlockOn.
func (g *Group) declareDeadlock() {
	if g.closing.Load() {
		// The group is being shut down or closed, its runtimes one by one:
		// the rest will finish, or return ErrClosed, not a deadlock.
		return
	}
	for _, rt := range g.rts {
		if rt.closeReq.Load() {
			// A runtime closed on its own: the tasks awaiting its work
			// get ErrClosed once its Close has refused the work, after
			// its root returned. The group no longer decides.
			return
		}
	}
	for _, rt := range g.rts {
		// The state is the signal: park and spin look at it after they
		// have published that they sleep, and the wake below follows it.
		if rt.gstate.CompareAndSwap(gsPeerIdle, gsDeadlocked) {
			if rt.parked.CompareAndSwap(true, false) {
				rt.inbox.wake(rt)
			}
		}
	}
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
		w := ib.roomQ.enqueue(t, peers(t.rt, h.rt))
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
// first, then waits (until timeout) for the roots of a running [Group.Run]
// to have started, so that each sees the signal rather than its runtime
// closed under it, then waits for a running Run (or BlockOn) to return, drives each
// runtime until its tasks have finished or timeout has passed, and closes
// them all, aborting the stragglers. Tasks waiting on another runtime of
// the group keep being served meanwhile, since every runtime drains at the
// same time. It returns what [Group.Close] returns.
func (g *Group) Shutdown(timeout time.Duration) GroupShutdownStats {
	g.mustBeOutside("Group.Shutdown")
	g.closing.Store(true) // runtimes finish one by one: no deadlock to find
	deadline := time.Now().Add(timeout)
	for _, rt := range g.rts {
		rt.ShutdownHandle().Trigger()
	}
	g.rootsMu.Lock()
	roots := g.roots
	g.rootsMu.Unlock()
	if roots != nil {
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-roots:
		case <-timer.C:
		}
		timer.Stop()
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
	g.closing.Store(true)
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
	sum.SchedulerYields += s.SchedulerYields
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

// peers reports whether a and b are runtimes of one group: a task of a
// waiting on b waits on the group (see idlePeers).
func peers(a, b *Runtime) bool { return a.group != nil && a.group == b.group }
