package liveview

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Kind is the Prometheus type of a Metric.
type Kind int

// The kinds of Metric.
const (
	Counter Kind = iota
	Gauge
	Summary
)

// Metric is one metric of a program, read from the latest snapshot of
// its Cell: a scrape never touches the program's state, only what its
// runtime last published.
type Metric[T any] struct {
	// Name and Help are the metric's name and description.
	Name, Help string
	Kind       Kind
	// Labels names the metric's variable labels.
	Labels []string
	// Value gives a counter's or a gauge's series from a snapshot: one
	// call of emit per series, with a value for each label.
	Value func(v T, emit func(value float64, labels ...string))
	// Quantiles gives a summary's series (Kind Summary, no labels).
	Quantiles func(v T) (count uint64, sum float64, quantiles map[float64]float64)
}

// collector is a prometheus.Collector over a cell's latest snapshot.
type collector[T any] struct {
	cell    *Cell[T]
	metrics []Metric[T]
	descs   []*prometheus.Desc
}

// NewCollector returns a collector of metrics read from c's latest
// snapshot, for a registry served at /metrics. Until the first snapshot it
// collects nothing.
func NewCollector[T any](c *Cell[T], metrics ...Metric[T]) (prometheus.Collector, error) {
	col := &collector[T]{cell: c, metrics: metrics}
	for _, m := range metrics {
		switch {
		case m.Kind == Summary && (m.Quantiles == nil || len(m.Labels) > 0):
			return nil, fmt.Errorf("liveview: summary %s needs Quantiles and no labels", m.Name)
		case m.Kind != Summary && m.Value == nil:
			return nil, fmt.Errorf("liveview: metric %s needs a Value", m.Name)
		}
		col.descs = append(col.descs, prometheus.NewDesc(m.Name, m.Help, m.Labels, nil))
	}
	return col, nil
}

func (c *collector[T]) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *collector[T]) Collect(ch chan<- prometheus.Metric) {
	snap := c.cell.Load()
	if snap == nil {
		return
	}
	for i, m := range c.metrics {
		d := c.descs[i]
		if m.Kind == Summary {
			n, sum, q := m.Quantiles(snap.Value)
			ch <- mustOrInvalid(d)(prometheus.NewConstSummary(d, n, sum, q))
			continue
		}
		vt := prometheus.CounterValue
		if m.Kind == Gauge {
			vt = prometheus.GaugeValue
		}
		m.Value(snap.Value, func(v float64, labels ...string) {
			ch <- mustOrInvalid(d)(prometheus.NewConstMetric(d, vt, v, labels...))
		})
	}
}

// mustOrInvalid passes a metric on, or the error that made it impossible
// (wrong label count...), which the registry reports in the scrape.
func mustOrInvalid(d *prometheus.Desc) func(prometheus.Metric, error) prometheus.Metric {
	return func(m prometheus.Metric, err error) prometheus.Metric {
		if err != nil {
			return prometheus.NewInvalidMetric(d, err)
		}
		return m
	}
}
