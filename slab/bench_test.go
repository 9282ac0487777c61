package slab_test

import (
	"testing"

	"github.com/orrery-go/orrery/slab"
)

// benchEntry is the size of a typical small record: a few words.
type benchEntry struct {
	a, b, c uint64
}

// BenchmarkSlabInsertRemove measures one Insert plus one Remove on a warm
// slab that holds 1,000 other entries.
func BenchmarkSlabInsertRemove(b *testing.B) {
	s, _ := slab.NewUnbounded[benchEntry](0)
	for i := range 1000 {
		_, _ = s.Insert(benchEntry{a: uint64(i), b: 1, c: 2})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k, err := s.Insert(benchEntry{a: uint64(i), b: 1, c: 2})
		if err != nil {
			b.Fatal(err)
		}
		s.Remove(k)
	}
}

// BenchmarkMapInsertDelete is the Go baseline: a map keyed by a counter, which
// is what a slab usually replaces.
func BenchmarkMapInsertDelete(b *testing.B) {
	m := make(map[uint64]benchEntry, 1024)
	for i := range 1000 {
		m[uint64(i)] = benchEntry{a: uint64(i), b: 1, c: 2}
	}
	b.ReportAllocs()
	for i := uint64(1000); b.Loop(); i++ {
		m[i] = benchEntry{a: i, b: 1, c: 2}
		delete(m, i)
	}
}

// BenchmarkSlabGet measures a generation-checked lookup.
func BenchmarkSlabGet(b *testing.B) {
	s, _ := slab.NewUnbounded[benchEntry](0)
	keys := make([]slab.Key, 1024)
	for i := range keys {
		keys[i], _ = s.Insert(benchEntry{a: uint64(i), b: 1, c: 2})
	}
	b.ReportAllocs()
	var sum uint64
	for i := 0; b.Loop(); i++ {
		p, _ := s.Get(keys[i&1023])
		sum += p.a
	}
	_ = sum
}
