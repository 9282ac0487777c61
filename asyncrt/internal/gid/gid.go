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

// Set is a set of goroutine identities with a single writer and any number of
// concurrent readers: Add and Remove must be called from one goroutine at a
// time (the runtime's thread), Contains from anywhere, without a data race.
type Set struct {
	table atomic.Pointer[[]atomic.Uintptr]
	n     int // live entries, writer only
	used  int // live entries plus tombstones, writer only
}

const tombstone = ^uintptr(0)

// Contains reports whether g is in the set. It is safe for concurrent use.
func (s *Set) Contains(g uintptr) bool {
	if g == 0 || g == tombstone {
		return false
	}
	tp := s.table.Load()
	if tp == nil {
		return false
	}
	t := *tp
	mask := uintptr(len(t) - 1)
	for i := hash(g) & mask; ; i = (i + 1) & mask {
		switch t[i].Load() {
		case g:
			return true
		case 0:
			return false
		}
	}
}

// Add inserts g. Writer only.
func (s *Set) Add(g uintptr) {
	if g == 0 || g == tombstone {
		return
	}
	tp := s.table.Load()
	if tp == nil || (s.used+1)*4 > len(*tp)*3 {
		s.rehash()
		tp = s.table.Load()
	}
	t := *tp
	mask := uintptr(len(t) - 1)
	for i := hash(g) & mask; ; i = (i + 1) & mask {
		switch t[i].Load() {
		case g:
			return
		case 0:
			t[i].Store(g)
			s.n++
			s.used++
			return
		}
	}
}

// Remove deletes g. Writer only.
func (s *Set) Remove(g uintptr) {
	tp := s.table.Load()
	if tp == nil || g == 0 || g == tombstone {
		return
	}
	t := *tp
	mask := uintptr(len(t) - 1)
	for i := hash(g) & mask; ; i = (i + 1) & mask {
		switch t[i].Load() {
		case g:
			t[i].Store(tombstone)
			s.n--
			return
		case 0:
			return
		}
	}
}

// Len returns the number of goroutines in the set. Writer only.
func (s *Set) Len() int { return s.n }

// rehash publishes a new table sized for the live entries, dropping
// tombstones. Readers keep probing the old table until they load the new one;
// both hold every live entry.
func (s *Set) rehash() {
	size := 16
	for size*3 < (s.n+1)*4*2 {
		size *= 2
	}
	t := make([]atomic.Uintptr, size)
	mask := uintptr(size - 1)
	if old := s.table.Load(); old != nil {
		for i := range *old {
			g := (*old)[i].Load()
			if g == 0 || g == tombstone {
				continue
			}
			j := hash(g) & mask
			for t[j].Load() != 0 {
				j = (j + 1) & mask
			}
			t[j].Store(g)
		}
	}
	s.used = s.n
	s.table.Store(&t)
}

func hash(g uintptr) uintptr {
	// Descriptors are pointer-aligned and clustered; mix the bits.
	h := uint64(g) * 0x9E3779B97F4A7C15
	return uintptr(h >> 29)
}
