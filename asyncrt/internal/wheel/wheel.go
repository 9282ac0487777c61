// Package wheel is a hierarchical timer wheel: O(1) schedule and cancel, no
// allocation per timer once warm, and memory the garbage collector does not
// scan (entries link to each other by 32-bit index, and the runtime's payload
// holds no pointers).
//
// Time is in nanoseconds. Deadlines are bucketed in ticks of 1024 ns over 7
// levels of 64 slots, which covers about 51 days; a later deadline is parked
// in the last level and re-armed as time approaches it. Bucketing only
// organises the search: a timer fires exactly when now reaches its deadline,
// never before, NextDeadline reports the earliest deadline exactly, and
// timers due in the same poll fire in order of deadline, then of scheduling.
package wheel

import (
	"math"
	"math/bits"
	"slices"

	"github.com/orrery-go/orrery/slab"
)

const (
	// TickShift sets the tick to 1<<TickShift nanoseconds.
	TickShift = 10
	slotBits  = 6
	numSlots  = 1 << slotBits
	slotMask  = numSlots - 1
	numLevels = 7
	// maxSpan is how far ahead of the wheel's time a timer can be placed:
	// all but one slot of the top level, so that a timer never lands in the
	// slot the wheel is in. Later deadlines are placed at the limit and
	// re-armed when it comes round.
	maxSpan = uint64(numSlots-1) << (slotBits * (numLevels - 1))

	levelPending = -1 // due at scheduling: fires at the next poll
	levelDue     = -2 // taken off the wheel into the current due batch
)

// Timer names a scheduled timer. The zero Timer names none. Cancelling a
// timer that fired, was cancelled, or belongs to another wheel does nothing.
type Timer struct{ key slab.Key }

// IsZero reports whether t is the zero Timer.
func (t Timer) IsZero() bool { return t.key.IsZero() }

// entry is a timer. Its tick, the deadline rounded up to ticks, is
// computed where needed rather than kept: a wheel may hold millions.
type entry[T any] struct {
	deadline int64
	seq      uint64
	prev     uint32 // index+1 of the neighbours in the slot's list; 0 at the ends
	next     uint32
	level    int8
	slot     uint8
	val      T
}

// list is a slot's timers. min caches the earliest deadline among them; it
// is recomputed on demand after the timer holding it leaves.
type list struct {
	head, tail uint32 // index+1; 0 when empty
	min        int64
	minStale   bool
}

type dueRef struct {
	deadline int64
	seq      uint64
	key      slab.Key
}

// Wheel holds timers carrying a value of type T. It is not safe for
// concurrent use.
type Wheel[T any] struct {
	entries  *slab.Slab[entry[T]]
	elapsed  uint64 // every tick up to and including this one has been processed
	occupied [numLevels]uint64
	slots    [numLevels][numSlots]list
	pending  list
	seq      uint64
	due      []dueRef
	dueNext  int
	n        int // timers scheduled, not yet fired or cancelled
}

// New returns an empty wheel whose clock starts at now (nanoseconds, not
// negative).
func New[T any](now int64) *Wheel[T] {
	w := &Wheel[T]{}
	w.Init(now)
	return w
}

// Init readies a zero Wheel (one kept by value) whose clock starts at now.
func (w *Wheel[T]) Init(now int64) {
	w.entries, _ = slab.NewUnbounded[entry[T]](1024)
	w.elapsed = uint64(max(now, 0)) >> TickShift
}

// Len returns the number of timers scheduled and not yet fired or cancelled.
func (w *Wheel[T]) Len() int { return w.n }

// Schedule adds a timer that fires at deadline (nanoseconds) carrying v. A
// deadline that has already passed fires at the next Poll.
func (w *Wheel[T]) Schedule(deadline int64, v T) Timer {
	w.seq++
	k, e, err := w.entries.Alloc()
	if err != nil {
		panic("wheel: more than 2^32 timers")
	}
	e.deadline, e.seq, e.val = deadline, w.seq, v
	w.place(k.Index(), e)
	w.n++
	return Timer{k}
}

// ticksUp converts a deadline to the tick it falls in, rounding up, so that
// the tick's end is never before the deadline.
func ticksUp(deadline int64) uint64 {
	if deadline <= 0 {
		return 0
	}
	return (uint64(deadline) + 1<<TickShift - 1) >> TickShift
}

