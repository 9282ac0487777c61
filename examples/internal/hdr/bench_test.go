package hdr_test

import (
	"math/rand/v2"
	"testing"

	"github.com/orrery-go/orrery/examples/internal/hdr"
)

const benchHighest = 3_600_000_000_000 // an hour in nanoseconds

// benchValues returns 4096 latencies spread log-uniformly over 1ns to ~1s.
func benchValues() []int64 {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]int64, 4096)
	for i := range vals {
		vals[i] = int64(r.Uint64() >> (34 + r.IntN(30)))
	}
	return vals
}

// BenchmarkRecord measures recording one value into a histogram of an hour
// in nanoseconds at 3 significant digits.
func BenchmarkRecord(b *testing.B) {
	h, err := hdr.New(1, benchHighest, 3)
	if err != nil {
		b.Fatal(err)
	}
	vals := benchValues()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := h.Record(vals[i&4095]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordBaselineAppend is the alternative of keeping every sample
// to sort later: appending it to a slice, started afresh every 2^20 samples
// (a window of 8 MiB), so the growth of the slice is part of the cost.
func BenchmarkRecordBaselineAppend(b *testing.B) {
	vals := benchValues()
	var samples []int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if len(samples) == 1<<20 {
			samples = nil
		}
		samples = append(samples, vals[i&4095])
	}
	_ = samples
}

// BenchmarkValueAtQuantile measures a p99 query over a histogram holding
// values from 1ns to ~1s.
func BenchmarkValueAtQuantile(b *testing.B) {
	h, _ := hdr.New(1, benchHighest, 3)
	for _, v := range benchValues() {
		h.Record(v)
	}
	b.ReportAllocs()
	var sink int64
	for b.Loop() {
		sink += h.ValueAtQuantile(99)
	}
	_ = sink
}

// BenchmarkMerge measures merging two histograms holding values from 1ns to
// ~1s.
func BenchmarkMerge(b *testing.B) {
	h, _ := hdr.New(1, benchHighest, 3)
	o, _ := hdr.New(1, benchHighest, 3)
	for _, v := range benchValues() {
		o.Record(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Merge(o); err != nil {
			b.Fatal(err)
		}
	}
}
