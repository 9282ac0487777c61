package asyncrt

import "github.com/orrery-go/orrery/asyncrt/internal/gid"

// CurrentTask returns the task of rt that is calling it, or nil if the
// caller is not one of rt's tasks (another goroutine, a system, a task of
// another runtime). It is for adapters to interfaces that take no *Task —
// io.Reader, net.Conn — which must find the calling task themselves, as
// package socket's connections do. Everything else takes the *Task
// explicitly.
func (rt *Runtime) CurrentTask() *Task {
	if gid.Supported {
		// The set maps each coroutine of the runtime to its task, and is safe
		// to read from any goroutine.
		return rt.gs.Lookup(gid.Current())
	}
	return rt.current
}

// OnThread reports whether the caller runs on rt's thread: one of its tasks,
// or its own goroutine (a system, a hook).
func (rt *Runtime) OnThread() bool {
	if !gid.Supported {
		return rt.current != nil
	}
	return rt.onRuntime()
}
