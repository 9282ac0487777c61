package slab_test

import (
	"errors"
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/slab"
)

func TestNewRejectsBadSizes(t *testing.T) {
	// One past the 2^32-3 entries a key can address.
	for _, c := range []int{0, -1, math.MaxUint32 - 1} {
		_, err := slab.New[int](c)
		assert.Error(t, err, "capacity %d", c)
	}
	_, err := slab.NewUnbounded[int](-5)
	assert.Error(t, err)
	_, err = slab.NewUnbounded[int](1 << 31)
	assert.Error(t, err)
}

func TestBoundedFullAndReuse(t *testing.T) {
	s, err := slab.New[string](2)
	require.NoError(t, err)
	assert.True(t, s.Bounded())
	assert.Equal(t, 2, s.Cap())

	a, err := s.Insert("a")
	require.NoError(t, err)
	b, err := s.Insert("b")
	require.NoError(t, err)
	_, err = s.Insert("c")
	assert.ErrorIs(t, err, slab.ErrFull)
	_, err = s.Claim()
	assert.ErrorIs(t, err, slab.ErrFull)
	assert.Equal(t, 2, s.Len())

	v, ok := s.Remove(a)
	require.True(t, ok)
	assert.Equal(t, "a", v)

	c, err := s.Insert("c")
	require.NoError(t, err)
	assert.NotEqual(t, a, c, "a reused slot must get a new key")

	_, ok = s.Get(a)
	assert.False(t, ok, "stale key must not reach the new occupant")
	_, ok = s.Remove(a)
	assert.False(t, ok, "stale key must not remove the new occupant")
	p, ok := s.Get(c)
	require.True(t, ok)
	assert.Equal(t, "c", *p)
	p, ok = s.Get(b)
	require.True(t, ok)
	assert.Equal(t, "b", *p)
}

func TestForeignAndZeroKeys(t *testing.T) {
	s1, _ := slab.New[int](4)
	s2, _ := slab.New[int](4)
	k1, _ := s1.Insert(1)
	k2, _ := s2.Insert(2)
	// Same slot and generation in both slabs: only the owner tells them apart.
	_, ok := s1.Get(k2)
	assert.False(t, ok)
	_, ok = s2.Remove(k1)
	assert.False(t, ok)
	assert.False(t, s1.Contains(slab.Key{}))
	assert.True(t, slab.Key{}.IsZero())
	assert.False(t, k1.IsZero())
	assert.Equal(t, "slab.Key{}", slab.Key{}.String())
	assert.Contains(t, k1.String(), "slot 0")
	assert.Equal(t, 1, s2.Len())
}

func TestUnboundedPointersStayValid(t *testing.T) {
	s, err := slab.NewUnbounded[[4]int](3) // rounded up to 4
	require.NoError(t, err)
	assert.False(t, s.Bounded())
	type held struct {
		k slab.Key
		p *[4]int
	}
	var all []held
	for i := range 1000 {
		k, err := s.Insert([4]int{i, i, i, i})
		require.NoError(t, err)
		p, ok := s.Get(k)
		require.True(t, ok)
		all = append(all, held{k, p})
	}
	assert.Equal(t, 1000, s.Cap())
	for i, h := range all {
		p, ok := s.Get(h.k)
		require.True(t, ok)
		assert.Same(t, h.p, p, "entry %d moved", i)
		assert.Equal(t, i, p[0])
	}
}

func TestClaimFillRelease(t *testing.T) {
	s, _ := slab.New[int](2)
	c, err := s.Claim()
	require.NoError(t, err)
	assert.Equal(t, 0, s.Len(), "a claim is not an entry")
	_, ok := s.Get(c.Key())
	assert.False(t, ok, "a claimed slot is not visible")
	for range s.All() {
		t.Fatal("a claimed slot must not be iterated")
	}

	p, err := c.Fill(7)
	require.NoError(t, err)
	assert.Equal(t, 7, *p)
	got, ok := s.Get(c.Key())
	require.True(t, ok)
	assert.Same(t, p, got)
	_, err = c.Fill(8)
	assert.ErrorIs(t, err, slab.ErrStaleClaim)
	assert.ErrorIs(t, c.Release(), slab.ErrStaleClaim)

	c2, err := s.Claim()
	require.NoError(t, err)
	require.NoError(t, c2.Release())
	assert.ErrorIs(t, c2.Release(), slab.ErrStaleClaim)
	_, err = c2.Fill(1)
	assert.ErrorIs(t, err, slab.ErrStaleClaim)
	assert.Equal(t, 1, s.Len())

	var zero slab.Claim[int]
	_, err = zero.Fill(1)
	assert.ErrorIs(t, err, slab.ErrStaleClaim)
	assert.ErrorIs(t, zero.Release(), slab.ErrStaleClaim)
}

