package asyncrt

import (
	"math/bits"
	"time"
)

// NumPollBuckets is the number of buckets of a [PollHistogram].
const NumPollBuckets = 22

// PollHistogram counts task polls — one resumption of a task until it
// suspends, yields or finishes — by how long they held the runtime's thread.
// Bucket i counts the polls that took at most PollBucketBound(i) and more
// than the bound of bucket i-1; the last bucket has no upper bound. It is
// filled only by a runtime built with [Builder.MeasurePolls].
type PollHistogram struct {
	Counts [NumPollBuckets]uint64
	// Sum is the total duration of the polls counted.
	Sum time.Duration
}

// PollBucketBound returns the upper bound of bucket i of a PollHistogram:
// 1 µs·2^i (1 µs, 2 µs, 4 µs ... about 1.05 s for i = 20); the last bucket,
// NumPollBuckets-1, has none and is reported as the largest Duration.
func PollBucketBound(i int) time.Duration {
	if i < 0 || i >= NumPollBuckets-1 {
		return time.Duration(1<<63 - 1)
	}
	return time.Microsecond << i
}

// Count returns the number of polls counted.
func (h *PollHistogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// add counts one poll of duration d.
func (h *PollHistogram) add(d time.Duration) {
	h.Sum += d
	// Bucket i holds (2^(i-1) µs, 2^i µs]: the bit length of (d-1)/1µs.
	i := 0
	if d > time.Microsecond {
		i = bits.Len64(uint64(d-1) / uint64(time.Microsecond))
	}
	h.Counts[min(i, NumPollBuckets-1)]++
}
