// Package gid identifies goroutines cheaply, so that the runtime can tell its
// own goroutine and its tasks' coroutines from any other goroutine.
//
// Go deliberately offers no goroutine identity. The runtime needs one for a
// narrow purpose: to turn misuse (a task's handle used from a foreign
// goroutine, a task yielding from a nested coroutine) into a clear panic
// instead of a corrupted coroutine switch. Current returns the address of the
// calling goroutine's runtime descriptor, read with one instruction of
// assembly on amd64 and arm64. The value is only compared, never dereferenced,
// and is valid while the goroutine lives: the Go runtime may reuse the
// descriptor for a new goroutine after this one exits.
package gid

import "sync/atomic"

// Set maps goroutine identities to values of type V, with a single writer
// and any number of concurrent readers: Add and Remove must be called from
// one goroutine at a time (the runtime's thread), Contains and Lookup from
// anywhere, without a data race.
type Set[V any] struct {
	table atomic.Pointer[table[V]]
	n     int // live entries, writer only
	used  int // live entries plus tombstones, writer only
}

type table[V any] struct {
	keys []atomic.Uintptr
	vals []atomic.Pointer[V]
}

const tombstone = ^uintptr(0)

// Contains reports whether g is in the set. It is safe for concurrent use.
func (s *Set[V]) Contains(g uintptr) bool {
	_, ok := s.find(g)
	return ok
}

// Lookup returns the value stored with g, or nil. It is safe for
// concurrent use.
func (s *Set[V]) Lookup(g uintptr) *V {
	if v, ok := s.find(g); ok {
		return v
	}
	return nil
}

func (s *Set[V]) find(g uintptr) (*V, bool) {
	if g == 0 || g == tombstone {
		return nil, false
	}
	t := s.table.Load()
	if t == nil {
		return nil, false
	}
	mask := uintptr(len(t.keys) - 1)
	for i := hash(g) & mask; ; i = (i + 1) & mask {
		switch t.keys[i].Load() {
		case g:
			return t.vals[i].Load(), true
		case 0:
			return nil, false
		}
	}
}

// Add inserts g with value v (or replaces its value). Writer only.
//
// A new entry takes the first tombstone on its probe path. Go reuses
// goroutine descriptors, so the runtime adds and removes the same few ids
// over and over: without the reuse each cycle would leave a tombstone
// further along one cluster, and every probe through it would grow with
// the number of cycles since the last rehash.
func (s *Set[V]) Add(g uintptr, v *V) {
	if g == 0 || g == tombstone {
		return
	}
	t := s.table.Load()
	if t == nil || (s.used+1)*4 > len(t.keys)*3 {
		s.rehash()
		t = s.table.Load()
	}
	mask := uintptr(len(t.keys) - 1)
	free := -1 // the first tombstone seen
	for i := hash(g) & mask; ; i = (i + 1) & mask {
		switch t.keys[i].Load() {
		case g:
			t.vals[i].Store(v)
			return
		case tombstone:
			if free < 0 {
				free = int(i)
			}
		case 0:
			if free < 0 {
				free = int(i)
				s.used++
			}
			// The value first: readers that find the key find it. A reader
			// probing past the slot for another id sees a key that is not
			// its own, as it saw the tombstone, and goes on.
			t.vals[free].Store(v)
			t.keys[free].Store(g)
			s.n++
			return
		}
	}
}

// Remove deletes g. Writer only.
//
// The slot becomes a tombstone, so that readers probing for ids further
// along the cluster still pass it; when it ends its cluster (the next slot
// is empty), no probe can need it, and it and the tombstones before it are
// emptied instead.
func (s *Set[V]) Remove(g uintptr) {
	t := s.table.Load()
	if t == nil || g == 0 || g == tombstone {
		return
	}
	mask := uintptr(len(t.keys) - 1)
	for i := hash(g) & mask; ; i = (i + 1) & mask {
		switch t.keys[i].Load() {
		case g:
			t.keys[i].Store(tombstone)
			t.vals[i].Store(nil)
			s.n--
			for t.keys[(i+1)&mask].Load() == 0 && t.keys[i].Load() == tombstone {
				t.keys[i].Store(0)
				s.used--
				i = (i - 1) & mask
			}
			return
		case 0:
			return
		}
	}
}

// Len returns the number of goroutines in the set. Writer only.
func (s *Set[V]) Len() int { return s.n }

// rehash publishes a new table sized for the live entries, dropping
// tombstones. Readers keep probing the old table until they load the new one;
// both hold every live entry.
//
// The live entries fill at most half of the new table, so a table that grew
// at three quarters full doubles: the set holds 16 bytes a slot, 21 to 43
// bytes an entry.
func (s *Set[V]) rehash() {
	size := 16
	for size < (s.n+1)*2 {
		size *= 2
	}
	t := &table[V]{keys: make([]atomic.Uintptr, size), vals: make([]atomic.Pointer[V], size)}
	mask := uintptr(size - 1)
	if old := s.table.Load(); old != nil {
		for i := range old.keys {
			g := old.keys[i].Load()
			if g == 0 || g == tombstone {
				continue
			}
			j := hash(g) & mask
			for t.keys[j].Load() != 0 {
				j = (j + 1) & mask
			}
			t.vals[j].Store(old.vals[i].Load())
			t.keys[j].Store(g)
		}
	}
	s.used = s.n
	s.table.Store(t)
}

func hash(g uintptr) uintptr {
	// Descriptors are pointer-aligned and clustered; mix the bits.
	h := uint64(g) * 0x9E3779B97F4A7C15
	return uintptr(h >> 29)
}