// place links entry e (slot index i) into the level and slot its tick calls
// for, or into the pending list if its tick has passed.
func (w *Wheel[T]) place(i uint32, e *entry[T]) {
	tick := ticksUp(e.deadline)
	if tick <= w.elapsed {
		e.level = levelPending
		w.link(&w.pending, i, e)
		return
	}
	when := min(tick, w.elapsed+maxSpan-1)
	level := min(levelFor(w.elapsed, when), numLevels-1)
	slot := uint8(when >> (level * slotBits) & slotMask)
	e.level, e.slot = int8(level), slot
	w.link(&w.slots[level][slot], i, e)
	w.occupied[level] |= 1 << slot
}

// levelFor returns the lowest level whose slot for when is not the slot
// elapsed is in: the bits in which the two differ decide it.
func levelFor(elapsed, when uint64) int {
	masked := (elapsed ^ when) | slotMask
	return (63 - bits.LeadingZeros64(masked)) / slotBits
}

func (w *Wheel[T]) link(l *list, i uint32, e *entry[T]) {
	if l.head == 0 {
		l.min, l.minStale = e.deadline, false
	} else if !l.minStale && e.deadline < l.min {
		l.min = e.deadline
	}
	e.next = 0
	e.prev = l.tail
	if l.tail != 0 {
		_, tail, _ := w.entries.At(l.tail - 1)
		tail.next = i + 1
	} else {
		l.head = i + 1
	}
	l.tail = i + 1
}

