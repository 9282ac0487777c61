package hdr

import (
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// quantiles is the fixed set of percentiles every model check asks for.
var quantiles = []float64{0, 0.001, 0.1, 1, 10, 25, 33.3, 50, 66.6, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999, 100}

// checkAgainst compares h with sorted, the values recorded into it in
// ascending order: Count, Min, Max and Mean exactly, and every quantile
// against the exact one within the documented bound.
func checkAgainst(t *testing.T, h *Histogram, sorted []int64, extra ...float64) {
	t.Helper()
	n := int64(len(sorted))
	if h.Count() != n {
		t.Fatalf("count %d, want %d", h.Count(), n)
	}
	if n == 0 {
		if h.Min() != 0 || h.Max() != 0 || h.Mean() != 0 || h.ValueAtQuantile(50) != 0 {
			t.Fatalf("empty histogram: min %d max %d mean %v p50 %d", h.Min(), h.Max(), h.Mean(), h.ValueAtQuantile(50))
		}
		return
	}
	if h.Min() != sorted[0] || h.Max() != sorted[n-1] {
		t.Fatalf("min/max %d/%d, want %d/%d", h.Min(), h.Max(), sorted[0], sorted[n-1])
	}
	sum := new(big.Int)
	for _, v := range sorted {
		sum.Add(sum, big.NewInt(v))
	}
	mean, _ := new(big.Rat).SetFrac(sum, big.NewInt(n)).Float64()
	if got := h.Mean(); math.Abs(got-mean) > 1e-12*math.Abs(mean) {
		t.Fatalf("mean %v, want %v", got, mean)
	}
	if got := h.ValueAtQuantile(100); got != h.Max() {
		t.Fatalf("p100 %d, want max %d", got, h.Max())
	}

	pow := int64(math.Pow10(h.SigFigs()))
	unit := int64(1) << (bits.Len64(uint64(h.Lowest())) - 1)
	check := func(q float64) {
		rank := modelRank(q, n)
		x := sorted[rank-1]
		v := h.ValueAtQuantile(q)
		// The documented bound.
		if v < x || v-x > max(x/pow, unit)-1 {
			t.Fatalf("p%v (rank %d of %d): %d, exact %d, bound [%d, %d] (sig %d, lowest %d)",
				q, rank, n, v, x, x, x+max(x/pow, unit)-1, h.SigFigs(), h.Lowest())
		}
		// The bound the histogram is usually described by, which holds
		// whenever the lowest buckets have unit width.
		if unit == 1 && float64(v) > float64(x)*(1+1/float64(pow))+1 {
			t.Fatalf("p%v: %d exceeds %d*(1+10^-%d)+1", q, v, x, h.SigFigs())
		}
		// And exactly what it should be: the top of x's bucket, capped.
		if want := min(h.highestEquivalent(h.index(x)), h.max); v != want {
			t.Fatalf("p%v: %d, want %d", q, v, want)
		}
	}
	for _, q := range quantiles {
		check(q)
	}
	for _, q := range extra {
		check(q)
	}
	if n <= 256 {
		for r := range n {
			check(100 * float64(r+1) / float64(n))
		}
	}
}

// modelRank is the rank ValueAtQuantile is documented to report.
func modelRank(q float64, n int64) int64 {
	q = math.Nextafter(max(0, min(q, 100)), math.Inf(-1))
	return min(max(1, int64(math.Ceil(q*float64(n)/100))), n)
}

// TestRankOfDecimalPercentiles checks that percentiles written in decimal
// select the rank that exact arithmetic on the decimal gives.
func TestRankOfDecimalPercentiles(t *testing.T) {
	qs := []string{"0", "0.001", "0.1", "1", "1.5", "5", "10", "12.5", "25", "33.3", "50", "66.6", "75",
		"90", "95", "99", "99.5", "99.9", "99.95", "99.99", "99.999", "99.9999", "100"}
	for _, s := range qs {
		exact, _ := new(big.Rat).SetString(s)
		q, _ := exact.Float64()
		for n := int64(1); n <= 20_000; n++ {
			// ceil(exact * n / 100), at least 1
			num := new(big.Int).Mul(exact.Num(), big.NewInt(n))
			den := new(big.Int).Mul(exact.Denom(), big.NewInt(100))
			r, m := new(big.Int).DivMod(num, den, new(big.Int))
			want := r.Int64()
			if m.Sign() != 0 {
				want++
			}
			want = max(want, 1)
			if got := modelRank(q, n); got != want {
				t.Fatalf("p%s of %d: rank %d, want %d", s, n, got, want)
			}
		}
	}
}

// FuzzHistogramAgainstModel records fuzzed values into a histogram and a
// slice, and into two halves that are merged, and checks the histogram
// against the sorted slice and the merge against the whole.
func FuzzHistogramAgainstModel(f *testing.F) {
	f.Add([]byte{2, 0, 10, 0, 0, 0, 1, 0, 1, 2, 3, 4})
	f.Add([]byte{4, 4, 20, 7, 5, 0xff, 0xff, 200, 130, 1, 2, 0, 255, 9, 9, 9, 254, 1, 1, 1})
	f.Add([]byte{0, 6, 40, 255, 39, 0xff, 0xff, 0, 38, 0xff, 0xfe, 1, 1, 0, 0, 220})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		lowests := [...]int64{1, 1, 2, 3, 7, 1000, 1024, 12345}
		sig := 1 + int(data[0]%5)
		lowest := lowests[data[1]%8]
		// Keep the counter array small enough to allocate per input:
		// fewer buckets for more significant figures.
		subMag := bits.Len64(uint64(2*math.Pow10(sig) - 1))
		spare := [...]int{30, 20, 12, 6, 3}[sig-1]
		k := 1 + int(data[2])%(subMag+spare)
		highest := lowest<<k + int64(data[3])
		whole, err := New(lowest, highest, sig)
		if err != nil {
			t.Fatalf("New(%d, %d, %d): %v", lowest, highest, sig, err)
		}
		halves := [2]*Histogram{}
		for i := range halves {
			halves[i], _ = New(lowest, highest, sig)
		}
		var recorded []int64
		var overflow int64
		var extra []float64
		for i := 4; i+4 <= len(data); i += 4 {
			kind, m, nb := data[i], int64(data[i+1])<<8|int64(data[i+2]), data[i+3]
			n := int64(1)
			if nb >= 200 {
				n = int64(nb) - 199
			}
			var v int64
			switch kind {
			case 255:
				v = highest + 1 + m
			case 254:
				v = -1 - m
			default:
				// Spread values over the whole range, log-uniformly.
				hi, _ := bits.Mul64(uint64(m)<<48, uint64(highest))
				v = int64(hi >> ((kind & 0x3f) % 40))
			}
			extra = append(extra, float64(nb)/2.55)
			err := whole.RecordN(v, n)
			if err2 := halves[kind>>7&1].RecordN(v, n); (err == nil) != (err2 == nil) {
				t.Fatalf("record %d: %v and %v", v, err, err2)
			}
			if v < 0 || v > highest {
				if err == nil {
					t.Fatalf("record %d above %d: no error", v, highest)
				}
				overflow += n
				continue
			}
			if err != nil {
				t.Fatalf("record %d: %v", v, err)
			}
			for range n {
				recorded = append(recorded, v)
			}
		}
		if whole.Overflow() != overflow {
			t.Fatalf("overflow %d, want %d", whole.Overflow(), overflow)
		}
		slices.Sort(recorded)
		checkAgainst(t, whole, recorded, extra...)

		merged, _ := New(lowest, highest, sig)
		for _, h := range halves {
			if err := merged.Merge(h); err != nil {
				t.Fatal(err)
			}
		}
		assertSame(t, merged, whole)
	})
}

