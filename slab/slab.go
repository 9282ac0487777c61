// Package slab provides a generic slab allocator: a store of values of one
// type addressed by generation-checked keys.
//
// A Slab hands out a [Key] for every value it stores. A key names one slot and
// one occupancy of that slot: once the value is removed, the key is stale, and
// Get and Remove report not-found for it even after the slot has been reused.
// Keys also carry the identity of the slab that made them, so a key from
// another slab never reaches an entry here.
//
// Values never move. A bounded slab allocates all of its slots up front and
// refuses inserts with [ErrFull] once they are taken; an unbounded slab grows in
// fixed-size chunks and keeps the old chunks where they are. A pointer returned
// by Get or Fill therefore stays valid until the entry is removed.
//
// Once the slab has reached its working size, Insert and Remove do not
// allocate. A Slab is not safe for concurrent use.
package slab

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"sync/atomic"
)

// ErrFull is returned when a bounded slab has no free slot, or when an
// unbounded slab would exceed the 2^32-3 entries a key can address.
var ErrFull = errors.New("slab: full")

// ErrStaleClaim is returned when a [Claim] is filled or released after it was
// already filled or released, or when the claim is the zero value.
var ErrStaleClaim = errors.New("slab: claim already filled or released")

// DefaultChunkSize is the chunk size NewUnbounded uses when given 0.
const DefaultChunkSize = 256

// maxEntries is the number of slots a key can address: every index+1 stays
// below the two values of slot.next that mark a slot in use.
const maxEntries = math.MaxUint32 - 2

// maxSlots is maxEntries as an int: clamped where int has 32 bits, so that
// this file compiles there too and a 32-bit build stops only at the message
// of platform_unsupported.go.
const maxSlots = min(maxEntries, math.MaxInt)

// owners hands out the identities that tie keys to their slab.
var owners atomic.Uint32

// Key names one entry of one slab. The zero Key names no entry.
type Key struct {
	index uint32
	gen   uint32
	owner uint32
}

// IsZero reports whether k is the zero Key, which no slab ever returns.
func (k Key) IsZero() bool { return k == Key{} }

// String formats the key for logs and error messages.
func (k Key) String() string {
	if k.IsZero() {
		return "slab.Key{}"
	}
	return fmt.Sprintf("slab.Key{slab %d, slot %d, gen %d}", k.owner, k.index, k.gen)
}

// The values of slot.next for a slot in use. A free slot's next is a link,
// which is never this large, so the state costs no field of its own (with
// one, a slot of 8-byte aligned values would take 8 bytes more).
const (
	slotClaimed uint32 = math.MaxUint32 - iota
	slotLive
)

type slot[T any] struct {
	val T
	gen uint32 // bumped when an occupancy ends, so keys of earlier ones go stale
	// next is the free-list link while the slot is free (index+1 of the
	// next free slot, 0 at the end), or slotClaimed or slotLive.
	next uint32
}

func (sl *slot[T]) free() bool { return sl.next < slotLive }

// Slab stores values of type T under generation-checked keys. Create one with
// [New] or [NewUnbounded]; the zero Slab is not usable.
type Slab[T any] struct {
	chunks    [][]slot[T]
	shift     uint   // index >> shift selects the chunk
	mask      uint32 // index & mask selects the slot within it
	chunkSize int
	bounded   bool
	owner     uint32
	free      uint32 // index+1 of the first free slot, 0 when none
	len       int
	slots     int // slots allocated so far
}

// New returns a bounded slab that holds at most capacity entries. All slots
// are allocated now; Insert and Claim return [ErrFull] when they are taken.
func New[T any](capacity int) (*Slab[T], error) {
	if capacity <= 0 || uint64(capacity) > maxEntries {
		return nil, fmt.Errorf("slab: capacity %d out of range [1, %d]", capacity, uint64(maxEntries))
	}
	s := &Slab[T]{shift: 32, mask: math.MaxUint32, chunkSize: capacity, bounded: true, owner: newOwner()}
	s.grow()
	return s, nil
}

