package hist

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBucketsAreContiguous checks that bucket bounds tile the value range
// with no gap or overlap, and that each holds values within 1/128.
func TestBucketsAreContiguous(t *testing.T) {
	for i := 1; i < nBuckets; i++ {
		lo := upper(i-1) + 1
		if index(lo) != i || index(upper(i)) != i {
			t.Fatalf("bucket %d: [%d, %d] maps to %d..%d", i, lo, upper(i), index(lo), index(upper(i)))
		}
		if w := upper(i) - lo + 1; lo >= 2*subCount && w*subCount > lo {
			t.Fatalf("bucket %d: width %d is more than 1/%d of %d", i, w, subCount, lo)
		}
	}
}

// TestQuantilesMatchSorting compares quantiles with those of the sorted
// values, allowing the buckets' relative error.
func TestQuantilesMatchSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h, o := New(), New()
	var vals []int64
	for i := range 100_000 {
		v := int64(r.ExpFloat64() * 50_000)
		vals = append(vals, v)
		if i%2 == 0 {
			h.Record(v)
		} else {
			o.Record(v)
		}
	}
	h.Merge(o)
	slices.Sort(vals)
	if h.Count() != uint64(len(vals)) || h.Max() != vals[len(vals)-1] || h.Min() != vals[0] {
		t.Fatalf("count %d max %d min %d, want %d %d %d", h.Count(), h.Max(), h.Min(), len(vals), vals[len(vals)-1], vals[0])
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := max(int(float64(len(vals))*q+0.999999), 1)
		want := vals[rank-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/subCount+1 {
			t.Errorf("q=%v: got %d, want %d (within 1/%d above)", q, got, want, subCount)
		}
	}
}
