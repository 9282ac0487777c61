package world

import (
	"errors"
	"fmt"
	"time"
)

// System updates the World on a schedule.
type System interface {
	Update(w *World)
}

// Initializer is a System with set-up work, done once per schedule it is
// added to, before its first Update. An error stops the schedule's tick and
// is reported by the runtime.
type Initializer interface {
	Init(w *World) error
}

// Finalizer is a System with tear-down work, done once when the runtime
// closes, in the order the systems were initialised.
type Finalizer interface {
	Finalize(w *World)
}

// SystemFunc adapts a function to a System.
type SystemFunc func(w *World)

// Update calls f(w).
func (f SystemFunc) Update(w *World) { f(w) }

// Timing says when a schedule ticks: every runtime cycle, or at a fixed rate.
type Timing struct {
	everyCycle bool
	hz         int
	period     time.Duration
	maxCatchUp int
	err        error
}

// DefaultMaxCatchUp is how many late ticks a fixed-rate schedule runs back
// to back before it drops the rest.
const DefaultMaxCatchUp = 5

// EveryCycle ticks once per runtime cycle: as often as the runtime loops, and
// not at all while it is parked.
func EveryCycle() Timing { return Timing{everyCycle: true} }

// FixedRate ticks hz times per second of the runtime's clock, exactly: tick
// k falls at k/hz seconds after the schedule starts, with no drift.
func FixedRate(hz int) Timing {
	if hz <= 0 {
		return Timing{err: fmt.Errorf("world: FixedRate(%d): the rate must be positive", hz)}
	}
	return Timing{hz: hz, maxCatchUp: DefaultMaxCatchUp}
}

// FixedPeriod ticks every d.
func FixedPeriod(d time.Duration) Timing {
	if d <= 0 {
		return Timing{err: fmt.Errorf("world: FixedPeriod(%v): the period must be positive", d)}
	}
	return Timing{period: d, maxCatchUp: DefaultMaxCatchUp}
}

// MaxCatchUp bounds how many missed ticks a fixed-rate schedule runs back to
// back when the runtime falls behind (default 5, like a fixed-step game
// loop); ticks missed beyond that are counted in Stats().Dropped and skipped.
func (t Timing) MaxCatchUp(n int) Timing {
	switch {
	case t.err != nil:
	case t.everyCycle:
		t.err = errors.New("world: MaxCatchUp applies to fixed-rate schedules")
	case n < 1:
		t.err = fmt.Errorf("world: MaxCatchUp(%d): must be at least 1", n)
	default:
		t.maxCatchUp = n
	}
	return t
}

// Tick is a schedule's current tick.
type Tick struct {
	// N counts the ticks the schedule has run, from 1.
	N uint64
	// Time is when the tick was due on the runtime's clock (for a fixed rate,
	// the scheduled time, even if it ran late).
	Time time.Time
	// Delta is the time since the previous tick: the period for a fixed
	// rate.
	Delta time.Duration
}

// ScheduleStats counts what happened to a schedule's ticks.
type ScheduleStats struct {
	// Ticks counts the ticks run.
	Ticks uint64
	// Skipped counts ticks a run condition declined.
	Skipped uint64
	// Dropped counts fixed-rate ticks missed beyond the catch-up bound.
	Dropped uint64
}

// Schedule is a named list of systems that tick together, in the order they
// were added.
type Schedule struct {
	w       *World
	name    string
	timing  Timing
	systems []System
	inited  []bool
	conds   []func(*World) bool
	tick    Tick
	stats   ScheduleStats
}

// AddSchedule adds a schedule. Names must be unique. The runtime driving the
// World starts ticking it at its next cycle.
func (w *World) AddSchedule(name string, timing Timing) (*Schedule, error) {
	if timing.err != nil {
		return nil, timing.err
	}
	if !timing.everyCycle && timing.hz == 0 && timing.period == 0 {
		return nil, errors.New("world: the zero Timing; use EveryCycle, FixedRate or FixedPeriod")
	}
	if name == "" {
		return nil, errors.New("world: a schedule needs a name")
	}
	for _, s := range w.scheds {
		if s.name == name {
			return nil, fmt.Errorf("world: a schedule named %q already exists", name)
		}
	}
	s := &Schedule{w: w, name: name, timing: timing}
	w.scheds = append(w.scheds, s)
	w.schedVer++
	return s, nil
}

// Schedules returns the World's schedules in the order they were added.
func (w *World) Schedules() []*Schedule { return w.scheds }

// SchedulesVersion changes whenever a schedule is added, so that a driver
// knows to look at Schedules again.
func (w *World) SchedulesVersion() uint64 { return w.schedVer }

// Name returns the schedule's name.
func (s *Schedule) Name() string { return s.name }

