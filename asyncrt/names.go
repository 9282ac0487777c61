package asyncrt

import (
	"context"
	"runtime/pprof"
	"runtime/trace"
)

// SpawnOption is an option of a spawn ([Spawn], [SpawnFunc] and the
// JoinSet's): see [Named] and [InNode].
type SpawnOption struct {
	name string
	node *Node
}

// Named gives a task a name: it appears in stall reports, panics
// ([PanicError].TaskName), [Task.Name], CPU profiles (the "task" label, on a
// runtime built with [Builder.ProfileLabels]) and execution traces. A task
// without one is named after its function ("main.serve",
// "main.main.func1"), resolved only when the name is needed. Use a few
// stable names (one per kind of task, not per task): each distinct name is
// kept for the runtime's life.
func Named(name string) SpawnOption { return SpawnOption{name: name} }

// taskName is an interned task name and what is derived from it once.
type taskName struct {
	name   string
	labels context.Context // pprof labels {"task": name}; made on first use
}

// nameOf returns the interned name the options give, or nil for none.
func (rt *Runtime) nameOf(opts []SpawnOption) *taskName {
	var name string
	for _, o := range opts {
		if o.name != "" {
			name = o.name
		}
	}
	if name == "" {
		return nil
	}
	n, ok := rt.names[name]
	if !ok {
		if rt.names == nil {
			rt.names = make(map[string]*taskName)
		}
		n = &taskName{name: name}
		rt.names[name] = n
	}
	return n
}

// funcName returns the task name derived from a function entry pc, interned.
func (rt *Runtime) funcName(pc uintptr) *taskName {
	n, ok := rt.fnNames[pc]
	if !ok {
		if rt.fnNames == nil {
			rt.fnNames = make(map[uintptr]*taskName)
		}
		name, _, _ := funcInfo(pc)
		if name == "" {
			name = "unknown"
		}
		n = &taskName{name: name}
		rt.fnNames[pc] = n
	}
	return n
}

// Name returns the task's name: the one given with [Named], or its
// function's.
func (t *Task) Name() string {
	t.check("Task.Name")
	return t.name()
}

// name is Name without the caller check, for the runtime's own reports. It
// reads only what the spawn stored atomically, so the watchdog's goroutine
// may call it too.
func (t *Task) name() string { return nameFrom(t.wdName.Load(), t.wdFn.Load()) }

// nameFrom is a task's name from what its spawn stored: the given name, or
// its function's, found from the function's entry pc.
func nameFrom(n *taskName, pc uintptr) string {
	if n != nil {
		return n.name
	}
	name, _, _ := funcInfo(pc)
	return name
}

// beginJob runs on the task's coroutine before its function: it labels the
// goroutine for CPU profiles and opens a trace task and region while an
// execution trace is being recorded. The returned function ends them.
func (t *Task) beginJob() (end func()) {
	rt := t.rt
	trace := trace.IsEnabled()
	if !rt.cfg.profileLabels && !trace {
		return nil
	}
	n := t.wdName.Load()
	if n == nil {
		n = rt.funcName(t.wdFn.Load())
	}
	if rt.cfg.profileLabels {
		if n.labels == nil {
			n.labels = pprof.WithLabels(context.Background(), pprof.Labels("task", n.name))
		}
		pprof.SetGoroutineLabels(n.labels)
	}
	if trace {
		return traceJob(n.name)
	}
	return nil
}

// traceJob opens a trace task and a region spanning the task's life.
func traceJob(name string) (end func()) {
	ctx, task := trace.NewTask(context.Background(), name)
	region := trace.StartRegion(ctx, name)
	return func() {
		region.End()
		task.End()
	}
}