// assertSame fails unless a and b hold the same state.
func assertSame(t *testing.T, a, b *Histogram) {
	t.Helper()
	if !slices.Equal(a.counts, b.counts) || a.count != b.count || a.overflow != b.overflow ||
		a.min != b.min || a.max != b.max || a.sumHi != b.sumHi || a.sumLo != b.sumLo {
		t.Fatalf("histograms differ: count %d/%d overflow %d/%d min %d/%d max %d/%d",
			a.count, b.count, a.overflow, b.overflow, a.min, b.min, a.max, b.max)
	}
}

// TestRandomAgainstModel checks log-uniform random values over a range of
// configurations, including the extremes of the value range.
func TestRandomAgainstModel(t *testing.T) {
	for _, c := range []struct {
		lowest, highest int64
		sig             int
	}{
		{1, 2, 1},
		{1, 3_600_000_000_000, 3},
		{1, 3_600_000_000_000, 2},
		{1, 1 << 40, 5},
		{1, math.MaxInt64, 3},
		{1, math.MaxInt64, 1},
		{1000, 60_000_000_000, 3},
		{1000, 60_000_000_000, 4},
		{1024, 1 << 50, 2},
		{7, 1_000_000, 1},
		{1 << 40, math.MaxInt64, 3},
		{1 << 57, math.MaxInt64, 1},
	} {
		h, err := New(c.lowest, c.highest, c.sig)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		r := rand.New(rand.NewPCG(uint64(c.lowest), uint64(c.sig)))
		var vals []int64
		top := bits.Len64(uint64(c.highest))
		for range 20_000 {
			v := int64(r.Uint64() >> (64 - r.IntN(top+1)))
			if v > c.highest {
				v = c.highest
			}
			if err := h.Record(v); err != nil {
				t.Fatalf("%+v: record %d: %v", c, v, err)
			}
			vals = append(vals, v)
		}
		for _, v := range []int64{0, 1, c.lowest - 1, c.lowest, c.highest - 1, c.highest} {
			if err := h.Record(v); err != nil {
				t.Fatalf("%+v: record %d: %v", c, v, err)
			}
			vals = append(vals, v)
		}
		slices.Sort(vals)
		checkAgainst(t, h, vals)
	}
}

// TestLayout checks that every counter's range is contiguous with the next
// and that values map into the range of their counter.
func TestLayout(t *testing.T) {
	for _, c := range []struct {
		lowest, highest int64
		sig             int
	}{
		{1, 1 << 20, 1}, {1, 1 << 30, 2}, {3, 1 << 33, 3}, {1000, 1 << 40, 2}, {1 << 20, math.MaxInt64, 1},
	} {
		h, err := New(c.lowest, c.highest, c.sig)
		if err != nil {
			t.Fatal(err)
		}
		last := h.index(h.highest)
		if last >= len(h.counts) || last < len(h.counts)-2*h.halfCount {
			t.Fatalf("%+v: highest maps to %d of %d counters", c, last, len(h.counts))
		}
		lo := int64(0)
		for i := 0; i <= last; i++ {
			hi := h.highestEquivalent(i)
			if hi < lo {
				t.Fatalf("%+v: counter %d covers [%d, %d]", c, i, lo, hi)
			}
			for _, v := range []int64{lo, lo + (hi-lo)/2, hi} {
				if v <= h.highest && h.index(v) != i {
					t.Fatalf("%+v: %d maps to %d, want %d", c, v, h.index(v), i)
				}
			}
			if hi >= h.highest {
				break
			}
			lo = hi + 1
		}
	}
}
