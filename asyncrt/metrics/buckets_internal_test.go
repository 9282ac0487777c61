package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// oneMetric is a collector of one ready-made metric.
type oneMetric struct{ m prometheus.Metric }

func (c oneMetric) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }
func (c oneMetric) Collect(ch chan<- prometheus.Metric) { ch <- c.m }

func TestPollBucketsAreCumulativeAndLeaveTheLastToInf(t *testing.T) {
	var h asyncrt.PollHistogram
	h.Counts[0] = 3                        // ≤ 1 µs
	h.Counts[2] = 2                        // (2 µs, 4 µs]
	h.Counts[asyncrt.NumPollBuckets-2] = 1 // (0.52 s, 1.05 s]
	h.Counts[asyncrt.NumPollBuckets-1] = 4 // longer: no upper bound
	h.Sum = 7*time.Second + 500*time.Millisecond

	b := pollBuckets(&h)
	require.Len(t, b, asyncrt.NumPollBuckets-1)
	assert.Equal(t, uint64(3), b[1e-6])
	assert.Equal(t, uint64(3), b[2e-6])
	assert.Equal(t, uint64(5), b[4e-6])
	assert.Equal(t, uint64(5), b[0.524288])
	assert.Equal(t, uint64(6), b[1.048576])

	desc := prometheus.NewDesc("x_poll_duration_seconds", "help", nil, nil)
	m := prometheus.MustNewConstHistogram(desc, h.Count(), h.Sum.Seconds(), b)
	const want = `
# HELP x_poll_duration_seconds help
# TYPE x_poll_duration_seconds histogram
x_poll_duration_seconds_bucket{le="1e-06"} 3
x_poll_duration_seconds_bucket{le="2e-06"} 3
x_poll_duration_seconds_bucket{le="4e-06"} 5
x_poll_duration_seconds_bucket{le="8e-06"} 5
x_poll_duration_seconds_bucket{le="1.6e-05"} 5
x_poll_duration_seconds_bucket{le="3.2e-05"} 5
x_poll_duration_seconds_bucket{le="6.4e-05"} 5
x_poll_duration_seconds_bucket{le="0.000128"} 5
x_poll_duration_seconds_bucket{le="0.000256"} 5
x_poll_duration_seconds_bucket{le="0.000512"} 5
x_poll_duration_seconds_bucket{le="0.001024"} 5
x_poll_duration_seconds_bucket{le="0.002048"} 5
x_poll_duration_seconds_bucket{le="0.004096"} 5
x_poll_duration_seconds_bucket{le="0.008192"} 5
x_poll_duration_seconds_bucket{le="0.016384"} 5
x_poll_duration_seconds_bucket{le="0.032768"} 5
x_poll_duration_seconds_bucket{le="0.065536"} 5
x_poll_duration_seconds_bucket{le="0.131072"} 5
x_poll_duration_seconds_bucket{le="0.262144"} 5
x_poll_duration_seconds_bucket{le="0.524288"} 5
x_poll_duration_seconds_bucket{le="1.048576"} 6
x_poll_duration_seconds_bucket{le="+Inf"} 10
x_poll_duration_seconds_sum 7.5
x_poll_duration_seconds_count 10
`
	require.NoError(t, testutil.CollectAndCompare(oneMetric{m}, strings.NewReader(want)))
}