// EveryCycle reports whether the schedule ticks every runtime cycle.
func (s *Schedule) EveryCycle() bool { return s.timing.everyCycle }

// TickTime returns when fixed-rate tick k (from 0) falls, as an offset from
// the schedule's start: exact, with no accumulated rounding.
func (s *Schedule) TickTime(k uint64) time.Duration {
	if s.timing.hz > 0 {
		hz := uint64(s.timing.hz)
		return time.Duration(k/hz)*time.Second + time.Duration(k%hz*uint64(time.Second)/hz)
	}
	return time.Duration(k) * s.timing.period
}

// TicksBy returns the index of the last fixed-rate tick at or before offset
// d from the schedule's start (0 if none has come yet).
func (s *Schedule) TicksBy(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	if s.timing.hz > 0 {
		// The largest k with floor(k*1e9/hz) <= d, i.e. k*1e9 < (d+1)*hz,
		// split at whole seconds so that nothing overflows.
		hz := uint64(s.timing.hz)
		secs, rest := uint64(d/time.Second), uint64(d%time.Second)
		return secs*hz + ((rest+1)*hz-1)/uint64(time.Second)
	}
	return uint64(d / s.timing.period)
}

// MaxCatchUp returns the catch-up bound of a fixed-rate schedule.
func (s *Schedule) MaxCatchUp() int { return s.timing.maxCatchUp }

// Add appends a system; systems tick in the order they were added.
func (s *Schedule) Add(sys System) error {
	if sys == nil {
		return fmt.Errorf("world: schedule %q: Add with a nil system", s.name)
	}
	s.systems = append(s.systems, sys)
	s.inited = append(s.inited, false)
	return nil
}

// AddFunc appends a function as a system.
func (s *Schedule) AddFunc(fn func(w *World)) error {
	if fn == nil {
		return fmt.Errorf("world: schedule %q: AddFunc with a nil function", s.name)
	}
	return s.Add(SystemFunc(fn))
}

// RunIf adds a run condition: a tick runs only if every condition holds;
// otherwise it is skipped (and counted in Stats().Skipped).
func (s *Schedule) RunIf(cond func(w *World) bool) error {
	if cond == nil {
		return fmt.Errorf("world: schedule %q: RunIf with a nil condition", s.name)
	}
	s.conds = append(s.conds, cond)
	return nil
}

// Tick returns the schedule's latest tick.
func (s *Schedule) Tick() Tick { return s.tick }

// Stats returns the schedule's counters.
func (s *Schedule) Stats() ScheduleStats { return s.stats }

// AddDropped counts fixed-rate ticks a driver skipped because it fell
// behind.
func (s *Schedule) AddDropped(n uint64) { s.stats.Dropped += n }

// CurrentTick returns the tick of the schedule whose systems are running, and
// false outside a system.
func (w *World) CurrentTick() (Tick, bool) {
	if w.current == nil {
		return Tick{}, false
	}
	return w.current.tick, true
}

// RunTick runs one tick due at at: it checks the run conditions, then calls
// each system's Init (the first time) and Update in order, applying deferred
// commands after each. Drivers (the runtime) call it; a panic in a system
// propagates to them. It reports whether the tick ran, and returns a
// system's Init error.
func (s *Schedule) RunTick(at time.Time) (bool, error) {
	w := s.w
	for _, cond := range s.conds {
		if !cond(w) {
			s.stats.Skipped++
			return false, nil
		}
	}
	delta := at.Sub(s.tick.Time)
	if !s.timing.everyCycle {
		delta = s.TickTime(s.tick.N+1) - s.TickTime(s.tick.N)
	} else if s.tick.N == 0 {
		delta = 0
	}
	s.tick = Tick{N: s.tick.N + 1, Time: at, Delta: delta}
	s.stats.Ticks++
	prev := w.current
	w.current = s
	defer func() { w.current = prev }()
	for i, sys := range s.systems {
		if !s.inited[i] {
			if in, ok := sys.(Initializer); ok {
				if err := in.Init(w); err != nil {
					return true, fmt.Errorf("world: schedule %q: init %T: %w", s.name, sys, err)
				}
			}
			s.inited[i] = true
			if f, ok := sys.(Finalizer); ok {
				w.finals = append(w.finals, f)
			}
		}
		sys.Update(w)
		if err := w.ApplyDeferred(); err != nil {
			return true, fmt.Errorf("world: schedule %q: %T returned with a query still open: %w", s.name, sys, err)
		}
	}
	return true, nil
}

// Finalize calls Finalize on every initialised system that has one, in the
// order they were initialised, once. The runtime calls it when it closes.
func (w *World) Finalize() {
	finals := w.finals
	w.finals = nil
	for _, f := range finals {
		f.Finalize(w)
	}
}