// NewUnbounded returns a slab that grows by chunkSize slots whenever it is
// full (chunkSize is rounded up to a power of two; 0 means
// [DefaultChunkSize]). Growing never moves existing entries.
func NewUnbounded[T any](chunkSize int) (*Slab[T], error) {
	if chunkSize == 0 {
		chunkSize = DefaultChunkSize
	}
	if chunkSize < 0 || chunkSize > 1<<30 {
		return nil, fmt.Errorf("slab: chunk size %d out of range [1, %d]", chunkSize, 1<<30)
	}
	shift := uint(bits.Len(uint(chunkSize - 1)))
	return &Slab[T]{shift: shift, mask: 1<<shift - 1, chunkSize: 1 << shift, owner: newOwner()}, nil
}

func newOwner() uint32 {
	for {
		if o := owners.Add(1); o != 0 {
			return o
		}
	}
}

// Len returns the number of live entries (claimed but unfilled slots are not
// counted).
func (s *Slab[T]) Len() int { return s.len }

// Cap returns the number of slots allocated: the capacity of a bounded slab,
// or the slots an unbounded slab has grown to so far.
func (s *Slab[T]) Cap() int { return s.slots }

// Bounded reports whether the slab has a fixed capacity.
func (s *Slab[T]) Bounded() bool { return s.bounded }

// grow allocates one more chunk and threads its slots onto the free list,
// lowest index first.
func (s *Slab[T]) grow() bool {
	if s.bounded && len(s.chunks) > 0 {
		return false
	}
	size := s.chunkSize
	if room := maxSlots - s.slots; size > room {
		size = room
	}
	if size <= 0 {
		return false
	}
	chunk := make([]slot[T], size)
	base := uint32(s.slots)
	for i := range chunk {
		chunk[i].next = base + uint32(i) + 2
	}
	chunk[size-1].next = s.free
	s.free = base + 1
	s.chunks = append(s.chunks, chunk)
	s.slots += size
	return true
}

func (s *Slab[T]) at(index uint32) *slot[T] {
	return &s.chunks[index>>s.shift][index&s.mask]
}

// lookup returns the slot k names if it is in the given state.
func (s *Slab[T]) lookup(k Key, state uint32) *slot[T] {
	if k.owner != s.owner || int(k.index) >= s.slots {
		return nil
	}
	sl := s.at(k.index)
	if sl.gen != k.gen || sl.next != state {
		return nil
	}
	return sl
}

func (s *Slab[T]) take(state uint32) (Key, *slot[T], error) {
	if s.free == 0 && !s.grow() {
		return Key{}, nil, ErrFull
	}
	index := s.free - 1
	sl := s.at(index)
	s.free = sl.next
	sl.next = state
	return Key{index: index, gen: sl.gen, owner: s.owner}, sl, nil
}

// release ends the slot's occupancy and puts it back on the free list.
func (s *Slab[T]) release(k Key, sl *slot[T]) {
	var zero T
	sl.val = zero
	sl.gen++
	sl.next = s.free
	s.free = k.index + 1
}

// Insert stores v and returns its key, or [ErrFull].
func (s *Slab[T]) Insert(v T) (Key, error) {
	k, sl, err := s.take(slotLive)
	if err != nil {
		return Key{}, err
	}
	sl.val = v
	s.len++
	return k, nil
}

// Alloc makes a live entry holding the zero value and returns its key and a
// pointer to it, for values built in place; it returns [ErrFull] when there is
// no room.
func (s *Slab[T]) Alloc() (Key, *T, error) {
	k, sl, err := s.take(slotLive)
	if err != nil {
		return Key{}, nil, err
	}
	s.len++
	return k, &sl.val, nil
}

// Get returns a pointer to the entry k names, or false if k is stale, removed,
// zero or from another slab. The pointer is valid until the entry is removed.
func (s *Slab[T]) Get(k Key) (*T, bool) {
	if sl := s.lookup(k, slotLive); sl != nil {
		return &sl.val, true
	}
	return nil, false
}

// Contains reports whether k names a live entry.
func (s *Slab[T]) Contains(k Key) bool { return s.lookup(k, slotLive) != nil }

