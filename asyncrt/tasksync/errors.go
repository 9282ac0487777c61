package tasksync

import (
	"errors"
	"fmt"

	"github.com/orrery-go/orrery/asyncrt"
)

// The errors of the package. Every error an operation returns names the
// operation and wraps one of these sentinels, so test with [errors.Is]:
//
//	sentinel     returned by                                  meaning
//	ErrClosed    Semaphore.Acquire, OnAcquire                 the semaphore was closed
//	             WatchReceiver.Changed, OnChanged             the watch was closed and its last value seen
//	             Broadcast.Send                               the broadcast was closed
//	             BroadcastReceiver.Recv, TryRecv,             the broadcast was closed and drained,
//	             OnBroadcastRecv                              or the receiver itself was closed
//	ErrLagged    BroadcastReceiver.Recv, TryRecv,             the receiver fell behind by more than the
//	             OnBroadcastRecv                              ring holds; the error is a *LaggedError
//	ErrEmpty     BroadcastReceiver.TryRecv                    nothing to receive yet
//	ErrInvalid   NewSemaphore, Semaphore.Acquire, OnAcquire,  an argument out of range
//	             NewBroadcast
var (
	// ErrClosed reports an operation on a closed primitive. It is distinct
	// from [asyncrt.ErrClosed], which reports a closed runtime.
	ErrClosed = errors.New("tasksync: closed")

	// ErrLagged reports a broadcast receiver that fell behind and missed
	// values. The error returned is a *[LaggedError], which says how many.
	ErrLagged = errors.New("tasksync: receiver lagged")

	// ErrEmpty is returned by [BroadcastReceiver.TryRecv] when no value is
	// waiting for the receiver.
	ErrEmpty = errors.New("tasksync: empty")

	// ErrInvalid reports an argument out of range, such as a negative number
	// of permits or a ring capacity below 1.
	ErrInvalid = errors.New("tasksync: invalid argument")
)

// LaggedError is returned by a broadcast receive when the receiver fell so
// far behind that the values it had not read were overwritten. Missed says
// exactly how many it lost. The receiver's cursor has moved to the oldest
// value still in the ring, so its next receive succeeds.
//
// errors.Is(err, [ErrLagged]) is true for it; use errors.As to read Missed.
type LaggedError struct {
	// Op is the operation that reported the lag, for example
	// "BroadcastReceiver.Recv".
	Op string
	// Missed is the number of values the receiver lost.
	Missed uint64
}

// Error says which operation lagged and by how many values.
func (e *LaggedError) Error() string {
	return fmt.Sprintf("tasksync: %s: receiver lagged behind and missed %d values", e.Op, e.Missed)
}

// Unwrap returns [ErrLagged].
func (e *LaggedError) Unwrap() error { return ErrLagged }

// opError is an error of one operation: "tasksync: <op>: <msg>", wrapping
// one of the sentinels.
type opError struct {
	op, msg string
	err     error
}

func (e *opError) Error() string { return "tasksync: " + e.op + ": " + e.msg }
func (e *opError) Unwrap() error { return e.err }

// The errors operations return on their closed paths are made once, so that
// returning them allocates nothing.
var (
	errAcquireClosed   error = &opError{"Semaphore.Acquire", "semaphore closed", ErrClosed}
	errOnAcquireClosed error = &opError{"OnAcquire", "semaphore closed", ErrClosed}
	errChangedClosed   error = &opError{"WatchReceiver.Changed", "watch closed", ErrClosed}
	errOnChangedClosed error = &opError{"OnChanged", "watch closed", ErrClosed}
	errSendClosed      error = &opError{"Broadcast.Send", "broadcast closed", ErrClosed}
)

// invalid returns an ErrInvalid error of operation op.
func invalid(op, format string, args ...any) error {
	return &opError{op, fmt.Sprintf(format, args...), ErrInvalid}
}

// owner binds a primitive to the runtime whose tasks use it: the runtime of
// the first task that does.
type owner struct{ rt *asyncrt.Runtime }

// bind checks that t may use the primitive in operation op, binding the
// primitive to t's runtime on first use. It panics on misuse.
func (o *owner) bind(t *asyncrt.Task, op, kind string) {
	if t == nil {
		panicNilTask(op)
	}
	_ = t.ID() // asyncrt panics unless t is the running task's own handle
	if rt := t.Runtime(); rt != o.rt {
		if o.rt != nil {
			panicOtherRuntime(op, kind)
		}
		o.rt = rt
	}
}

func panicNilTask(op string) {
	panic("tasksync: " + op + " called with a nil *asyncrt.Task: " +
		"pass the *asyncrt.Task your task function received")
}

func panicOtherRuntime(op, kind string) {
	panic("tasksync: " + op + " called by a task of another runtime: a " + kind +
		" serves the tasks of the runtime that first used it; make one per runtime, " +
		"or connect runtimes with asyncrt.NewCrossChan")
}
