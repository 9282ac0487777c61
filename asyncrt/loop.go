package asyncrt

import (
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/orrery-go/orrery/asyncrt/internal/gid"
)

// drive is the executor loop. Each cycle:
//
//  1. takes in what other goroutines sent (wakes, spawns, completions);
//  2. polls the tasks that were ready when the cycle began, at most
//     TasksPerCycle of them (tasks they wake wait for the next cycle);
//  3. fires due timers at the cycle's event time;
//  4. every EventInterval cycles, polls IO without blocking;
//  5. when no task is ready, idles: parks in the poller until the next
//     timer, spins, or (simulated clock) jumps to the next timer.
//
// It returns when root is done (with the root's error), when a drain
// (root == nil) has nothing left to run or reaches its deadline, or with the
// reason it had to stop early.
func (rt *Runtime) drive(root *taskRec, drainUntil time.Time) error {
	perCycle := rt.cfg.tasksPerCycle
	wd := rt.wd.on
	measure := rt.cfg.measurePolls
	// epoch is the watchdog epoch last seen at a boundary: the end of a
	// poll, or an idle cycle. Seeing it change (once per watchdog tick) tells
	// the watchdog the thread got there (see watchdog.observe).
	var epoch uint64
	if wd {
		epoch = rt.wd.epoch.Load()
		rt.wd.ack.Store(epoch)
	}
	for {
		rt.nowFresh = false
		if a := rt.attn.Load(); a != 0 {
			if a&attnStop != 0 {
				if err, stop := rt.stopReason(root, drainUntil); stop {
					return err
				}
			}
			if a&attnInbox != 0 {
				rt.drainInbox()
			}
		}
		n := min(rt.ready.len(), perCycle)
		if rt.shuffle != nil && n > 1 {
			rt.ready.shuffle(n, rt.shuffle)
		}
		for range n {
			if rt.ready.n == 0 {
				// A task polled this cycle ran one queued behind it inline
				// (it awaited it before it started) and took its entry.
				break
			}
			rec, next := rt.ready.pop()
			if rec == nil || rec.state == stateDone {
				continue
			}
			// The resume is written out here, not called: every frame live
			// across the coroutine switch costs a mispredicted return.
			if !gid.Supported {
				rt.current = rec.task
			}
			rt.launching = rec.task
			rt.counters.Digest = (rt.counters.Digest ^ rec.id) * digestPrime
			var began time.Time
			if measure {
				began = time.Now()
			}
			why, _ := next()
			if measure {
				rt.counters.PollTimes.add(time.Since(began))
			}
			if why == switchYield && rec.qseq == 0 {
				// Queue the yielding task again (ringQueue.push, written out).
				q := &rt.ready
				if q.n == len(q.buf) {
					q.grow()
				}
				q.seq++
				rec.qseq = q.seq
				q.buf[q.tail] = readyEntry{rec, next, q.seq}
				q.tail = (q.tail + 1) & q.mask
				q.n++
			}
			if wd {
				// One epoch read per poll, and a store once per tick.
				if e := rt.wd.epoch.Load(); e != epoch {
					rt.wd.observe(epoch, e, rec)
					epoch = e
				}
			}
			if !gid.Supported {
				rt.current = nil
			}
			// The common case, a task that suspended cleanly, goes straight
			// on to the next one.
			if rec.state == stateDone {
				rt.afterPoll(rec, rec.task)
			} else if w := rec.task.world; w != nil && (w.Locked() || w.HasDeferred()) {
				rt.afterPoll(rec, rec.task)
			}
		}
		rt.counters.Polls += uint64(n)
		rt.counters.Cycles++
		if rt.timers.Len() > 0 || rt.cycleExtras > 0 || rt.counters.Cycles%statsEvery == 0 {
			rt.endCycle()
		}
		if root != nil && root.state == stateDone {
			return root.err
		}
		if rt.ready.len() == 0 {
			if wd {
				if e := rt.wd.epoch.Load(); e != epoch {
					rt.wd.observe(epoch, e, nil)
					epoch = e
				}
			}
			if err := rt.idle(drainUntil); err != nil {
				return err
			}
		}
	}
}

// digestPrime mixes events into Stats.Digest: each event multiplies, so
// the digest depends on their order, not only on which happened.
const digestPrime = 0x100000001b3