// Index returns the number of the slot k names. Structures that link their
// entries to each other can store 32-bit indices instead of keys or pointers
// (keeping their memory free of pointers for the garbage collector) and
// follow them with At.
func (k Key) Index() uint32 { return k.index }

// At returns the key and the live entry in slot index, or false if the slot
// is free, claimed or out of range. Unlike Get it checks no generation: use
// it to follow links that are removed together with the entries they point
// to.
func (s *Slab[T]) At(index uint32) (Key, *T, bool) {
	if int(index) >= s.slots {
		return Key{}, nil, false
	}
	sl := s.at(index)
	if sl.next != slotLive {
		return Key{}, nil, false
	}
	return Key{index: index, gen: sl.gen, owner: s.owner}, &sl.val, true
}

// Remove deletes the entry k names and returns its value, or false if k names
// no live entry. The slot is zeroed, so the slab keeps nothing reachable.
func (s *Slab[T]) Remove(k Key) (T, bool) {
	sl := s.lookup(k, slotLive)
	if sl == nil {
		var zero T
		return zero, false
	}
	v := sl.val
	s.release(k, sl)
	s.len--
	return v, true
}

// Delete removes the entry k names, like Remove, without returning its value.
// It reports whether k named a live entry.
func (s *Slab[T]) Delete(k Key) bool {
	sl := s.lookup(k, slotLive)
	if sl == nil {
		return false
	}
	s.release(k, sl)
	s.len--
	return true
}

// Clear removes every entry and cancels every open claim; all keys handed out
// so far go stale. The slab keeps its allocated slots.
func (s *Slab[T]) Clear() {
	for ci, chunk := range s.chunks {
		for i := range chunk {
			if !chunk[i].free() {
				s.release(Key{index: uint32(ci)<<s.shift | uint32(i)}, &chunk[i])
			}
		}
	}
	s.len = 0
}

// All returns an iterator over the live entries in slot order. Removing the
// entry being visited is allowed; entries inserted during the iteration may or
// may not be visited.
func (s *Slab[T]) All() iter.Seq2[Key, *T] {
	return func(yield func(Key, *T) bool) {
		for index := uint32(0); int(index) < s.slots; index++ {
			sl := s.at(index)
			if sl.next == slotLive && !yield(Key{index: index, gen: sl.gen, owner: s.owner}, &sl.val) {
				return
			}
		}
	}
}

// Claim reserves a slot without making it live: its key is known at once (to
// store inside the value, say), and the claim is then either filled or
// released. A claimed slot is not visible to Get, Len or All. Claim returns
// [ErrFull] when no slot is free.
func (s *Slab[T]) Claim() (Claim[T], error) {
	k, _, err := s.take(slotClaimed)
	if err != nil {
		return Claim[T]{}, err
	}
	return Claim[T]{s: s, key: k}, nil
}

// Claim is a slot reserved by [Slab.Claim]. Fill or Release it exactly once.
type Claim[T any] struct {
	s   *Slab[T]
	key Key
}

// Key returns the key the entry will have once the claim is filled.
func (c Claim[T]) Key() Key { return c.key }

// Fill stores v in the claimed slot, makes it live under c.Key(), and returns
// a pointer to it. It returns [ErrStaleClaim] if the claim was already filled
// or released.
func (c Claim[T]) Fill(v T) (*T, error) {
	if c.s == nil {
		return nil, ErrStaleClaim
	}
	sl := c.s.lookup(c.key, slotClaimed)
	if sl == nil {
		return nil, ErrStaleClaim
	}
	sl.val = v
	sl.next = slotLive
	c.s.len++
	return &sl.val, nil
}

// Release gives the claimed slot back unused. It returns [ErrStaleClaim] if
// the claim was already filled or released.
func (c Claim[T]) Release() error {
	if c.s == nil {
		return ErrStaleClaim
	}
	sl := c.s.lookup(c.key, slotClaimed)
	if sl == nil {
		return ErrStaleClaim
	}
	c.s.release(c.key, sl)
	return nil
}
