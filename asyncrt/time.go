package asyncrt

import (
	"errors"
	"fmt"
	"time"

	"github.com/orrery-go/orrery/asyncrt/internal/wheel"
	"github.com/orrery-go/orrery/slab"
)

// ErrElapsed is returned by [Timeout] and [TimeoutAt] when the deadline
// passed before the function returned.
var ErrElapsed = errors.New("asyncrt: deadline elapsed")

type timerKind uint8

const (
	timerReg      timerKind = iota // wake a registration: see regTimer
	timerDeadline                  // expire a Timeout scope: key is the task, arg the scope
	timerIO                        // expire a descriptor's deadline: key is its record, arg the direction
	timerSchedule                  // a World's next fixed-rate tick: arg is its index
	timerSleep                     // end a task's sleep: key is the task
)

// timerEvent is what a timer carries. It holds no pointers, so the timer
// wheel's memory is never scanned by the garbage collector, and it is kept
// to 24 bytes: a runtime may hold millions.
type timerEvent struct {
	key  slab.Key
	kind timerKind
	arg  uint64
}

// regTimer is the event of registration n's timer: arg holds the node's
// place in the pool and the low half of the epoch of its use. The epoch only
// guards against a stale event (a registration's timer is stopped when the
// use ends), so half of it is plenty.
func regTimer(n *waitNode) timerEvent {
	return timerEvent{kind: timerReg, arg: uint64(n.idx)<<32 | n.epoch&0xffff_ffff}
}

// fire acts on an expired timer.
func (rt *Runtime) fire(ev timerEvent) {
	switch ev.kind {
	case timerReg:
		if n := rt.regs.at(uint32(ev.arg >> 32)); n != nil && uint32(n.epoch) == uint32(ev.arg) && n.task != nil {
			n.timer = wheel.Timer{}
			rt.wakeNode(n)
		}
	case timerSleep:
		if rec, ok := rt.tasks.Get(ev.key); ok && !rec.sleep.IsZero() {
			rec.sleep = wheel.Timer{}
			if rec.state == stateSuspended {
				rt.enqueue(rec)
			}
		}
	case timerIO:
		rt.fireIODeadline(ev.key, int(ev.arg))
	case timerSchedule:
		rt.worldDue(int(ev.arg))
	case timerDeadline:
		rec, ok := rt.tasks.Get(ev.key)
		if !ok || rec.state == stateDone {
			return
		}
		scopes := rec.task.dl.scopes // a deadline timer was set by pushScope
		for i := range scopes {
			if scopes[i].id == ev.arg {
				scopes[i].expired = true
				scopes[i].timer = wheel.Timer{}
				rec.signal |= sigExpired
			}
		}
		if rec.state == stateSuspended {
			rt.enqueue(rec)
		}
	}
}

// toNanos converts a time to the runtime's clock: nanoseconds since its
// epoch. Times carrying a monotonic reading are compared on it.
func (rt *Runtime) toNanos(at time.Time) int64 {
	return int64(at.Sub(rt.epoch))
}

// Now returns the cycle's event time: the runtime reads its clock once per
// cycle (and again after polling IO), so every task in a cycle sees the same
// instant, and reading it costs nothing. Under a [SimClock] it is the
// simulated time.
func (t *Task) Now() time.Time {
	t.check("Task.Now")
	return t.rt.epoch.Add(time.Duration(t.rt.eventTime()))
}

// Sleep suspends the task for at least d, measured from the event time
// ([Task.Now]). Like time.Sleep, a zero or negative d returns at once. An
// aborted or timed-out task unwinds from here.
//
// A sleep holds one timer and no registration. A wake of one of the task's
// registrations while it sleeps (see [Task.Enqueue]) does not end the sleep:
// the registration stays woken, and the task's next [Task.Wait] returns for it
// at once.
func (t *Task) Sleep(d time.Duration) {
	t.check("Task.Sleep")
	if d <= 0 {
		return
	}
	t.sleepUntil(t.rt.after(d))
}

// SleepUntil suspends the task until at least time at. A time already past
// returns at once.
func (t *Task) SleepUntil(at time.Time) {
	t.check("Task.SleepUntil")
	t.sleepUntil(t.rt.toNanos(at))
}

func (t *Task) sleepUntil(deadline int64) {
	rt := t.rt
	if deadline <= rt.eventTime() {
		return
	}
	// A sleep needs no registration: its timer names the task's record, and
	// firing it is the only way the sleep ends (an abort or a deadline
	// unwinds from suspend, which stops it). A wake of one of the task's
	// registrations meanwhile resumes the task early; it sleeps on, and
	// the wake stays for the task's next Wait to see.
	rec := t.rec
	rec.sleep = rt.timers.Schedule(deadline, timerEvent{key: rec.key, kind: timerSleep})
	for !rec.sleep.IsZero() {
		t.suspend()
	}
}