func TestAllAndClear(t *testing.T) {
	s, _ := slab.NewUnbounded[int](2)
	keys := map[slab.Key]int{}
	for i := range 7 {
		k, _ := s.Insert(i)
		keys[k] = i
	}
	var drop []slab.Key
	for k := range keys {
		if keys[k]%2 == 1 {
			drop = append(drop, k)
		}
	}
	for _, k := range drop {
		s.Remove(k)
		delete(keys, k)
	}
	seen := map[slab.Key]int{}
	for k, p := range s.All() {
		seen[k] = *p
		s.Remove(k) // removing the visited entry is allowed
	}
	assert.Equal(t, keys, seen)
	assert.Equal(t, 0, s.Len())

	k, _ := s.Insert(1)
	c, _ := s.Claim()
	s.Clear()
	assert.Equal(t, 0, s.Len())
	assert.False(t, s.Contains(k))
	_, err := c.Fill(2)
	assert.ErrorIs(t, err, slab.ErrStaleClaim)
	k2, err := s.Insert(3)
	require.NoError(t, err)
	assert.True(t, s.Contains(k2))
}

func TestAllStopsEarly(t *testing.T) {
	s, _ := slab.New[int](8)
	for i := range 8 {
		_, _ = s.Insert(i)
	}
	n := 0
	for range s.All() {
		n++
		if n == 3 {
			break
		}
	}
	assert.Equal(t, 3, n)
}

func TestRemoveDropsReference(t *testing.T) {
	// A removed entry must not keep what it pointed to alive through the slab.
	s, _ := slab.New[*[64]byte](1)
	freed := make(chan struct{})
	func() {
		obj := new([64]byte)
		runtime.AddCleanup(obj, func(ch chan struct{}) { close(ch) }, freed)
		k, _ := s.Insert(obj)
		_, ok := s.Remove(k)
		require.True(t, ok)
	}()
	// A cleanup runs on its own goroutine some time after the collection
	// that found the object unreachable; runtime.GC waits for the sweep,
	// and yielding lets the cleanup goroutine run. A few collections are
	// enough for an unreachable object; a reachable one is never freed.
	for range 100 {
		runtime.GC()
		for range 100 {
			select {
			case <-freed:
				runtime.KeepAlive(s)
				return
			default:
				runtime.Gosched()
			}
		}
	}
	runtime.KeepAlive(s)
	t.Fatal("the removed value is still reachable from the slab")
}

func TestErrorsAreDistinct(t *testing.T) {
	assert.False(t, errors.Is(slab.ErrFull, slab.ErrStaleClaim))
}

func TestIndexAndAt(t *testing.T) {
	s, _ := slab.NewUnbounded[string](2)
	a, _ := s.Insert("a")
	b, _ := s.Insert("b")
	c, _ := s.Insert("c") // in the second chunk
	for k, want := range map[slab.Key]string{a: "a", b: "b", c: "c"} {
		key, p, ok := s.At(k.Index())
		require.True(t, ok)
		assert.Equal(t, want, *p)
		assert.Equal(t, k, key)
	}
	s.Remove(b)
	_, _, ok := s.At(b.Index())
	assert.False(t, ok, "a free slot has no entry")
	_, _, ok = s.At(1000)
	assert.False(t, ok, "out of range")
	cl, _ := s.Claim()
	_, _, ok = s.At(cl.Key().Index())
	assert.False(t, ok, "a claimed slot has no entry yet")
}

func TestAllocAndDelete(t *testing.T) {
	s, _ := slab.New[[3]int](1)
	k, p, err := s.Alloc()
	require.NoError(t, err)
	assert.Equal(t, [3]int{}, *p, "allocated entries start zeroed")
	p[1] = 5
	got, ok := s.Get(k)
	require.True(t, ok)
	assert.Equal(t, 5, got[1])
	_, _, err = s.Alloc()
	assert.ErrorIs(t, err, slab.ErrFull)
	assert.True(t, s.Delete(k))
	assert.False(t, s.Delete(k), "deleted twice")
	assert.Equal(t, 0, s.Len())
	k2, p2, err := s.Alloc()
	require.NoError(t, err)
	assert.Equal(t, [3]int{}, *p2, "a reused slot starts zeroed")
	assert.NotEqual(t, k, k2)
}
