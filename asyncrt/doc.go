// Package asyncrt is Orrery's single-threaded async runtime: coroutine tasks
// driven by an executor on one goroutine locked to one OS thread. It runs on
// Linux (epoll), amd64 and arm64, and stands alone: a World of state is
// optional and plugs in through the [World] interface.
//
// # Tasks
//
// A task is a function func(*Task) T running as a coroutine (made with
// iter.Pull). Only one task runs at a time, on the runtime's thread, and it
// runs until it reaches a suspension point: [Task.Yield], [JoinHandle.Await],
// [Task.Wait], and the time, IO and channel operations built on them. There
// it gives the thread back to the executor, which resumes another ready task.
// Code between two suspension points is never interleaved with another task,
// so tasks share data without locks.
//
// [BlockOn] runs a root task and everything it spawns until the root returns;
// [Run] does the same for a root that returns only an error. [Spawn] starts a
// task that returns a value (an error included), [SpawnFunc] one that returns
// nothing; both return a [JoinHandle] to await the result ([JoinHandle.Await],
// or [JoinHandle.Wait] for how the task ended), abort the task or detach it.
// Any number of tasks may await one task; the first to resume after it
// finishes takes the result. Whether tasks run on coroutines made for them or
// on a pool of coroutines made in advance is the runtime's choice
// ([Builder.TaskPool]), not the spawner's.
//
// A task costs a little more than a goroutine. Asleep, with 100k of them,
// each holds 3.2 KB of heap and stack the first time: its coroutine (a
// goroutine's stack and descriptor and iter.Pull's state, 2.75 KB) and some
// 450 bytes of its own — its Task (128 bytes), its record (152), its sleep's
// timer (64; a sleep takes no registration) and its share of the runtime's
// index of coroutines and of its ready queue — where a goroutine blocked on
// a channel holds 2.69 KB. The runtime keeps the records and timers of
// tasks that ended for the next ones, as Go keeps goroutine descriptors:
// once a population has come and gone, the next costs 2.4 KB a task against
// 2.2 KB a goroutine (the Idle*Memory benchmarks of this package measure
// both: run alone with -benchtime 1x for the first figure).
// Spawning a task on a pooled coroutine allocates nothing. No cost per
// spawn, timer or wake grows with the number of live tasks (the *WithLive,
// TimerWithPending and ChanWakeWithBlocked benchmarks).
//
// # The waiting layer
//
// A task suspends only by waiting on something, and one mechanism serves
// every source of wake-ups: timers, join handles, channels, [Notify],
// cancellation tokens, IO readiness, [Select], and the sources you write.
//
//   - A registration ([Waiter]) is one wait of one task on one source: a node
//     from the runtime's pool (nothing is allocated per wait) in the source's
//     FIFO queue — a [WaitQueue], or a [SharedWaitQueue] for a source other
//     goroutines feed — made with [Task.Enqueue], [SharedWaitQueue.Enqueue]
//     or [Task.NewWaiter].
//   - The task waits with [Task.Wait] until a registration is woken, in a
//     loop that checks the source's condition (Wait may return for a wake
//     meant for another of its registrations), then ends the registration
//     with [Waiter.Release].
//   - A source wakes the first ([WaitQueue.WakeOne]), the first n or all of
//     its registrations; from another goroutine, through a [Waker]. A wake is
//     delivered once: a registration woken by WakeOne that is cancelled
//     unused — its task aborted, timed out, or chose another Select case —
//     passes the wake to the next registration in line.
//   - A registration belongs to exactly one wait. Waking or cancelling it
//     touches nothing else; each Select timeout and [Waiter.WakeAt] has a
//     timer of its own. A sleep is the one wait that takes no registration,
//     only a timer: a wake of one of the task's registrations while it sleeps
//     does not end the sleep, and its next Wait sees it. Whatever a task
//     still holds when it finishes, or when a [Timeout] unwinds past it, is
//     cancelled for it: nothing outlives its task, and [Stats] reports live
//     registrations and pending timers, both 0 once every task has ended.
//
// The WaitQueue example builds a counting semaphore outside the package with
// this API alone; package tasksync builds Semaphore, Watch and Broadcast the
// same way, and package socket builds TCP and UDP on [RegisterFD]. A source
// of your own becomes a Select case by implementing [SelectCase].
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
// [CancellationToken] trees cancel tasks and goroutines alike.
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
// fires due timers, runs the systems of an attached [World], and every
// EventInterval cycles checks IO. With nothing ready, the runtime parks in
// epoll until the next timer or a wake-up ([Park], the default; it uses no
// CPU), or keeps polling ([Spin]: lowest latency, one busy core). A root
// waiting on something that can never happen — no ready task, no pending
// timer, no registration something outside the tasks could wake (IO, another
// goroutine, a [Waker] handed out) — ends BlockOn with [ErrDeadlock]. The
// runtimes of a [Group] under [Group.Run] are deadlocked together, once each
// waits only on the others.
//
// The Go scheduler preempts a goroutine that has kept its processor for
// 10 ms without passing through the scheduler, and the runtime's goroutine
// never passes through it by itself: tasks are coroutines, and it sleeps in
// a system call. On a locked thread a preemption hands the processor to
// another thread and back, tens of microseconds, at whatever point the
// goroutine was, often in the middle of a task. So before it parks, while
// it has nothing to do, the runtime yields to the scheduler, once every
// 5 ms at most; [Stats].SchedulerYields counts the yields. A runtime that
// never parks ([Spin], or work that always comes within its SpinBeforePark
// window) does not yield: it is preempted while it polls, rarely in a
// task, and its wake-ups fared worse with yields than with preemptions.
//
// # Other goroutines
//
// [Runtime.Handle] reaches the runtime from any goroutine: [SpawnRemote]
// runs a task there and hands back its result ([RemoteHandle.Wait] blocks a
// goroutine, [RemoteHandle.Await] suspends a task of any runtime); [Notify]
// wakes its tasks; a [Waker] wakes one registration. A [Group] starts
// several runtimes, each on its own thread, and runs, spawns onto
// ([SpawnOn]), stops and counts them together. From a task, [Go] runs blocking code on a
// goroutine of its own and waits for it without stalling the runtime. A
// parked runtime is woken through an eventfd; a busy one finds the work at
// the start of its next cycle. What other goroutines post is bounded: cross
// channels by their capacity, remote spawns by [Builder.RemoteSpawnLimit],
// wakes by the registrations waiting. [Runtime.Shutdown] stops gracefully:
// the shutdown signal fires ([Task.ShutdownSignal]; SIGINT and SIGTERM too,
// with [Builder.SignalHandlers]), running tasks get a deadline to finish,
// and stragglers are aborted. A stall watchdog reports tasks that hold the
// thread too long ([Builder.StallThreshold]).
//
// # IO
//
// [RegisterFD] registers any non-blocking descriptor with the runtime's
// epoll poller, edge-triggered: a socket, an eventfd, a timerfd, inotify, a
// library's descriptor. Tasks wait for readiness with [FD.WaitReadable] and
// [FD.WaitWritable], or in Select with [OnReadable] and [OnWritable].
// Package socket (TCP, UDP, net.Conn) is built on exactly that API.
//
// # Channels and Select
//
// [NewChan] connects the tasks of one runtime (no atomics, no locks);
// [NewCrossChan] carries values from any goroutine, or a task of another
// runtime, into one; [Forward] adapts an ordinary Go channel. Any number of
// tasks may send and receive on one channel, served in FIFO order. [Select]
// waits for the first of several cases and leaves nothing registered with
// the cases that lost. [JoinSet] collects results as tasks finish;
// [Backoff] spaces out retries.
//
// # Errors
//
// Misuse — a programming error — panics with a message that says what to do
// instead: a *Task used outside its task or after its function returned, a
// task API called from another goroutine, BlockOn or Close from inside a
// task, suspending while the World is locked, a nil function. Everything
// that can go wrong at run time is a returned error, and every returned
// error names the operation that failed. Test them with errors.Is:
//
//	error              returned by                               meaning
//	ErrClosed          BlockOn, SpawnRemote, RemoteHandle.Wait,  the runtime is closed (or a spawn
//	                   Await of a refused task                    was refused while it shut down)
//	ErrChanClosed      Recv, Send and their Try and Select forms the channel is closed
//	ErrFull            TrySend, TrySpawnRemote                   no room now
//	ErrEmpty           TryRecv                                   no value now
//	ErrAborted         Await, RemoteHandle.Wait                  the task was aborted
//	*PanicError        Await, BlockOn, RemoteHandle.Wait, Go     the task panicked (value and stack)
//	ErrDeadlock        BlockOn; Await of the task itself         nothing could ever wake the root
//	ErrElapsed         Timeout, TimeoutAt                        the deadline passed first
//	ErrJoined          Await, OnJoin                             the result was taken or detached
//	ErrInvalidHandle   Await, OnJoin                             the zero handle, or another runtime's
//	ErrPoolFull        Await, Wait, JoinSet.Next, RemoteHandle   a bounded pool had no free coroutine
//	ErrBusy            BlockOn                                   another BlockOn drives the runtime
//	ErrGoexit          Await                                     the task called runtime.Goexit
//	os.ErrClosed       FD methods                                the descriptor was deregistered
//	os.ErrDeadlineExceeded  FD waits                             the direction's deadline passed
//
// "Runtime closed" and "channel closed" are different errors: errors.Is
// tells them apart.
//
// # Rules for tasks
//
//   - Pass the *Task explicitly. A call takes the *Task when it may suspend
//     the calling task or acts for it: awaits, receives, sleeps, Select,
//     spawning a child (which inherits its World), registering a wait. A
//     call that acts on an object and never suspends takes none: JoinHandle's
//     Abort and Detach, Timer.Stop, TrySend, Notify, Cancel. Those marked safe
//     for any goroutine are; the others check that they run on the
//     runtime's thread and panic otherwise. The only exceptions are the
//     methods of standard interfaces (io.Reader, net.Conn), which may suspend
//     but find the calling task themselves ([Runtime.CurrentTask]). Use a
//     *Task only inside the function it was given to: each spawned task
//     receives its own.
//   - Never block the thread: a Go channel receive, a mutex held by another
//     goroutine, time.Sleep, or a blocking system call stalls every task on
//     the runtime. Use the runtime's own suspension points, or [Go].
//   - Never call runtime.LockOSThread in a task. Coroutines must be resumed
//     under the thread-lock state they were created with, and the Go runtime
//     treats a mismatch as a fatal error that cannot be recovered.
//   - Never call runtime.Goexit in a task (testing.T.FailNow and
//     require-style assertions call it). The task ends with [ErrGoexit], but
//     its coroutine cannot be reclaimed and stays parked until the process
//     exits. In tests, return errors from tasks and assert outside them.
//   - Task APIs are for tasks of their own runtime. Called from another
//     goroutine, from another task, from a nested coroutine, or after the
//     task's function returned, they panic with a message saying so;
//     [BlockOn] called from inside one of the runtime's own tasks panics too.
//
// The goroutine checks rely on a goroutine identity read in assembly on
// amd64 and arm64.
package asyncrt