// deadlineScope is one Timeout call on a task's stack.
type deadlineScope struct {
	id      uint64
	timer   wheel.Timer
	expired bool
	// regMark is the sequence number the scope's first registration gets:
	// the ones from there on are cancelled if the deadline unwinds the
	// scope.
	regMark uint64
}

// deadlineSignal is the panic value that unwinds a task to the Timeout call
// whose deadline passed; the task's unwinding field says which.
type deadlineSignal struct{}

// Timeout runs fn inline, on t, under a deadline d from now. If fn returns in
// time, Timeout returns its result. If the deadline passes first, fn is
// unwound from the suspension point it is waiting at — its defers run — and
// Timeout returns [ErrElapsed]; the work does not go on in the background. A
// zero or negative d cuts fn at its first suspension point.
//
// Deadlines nest: whichever expires first unwinds to its own Timeout call,
// through any inner ones. An abort of t takes precedence over deadlines.
func Timeout[T any](t *Task, d time.Duration, fn func(*Task) T) (T, error) {
	t.check("Timeout")
	return timeoutAt(t, t.rt.after(d), fn)
}

// TimeoutAt is [Timeout] with an absolute deadline.
func TimeoutAt[T any](t *Task, at time.Time, fn func(*Task) T) (T, error) {
	t.check("TimeoutAt")
	return timeoutAt(t, t.rt.toNanos(at), fn)
}

func timeoutAt[T any](t *Task, deadline int64, fn func(*Task) T) (v T, err error) {
	if fn == nil {
		panic("asyncrt: Timeout called with a nil function")
	}
	id := t.pushScope(deadline)
	defer func() {
		if t.dl.unwinding == id {
			// This scope's deadline is what is unwinding the task: stop it
			// here, and end the waits it cut short. Other panics pass
			// through untouched, keeping their stack.
			t.dl.unwinding = 0
			recover()
			err = ErrElapsed
			t.rt.endRegsFrom(t, t.scopeMark(id))
		}
		t.popScope(id)
	}()
	return fn(t), nil
}

func (t *Task) pushScope(deadline int64) uint64 {
	rt := t.rt
	if t.dl == nil {
		t.dl = new(deadlines)
	}
	d := t.dl
	d.nextScope++
	sc := deadlineScope{id: d.nextScope, regMark: t.regSeq + 1}
	if deadline <= rt.eventTime() {
		sc.expired = true
		t.rec.signal |= sigExpired
	} else {
		sc.timer = rt.timers.Schedule(deadline, timerEvent{key: t.rec.key, arg: sc.id, kind: timerDeadline})
	}
	d.scopes = append(d.scopes, sc)
	return sc.id
}

// scopeMark returns the registration mark of scope id.
func (t *Task) scopeMark(id uint64) uint64 {
	for _, sc := range t.dl.scopes {
		if sc.id == id {
			return sc.regMark
		}
	}
	return t.regSeq + 1
}

// popScope removes scope id (the innermost, as defers run in order) and
// cancels its timer.
func (t *Task) popScope(id uint64) {
	expired := false
	d := t.dl
	for i := len(d.scopes) - 1; i >= 0; i-- {
		if d.scopes[i].id == id {
			t.rt.timers.Cancel(d.scopes[i].timer)
			d.scopes = append(d.scopes[:i], d.scopes[i+1:]...)
			break
		}
	}
	for _, sc := range d.scopes {
		expired = expired || sc.expired
	}
	t.rec.signal &^= sigExpired
	if expired {
		t.rec.signal |= sigExpired
	}
}

// MissedTickBehavior is what an [Interval] does about ticks it could not
// deliver on time because the task was busy.
type MissedTickBehavior int

const (
	// Burst delivers the missed ticks one after the other, as fast as the
	// task takes them, until it has caught up with the schedule.
	Burst MissedTickBehavior = iota
	// Skip drops the missed ticks and resumes on the original schedule: the
	// next tick is the first scheduled one still in the future.
	Skip
	// Delay drops the missed ticks and restarts the schedule: the next tick
	// is one period after the late one was taken.
	Delay
)

func (b MissedTickBehavior) String() string {
	switch b {
	case Burst:
		return "Burst"
	case Skip:
		return "Skip"
	case Delay:
		return "Delay"
	}
	return fmt.Sprintf("MissedTickBehavior(%d)", int(b))
}

// Interval delivers ticks at a fixed period on a runtime's clock. It belongs
// to its runtime: use it from that runtime's tasks.
type Interval struct {
	rt       *Runtime
	period   int64
	next     int64 // the next tick, in the runtime's nanoseconds
	behavior MissedTickBehavior
}

// Interval returns an interval whose first tick is one period from now and
// which misses ticks by [Burst]. A zero or negative period is an error.
func (t *Task) Interval(period time.Duration) (*Interval, error) {
	t.check("Task.Interval")
	return t.IntervalAt(t.Now().Add(period), period)
}

