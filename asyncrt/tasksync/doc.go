// Package tasksync provides synchronization primitives for the tasks of one
// [asyncrt] runtime:
//
//   - [Semaphore] counts permits: bound how many tasks do something at once
//     (connections open to a venue, orders in flight, a rate budget that a
//     ticker task refills). Waiting tasks are served first come, first
//     served, whatever the number of permits each asks for.
//   - [Watch] holds one value — the latest — and tells its receivers when it
//     changes: configuration, a risk limit, a connection's state. Receivers
//     that fall behind skip the values in between and see the newest.
//   - [Broadcast] fans a stream out to many receivers, each with its own
//     cursor, over a bounded ring: market data to strategies. The sender never
//     waits; a receiver that falls more than the ring's capacity behind is
//     told how many values it missed (a [*LaggedError]) and carries on from
//     the oldest value still held.
//
// Each primitive also offers a case for [asyncrt.Select]: [OnAcquire],
// [OnChanged] and [OnBroadcastRecv].
//
// # Built on the waiting layer alone
//
// The package uses nothing but the exported API of asyncrt's waiting layer —
// [asyncrt.WaitQueue], [asyncrt.Waiter], [asyncrt.Task.Enqueue],
// [asyncrt.Task.Wait] and [asyncrt.SelectCase] — the same API asyncrt's own
// channels and notifications are built on. It is the worked example of a
// source written outside the runtime's package: read it before writing one.
// Waiting allocates nothing (a registration is a node from the runtime's
// pool), and an operation that need not wait registers nothing.
//
// # Rules
//
// The primitives belong to the thread of one runtime. They use no locks and
// no atomics: call their methods only from that runtime's tasks (or its
// systems, on its thread). The first call that passes a task binds the
// primitive to that task's runtime; a task of another runtime then panics. Between runtimes, or with
// other goroutines, use asyncrt's cross-goroutine channels instead.
//
// Every operation that may wait takes the running task, and is a suspension
// point: an aborted task, or one whose [asyncrt.Timeout] expires, unwinds
// from there and gives up its place in line without losing anything — a
// permit or a wake it was handed passes to the next task in line.
//
// Errors returned name the operation (for example "tasksync:
// Semaphore.Acquire: semaphore closed") and wrap one of the sentinels
// described at [ErrClosed]; test them with [errors.Is] and [errors.As].
// Misuse — a nil task, a task of another runtime — panics with a message
// that says what to do instead.
package tasksync
