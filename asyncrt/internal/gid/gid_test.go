package gid_test

import (
	"iter"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt/internal/gid"
)

func TestCurrentTellsGoroutinesApart(t *testing.T) {
	if !gid.Supported {
		t.Skip("goroutine identity not supported on " + runtime.GOARCH)
	}
	me := gid.Current()
	require.NotZero(t, me)
	assert.Equal(t, me, gid.Current(), "stable within a goroutine")

	// Stable across stack growth.
	var deep func(n int) uintptr
	deep = func(n int) uintptr {
		var pad [256]byte
		_ = pad
		if n == 0 {
			return gid.Current()
		}
		return deep(n - 1)
	}
	assert.Equal(t, me, deep(200))

	const n = 16
	ids := make(chan uintptr, n)
	var wg sync.WaitGroup
	var start sync.WaitGroup
	start.Add(1)
	for range n {
		wg.Go(func() {
			ids <- gid.Current()
			start.Wait() // keep every goroutine alive until all have reported
		})
	}
	seen := map[uintptr]bool{me: true}
	for range n {
		id := <-ids
		assert.False(t, seen[id], "two live goroutines share an identity")
		seen[id] = true
	}
	start.Done()
	wg.Wait()

	// A coroutine from iter.Pull runs on a goroutine of its own.
	next, stop := iter.Pull(func(yield func(uintptr) bool) {
		for yield(gid.Current()) {
		}
	})
	defer stop()
	a, _ := next()
	b, _ := next()
	assert.Equal(t, a, b)
	assert.NotEqual(t, me, a)
}

func TestSetModel(t *testing.T) {
	var s gid.Set[int]
	model := map[uintptr]bool{}
	assert.False(t, s.Contains(8))
	for i := uintptr(1); i <= 2000; i++ {
		g := i * 424
		s.Add(g, new(int))
		model[g] = true
		if i%3 == 0 {
			s.Remove(g - 424)
			delete(model, g-424)
		}
	}
	s.Add(424*5, new(int)) // re-adding is harmless
	model[424*5] = true
	assert.Equal(t, len(model), s.Len())
	for i := uintptr(0); i <= 2100; i++ {
		g := i * 424
		assert.Equal(t, model[g], s.Contains(g), "g=%d", g)
		assert.Equal(t, model[g], s.Lookup(g) != nil, "g=%d", g)
	}
	v := 7
	s.Add(99*8, &v)
	assert.Same(t, &v, s.Lookup(99*8))
	s.Remove(12345) // removing an absent id is harmless
	assert.False(t, s.Contains(0))
	assert.False(t, s.Contains(^uintptr(0)))
}

func TestSetConcurrentReaders(t *testing.T) {
	var s gid.Set[int]
	const stable = 4243 * 8 // never a multiple of 16, unlike the churn below
	s.Add(stable, new(int))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !s.Contains(stable) {
					t.Error("a stable member vanished during concurrent writes")
					return
				}
			}
		})
	}
	for i := uintptr(1); i < 20000; i++ {
		s.Add(i*16, new(int))
		s.Remove(i * 16)
	}
	close(stop)
	wg.Wait()
}
