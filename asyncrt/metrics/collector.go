package metrics

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orrery-go/orrery/asyncrt"
)

// DefaultNamespace is the prefix of every metric name unless [WithNamespace]
// says otherwise.
const DefaultNamespace = "orrery"

// Option configures a [Collector].
type Option func(*options)

type options struct {
	namespace   string
	constLabels prometheus.Labels
}

// WithNamespace sets the prefix of every metric name (default "orrery"): with
// "feed", the spawn counter is feed_tasks_spawned_total. An empty namespace
// leaves the names unprefixed (tasks_spawned_total). A namespace must be a
// conventional Prometheus name: letters, digits and underscores, not starting
// with a digit.
func WithNamespace(ns string) Option {
	return func(o *options) { o.namespace = ns }
}

// WithConstLabels adds labels with fixed values to every metric, such as
// runtime="feed", so that the collectors of several runtimes can share one
// registry. Label names must be conventional Prometheus names, and may not
// begin with "__" (reserved). The map is copied. Calls add up; a later value
// for a name replaces an earlier one.
func WithConstLabels(labels prometheus.Labels) Option {
	return func(o *options) {
		if o.constLabels == nil {
			o.constLabels = make(prometheus.Labels, len(labels))
		}
		maps.Copy(o.constLabels, labels)
	}
}

// Collector is a prometheus.Collector that exports the [asyncrt.Stats] of one
// runtime. Make it with [NewCollector]. It holds no state of its own beyond
// the metric descriptions, so its methods are safe to call from any goroutine,
// concurrently.
type Collector struct {
	rt       *asyncrt.Runtime
	scalars  []scalar
	pollTime *prometheus.Desc
}

// scalar is one counter or gauge read from a Stats field.
type scalar struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*asyncrt.Stats) float64
}

// scalarDef describes a scalar before its name gets the namespace.
type scalarDef struct {
	name, help string
	kind       prometheus.ValueType
	value      func(*asyncrt.Stats) float64
}

var scalarDefs = []scalarDef{
	{"tasks_spawned_total", "Tasks started, including each BlockOn's root.",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.Spawned) }},
	{"tasks_refused_total", "Spawns refused because a bounded task pool had no free coroutine (ErrPoolFull).",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.SpawnsRefused) }},
	{"tasks_completed_total", "Tasks that returned normally.",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.Completed) }},
	{"tasks_aborted_total", "Tasks that ended by abort (JoinHandle.Abort or Close).",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.Aborted) }},
	{"tasks_panicked_total", "Tasks that panicked or called runtime.Goexit.",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.Panicked) }},
	{"unhandled_panics_total", "Task panics nobody could join (see asyncrt.PanicPolicy).",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.UnhandledPanics) }},
	{"polls_total", "Task polls: resumptions of a task until it suspends, yields or finishes.",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.Polls) }},
	{"cycles_total", "Runs of the executor loop.",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.Cycles) }},
	{"timers_fired_total", "Timers that expired (sleeps, deadlines, ticks).",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.TimersFired) }},
	{"parks_total", "Times the runtime slept in its poller.",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.Parks) }},
	{"spins_total", "Spells of polling before a park (asyncrt.Builder.SpinBeforePark).",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.Spins) }},
	{"io_polls_total", "Checks of the IO poller, parked or not.",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.IOPolls) }},
	{"scheduler_yields_total", "Yields of the runtime's goroutine to the Go scheduler before parking.",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.SchedulerYields) }},
	{"stalls_total", "Stalls the watchdog reported: holders of the runtime's thread past the stall threshold.",
		prometheus.CounterValue, func(s *asyncrt.Stats) float64 { return float64(s.Stalls) }},
	{"live_tasks", "Tasks spawned and not yet finished.",
		prometheus.GaugeValue, func(s *asyncrt.Stats) float64 { return float64(s.LiveTasks) }},
	{"pending_timers", "Timers scheduled and not yet fired.",
		prometheus.GaugeValue, func(s *asyncrt.Stats) float64 { return float64(s.PendingTimers) }},
	{"registrations", "Live registrations of the waiting layer: waits in progress and timers not yet stopped.",
		prometheus.GaugeValue, func(s *asyncrt.Stats) float64 { return float64(s.Registrations) }},
	{"pool_in_use", "Pooled coroutines running a task.",
		prometheus.GaugeValue, func(s *asyncrt.Stats) float64 { return float64(s.PoolInUse) }},
	{"pool_capacity", "Pooled coroutines created so far.",
		prometheus.GaugeValue, func(s *asyncrt.Stats) float64 { return float64(s.PoolCapacity) }},
	{"ready_tasks", "Tasks queued to run.",
		prometheus.GaugeValue, func(s *asyncrt.Stats) float64 { return float64(s.ReadyTasks) }},
}

