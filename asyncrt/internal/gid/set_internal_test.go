package gid

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// probes counts the slots a lookup of g visits.
func (s *Set[V]) probes(g uintptr) int {
	t := s.table.Load()
	mask := uintptr(len(t.keys) - 1)
	n := 1
	for i := hash(g) & mask; ; i = (i + 1) & mask {
		if k := t.keys[i].Load(); k == g || k == 0 {
			return n
		}
		n++
	}
}

// The runtime adds and removes the same few goroutine ids (Go reuses their
// descriptors) beside many long-lived ones. The probe for such an id must
// not grow with the number of cycles: it once did, by one slot per cycle,
// until the next rehash, which with 100k members came every 300k cycles.
func TestSetReusedIDsKeepProbesShort(t *testing.T) {
	var s Set[int]
	for i := uintptr(1); i <= 100_000; i++ {
		s.Add(i*4096, new(int)) // live tasks
	}
	churn := []uintptr{7 * 8, 13 * 8, 21 * 8} // pooled coroutines
	worst := 0
	for range 200_000 {
		for _, g := range churn {
			s.Add(g, new(int))
		}
		for _, g := range churn {
			worst = max(worst, s.probes(g))
			s.Remove(g)
		}
	}
	assert.Less(t, worst, 64, "probe length of a reused id")
	assert.Equal(t, 100_000, s.Len())
	assert.Less(t, s.used-s.n, 64, "tombstones left by the churn")
}

// A set that grows keeps between a quarter and three quarters of its
// slots in use: a table grown too far would cost every task of a large
// population more than the 16 bytes of its entry.
func TestSetGrowsByDoubling(t *testing.T) {
	var s Set[int]
	v := new(int)
	for i := uintptr(1); i <= 300_000; i++ {
		s.Add(i*8, v)
		if i >= 16 {
			size := len(s.table.Load().keys)
			load := float64(s.Len()) / float64(size)
			if load < 0.25 || load > 0.75 {
				t.Fatalf("%d entries in %d slots", s.Len(), size)
			}
		}
	}
}

// FuzzSetModel checks the set against a map under random adds, removes and
// re-adds of a small pool of ids, so that ids collide, clusters form and
// tombstones are reused and emptied.
func FuzzSetModel(f *testing.F) {
	f.Add(uint64(1), uint16(500))
	f.Add(uint64(42), uint16(5000))
	f.Fuzz(func(t *testing.T, seed uint64, ops uint16) {
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		var s Set[int]
		model := map[uintptr]*int{}
		pool := 1 + r.IntN(300)
		for range int(ops) {
			g := uintptr(1+r.IntN(pool)) * 8
			if r.IntN(3) == 0 {
				s.Remove(g)
				delete(model, g)
			} else {
				v := new(int)
				s.Add(g, v)
				model[g] = v
			}
		}
		require.Equal(t, len(model), s.Len())
		for i := 0; i <= pool+1; i++ {
			g := uintptr(i) * 8
			require.Same(t, model[g], s.Lookup(g), "g=%d", g)
			require.Equal(t, model[g] != nil, s.Contains(g), "g=%d", g)
		}
		seen := 0
		s.Range(func(g uintptr, v *int) bool {
			require.Same(t, model[g], v)
			seen++
			return true
		})
		require.Equal(t, len(model), seen)
		// Every slot counted as used is a key or a tombstone.
		tab := s.table.Load()
		if tab == nil {
			require.Zero(t, s.used)
			return
		}
		used := 0
		for i := range tab.keys {
			if tab.keys[i].Load() != 0 {
				used++
			}
		}
		require.Equal(t, s.used, used)
	})
}
