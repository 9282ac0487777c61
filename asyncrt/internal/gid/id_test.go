package gid_test

import (
	"iter"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt/internal/gid"
)

// stackID is the number runtime.Stack prints for the calling goroutine.
func stackID(t *testing.T) uint64 {
	buf := make([]byte, 64)
	s := string(buf[:runtime.Stack(buf, false)])
	s = strings.TrimPrefix(s, "goroutine ")
	id, err := strconv.ParseUint(s[:strings.IndexByte(s, ' ')], 10, 64)
	require.NoError(t, err)
	return id
}

func TestCurrentIDMatchesStackTraces(t *testing.T) {
	if !gid.Supported {
		assert.Zero(t, gid.CurrentID())
		t.Skip("goroutine identity not supported on " + runtime.GOARCH)
	}
	require.Equal(t, stackID(t), gid.CurrentID())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { assert.Equal(t, stackID(t), gid.CurrentID()) })
	}
	wg.Wait()
	// A coroutine's number is its own goroutine's.
	next, stop := iter.Pull(func(yield func([2]uint64) bool) {
		yield([2]uint64{stackID(t), gid.CurrentID()})
	})
	defer stop()
	ids, _ := next()
	assert.Equal(t, ids[0], ids[1])
	assert.NotEqual(t, gid.CurrentID(), ids[1])
}

func TestSetRange(t *testing.T) {
	var s gid.Set[int]
	vals := map[uintptr]*int{}
	for i := uintptr(1); i <= 100; i++ {
		v := new(int)
		s.Add(i*16, v)
		vals[i*16] = v
	}
	for i := uintptr(1); i <= 100; i += 3 {
		s.Remove(i * 16)
		delete(vals, i*16)
	}
	seen := map[uintptr]bool{}
	s.Range(func(g uintptr, v *int) bool {
		assert.Same(t, vals[g], v, "g=%d", g)
		assert.False(t, seen[g], "g=%d seen twice", g)
		seen[g] = true
		return true
	})
	assert.Len(t, seen, len(vals))
	n := 0
	s.Range(func(uintptr, *int) bool { n++; return n < 5 })
	assert.Equal(t, 5, n, "stops when f returns false")
	var empty gid.Set[int]
	empty.Range(func(uintptr, *int) bool { t.Fatal("called on an empty set"); return false })
}