const pollTimeHelp = "Duration of task polls, how long each held the runtime's thread " +
	"(filled only on a runtime built with Builder.MeasurePolls)."

// conventionalName is a metric or label name any Prometheus server accepts.
var conventionalName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// NewCollector returns a Collector for rt. rt must not be nil; an invalid
// namespace or label name is an error. The Collector reads rt.Stats() once
// per Collect; it keeps working, with the last published values, after rt is
// closed.
func NewCollector(rt *asyncrt.Runtime, opts ...Option) (*Collector, error) {
	if rt == nil {
		return nil, errors.New("metrics: NewCollector called with a nil *asyncrt.Runtime")
	}
	o := options{namespace: DefaultNamespace}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.namespace != "" && !conventionalName.MatchString(o.namespace) {
		return nil, fmt.Errorf("metrics: namespace %q: use letters, digits and underscores, not starting with a digit", o.namespace)
	}
	for name := range o.constLabels {
		if !conventionalName.MatchString(name) || strings.HasPrefix(name, "__") {
			return nil, fmt.Errorf("metrics: label name %q: use letters, digits and underscores, "+
				"not starting with a digit or with \"__\"", name)
		}
	}

	c := &Collector{rt: rt, scalars: make([]scalar, len(scalarDefs))}
	for i, d := range scalarDefs {
		desc := prometheus.NewDesc(prometheus.BuildFQName(o.namespace, "", d.name), d.help, nil, o.constLabels)
		// NewDesc keeps what is wrong with a description (a label value that
		// is not UTF-8, say) until it is used: use it now, so that Collect
		// cannot fail.
		if _, err := prometheus.NewConstMetric(desc, d.kind, 0); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		c.scalars[i] = scalar{desc: desc, kind: d.kind, value: d.value}
	}
	c.pollTime = prometheus.NewDesc(prometheus.BuildFQName(o.namespace, "", "poll_duration_seconds"),
		pollTimeHelp, nil, o.constLabels)
	if _, err := prometheus.NewConstHistogram(c.pollTime, 0, 0, nil); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return c, nil
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range c.scalars {
		ch <- s.desc
	}
	ch <- c.pollTime
}

// Collect implements prometheus.Collector. It reads the runtime's Stats once.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.rt.Stats()
	for _, m := range c.scalars {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(&s))
	}
	ch <- prometheus.MustNewConstHistogram(c.pollTime, s.PollTimes.Count(), s.PollTimes.Sum.Seconds(),
		pollBuckets(&s.PollTimes))
}

// pollBuckets returns the cumulative counts of h by upper bound in seconds.
// The last bucket of h has no upper bound: its polls are in the histogram's
// count (the +Inf bucket) only.
func pollBuckets(h *asyncrt.PollHistogram) map[float64]uint64 {
	buckets := make(map[float64]uint64, asyncrt.NumPollBuckets-1)
	var cum uint64
	for i := range asyncrt.NumPollBuckets - 1 {
		cum += h.Counts[i]
		buckets[asyncrt.PollBucketBound(i).Seconds()] = cum
	}
	return buckets
}