// afterPoll handles what follows a poll outside the common case: a task
// that finished, one that suspended while the World was busy, or deferred
// World commands.
func (rt *Runtime) afterPoll(rec *taskRec, t *Task) {
	w := t.world
	if rec.state != stateDone && w != nil && w.Locked() {
		rt.rejectBusySuspend(rec, t)
	}
	if rec.state == stateDone {
		rt.finish(rec, t)
	}
	if w != nil && w.HasDeferred() && !w.Locked() {
		rt.applyDeferred(w, rec.id)
	}
}

// endCycle does the per-cycle work that is only sometimes needed: schedules,
// timers, the periodic IO check, publishing counters.
func (rt *Runtime) endCycle() {
	if rt.timers.Len() > 0 {
		rt.fireTimers()
	}
	if len(rt.worlds) > 0 {
		rt.runWorlds()
	}
	if rt.ioRegistered > 0 {
		if rt.ioCountdown--; rt.ioCountdown <= 0 {
			rt.ioCountdown = rt.cfg.eventInterval
			rt.pollIO(0)
		}
	}
	if rt.counters.Cycles%statsEvery == 0 {
		rt.publishStats()
	}
}

// stopReason says whether the loop must stop for a reason other than its
// root finishing: a panic nobody can join, Close, or the end of a drain.
// The attnStop bit is raised whenever one of these may hold; it is looked at
// when a cycle begins.
func (rt *Runtime) stopReason(root *taskRec, drainUntil time.Time) (error, bool) {
	switch {
	case rt.pendingPanic != nil:
		return nil, true
	case rt.closeReq.Load():
		return ErrClosed, true
	case root == nil && (rt.live == 0 || !time.Now().Before(drainUntil)):
		return nil, true
	}
	return nil, false
}

// idle waits for something to happen when no task is ready. It returns
// ErrDeadlock when nothing can ever happen: no timer, no task waiting for
// IO, no work promised by another goroutine.
func (rt *Runtime) idle(drainUntil time.Time) error {
	if rt.attn.Load()&attnInbox != 0 {
		return nil // work from outside: go round
	}
	next, hasTimer := rt.timers.NextDeadline()
	external := rt.externalRegs > 0
	if rt.sim != nil {
		// Simulated time: take in any IO that is ready, then jump. Without
		// registered descriptors there is none to take (other goroutines'
		// posts raise attn, checked above), and no system call is made.
		if rt.ioRegistered > 0 && rt.pollIO(0) > 0 {
			return nil
		}
		if hasTimer {
			rt.sim.advanceTo(next)
			rt.nowFresh = false
			return nil
		}
	}
	if !hasTimer && rt.externalRegs == rt.peerRegs && rt.group != nil && rt.gstate.Load() == gsRunning {
		// Only the group's other runtimes can wake this one: whether it
		// is deadlocked is the group's to say.
		return rt.idlePeers(rt.group, drainUntil)
	}
	if rt.sim != nil {
		if !external {
			return ErrDeadlock
		}
		rt.park(-1, drainUntil)
		return nil
	}
	if !hasTimer && !external {
		return ErrDeadlock
	}
	// IO that is already ready (a peer on this machine answered while the
	// tasks ran) is taken without the cost of parking.
	if rt.ioRegistered > 0 && rt.pollIO(0) > 0 || rt.cfg.idle == Spin {
		return nil
	}
	timeout := time.Duration(-1)
	if hasTimer {
		rt.nowFresh = false
		if timeout = time.Duration(next - rt.eventTime()); timeout <= 0 {
			return nil
		}
	}
	// With one processor, spinning would keep the goroutines that could
	// send the work from running.
	if d := rt.cfg.spinBeforePark; d > 0 && (timeout < 0 || timeout > d) && runtime.GOMAXPROCS(0) > 1 && rt.spin(d) {
		return nil
	}
	rt.park(timeout, drainUntil)
	return nil
}

