// Package hdr implements a high-dynamic-range histogram of int64 values,
// such as latencies in nanoseconds, in the manner of HdrHistogram.
//
// Values are counted in log-linear buckets: each power-of-two range is split
// into equal sub-buckets, enough of them that no bucket is wider than
// 10^-sigFigs of the values it holds, except the lowest ones, whose width is
// set by the lowest discernible value. Recording is O(1) and does not
// allocate; the memory used depends only on the configuration.
//
// # Accuracy
//
// Count, Min, Max and Mean are exact. A quantile is reported as the highest
// value that falls into the same bucket as the exact quantile x (capped at
// Max), so the reported value v satisfies
//
//	x <= v <= x + max(x/10^sigFigs, u) - 1
//
// where u, the width of the lowest buckets, is the largest power of two not
// above the lowest discernible value given to [New]. For x >= u*10^sigFigs
// the relative error is thus below 10^-sigFigs; below that the absolute
// error is below u, so with lowest = 1 such values are exact.
//
// A Histogram is not safe for concurrent use.
package hdr

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// ErrOutOfRange is returned when a recorded value is negative or above the
// highest trackable value.
var ErrOutOfRange = errors.New("hdr: value out of range")

// ErrConfigMismatch is returned when merging histograms that were created
// with different parameters.
var ErrConfigMismatch = errors.New("hdr: histograms have different configurations")

// Histogram counts values in log-linear buckets. Create one with [New].
type Histogram struct {
	lowest, highest int64
	sigFigs         int

	// Bucket layout, as in HdrHistogram.
	unitMag   uint   // log2 of the width of the lowest buckets
	halfMag   uint   // log2 of halfCount
	halfCount int    // sub-buckets in the upper half of a bucket
	subMask   uint64 // (sub-buckets per bucket - 1) << unitMag
	lzBase    int    // 64 - unitMag - log2(sub-buckets per bucket)

	counts       []int64
	count        int64
	overflow     int64
	min, max     int64
	sumHi, sumLo uint64 // the exact sum of the recorded values, in 128 bits
}

// New returns an empty histogram that tracks values from 0 to highest with
// sigFigs significant decimal digits, resolving values no finer than lowest,
// the lowest discernible value. It requires lowest >= 1, highest >= 2*lowest
// and 1 <= sigFigs <= 5, and rejects combinations whose buckets cannot be
// represented in 64 bits.
//
// The histogram holds one int64 counter per bucket, about
// 2^ceil(log2(10^sigFigs)) * (log2(highest/lowest) - log2(10^sigFigs) + 2)
// of them: 33 Ki counters (264 KiB) for lowest 1, highest an hour in
// nanoseconds and 3 significant digits.
func New(lowest, highest int64, sigFigs int) (*Histogram, error) {
	switch {
	case lowest < 1:
		return nil, fmt.Errorf("hdr: lowest discernible value %d is not positive", lowest)
	case highest/2 < lowest:
		return nil, fmt.Errorf("hdr: highest trackable value %d is less than twice the lowest %d", highest, lowest)
	case sigFigs < 1 || sigFigs > 5:
		return nil, fmt.Errorf("hdr: %d significant figures is not in [1, 5]", sigFigs)
	}
	// Values up to 2*10^sigFigs need unit resolution, so a bucket needs at
	// least that many sub-buckets; the upper half of them, at least
	// 10^sigFigs, then spans each power of two above.
	single := int64(2)
	for range sigFigs {
		single *= 10
	}
	subMag := uint(bits.Len64(uint64(single - 1)))
	unitMag := uint(bits.Len64(uint64(lowest)) - 1)
	if unitMag+subMag > 62 {
		return nil, fmt.Errorf("hdr: lowest %d is too large for %d significant figures", lowest, sigFigs)
	}
	h := &Histogram{
		lowest:    lowest,
		highest:   highest,
		sigFigs:   sigFigs,
		unitMag:   unitMag,
		halfMag:   subMag - 1,
		subMask:   (1<<subMag - 1) << unitMag,
		halfCount: 1 << (subMag - 1),
		lzBase:    64 - int(unitMag+subMag),
	}
	// Bucket 0 covers [0, 2^subMag << unitMag); each further bucket doubles
	// the range.
	buckets := 1
	for limit := uint64(1) << (subMag + unitMag); limit <= uint64(highest); limit <<= 1 {
		buckets++
	}
	h.counts = make([]int64, (buckets+1)*h.halfCount)
	return h, nil
}

// Lowest returns the lowest discernible value the histogram was created with.
func (h *Histogram) Lowest() int64 { return h.lowest }

// Highest returns the highest trackable value.
func (h *Histogram) Highest() int64 { return h.highest }

// SigFigs returns the number of significant decimal digits.
func (h *Histogram) SigFigs() int { return h.sigFigs }

// index returns the counter of v, which must be in [0, highest].
func (h *Histogram) index(v int64) int {
	// The bucket is the number of doublings v is past the range of
	// bucket 0; the sub-bucket is v in units of that bucket.
	bucket := h.lzBase - bits.LeadingZeros64(uint64(v)|h.subMask)
	sub := int(v >> (uint(bucket) + h.unitMag))
	return bucket<<h.halfMag + sub
}

