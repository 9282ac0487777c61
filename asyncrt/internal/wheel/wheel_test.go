package wheel_test

import (
	"cmp"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt/internal/wheel"
)

const tick = 1 << wheel.TickShift

// due reports whether a timer is due at now.
func due(deadline, now int64) bool { return deadline <= now }

type modelTimer struct {
	id       int
	deadline int64
	seq      int
	timer    wheel.Timer
	done     bool
}

// model is the wheel's specification: at a poll, every live timer that is
// due fires, ordered by deadline and then by scheduling order.
type model struct {
	w      *wheel.Wheel[int]
	timers []*modelTimer
	now    int64
	t      testing.TB
}

func (m *model) schedule(deadline int64) {
	id := len(m.timers)
	mt := &modelTimer{id: id, deadline: deadline, seq: id}
	mt.timer = m.w.Schedule(deadline, id)
	m.timers = append(m.timers, mt)
}

func (m *model) cancel(i int) {
	mt := m.timers[i]
	if ok := m.w.Cancel(mt.timer); ok != !mt.done {
		m.t.Fatalf("cancel timer %d: got %v, it is done=%v", i, ok, mt.done)
	}
	mt.done = true
}

func (m *model) poll(now int64) {
	m.now = now
	var want []*modelTimer
	for _, mt := range m.timers {
		if !mt.done && due(mt.deadline, now) {
			want = append(want, mt)
		}
	}
	slices.SortFunc(want, func(a, b *modelTimer) int {
		return cmp.Or(cmp.Compare(a.deadline, b.deadline), cmp.Compare(a.seq, b.seq))
	})
	for i := 0; ; i++ {
		v, ok := m.w.Poll(now)
		if !ok {
			if i != len(want) {
				m.t.Fatalf("poll at %d fired %d timers, want %d", now, i, len(want))
			}
			return
		}
		if i >= len(want) || v != want[i].id {
			m.t.Fatalf("poll at %d fired timer %d (deadline %d) as #%d; want %v", now, v,
				m.timers[v].deadline, i, ids(want))
		}
		if m.timers[v].deadline > now {
			m.t.Fatalf("timer %d fired early: deadline %d, now %d", v, m.timers[v].deadline, now)
		}
		want[i].done = true
	}
}

func (m *model) live() int {
	n := 0
	for _, mt := range m.timers {
		if !mt.done {
			n++
		}
	}
	return n
}

// checkNext checks that NextDeadline is the earliest live deadline.
func (m *model) checkNext() {
	earliest, any := int64(0), false
	for _, mt := range m.timers {
		if !mt.done && (!any || mt.deadline < earliest) {
			earliest, any = mt.deadline, true
		}
	}
	next, ok := m.w.NextDeadline()
	if ok != any || (ok && next != earliest) {
		m.t.Fatalf("NextDeadline (%d, %v), want (%d, %v)", next, ok, earliest, any)
	}
}

func ids(ts []*modelTimer) []int {
	var out []int
	for _, t := range ts {
		out = append(out, t.id)
	}
	return out
}

func FuzzWheelAgainstModel(f *testing.F) {
	f.Add(int64(0), []byte{0, 10, 0, 10, 1, 0, 2, 50, 3, 0})
	f.Add(int64(123456), []byte{0, 255, 0, 200, 4, 3, 2, 255, 2, 255, 3, 1})
	f.Add(int64(1)<<40, []byte{5, 1, 5, 2, 5, 3, 2, 9, 2, 9, 2, 9, 2, 9})
	f.Fuzz(func(t *testing.T, start int64, ops []byte) {
		start = max(start, 0) % (1 << 50)
		m := &model{w: wheel.New[int](start), now: start, t: t}
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%6, int64(ops[i+1])
			switch op {
			case 0: // near: within a few ticks, sometimes in the past
				m.schedule(m.now + (arg-32)*tick/3)
			case 1: // far: up to hours, exercising every level
				m.schedule(m.now + arg*arg*arg*arg*977)
			case 2: // advance a little
				m.poll(m.now + arg*arg*tick/7)
			case 3: // cancel some timer, live or not
				if len(m.timers) > 0 {
					m.cancel(int(arg) % len(m.timers))
				}
			case 4: // jump far ahead
				m.poll(m.now + arg<<28)
			case 5: // beyond the wheel's span, or equal deadlines
				if arg%2 == 0 {
					m.schedule(m.now + int64(1)<<53 + arg)
				} else {
					m.schedule(m.now + 5*tick)
				}
			}
			m.checkNext()
			if m.w.Len() != m.live() {
				t.Fatalf("Len %d, model %d", m.w.Len(), m.live())
			}
		}
		// Jumping to NextDeadline, as a simulated clock does, fires at least
		// one timer each time, at exactly its deadline.
		for m.live() > 0 {
			next, _ := m.w.NextDeadline()
			before := m.live()
			m.poll(max(m.now, next))
			if m.live() >= before {
				t.Fatalf("a poll at NextDeadline %d fired nothing (%d live)", next, before)
			}
		}
	})
}