// IntervalAt returns an interval whose first tick is at start.
func (t *Task) IntervalAt(start time.Time, period time.Duration) (*Interval, error) {
	t.check("Task.IntervalAt")
	if period <= 0 {
		return nil, fmt.Errorf("asyncrt: interval period must be positive, got %v", period)
	}
	return &Interval{rt: t.rt, period: int64(period), next: t.rt.toNanos(start)}, nil
}

// Tick suspends t until the next tick and returns the time that tick was
// scheduled for (which, if the task fell behind, is in the past).
func (iv *Interval) Tick(t *Task) time.Time {
	t.check("Interval.Tick")
	if iv.rt != t.rt {
		panic("asyncrt: Interval.Tick called by a task of another runtime")
	}
	t.sleepUntil(iv.next)
	tick := iv.next
	now := iv.rt.eventTime()
	switch iv.behavior {
	case Burst:
		iv.next = tick + iv.period
	case Skip:
		missed := (now - tick) / iv.period
		iv.next = tick + (missed+1)*iv.period
	case Delay:
		iv.next = now + iv.period
	}
	return iv.rt.epoch.Add(time.Duration(tick))
}

// Reset restarts the schedule: the next tick is one period from now.
func (iv *Interval) Reset() {
	iv.rt.mustBeOnRuntime("Interval.Reset")
	iv.next = iv.rt.after(time.Duration(iv.period))
}

// SetMissedTickBehavior sets what the interval does about late ticks.
func (iv *Interval) SetMissedTickBehavior(b MissedTickBehavior) error {
	if b != Burst && b != Skip && b != Delay {
		return fmt.Errorf("asyncrt: unknown missed-tick behavior %d", int(b))
	}
	iv.behavior = b
	return nil
}

// Period returns the interval's period.
func (iv *Interval) Period() time.Duration { return time.Duration(iv.period) }

// After spawns a task that runs fn once d has passed (at once, in the next
// cycle, if d is zero or negative). Abort its handle to cancel it.
func After[T any](t *Task, d time.Duration, fn func(*Task) T) JoinHandle[T] {
	t.check("After")
	if fn == nil {
		panic("asyncrt: After called with a nil function")
	}
	deadline := t.rt.after(d)
	return Spawn(t, func(t *Task) T {
		t.sleepUntil(deadline)
		return fn(t)
	})
}

// Timer is a one-shot timer owned by the task that made it. A timer nobody
// waits on wakes nobody: it only tells, through Expired, whether its deadline
// has passed, and [Timer.Wait] sleeps until it. It is a small value (copies
// share the timer); making and stopping one allocates nothing, and whatever
// it holds is released when its task ends.
type Timer struct {
	rt       *Runtime
	w        Waiter // the timer's place in its task's registrations; ended by Stop
	deadline int64
}

// NewTimer starts a timer that expires d from now (the event time).
func (t *Task) NewTimer(d time.Duration) Timer {
	t.check("Task.NewTimer")
	return t.newTimer(t.rt.after(d))
}

// NewTimerAt starts a timer that expires at time at.
func (t *Task) NewTimerAt(at time.Time) Timer {
	t.check("Task.NewTimerAt")
	return t.newTimer(t.rt.toNanos(at))
}

func (t *Task) newTimer(deadline int64) Timer {
	n := t.rt.newReg(t, true)
	return Timer{rt: t.rt, w: Waiter{n: n, epoch: n.epoch}, deadline: deadline}
}

// Stop stops the timer. It reports whether the timer was still pending;
// stopping a timer that expired or was stopped does nothing.
func (tm Timer) Stop() bool {
	if tm.rt == nil || tm.rt.closed.Load() {
		return false
	}
	tm.rt.mustBeOnRuntime("Timer.Stop")
	n := tm.w.live()
	if n == nil {
		return false
	}
	pending := tm.rt.eventTime() < tm.deadline
	tm.rt.endReg(n, false)
	return pending
}

// Expired reports whether the timer's deadline has passed (at the event
// time).
func (tm Timer) Expired() bool {
	if tm.rt == nil {
		return true
	}
	tm.rt.mustBeOnRuntime("Timer.Expired")
	return tm.rt.eventTime() >= tm.deadline
}

// Deadline returns when the timer expires.
func (tm Timer) Deadline() time.Time { return tm.rt.epoch.Add(time.Duration(tm.deadline)) }

// Wait suspends t until the timer expires; it returns at once if it has. A
// stopped timer never expires: waiting on one sleeps until its deadline
// anyway.
func (tm Timer) Wait(t *Task) {
	t.check("Timer.Wait")
	if tm.rt != t.rt {
		panic("asyncrt: Timer.Wait called by a task of another runtime")
	}
	t.sleepUntil(tm.deadline)
}
