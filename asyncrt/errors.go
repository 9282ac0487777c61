package asyncrt

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrAborted is returned by [JoinHandle.Await] for a task that was aborted
	// before it finished, by [JoinHandle.Abort] or by [Runtime.Close].
	ErrAborted = errors.New("asyncrt: task aborted")

	// ErrDeadlock is returned by [BlockOn] when the root task waits on
	// something that can never happen: no task is ready and nothing (a timer,
	// IO, another goroutine) could ever wake one. The root task is unwound
	// before BlockOn returns, so its defers have run. Under [Group.Run] the
	// group decides: its runtimes are deadlocked once all of them wait on
	// one another (see [Group]).
	ErrDeadlock = errors.New("asyncrt: deadlock: the root task waits on something that can never happen")

	// ErrPoolFull reports a task that was not started because the runtime's
	// bounded task pool had no free coroutine (see [Builder.TaskPool]): its
	// handle's Await and Wait return it.
	ErrPoolFull = errors.New("asyncrt: task pool is full")

	// ErrClosed is returned when the runtime has been closed. It is not
	// ErrChanClosed: errors.Is tells the two apart.
	ErrClosed = errors.New("asyncrt: runtime closed")

	// ErrChanClosed is returned by channel operations once the channel is
	// closed: every sender closed and the buffer drained, or the receiver
	// closed.
	ErrChanClosed = errors.New("asyncrt: channel closed")

	// ErrFull is returned by TrySend on a full channel, and by
	// TrySpawnRemote when the runtime holds its limit of pending spawns.
	ErrFull = errors.New("asyncrt: full")

	// ErrEmpty is returned by TryRecv on an empty channel.
	ErrEmpty = errors.New("asyncrt: channel empty")

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

// opError names the operation that failed around one of the errors above.
// The package's instances are made once, so returning one allocates
// nothing.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "asyncrt: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "asyncrt: ")
}

func (e *opError) Unwrap() error { return e.err }

var (
	errRecvClosed         error = &opError{"Receiver.Recv", ErrChanClosed}
	errTryRecvClosed      error = &opError{"Receiver.TryRecv", ErrChanClosed}
	errTryRecvEmpty       error = &opError{"Receiver.TryRecv", ErrEmpty}
	errCrossRecvClosed    error = &opError{"CrossReceiver.Recv", ErrChanClosed}
	errCrossTryRecvClosed error = &opError{"CrossReceiver.TryRecv", ErrChanClosed}
	errCrossTryRecvEmpty  error = &opError{"CrossReceiver.TryRecv", ErrEmpty}
	errSelectRecvClosed   error = &opError{"OnRecv", ErrChanClosed}
	errInboxFull          error = &opError{"TrySpawnRemote", ErrFull}
)

// errSuspendWhileBusy is what a task that suspends with its World locked
// panics with.
var errSuspendWhileBusy = errors.New("asyncrt: a task suspended while its World was locked " +
	"(inside worldctx's With, or with a query open): finish the World work and close " +
	"the query first, then wait; to change the World's structure later, defer the change")

// PanicError reports a panic in a task. It is returned by
// [JoinHandle.Await] for the task that panicked, and by [BlockOn] for a panic
// in its root task or, under [ReturnPanics], in a task nobody can join.
type PanicError struct {
	// TaskID identifies the task that panicked (see [Task.ID]); 0 for a
	// World's systems, whose error is then the Value.
	TaskID uint64
	// TaskName is the task's name (see [Named] and [Task.Name]); "" for a
	// World's systems.
	TaskName string
	// Value is the value passed to panic.
	Value any
	// Stack is the task's stack trace at the point of the panic.
	Stack []byte
}

// Error describes the panic; the stack is available in Stack.
func (e *PanicError) Error() string {
	if e.TaskID == 0 {
		return fmt.Sprintf("asyncrt: %v", e.Value)
	}
	if e.TaskName != "" {
		return fmt.Sprintf("asyncrt: task %d (%s) panicked: %v", e.TaskID, e.TaskName, e.Value)
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