// spin polls the inbox, and the IO poller if descriptors are registered,
// for up to d; it reports whether it found work. The caller has checked
// that no timer is due within d.
func (rt *Runtime) spin(d time.Duration) bool {
	rt.counters.Spins++
	if th := rt.cfg.stallThreshold; th > 0 {
		// The watchdog sees a spin as the thread held: keep it well short
		// of a stall.
		d = min(d, th/4)
	}
	start := time.Now()
	for i := 0; ; i++ {
		if rt.attn.Load() != 0 || rt.gstate.Load() == gsDeadlocked {
			return true
		}
		// A poll is a system call, some 0.3 µs: one in eight rounds keeps
		// the inbox, which other goroutines write, checked often.
		if i%8 == 7 {
			if rt.ioRegistered > 0 && rt.pollIO(0) > 0 {
				return true
			}
			if time.Since(start) >= d {
				return false
			}
		}
	}
}

// park sleeps in the poller for up to timeout (negative: until woken).
// Other goroutines that post to the inbox see the parked flag and poke the
// eventfd; the flag is set before the inbox is checked one last time, so a
// post can never slip between the check and the sleep unnoticed.
func (rt *Runtime) park(timeout time.Duration, drainUntil time.Time) {
	// Yield first, while a post still finds the runtime awake (it raises
	// attn, checked below), and out of the time to sleep.
	if took := rt.reschedule(); took > 0 && timeout >= 0 {
		if timeout -= took; timeout <= 0 {
			return // the next timer is due: go round
		}
	}
	if !drainUntil.IsZero() {
		left := time.Until(drainUntil)
		if left <= 0 {
			return
		}
		if timeout < 0 || timeout > left {
			timeout = left
		}
	}
	rt.parked.Store(true)
	if rt.attn.Load()&attnInbox == 0 && !rt.closeReq.Load() && rt.gstate.Load() != gsDeadlocked {
		rt.counters.Parks++
		rt.publishStats() // for goroutines watching an idle runtime
		rt.wd.sleep()
		rt.pollIO(timeout)
		rt.wd.wake(rt)
	}
	rt.parked.Store(false)
}

// reschedule passes the runtime's goroutine through the Go scheduler if it
// has not been for reschedEvery. The scheduler preempts a goroutine that
// has kept its processor 10 ms without a scheduling point, and the
// runtime's goroutine never meets one of its own: tasks are coroutines, and
// it sleeps in a system call. On a locked thread a preemption hands the
// processor to another thread and back, tens of microseconds, wherever the
// goroutine was: in the middle of a task, as often as every 10 ms while
// work comes in. Yielding just before the runtime parks pays that hand-off
// while it has nothing to do. It returns how long the yield took (0 if it
// did not yield).
//
// A runtime that never parks — one that spins, or whose work always comes
// within its SpinBeforePark window — does not yield: it is preempted while
// it polls, rarely in a task, and its wake-ups fared worse with yields
// than with the preemptions (CrossGoroutineWake/Spin p99 30 µs against
// 8 µs).
func (rt *Runtime) reschedule() time.Duration {
	now := time.Now()
	if now.Sub(rt.lastResched) < rt.reschedEvery {
		return 0
	}
	rt.counters.SchedulerYields++
	runtime.Gosched()
	rt.lastResched = time.Now()
	return rt.lastResched.Sub(now)
}

// reschedEvery is how often at most the runtime yields before it parks:
// half the scheduler's 10 ms, as the time to the next park is unknown.
const reschedEvery = 5 * time.Millisecond

// The bits of Runtime.attn.
const (
	attnInbox = 1 << iota
	attnStop
)

// poke wakes the runtime if it is parked. Safe from any goroutine. A
// runtime of a running group that waits only on its peers counts as busy
// again from here, before it wakes, so that the group cannot be found
// deadlocked while work is on its way to it.
func (rt *Runtime) poke() {
	if rt.group != nil && rt.gstate.Load() == gsPeerIdle {
		rt.group.wake(rt)
	}
	if rt.parked.CompareAndSwap(true, false) {
		rt.inbox.wake(rt)
	}
}

// pollIO waits up to timeout for IO readiness and dispatches what it finds.
// It returns the number of events.
func (rt *Runtime) pollIO(timeout time.Duration) int {
	rt.counters.IOPolls++
	n, err := rt.poller.Wait(rt.events, timeout)
	rt.nowFresh = false
	if err != nil {
		// The poller fails only if its descriptor is gone, which Close alone
		// does, after this goroutine has stopped.
		panic(fmt.Sprintf("asyncrt: IO poller failed: %v", err))
	}
	for _, ev := range rt.events[:n] {
		if ev.Token == wakerToken {
			_ = rt.waker.Drain()
		} else {
			rt.dispatch(ev)
		}
	}
	return n
}

