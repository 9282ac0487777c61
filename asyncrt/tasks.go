package asyncrt

import (
	"fmt"
	"slices"
)

// TaskInfo describes an unfinished task, for debug output (see
// [Runtime.Tasks]).
type TaskInfo struct {
	ID   uint64
	Name string // see Task.Name
	// State is "ready" (spawned, not yet run), "running" (running now, or
	// queued to run again after a Yield or a wake) or "suspended" (waiting).
	State string
	// Waits is the number of waits the task has registered (see Task.Wait).
	Waits int
}

// String formats the task as a line of debug output.
func (ti TaskInfo) String() string {
	return fmt.Sprintf("task %d %q %s, %d waits", ti.ID, ti.Name, ti.State, ti.Waits)
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
