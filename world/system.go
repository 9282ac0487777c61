package world

import (
	"errors"
	"fmt"
	"runtime/debug"
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
	// A fixed-rate schedule's clock: it starts at the first RunSystems
	// after it was added, and next is the index of its next tick.
	started bool
	start   time.Time
	next    uint64
}

// AddSchedule adds a schedule. Names must be unique. The runtime driving the
// World starts ticking it at its next cycle: a fixed-rate schedule's first
// tick is one period after that.
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

// SchedulesVersion changes whenever a schedule is added, so that the
// runtime knows to call RunSystems again.
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

// CurrentTick returns the tick of the schedule whose systems are running, and
// false outside a system.
func (w *World) CurrentTick() (Tick, bool) {
	if w.current == nil {
		return Tick{}, false
	}
	return w.current.tick, true
}

// SystemError reports a schedule's tick that failed: a system panicked,
// failed to initialise, or returned with a query still open. The runtime
// reports it as an unhandled panic (see asyncrt's PanicPolicy); the
// schedule's other ticks go on.
type SystemError struct {
	// Schedule names the schedule.
	Schedule string
	// Err is the system's error, or the panic value wrapped in an error.
	Err error
	// Stack is the stack of a panic; nil for an error.
	Stack []byte
}

func (e *SystemError) Error() string {
	return fmt.Sprintf("world: schedule %q: %v", e.Schedule, e.Err)
}

// Unwrap returns the system's error.
func (e *SystemError) Unwrap() error { return e.Err }

// RunSystems runs the systems due at now: every-cycle schedules once, and
// the fixed-rate ticks whose time has come, up to each schedule's catch-up
// bound back to back (the rest are dropped and counted). It returns when the
// next fixed-rate tick is due (the zero Time if there is none) and whether
// any schedule ticks every cycle. A fixed-rate schedule starts at the first
// call after it was added. Failed ticks are returned as *SystemError values,
// joined. The runtime calls it; it implements asyncrt.World.
func (w *World) RunSystems(now time.Time) (next time.Time, everyCycle bool, err error) {
	var errs []error
	for _, s := range w.scheds {
		if s.timing.everyCycle {
			everyCycle = true
			errs = appendErr(errs, s.runTick(now))
			continue
		}
		if !s.started {
			s.started, s.start, s.next = true, now, 1
		}
		last := s.TicksBy(now.Sub(s.start))
		for ran := 0; s.next <= last && ran < s.timing.maxCatchUp; ran++ {
			errs = appendErr(errs, s.runTick(s.start.Add(s.TickTime(s.next))))
			s.next++
		}
		if s.next <= last {
			s.stats.Dropped += last - s.next + 1
			s.next = last + 1
		}
		if due := s.start.Add(s.TickTime(s.next)); next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next, everyCycle, errors.Join(errs...)
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// runTick runs one tick due at at, turning a panic or an error into a
// *SystemError.
func (s *Schedule) runTick(at time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(error)
			if !ok {
				e = fmt.Errorf("panic: %v", r)
			}
			err = &SystemError{Schedule: s.name, Err: e, Stack: debug.Stack()}
		}
	}()
	if _, err := s.RunTick(at); err != nil {
		return &SystemError{Schedule: s.name, Err: err}
	}
	return nil
}

// RunTick runs one tick of the schedule due at at, now: it checks the run
// conditions, then calls each system's Init (the first time) and Update in
// order, applying deferred commands after each. The runtime ticks schedules
// through RunSystems; RunTick is for driving a World without one (a test, a
// tool). A panic in a system propagates. It reports whether the tick ran,
// and returns a system's Init error.
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
