package asyncrt

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestPollHistogramBuckets checks each duration lands in the bucket whose
// bounds hold it, against a linear search of the bounds.
func TestPollHistogramBuckets(t *testing.T) {
	model := func(d time.Duration) int {
		for i := range NumPollBuckets {
			if d <= PollBucketBound(i) {
				return i
			}
		}
		return -1
	}
	ds := []time.Duration{0, 1, time.Microsecond - 1, time.Microsecond, time.Microsecond + 1,
		2 * time.Microsecond, 3 * time.Microsecond, 1023 * time.Microsecond, time.Millisecond,
		time.Second, PollBucketBound(NumPollBuckets - 2), PollBucketBound(NumPollBuckets-2) + 1, time.Hour}
	for d := time.Duration(1); d < 10*time.Second; d = d*3/2 + 7 {
		ds = append(ds, d)
	}
	var h PollHistogram
	want := [NumPollBuckets]uint64{}
	var sum time.Duration
	for _, d := range ds {
		h.add(d)
		want[model(d)]++
		sum += d
	}
	assert.Equal(t, want, h.Counts)
	assert.Equal(t, sum, h.Sum)
	assert.Equal(t, uint64(len(ds)), h.Count())
	assert.Equal(t, time.Microsecond, PollBucketBound(0))
	assert.Equal(t, time.Duration(1<<63-1), PollBucketBound(NumPollBuckets-1))
	assert.Equal(t, time.Duration(1<<63-1), PollBucketBound(-1))
}
