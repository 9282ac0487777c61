package asyncrt

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/orrery-go/orrery/asyncrt/internal/wheel"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

// World returns a Ctx for reaching the runtime's World from t.
func (t *Task) World() worldctx.Ctx {
	t.check("Task.World")
	return worldctx.New(t.rt.world)
}

// fixedRun is a fixed-rate schedule the runtime drives from its timer
// wheel.
type fixedRun struct {
	s     *world.Schedule
	start int64  // runtime nanoseconds at which the schedule started
	next  uint64 // index of the next tick to run
	timer wheel.Timer
}

// syncSchedules picks up schedules added to the World since the last look.
// Fixed-rate schedules start now: their first tick is one period away.
func (rt *Runtime) syncSchedules() {
	w := rt.world
	rt.schedVer = w.SchedulesVersion()
	all := w.Schedules()
	for _, s := range all[rt.schedSeen:] {
		if s.EveryCycle() {
			rt.everyCycle = append(rt.everyCycle, s)
			rt.cycleExtras++
			continue
		}
		fr := &fixedRun{s: s, start: rt.eventTime(), next: 1}
		rt.fixed = append(rt.fixed, fr)
		rt.armSchedule(len(rt.fixed)-1, fr)
	}
	rt.schedSeen = len(all)
}

func (rt *Runtime) armSchedule(index int, fr *fixedRun) {
	at := fr.start + int64(fr.s.TickTime(fr.next))
	fr.timer = rt.timers.Schedule(at, timerEvent{arg: uint64(index), kind: timerSchedule})
}

// runFixed runs the ticks of fixed-rate schedule index that are due: up to
// its catch-up bound back to back, then drops the rest.
func (rt *Runtime) runFixed(index int) {
	fr := rt.fixed[index]
	now := rt.eventTime()
	last := fr.s.TicksBy(time.Duration(now - fr.start))
	for ran := 0; fr.next <= last && ran < fr.s.MaxCatchUp(); ran++ {
		rt.runTick(fr.s, rt.epoch.Add(time.Duration(fr.start)+fr.s.TickTime(fr.next)))
		fr.next++
	}
	if fr.next <= last {
		fr.s.AddDropped(last - fr.next + 1)
		fr.next = last + 1
	}
	rt.armSchedule(index, fr)
}

// runEveryCycle ticks the every-cycle schedules.
func (rt *Runtime) runEveryCycle() {
	at := rt.epoch.Add(time.Duration(rt.eventTime()))
	for _, s := range rt.everyCycle {
		rt.runTick(s, at)
	}
}

// runTick runs one tick of s on the runtime goroutine, with no coroutine
// switch. A panicking system, or one whose Init fails, goes to the
// unhandled-panic policy.
func (rt *Runtime) runTick(s *world.Schedule, at time.Time) {
	defer func() {
		if r := recover(); r != nil {
			rt.unhandledPanic(&PanicError{Schedule: s.Name(), Value: r, Stack: debug.Stack()})
		}
	}()
	rt.counters.SystemTicks++
	if _, err := s.RunTick(at); err != nil {
		rt.unhandledPanic(&PanicError{Schedule: s.Name(), Value: err})
	}
}

// applyDeferred applies the World's deferred commands after a task poll.
func (rt *Runtime) applyDeferred(rec *taskRec) {
	defer func() {
		if r := recover(); r != nil {
			rt.unhandledPanic(&PanicError{TaskID: rec.id, Value: fmt.Errorf("deferred World command: %v", r), Stack: debug.Stack()})
		}
	}()
	_ = rt.world.ApplyDeferred() // busy: a task left a query open, reported where it finished
}