// highestEquivalent returns the highest value counted by counter i.
func (h *Histogram) highestEquivalent(i int) int64 {
	bucket := i>>h.halfMag - 1
	sub := i&(h.halfCount-1) + h.halfCount
	if bucket < 0 {
		bucket, sub = 0, sub-h.halfCount
	}
	shift := uint(bucket) + h.unitMag
	// (sub+1) << shift is at most 2^63, so this cannot overflow.
	return int64(sub)<<shift + (int64(1)<<shift - 1)
}

// Record counts one occurrence of v. See [Histogram.RecordN].
func (h *Histogram) Record(v int64) error { return h.RecordN(v, 1) }

// RecordN counts n occurrences of v. A value below the lowest discernible
// value is counted at the resolution of the lowest buckets. A value that is
// negative or above the highest trackable value is not recorded: it is added
// to the Overflow count instead, and RecordN returns an error wrapping
// [ErrOutOfRange]. RecordN also rejects a negative n; n = 0 does nothing.
func (h *Histogram) RecordN(v, n int64) error {
	if n <= 0 {
		if n < 0 {
			return fmt.Errorf("hdr: negative count %d", n)
		}
		return nil
	}
	if v < 0 || v > h.highest {
		h.overflow += n
		return fmt.Errorf("%w: %d not in [0, %d]", ErrOutOfRange, v, h.highest)
	}
	h.counts[h.index(v)] += n
	if h.count == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.count += n
	hi, lo := bits.Mul64(uint64(v), uint64(n))
	var carry uint64
	h.sumLo, carry = bits.Add64(h.sumLo, lo, 0)
	h.sumHi += hi + carry
	return nil
}

// Count returns the number of recorded values.
func (h *Histogram) Count() int64 { return h.count }

// Overflow returns the number of values that were out of range and so not
// recorded.
func (h *Histogram) Overflow() int64 { return h.overflow }

// Min returns the smallest recorded value, or 0 if none was recorded.
func (h *Histogram) Min() int64 { return h.min }

// Max returns the largest recorded value, or 0 if none was recorded.
func (h *Histogram) Max() int64 { return h.max }

// Mean returns the arithmetic mean of the recorded values, or 0 if none was
// recorded.
func (h *Histogram) Mean() float64 {
	if h.count == 0 {
		return 0
	}
	return (float64(h.sumHi)*(1<<64) + float64(h.sumLo)) / float64(h.count)
}

// ValueAtQuantile returns the value at or below which q percent of the
// recorded values fall: the value of rank ceil(q/100 * Count) in sorted
// order (at least 1), reported as the highest value of its bucket but no
// more than Max; see the package documentation for the accuracy. q is a
// percentage, so 50 is the median and 99.9 the 999th per mille; it is
// clamped to [0, 100], and NaN counts as 0. As in HdrHistogram, q is first
// lowered by one unit in the last place, so that floating-point error cannot
// push a whole rank, such as p99.9 of 1000 values, to the next one.
// ValueAtQuantile returns 0 when the histogram is empty. It takes time
// proportional to the number of buckets between Min and Max.
func (h *Histogram) ValueAtQuantile(q float64) int64 {
	if h.count == 0 {
		return 0
	}
	if !(q > 0) { // also NaN
		q = 0
	}
	q = math.Nextafter(min(q, 100), math.Inf(-1))
	rank := min(max(1, int64(math.Ceil(q*float64(h.count)/100))), h.count)
	var seen int64
	last := h.index(h.max)
	for i := h.index(h.min); i <= last; i++ {
		seen += h.counts[i]
		if seen >= rank {
			return min(h.highestEquivalent(i), h.max)
		}
	}
	return h.max // unreachable: the counts add up to Count
}

// Merge adds the values recorded in o, and its Overflow count, to h. Both
// must have been created with the same parameters; otherwise Merge returns
// an error wrapping [ErrConfigMismatch] and leaves h unchanged. Merging a
// histogram into itself doubles every count.
func (h *Histogram) Merge(o *Histogram) error {
	if h.lowest != o.lowest || h.highest != o.highest || h.sigFigs != o.sigFigs {
		return fmt.Errorf("%w: (%d, %d, %d) and (%d, %d, %d)", ErrConfigMismatch,
			h.lowest, h.highest, h.sigFigs, o.lowest, o.highest, o.sigFigs)
	}
	h.overflow += o.overflow
	if o.count == 0 {
		return nil
	}
	first, last := o.index(o.min), o.index(o.max)
	for i := first; i <= last; i++ {
		h.counts[i] += o.counts[i]
	}
	if h.count == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.count += o.count
	var carry uint64
	h.sumLo, carry = bits.Add64(h.sumLo, o.sumLo, 0)
	h.sumHi += o.sumHi + carry
	return nil
}

// Reset removes every recorded value and clears the Overflow count, keeping
// the configuration and the memory.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.count, h.overflow = 0, 0
	h.min, h.max = 0, 0
	h.sumHi, h.sumLo = 0, 0
}