func TestEqualDeadlinesFireInScheduleOrder(t *testing.T) {
	w := wheel.New[int](0)
	// Scheduled from far to near so they sit in different levels until
	// they cascade into one slot.
	const deadline = 5_000_000_000
	for i := range 10 {
		w.Poll(int64(i) * 400_000_000)
		w.Schedule(deadline, i)
	}
	var got []int
	for v, ok := w.Poll(deadline); ok; v, ok = w.Poll(deadline) {
		got = append(got, v)
	}
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, got)
}

func TestCancelIsHarmless(t *testing.T) {
	w := wheel.New[string](0)
	other := wheel.New[string](0)
	a := w.Schedule(10*tick, "a")
	b := w.Schedule(10*tick, "b")
	foreign := other.Schedule(10*tick, "x")

	assert.True(t, w.Cancel(a))
	assert.False(t, w.Cancel(a), "cancelled twice")
	assert.False(t, w.Cancel(foreign), "a timer of another wheel")
	assert.False(t, w.Cancel(wheel.Timer{}), "the zero timer")
	assert.True(t, wheel.Timer{}.IsZero())

	v, ok := w.Poll(10 * tick)
	assert.True(t, ok)
	assert.Equal(t, "b", v)
	assert.False(t, w.Cancel(b), "already fired")
	_, ok = w.Deadline(b)
	assert.False(t, ok)
	assert.Equal(t, 0, w.Len())
	assert.Equal(t, 1, other.Len(), "the other wheel is untouched")
}

func TestCancelWithinADueBatch(t *testing.T) {
	w := wheel.New[int](0)
	var timers []wheel.Timer
	for i := range 5 {
		timers = append(timers, w.Schedule(3*tick, i))
	}
	v, ok := w.Poll(3 * tick)
	require.True(t, ok)
	assert.Equal(t, 0, v)
	// Firing timer 0 cancels timer 2, which is already in the due batch.
	assert.True(t, w.Cancel(timers[2]))
	var rest []int
	for v, ok := w.Poll(3 * tick); ok; v, ok = w.Poll(3 * tick) {
		rest = append(rest, v)
	}
	assert.Equal(t, []int{1, 3, 4}, rest)
}

func TestNeverEarlyRandomDeadlines(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := wheel.New[int64](0)
	for range 100_000 {
		d := rng.Int64N(int64(10 * time.Second))
		w.Schedule(d, d)
	}
	now, fired := int64(0), 0
	for w.Len() > 0 {
		now += rng.Int64N(int64(5 * time.Millisecond))
		for d, ok := w.Poll(now); ok; d, ok = w.Poll(now) {
			require.LessOrEqual(t, d, now, "fired before its deadline")
			require.Greater(t, d, now-int64(5*time.Millisecond), "fired later than the poll after it was due")
			fired++
		}
	}
	assert.Equal(t, 100_000, fired)
}

func TestPastDeadlineFiresAtNextPoll(t *testing.T) {
	w := wheel.New[int](int64(time.Hour))
	w.Schedule(0, 1)
	w.Schedule(-5, 2)
	next, ok := w.NextDeadline()
	require.True(t, ok)
	assert.LessOrEqual(t, next, int64(time.Hour))
	v, ok := w.Poll(int64(time.Hour))
	assert.True(t, ok)
	assert.Equal(t, 2, v, "earlier deadline first")
}

func TestMillionTimers(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a million timers")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w := wheel.New[[2]uint64](0)
	rng := rand.New(rand.NewPCG(5, 6))
	timers := make([]wheel.Timer, 1_000_000)
	for i := range timers {
		timers[i] = w.Schedule(rng.Int64N(int64(time.Hour)), [2]uint64{uint64(i)})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perTimer := float64(after.HeapAlloc-before.HeapAlloc-uint64(len(timers))*16) / float64(len(timers))
	t.Logf("%.0f bytes per pending timer", perTimer)
	assert.Less(t, perTimer, 200.0)
	for i, tm := range timers {
		if i%2 == 0 {
			w.Cancel(tm)
		}
	}
	n := 0
	for _, ok := w.Poll(int64(time.Hour)); ok; _, ok = w.Poll(int64(time.Hour)) {
		n++
	}
	assert.Equal(t, 500_000, n)
}

func TestFiresExactlyAtDeadline(t *testing.T) {
	w := wheel.New[int](0)
	w.Schedule(1500, 1) // mid-tick
	w.Schedule(int64(3*time.Hour)+7, 2)
	next, _ := w.NextDeadline()
	assert.Equal(t, int64(1500), next)
	_, ok := w.Poll(1499)
	assert.False(t, ok)
	v, ok := w.Poll(1500)
	assert.True(t, ok)
	assert.Equal(t, 1, v)
	next, _ = w.NextDeadline()
	assert.Equal(t, int64(3*time.Hour)+7, next, "exact even for a timer in a high level")
	_, ok = w.Poll(next - 1)
	assert.False(t, ok)
	v, ok = w.Poll(next)
	assert.True(t, ok)
	assert.Equal(t, 2, v)
}