// eventTime returns the cycle's event time in nanoseconds since the epoch,
// reading the clock at most once per cycle (and again after IO polls).
// after returns the runtime time d after the event time, saturating: a very
// long duration means never, not a time in the past.
func (rt *Runtime) after(d time.Duration) int64 {
	now := rt.eventTime()
	if int64(d) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(d)
}

func (rt *Runtime) eventTime() int64 {
	if !rt.nowFresh {
		if rt.sim != nil {
			rt.now = rt.sim.elapsed.Load()
		} else {
			rt.now = int64(time.Since(rt.epoch))
		}
		rt.nowFresh = true
	}
	return rt.now
}

// fireTimers runs the timers due at the cycle's event time.
func (rt *Runtime) fireTimers() {
	now := rt.eventTime()
	for ev, ok := rt.timers.Poll(now); ok; ev, ok = rt.timers.Poll(now) {
		rt.counters.TimersFired++
		rt.counters.Digest = (rt.counters.Digest ^ uint64(now)<<3 ^ uint64(ev.kind)) * digestPrime
		rt.fire(ev)
	}
}

// resume runs the task until it suspends or finishes. The executor loop
// has its own copy of this for speed; this one serves the rarer callers.
func (rt *Runtime) resume(rec *taskRec) {
	t := rec.task
	rt.current, rt.launching = t, t
	rec.state = stateRunning
	rt.counters.Digest = (rt.counters.Digest ^ rec.id) * digestPrime
	began := rt.pollBegins()
	if why, _ := t.next(); why == switchYield {
		rt.enqueue(rec)
	}
	rt.pollEnds(began)
	rt.current = nil
	rt.counters.Polls++
	rt.afterPoll(rec, t)
}

// pollBegins and pollEnds time a poll for Stats.PollTimes, on a runtime
// built with MeasurePolls (the executor loop has its own copy).
func (rt *Runtime) pollBegins() time.Time {
	if !rt.cfg.measurePolls {
		return time.Time{}
	}
	return time.Now()
}

func (rt *Runtime) pollEnds(began time.Time) {
	if rt.cfg.measurePolls {
		rt.counters.PollTimes.add(time.Since(began))
	}
}

// rejectBusySuspend handles a task that suspended while the World was busy
// (inside WorldCtx.With, or with an arche query open): letting another task
// run now could change the World under it. The task is resumed at once and
// panics from its suspension point with a message that says what to do.
func (rt *Runtime) rejectBusySuspend(rec *taskRec, t *Task) {
	rec.signal |= sigBusy
	rec.state = stateRunning
	rt.launching = t
	rt.counters.Digest = (rt.counters.Digest ^ rec.id) * digestPrime
	if why, _ := t.next(); why == switchYield {
		rt.enqueue(rec)
	}
}

// runInline runs a task that has not started yet on behalf of the running
// task (which awaits it), switching from the running task's coroutine
// straight to the new one. The runtime's thread-lock state is the same on
// both, as coroutine switches require. The task's queue entry goes stale: if
// it suspends, whatever wakes it queues it afresh.
func (rt *Runtime) runInline(rec *taskRec) {
	rt.ready.withdraw(rec)
	t := rec.task
	caller := rt.current
	rt.current, rt.launching = t, t
	rec.state = stateRunning
	rt.counters.Digest = (rt.counters.Digest ^ rec.id) * digestPrime
	began := rt.pollBegins()
	if why, _ := t.next(); why == switchYield {
		rt.enqueue(rec)
	}
	rt.pollEnds(began)
	if w := t.world; rec.state != stateDone && w != nil && w.Locked() {
		rt.rejectBusySuspend(rec, t)
	}
	rt.current = caller
	rt.counters.Polls++
	if rec.state == stateDone {
		rt.finish(rec, t)
	}
}

