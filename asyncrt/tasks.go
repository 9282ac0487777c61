package asyncrt

import (
	"fmt"
	"slices"
	"time"
)

// TaskInfo describes an unfinished task, for debug output (see
// [Runtime.Tasks]).
type TaskInfo struct {
	ID   uint64
	Name string // see Task.Name
	// State is "ready" (spawned, not yet run), "running" (running now, or
	// queued to run again after a Yield or a wake), "sleeping" (suspended in
	// Sleep, SleepUntil, Timer.Wait or Interval.Tick, until Until) or
	// "suspended" (waiting on its registrations).
	State string
	// Until is when a sleeping task's sleep ends, on the runtime's clock;
	// zero for the other states.
	Until time.Time
	// Waits is the number of waits the task has registered (see Task.Wait).
	// A sleep is not one of them: it holds a timer, not a registration.
	Waits int
}

// String formats the task as a line of debug output.
func (ti TaskInfo) String() string {
	state := ti.State
	if !ti.Until.IsZero() {
		state += " until " + ti.Until.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("task %d %q %s, %d waits", ti.ID, ti.Name, state, ti.Waits)
}

// Tasks lists the runtime's unfinished tasks in the order they were
// spawned: what a debug endpoint or a shutdown log prints when something
// does not end. Call it from one of the runtime's tasks; from another
// goroutine it panics (the list changes under the runtime's thread).
func (rt *Runtime) Tasks() []TaskInfo {
	rt.mustBeOnRuntime("Runtime.Tasks")
	var out []TaskInfo
	for _, rec := range rt.tasks.All() {
		if rec.state == stateDone || rec.task == nil {
			continue
		}
		ti := TaskInfo{ID: rec.id, Name: rec.task.name(), Waits: int(rec.task.waits)}
		switch rec.state {
		case stateReady:
			ti.State = "ready"
		case stateRunning:
			ti.State = "running"
		case stateSuspended:
			ti.State = "suspended"
			if at, ok := rt.timers.Deadline(rec.sleep); ok {
				ti.State, ti.Until = "sleeping", rt.epoch.Add(time.Duration(at))
			}
		}
		out = append(out, ti)
	}
	slices.SortFunc(out, func(a, b TaskInfo) int { return cmpU64(a.ID, b.ID) })
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
