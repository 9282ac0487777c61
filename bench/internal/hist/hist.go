// Package hist is a small latency histogram with log-linear buckets, in the
// manner of HdrHistogram: values below 256 have a bucket each, and every
// power of two above is split into 128 buckets, so a recorded value is known
// to within 1/128 (under 0.8%) of itself. Recording is an index computation
// and an increment, cheap enough for every request of the load generator.
//
// A Histogram is not safe for concurrent use: the load generator keeps one
// per connection and merges them at the end.
package hist

import (
	"math"
	"math/bits"
)

const (
	subBits  = 7
	subCount = 1 << subBits // buckets per power of two
	// maxShift bounds the values kept: anything from 2^(maxShift+subBits+1)
	// ns (about 69 s) up lands in the last bucket, far beyond any run length.
	maxShift = 28
	nBuckets = (maxShift + 2) * subCount
)

// Histogram counts values (nanoseconds in the load generator) in log-linear
// buckets. The zero value is not usable; call New.
type Histogram struct {
	counts []uint64
	total  uint64
	sum    float64
	min    int64
	max    int64
}

// New returns an empty histogram.
func New() *Histogram {
	return &Histogram{counts: make([]uint64, nBuckets), min: math.MaxInt64}
}

func index(v int64) int {
	if v < 2*subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1)
	if shift > maxShift {
		return nBuckets - 1
	}
	return shift*subCount + int(v>>shift)
}

// upper returns the largest value that falls in bucket i.
func upper(i int) int64 {
	if i < 2*subCount {
		return int64(i)
	}
	shift := i/subCount - 1
	m := int64(i - shift*subCount)
	return (m+1)<<shift - 1
}

// Record adds one value.
func (h *Histogram) Record(v int64) {
	h.counts[index(v)]++
	h.total++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max returns the largest value recorded, or 0 if there is none.
func (h *Histogram) Max() int64 {
	if h.total == 0 {
		return 0
	}
	return h.max
}

// Min returns the smallest value recorded, or 0 if there is none.
func (h *Histogram) Min() int64 {
	if h.total == 0 {
		return 0
	}
	return h.min
}

// Mean returns the mean of the values recorded, or 0 if there is none.
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return h.sum / float64(h.total)
}

// Quantile returns the value at quantile q (0.99 for p99): the upper bound
// of the bucket holding the ceil(q·n)-th smallest value, capped at the
// largest value recorded, so it overstates by less than 1/128, never
// understates. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(upper(i), h.max)
		}
	}
	return h.max
}
