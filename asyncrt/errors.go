package asyncrt

import (
	"errors"
	"fmt"
)

var (
	// ErrAborted is returned by [JoinHandle.Await] for a task that was aborted
	// before it finished, by [JoinHandle.Abort] or by [Runtime.Close].
	ErrAborted = errors.New("asyncrt: task aborted")

	// ErrDeadlock is returned by [BlockOn] when the root task waits on
	// something that can never happen: no task is ready and nothing (a timer,
	// IO, another goroutine) could ever wake one. The root task is unwound
	// before BlockOn returns, so its defers have run.
	ErrDeadlock = errors.New("asyncrt: deadlock: the root task waits on something that can never happen")

	// ErrPoolFull is returned by [SpawnPooled] when the runtime's bounded task
	// pool has no free coroutine.
	ErrPoolFull = errors.New("asyncrt: task pool is full")

	// ErrClosed is returned when the runtime has been closed.
	ErrClosed = errors.New("asyncrt: runtime closed")

	// ErrBusy is returned by [BlockOn] when another BlockOn is already driving
	// the same runtime from another goroutine.
	ErrBusy = errors.New("asyncrt: runtime is already running a BlockOn")

	// ErrJoined is returned by [JoinHandle.Await] when the task's result was
	// already taken by an earlier Await, or the handle was detached.
	ErrJoined = errors.New("asyncrt: task already awaited or detached")

	// ErrInvalidHandle is returned for the zero JoinHandle, or a handle used
	// by a task of a different runtime.
	ErrInvalidHandle = errors.New("asyncrt: invalid join handle")

	// ErrGoexit is returned by [JoinHandle.Await] for a task whose function
	// called runtime.Goexit (for example through testing.T.FailNow). See the
	// package documentation: the task's coroutine cannot be reclaimed.
	ErrGoexit = errors.New("asyncrt: task called runtime.Goexit")
)

var (
	errSuspendWhileBusy = errors.New("asyncrt: a task suspended while its World was busy " +
		"(inside WorldCtx.With, or with an arche query open): finish the World work and close " +
		"the query first, then wait; to change the World's structure later, use WorldCtx.Defer")
	errWorldLeftBusy = errors.New("asyncrt: a task returned with an arche query still open, " +
		"leaving the World locked: close every query (or iterate it to the end)")
)

// PanicError reports a panic in a task. It is returned by
// [JoinHandle.Await] for the task that panicked, and by [BlockOn] for a panic
// in its root task or, under [ReturnPanics], in a task nobody can join.
type PanicError struct {
	// TaskID identifies the task that panicked (see [Task.ID]); 0 for a
	// system.
	TaskID uint64
	// Schedule names the schedule whose system panicked (or failed to
	// initialise); empty for a task.
	Schedule string
	// Value is the value passed to panic.
	Value any
	// Stack is the task's stack trace at the point of the panic.
	Stack []byte
}

// Error describes the panic; the stack is available in Stack.
func (e *PanicError) Error() string {
	if e.Schedule != "" {
		return fmt.Sprintf("asyncrt: a system of schedule %q failed: %v", e.Schedule, e.Value)
	}
	return fmt.Sprintf("asyncrt: task %d panicked: %v", e.TaskID, e.Value)
}

// Unwrap returns the panic value if it is an error, so errors.Is and
// errors.As see through a task's panic(err).
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}
