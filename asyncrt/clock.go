package asyncrt

import (
	"sync/atomic"
	"time"
)

// Clock is where a runtime takes its time from: [RealClock], the default, or
// a [SimClock]. It is chosen when the runtime is built ([Builder.Clock]).
type Clock interface {
	// Now returns the clock's current time.
	Now() time.Time
	isClock()
}

// RealClock returns the system's monotonic clock.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) isClock()       {}

// SimClock is a simulated clock. Under it a runtime never waits for time to
// pass: whenever no task is ready and no IO is waiting, the clock jumps to
// the next timer. A task that sleeps an hour finishes in microseconds, and a
// run that uses no real IO and no other goroutines replays identically,
// event for event.
//
// A SimClock serves one runtime at a time. Now may be called from any
// goroutine.
type SimClock struct {
	start   time.Time
	elapsed atomic.Int64 // nanoseconds since start
	inUse   atomic.Bool
}

// NewSimClock returns a simulated clock that reads start until a runtime
// moves it.
func NewSimClock(start time.Time) *SimClock { return &SimClock{start: start} }

// Now returns the simulated time.
func (c *SimClock) Now() time.Time { return c.start.Add(time.Duration(c.elapsed.Load())) }

// Elapsed returns how much simulated time has passed since the clock's start.
func (c *SimClock) Elapsed() time.Duration { return time.Duration(c.elapsed.Load()) }

func (*SimClock) isClock() {}

// Advance moves the clock forward by d, as if that much time passed while
// the runtime's thread was busy: a way for a simulation to charge time to
// the work it models (a system that takes 50 ms, say). The runtime sees the
// new time from its next cycle. A negative d panics.
func (c *SimClock) Advance(d time.Duration) {
	if d < 0 {
		panic("asyncrt: SimClock.Advance with a negative duration: simulated time never goes back")
	}
	c.elapsed.Add(int64(d))
}

// advanceTo moves the clock forward to ns after its start; it never goes
// back.
func (c *SimClock) advanceTo(ns int64) {
	if ns > c.elapsed.Load() {
		c.elapsed.Store(ns)
	}
}