// finish releases a finished task's coroutine, wakes its awaiter and frees
// the record if nobody will read the result.
func (rt *Runtime) finish(rec *taskRec, t *Task) {
	rec.task = nil
	if t.regs != nil {
		rt.endRegsFrom(t, 0) // nothing outlives its task
	}
	if w := t.world; w != nil {
		// The World checks that the task left it unlocked (no query open).
		if err := w.TaskEnded(); err != nil && rec.err == nil {
			rec.err = &PanicError{TaskID: rec.id, Value: err}
		}
	}
	switch {
	case t.abandoned:
		rt.abandoned++
		if t.pooled {
			rt.pool.inUse--
		}
	case t.pooled:
		t.rec = nil
		rt.pool.put(t)
	default:
		t.rec = nil // a *Task kept past its function fails its checks from now on
	}
	rt.live--
	if rec.node != nil {
		rec.node.live--
	}
	switch err := rec.err.(type) {
	case nil:
		rt.counters.Completed++
	case *PanicError:
		rt.counters.Panicked++
		if rec.detached && !rec.remote {
			rt.unhandledPanic(err)
		}
	default:
		if err == ErrAborted || err == ErrClosed {
			rt.counters.Aborted++
		} else {
			rt.counters.Panicked++ // ErrGoexit
		}
	}
	if rec.remote {
		rec.body.deliver(rec.err)
	}
	rec.join.WakeAll()
	if set := rec.set; set != nil {
		set.done = append(set.done, rec.key)
		set.waiters.WakeAll()
	}
	if rec.detached {
		rec.consumed = true
	}
	rt.tryFree(rec)
}

// insertTask records a new task run by coroutine co and queues it. While
// Shutdown drains the runtime, the task is refused: it never runs and its
// result is ErrClosed.
func (rt *Runtime) insertTask(b runner, co *Task, w World, node *Node) *taskRec {
	c, err := rt.tasks.Claim()
	if err != nil {
		// Only an unbounded slab backs tasks; it fails only past 2^32 live
		// tasks, which memory runs out long before.
		panic(fmt.Sprintf("asyncrt: cannot record a new task: %v", err))
	}
	rt.nextID++
	rec, _ := c.Fill(taskRec{key: c.Key(), id: rt.nextID, task: co, body: b})
	co.rec = rec
	co.wdID.Store(rec.id) // for the stall watchdog, which reads it from its goroutine
	co.world = w
	if node != nil {
		rec.node = node
		node.live++
	}
	rt.live++
	rt.counters.Spawned++
	if rt.draining {
		rec.signal |= sigAbort
		rec.refused = true
	}
	rt.enqueue(rec)
	return rec
}

// enqueue puts a task that is not already queued at the back of the ready
// queue.
func (rt *Runtime) enqueue(rec *taskRec) { rt.ready.push(rec) }

// tryFree releases a record once it is done and its result consumed. A
// ready-queue entry left pointing at it is stale and will be skipped.
func (rt *Runtime) tryFree(rec *taskRec) {
	if rec.state != stateDone || !rec.consumed {
		return
	}
	if rec.body != nil {
		rec.body.recycle()
	}
	rt.tasks.Remove(rec.key)
}

func (rt *Runtime) unhandledPanic(pe *PanicError) {
	rt.counters.UnhandledPanics++
	if rt.cfg.onPanic != nil {
		rt.cfg.onPanic(pe)
	}
	switch {
	case rt.closeReport != nil:
		rt.closeReport.UnjoinedPanics = append(rt.closeReport.UnjoinedPanics, pe)
	case rt.cfg.panicPolicy == ReturnPanics && rt.pendingPanic == nil:
		rt.pendingPanic = pe
		rt.attn.Or(attnStop)
	}
}

// onRuntime reports whether the caller is the runtime goroutine or one of
// its tasks. It is false where goroutine identity is not supported.
func (rt *Runtime) onRuntime() bool {
	if !gid.Supported {
		return false
	}
	g := gid.Current()
	// Once the runtime goroutine has exited, Go may give its g to a new
	// goroutine: rt.g names the runtime only while it is not closed.
	return g == rt.g && !rt.closed.Load() || rt.gs.Contains(g)
}

// mustBeOnRuntime panics unless the caller is on the runtime's thread.
func (rt *Runtime) mustBeOnRuntime(op string) {
	if gid.Supported && !rt.onRuntime() {
		panic(fmt.Sprintf("asyncrt: %s called from a goroutine that is not running its "+
			"runtime: the runtime is single-threaded, so call it from one of the "+
			"runtime's tasks", op))
	}
}
