// Package liveview serves a live view of an Orrery program to a browser:
// an embedded page, a stream of snapshots of the program's state as
// server-sent events, the latest snapshot as JSON, and /metrics in the
// Prometheus text format. The game and trading examples use it for their
// --http flag.
//
// # How state reaches the browser
//
// A program's World (and whatever else its tasks own) may be read only on
// its runtime's thread. So a task on the runtime, Publish, wakes on a
// fixed period, calls the program's build function there — where it may
// read the World — and publishes the immutable value it returns to a Cell.
// HTTP handlers, on goroutines of their own, take the latest value from
// the Cell and encode it (once per snapshot, Snapshot.JSON, off the
// runtime's thread) for each browser. The runtime's cost is the period's
// copy of the state, whatever the number of browsers and whatever they do.
//
// # Why net/http, and why an atomic cell
//
// HTTP runs on net/http's goroutines, not on the runtime's own TCP layer
// (asyncrt/socket). The runtime's sockets belong to its thread: serving
// HTTP there would mean writing an HTTP server on them (net/http's Server,
// promhttp and the browser's keep-alive and streaming behaviour come for
// free the other way), and every byte sent to a browser would be written
// by the runtime's thread — the thread the simulation or the trading loop
// needs. A browser that stops reading would then hold buffers, or tasks,
// on that thread. On net/http goroutines a slow or vanished browser holds
// only its own goroutine, blocked in a write until its deadline.
//
// The hand-off goes the other way from asyncrt's cross-goroutine
// primitives: CrossChan, Forward, Notify and SpawnRemote bring work or
// values from goroutines into a runtime, and RemoteHandle returns one
// result per request. Pulling a snapshot per browser with SpawnRemote
// would let browsers decide how much work the runtime does; the runtime
// has no primitive that pushes a value out to goroutines. tasksync.Watch
// has the semantics wanted (latest value, change notification, slow
// readers skip) but belongs to one runtime's tasks. Cell is that, for
// goroutines: an atomic pointer to the latest snapshot, and a channel that
// is closed when a newer one replaces it. Publishing is a compare-and-swap
// and a close: it never waits for a reader, allocates one small record,
// and a reader that falls behind skips to the newest snapshot — nothing
// queues, whatever a browser does.
//
// # Guarantees
//
//   - Publish never blocks: a subscriber blocked in a write, a stalled TCP
//     connection, a thousand open tabs change nothing on the runtime's
//     thread (TestStalledClientDoesNotSlowThePublisher).
//   - Each stream sends the newest snapshot it can; those it had no time
//     for are counted as skipped, never buffered.
//   - A write that a browser does not take within Config.WriteTimeout ends
//     its stream; at most Config.MaxStreams streams are open at once.
//   - The server listens on loopback only (CheckAddr) and answers only
//     requests addressed to a loopback name, so another site's page cannot
//     read it through DNS rebinding; there is no authentication.
//   - Server.Close ends the streams, shuts the server down and waits for
//     every goroutine it started.
package liveview
