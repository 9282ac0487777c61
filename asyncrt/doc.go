// Package asyncrt is Orrery's single-threaded async runtime: coroutine tasks
// driven by an executor on one goroutine locked to one OS thread.
//
// # Tasks
//
// A task is a function func(*Task) T running as a coroutine (made with
// iter.Pull). Only one task runs at a time, on the runtime's thread, and it
// runs until it reaches a suspension point: [Task.Yield], [JoinHandle.Await],
// and the time, IO and channel operations of the rest of the package. There
// it gives the thread back to the executor, which resumes another ready task.
// Code between two suspension points is never interleaved with another task,
// so tasks share data — and the [world.World] — without locks.
//
// [BlockOn] runs a root task and everything it spawns until the root returns.
// [Spawn] starts a task on a coroutine of its own; [SpawnPooled] reuses
// coroutines made in advance, so spawning costs no allocation beyond the
// closure. Both return a [JoinHandle] to await the result, abort the task or
// detach it.
//
// # Cancellation
//
// [JoinHandle.Abort] unwinds a task from its current suspension point: the
// suspension function panics with an internal signal that the task's top
// frame recovers, so the task's deferred calls run (sockets close, resources
// are released) and its Await returns [ErrAborted]. A task that has not
// started never runs. Do not swallow panics you do not recognise with a bare
// recover in a task: re-panic them, as with any Go code that recovers.
// Deferred calls that run during an abort cannot suspend: a suspension point
// reached while unwinding panics again with the same signal.
//
// # Panics
//
// A task's panic is recovered in its coroutine and returned by Await as a
// *[PanicError] carrying the value and the stack. A panic in a task nobody
// can join (a detached task) goes to the runtime's [PanicPolicy]: by default
// the running BlockOn returns it. [Runtime.Close] reports panics of tasks
// whose handles were never awaited.
//
// # Time
//
// Each cycle has an event time, read from the runtime's [Clock] at most once
// ([Task.Now]). [Task.Sleep], [Timeout], [Task.Interval], [After] and
// [Timer] schedule on one hierarchical timer wheel: O(1) to start and stop,
// nothing allocated per timer, and no timer ever fires before its deadline.
// Under a [SimClock] the runtime jumps to the next timer whenever nothing
// else can happen, so simulated hours pass in milliseconds and replay
// identically.
//
// # The loop and idling
//
// Each cycle takes in what other goroutines sent, polls up to
// TasksPerCycle ready tasks (those woken meanwhile wait for the next cycle),
// fires due timers, and every EventInterval cycles checks IO. With nothing
// ready, the runtime parks in epoll until the next timer or a wake-up
// ([Park], the default; it uses no CPU), or keeps polling ([Spin]: lowest
// latency, one busy core). A root waiting on something that can never
// happen ends BlockOn with [ErrDeadlock].
//
// # Other goroutines
//
// [Runtime.Handle] reaches the runtime from any goroutine: [SpawnRemote]
// runs a task there and hands back its result; [Notify] wakes its tasks.
// From a task, [Go] runs blocking code on a goroutine of its own and waits
// for it without stalling the runtime. A parked runtime is woken through an
// eventfd; a busy one finds the work at the start of its next cycle.
// [Runtime.Shutdown] stops gracefully: the shutdown signal fires
// ([Task.ShutdownSignal]; SIGINT and SIGTERM too, with
// [Builder.SignalHandlers]), running tasks get a deadline to finish, and
// stragglers are aborted. A stall watchdog counts tasks that hold the thread
// too long ([Builder.StallThreshold]).
//
// # Networking
//
// [ListenTCP], [DialTCP], [ListenUDP] and [DialUDP] make non-blocking
// sockets registered, edge-triggered, with the runtime's epoll poller. A
// [TCPConn] is a net.Conn inside a task of its runtime (bufio, io.ReadFull,
// encoding/binary and crypto/tls work on it); its operations suspend the
// calling task, one task may read while another writes, and deadlines live
// on the timer wheel. Errors are package net's: io.EOF, net.ErrClosed,
// os.ErrDeadlineExceeded, wrapped syscall.Errno values. [UDPConn] adds
// allocation-free RecvFrom/SendTo on netip.AddrPort and the multicast
// options of a market-data receiver.
//
// # Channels, cancellation and Select
//
// [NewChan] connects the tasks of one runtime (no atomics, no locks);
// [NewCrossChan] carries values from any goroutine into one, and [Forward]
// adapts an ordinary Go channel. A [CancellationToken] tree cancels tasks and
// goroutines alike and offers a context.Context. [Select] waits for the first
// of channel receives and sends, timeouts, cancellation, join handles and
// notifications, and leaves nothing registered with the cases that lost.
// [JoinSet] collects results as tasks finish; [Backoff] spaces out retries.
//
// # Rules for tasks
//
//   - Pass the *Task explicitly, and use it only inside the function it was
//     given to. Each spawned task receives its own.
//   - Never block the thread: a Go channel receive, a mutex held by another
//     goroutine, time.Sleep, or a blocking system call stalls every task on
//     the runtime. Use the runtime's own suspension points instead.
//   - Never call runtime.LockOSThread in a task. Coroutines must be resumed
//     under the thread-lock state they were created with, and the Go runtime
//     treats a mismatch as a fatal error that cannot be recovered.
//   - Never call runtime.Goexit in a task (testing.T.FailNow and
//     require-style assertions call it). The task ends with [ErrGoexit], but
//     its coroutine cannot be reclaimed and stays parked until the process
//     exits. In tests, return errors from tasks and assert outside them.
//   - Task APIs are for tasks of their own runtime. Called from another
//     goroutine, from another task, or from a nested coroutine, they panic
//     with a message saying so; [BlockOn] called from inside one of the
//     runtime's own tasks panics too.
//
// The goroutine checks rely on a goroutine identity read in assembly on
// amd64 and arm64; on other architectures they are off.
package asyncrt
