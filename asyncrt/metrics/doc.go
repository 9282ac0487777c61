// Package metrics exports the counters of an asyncrt runtime to Prometheus.
//
// A [Collector] is a prometheus.Collector for one [asyncrt.Runtime]: register
// it with a registry and serve the registry with promhttp.
//
//	rt, _ := asyncrt.NewBuilder().MeasurePolls(true).Build()
//	c, _ := metrics.NewCollector(rt, metrics.WithConstLabels(prometheus.Labels{"runtime": "feed"}))
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(c)
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The package lives apart from asyncrt so that a program that does not import
// it does not link the Prometheus client: asyncrt itself imports nothing of
// it.
//
// # What is exported
//
// Each scrape reads [asyncrt.Runtime.Stats] once, so the values of one scrape
// come from one snapshot. A scrape runs on a goroutine of its own (promhttp's,
// say), off the runtime's thread: it gets the copy of the counters the runtime
// last published, which may trail the live ones slightly (see Runtime.Stats
// for when it is refreshed; the stall count is always read live), without
// waiting for the runtime's thread.
//
// With the default namespace, "orrery", the metrics are (each field of
// [asyncrt.Stats] has the same meaning here):
//
//	name                                  type       Stats field
//	orrery_tasks_spawned_total            counter    Spawned
//	orrery_tasks_refused_total            counter    SpawnsRefused
//	orrery_tasks_completed_total          counter    Completed
//	orrery_tasks_aborted_total            counter    Aborted
//	orrery_tasks_panicked_total           counter    Panicked
//	orrery_unhandled_panics_total         counter    UnhandledPanics
//	orrery_polls_total                    counter    Polls
//	orrery_cycles_total                   counter    Cycles
//	orrery_timers_fired_total             counter    TimersFired
//	orrery_parks_total                    counter    Parks
//	orrery_spins_total                    counter    Spins
//	orrery_io_polls_total                 counter    IOPolls
//	orrery_scheduler_yields_total         counter    SchedulerYields
//	orrery_stalls_total                   counter    Stalls
//	orrery_live_tasks                     gauge      LiveTasks
//	orrery_pending_timers                 gauge      PendingTimers
//	orrery_registrations                  gauge      Registrations
//	orrery_pool_in_use                    gauge      PoolInUse
//	orrery_pool_capacity                  gauge      PoolCapacity
//	orrery_ready_tasks                    gauge      ReadyTasks
//	orrery_poll_duration_seconds          histogram  PollTimes
//
// The poll-duration histogram has the buckets of [asyncrt.PollHistogram]: upper
// bounds of 1 µs·2^i ([asyncrt.PollBucketBound]), from 1e-06 to about 1.05
// seconds, then +Inf, which holds the polls of the histogram's last,
// unbounded bucket. It is always exposed, so a runtime's series do not come
// and go: on a runtime built without [asyncrt.Builder.MeasurePolls] it stays
// at zero (count 0, sum 0). Build the runtime with MeasurePolls(true) to fill
// it.
//
// # Several runtimes
//
// Give each runtime's collector a constant label that tells them apart, such
// as runtime="feed" and runtime="orders" ([WithConstLabels]), and register
// both with the same registry. Registering two collectors with the same
// namespace and labels fails with a prometheus.AlreadyRegisteredError, as
// it does for any duplicate collector.
package metrics
