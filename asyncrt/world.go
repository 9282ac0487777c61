package asyncrt

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/orrery-go/orrery/asyncrt/internal/wheel"
)

// World is the state a runtime drives besides its tasks, plugged in with
// [Builder.World]: package world's World is one, and the runtime knows it
// only through this interface. The runtime calls these methods on its own
// thread, never concurrently.
type World interface {
	// Locked reports whether the World is in the middle of an operation
	// that another task must not see (an open query, a scoped callback). A
	// task that suspends while its World is locked panics with a message
	// that says so.
	Locked() bool
	// HasDeferred reports whether commands wait for a safe point, and
	// ApplyDeferred applies them. The runtime applies them after a task
	// poll that leaves the World unlocked.
	HasDeferred() bool
	ApplyDeferred() error
	// TaskEnded is called when one of the World's tasks has finished. An
	// error (a query it left open, say) is reported as that task's panic.
	TaskEnded() error
	// SchedulesVersion changes whenever systems are added, so that the
	// runtime knows to call RunSystems again.
	SchedulesVersion() uint64
	// RunSystems runs the systems due at now: those that tick every cycle,
	// and fixed-rate ticks whose time has come. It returns when the next
	// fixed-rate tick is due (the zero Time if none is scheduled) and
	// whether some systems tick every cycle. The runtime calls it at most
	// once per cycle: every cycle if everyCycle, otherwise when next comes
	// or SchedulesVersion changes. Failed systems are reported as err.
	RunSystems(now time.Time) (next time.Time, everyCycle bool, err error)
	// Finalize runs the systems' tear-down when the runtime closes.
	Finalize()
}

// World returns the World of t's runtime that t works on: the one given to
// [Builder.World], inherited by every task a task spawns. It is nil for a
// runtime without a World. Reach it through package worldctx.
func (t *Task) World() World {
	t.check("Task.World")
	return t.world
}

// worldRun is an attached World and the state of its systems.
type worldRun struct {
	w          World
	version    uint64
	everyCycle bool
	timer      wheel.Timer // fires at the next fixed-rate tick
	due        bool        // the timer fired: run systems this cycle
}

// attachWorlds readies the Worlds given to the builder.
func (rt *Runtime) attachWorlds(ws []World) {
	for _, w := range ws {
		rt.worlds = append(rt.worlds, &worldRun{w: w, version: ^uint64(0)})
	}
	if len(rt.worlds) > 0 {
		rt.cycleExtras++
	}
}

// runWorlds runs the systems of the Worlds that need it this cycle.
func (rt *Runtime) runWorlds() {
	for i, wr := range rt.worlds {
		v := wr.w.SchedulesVersion()
		if !wr.everyCycle && !wr.due && v == wr.version {
			continue
		}
		wr.version, wr.due = v, false
		rt.timers.Cancel(wr.timer)
		wr.timer = wheel.Timer{}
		next, every, err := rt.runSystems(wr.w)
		wr.everyCycle = every
		if !next.IsZero() {
			wr.timer = rt.timers.Schedule(rt.toNanos(next), timerEvent{arg: uint64(i), kind: timerSchedule})
		}
		if err != nil {
			rt.unhandledPanic(&PanicError{Value: err})
		}
	}
}

// runSystems calls w.RunSystems, turning a panic that escapes it into an
// error.
func (rt *Runtime) runSystems(w World) (next time.Time, every bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: fmt.Errorf("World systems: %v", r), Stack: debug.Stack()}
		}
	}()
	return w.RunSystems(rt.epoch.Add(time.Duration(rt.eventTime())))
}

// worldDue marks World i's systems due at the end of this cycle.
func (rt *Runtime) worldDue(i int) {
	if i < len(rt.worlds) {
		rt.worlds[i].timer = wheel.Timer{}
		rt.worlds[i].due = true
	}
}

// applyDeferred applies w's deferred commands after a poll of the task id.
func (rt *Runtime) applyDeferred(w World, id uint64) {
	defer func() {
		if r := recover(); r != nil {
			rt.unhandledPanic(&PanicError{TaskID: id, Value: fmt.Errorf("deferred World command: %v", r), Stack: debug.Stack()})
		}
	}()
	_ = w.ApplyDeferred() // refused while locked: the task that locked it is reported where it finished
}

// finalizeWorlds runs the Worlds' Finalize hooks; a panic there is recorded
// like any unjoined panic.
func (rt *Runtime) finalizeWorlds() {
	for _, wr := range rt.worlds {
		func() {
			defer func() {
				if r := recover(); r != nil {
					rt.closeStats.UnjoinedPanics = append(rt.closeStats.UnjoinedPanics,
						&PanicError{Value: fmt.Errorf("World finalize: %v", r), Stack: debug.Stack()})
				}
			}()
			wr.w.Finalize()
		}()
	}
}