func (w *Wheel[T]) unlink(l *list, e *entry[T]) {
	if e.deadline == l.min {
		l.minStale = true
	}
	if e.prev != 0 {
		_, p, _ := w.entries.At(e.prev - 1)
		p.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != 0 {
		_, n, _ := w.entries.At(e.next - 1)
		n.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = 0, 0
}

// minOf returns the earliest deadline in a non-empty list.
func (w *Wheel[T]) minOf(l *list) int64 {
	if l.minStale {
		l.min = math.MaxInt64
		for i := l.head; i != 0; {
			_, e, _ := w.entries.At(i - 1)
			l.min = min(l.min, e.deadline)
			i = e.next
		}
		l.minStale = false
	}
	return l.min
}

// Cancel removes a timer that has not fired. It reports false for a timer
// that fired, was cancelled, or is unknown.
func (w *Wheel[T]) Cancel(t Timer) bool {
	e, ok := w.entries.Get(t.key)
	if !ok {
		return false
	}
	switch e.level {
	case levelPending:
		w.unlink(&w.pending, e)
	case levelDue:
		// In the current batch: removing the entry makes Poll skip it.
	default:
		l := &w.slots[e.level][e.slot]
		w.unlink(l, e)
		if l.head == 0 {
			w.occupied[e.level] &^= 1 << e.slot
		}
	}
	w.entries.Delete(t.key)
	w.n--
	return true
}

// Deadline returns the deadline of a scheduled timer, or false.
func (w *Wheel[T]) Deadline(t Timer) (int64, bool) {
	e, ok := w.entries.Get(t.key)
	if !ok {
		return 0, false
	}
	return e.deadline, true
}

// next returns the level, slot and first tick of the earliest occupied slot.
func (w *Wheel[T]) next() (level int, slot uint64, tick uint64, ok bool) {
	for level := range numLevels {
		occ := w.occupied[level]
		if occ == 0 {
			continue
		}
		shift := uint(level * slotBits)
		now := w.elapsed >> shift & slotMask
		// Rotate so that the current slot is bit 0: the first set bit is
		// the next slot to come round, wrapping past the end of the level.
		rot := bits.RotateLeft64(occ, -int(now))
		dist := uint64(bits.TrailingZeros64(rot))
		slot := (now + dist) & slotMask
		levelStart := w.elapsed >> (shift + slotBits) << (shift + slotBits)
		tick := levelStart + slot<<shift
		if slot < now {
			tick += 1 << (shift + slotBits) // wrapped into the next turn of the level
		}
		return level, slot, tick, true
	}
	return 0, 0, 0, false
}

// NextDeadline returns the earliest deadline of all scheduled timers, and
// false if there are none.
func (w *Wheel[T]) NextDeadline() (int64, bool) {
	best, found := int64(math.MaxInt64), false
	for i := w.dueNext; i < len(w.due); i++ {
		if w.entries.Contains(w.due[i].key) {
			best, found = w.due[i].deadline, true
			break // the batch is sorted
		}
	}
	if w.pending.head != 0 {
		best, found = min(best, w.minOf(&w.pending)), true
	}
	// The first occupied slot to come round holds the earliest deadline on
	// the wheel: every level's timers lie beyond those of the levels below.
	if level, slot, _, ok := w.next(); ok {
		best, found = min(best, w.minOf(&w.slots[level][slot])), true
	}
	return best, found
}

// Poll returns the next timer due at now, in order of deadline then of
// scheduling, and removes it; it returns false when none is due. Timers
// scheduled while polling at a deadline already passed are returned by the
// same round of polls.
func (w *Wheel[T]) Poll(now int64) (T, bool) {
	for {
		for w.dueNext < len(w.due) {
			ref := w.due[w.dueNext]
			w.dueNext++
			if v, ok := w.entries.Remove(ref.key); ok {
				w.n--
				return v.val, true
			}
		}
		if !w.refill(now) {
			var zero T
			return zero, false
		}
	}
}

// refill gathers the next batch of due timers: the pending ones, those of
// the earliest slot whose ticks have all passed (timers of higher levels
// move down a level on the way), or those due already in the slot of the
// tick now is in. It reports false when nothing is due at now.
func (w *Wheel[T]) refill(now int64) bool {
	w.due, w.dueNext = w.due[:0], 0
	if w.pending.head != 0 {
		w.takeAll(&w.pending)
		w.sortDue()
		return true
	}
	nowTick := uint64(max(now, 0)) >> TickShift
	for {
		level, slot, tick, ok := w.next()
		if !ok || tick > nowTick+1 {
			break
		}
		l := &w.slots[level][slot]
		if tick == nowTick+1 {
			// The slot of the current tick: take what is due, leave the rest.
			if w.minOf(l) <= now {
				w.takeDue(l, level, slot, now)
				w.sortDue()
				return true
			}
			break
		}
		w.elapsed = max(w.elapsed, tick)
		taken := *l
		*l = list{}
		w.occupied[level] &^= 1 << slot
		for i := taken.head; i != 0; {
			_, e, _ := w.entries.At(i - 1)
			next := e.next
			e.prev, e.next = 0, 0
			// Whatever has not reached its tick goes down a level (or back
			// to the top if it lies beyond the wheel's span).
			if ticksUp(e.deadline) <= w.elapsed {
				e.level = levelDue
				w.due = append(w.due, dueRef{e.deadline, e.seq, w.keyOf(i - 1)})
			} else {
				w.place(i-1, e)
			}
			i = next
		}
		if len(w.due) > 0 {
			w.sortDue()
			return true
		}
	}
	if nowTick > w.elapsed {
		w.elapsed = nowTick
	}
	return false
}

// takeDue moves the timers of l due at now into the batch.
func (w *Wheel[T]) takeDue(l *list, level int, slot uint64, now int64) {
	for i := l.head; i != 0; {
		_, e, _ := w.entries.At(i - 1)
		next := e.next
		if e.deadline <= now {
			w.unlink(l, e)
			e.level = levelDue
			w.due = append(w.due, dueRef{e.deadline, e.seq, w.keyOf(i - 1)})
		}
		i = next
	}
	if l.head == 0 {
		w.occupied[level] &^= 1 << slot
	}
}

func (w *Wheel[T]) takeAll(l *list) {
	for i := l.head; i != 0; {
		_, e, _ := w.entries.At(i - 1)
		next := e.next
		e.prev, e.next = 0, 0
		e.level = levelDue
		w.due = append(w.due, dueRef{e.deadline, e.seq, w.keyOf(i - 1)})
		i = next
	}
	*l = list{}
}

func (w *Wheel[T]) keyOf(index uint32) slab.Key {
	k, _, _ := w.entries.At(index)
	return k
}

func (w *Wheel[T]) sortDue() {
	if len(w.due) > 1 {
		slices.SortFunc(w.due, func(a, b dueRef) int {
			if a.deadline != b.deadline {
				if a.deadline < b.deadline {
					return -1
				}
				return 1
			}
			if a.seq < b.seq {
				return -1
			}
			return 1
		})
	}
}
