package asyncrt_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// sleepRounds runs a task that sleeps rounds times on rt, so that the
// runtime runs out of work and parks (or spins) each time, and returns the
// runtime's counters.
func sleepRounds(t *testing.T, rt *asyncrt.Runtime, rounds int) asyncrt.Stats {
	t.Helper()
	s, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) asyncrt.Stats {
		for range rounds {
			t.Sleep(2 * time.Millisecond)
		}
		return t.Runtime().Stats()
	})
	require.NoError(t, err)
	return s
}

func TestYieldsToSchedulerBeforeParking(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder())
	asyncrt.SetReschedEvery(rt, 0)
	s := sleepRounds(t, rt, 5)
	assert.Positive(t, s.Parks)
	// Every call to park yields; one whose sleep the yield used up returns
	// without parking.
	assert.GreaterOrEqual(t, s.SchedulerYields, s.Parks, "with no minimum interval, every park yields first")
}

// A goroutine's wake-up that comes while the runtime yields is not lost:
// the runtime is not yet marked parked, so the post is seen before it
// sleeps.
func TestWakesFromOtherGoroutinesSurviveYields(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder())
	asyncrt.SetReschedEvery(rt, 0)
	s := notifyRounds(t, rt, 300)
	assert.Positive(t, s.SchedulerYields)
}

// A simulated runtime that waits on another goroutine parks, and so
// yields, like a real one. The goroutine answers once the runtime has
// published that it parked.
func TestSimulatedRuntimeWaitingOnOutsideWorkYields(t *testing.T) {
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := newRuntime(t, asyncrt.NewBuilder().Clock(clock))
	asyncrt.SetReschedEvery(rt, 0)
	s, err := asyncrt.BlockOn(rt, func(tk *asyncrt.Task) asyncrt.Stats {
		_, _ = asyncrt.Go(tk, func() (int, error) {
			for rt.Stats().Parks == 0 {
				runtime.Gosched()
			}
			return 0, nil
		})
		return tk.Runtime().Stats()
	})
	require.NoError(t, err)
	assert.Positive(t, s.Parks)
	assert.GreaterOrEqual(t, s.SchedulerYields, s.Parks)
}

func TestYieldsToSchedulerAtMostOnceAnInterval(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder())
	asyncrt.SetReschedEvery(rt, time.Hour)
	s := sleepRounds(t, rt, 5)
	assert.Positive(t, s.Parks)
	assert.Equal(t, uint64(1), s.SchedulerYields, "only the first park in the hour yields")
}

func TestSpinningRuntimeDoesNotYieldToScheduler(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().Idle(asyncrt.Spin))
	asyncrt.SetReschedEvery(rt, 0)
	s := sleepRounds(t, rt, 2)
	assert.Zero(t, s.Parks)
	assert.Zero(t, s.SchedulerYields)
}

func TestSimulatedRuntimeYieldsOnlyWhenItParks(t *testing.T) {
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := newRuntime(t, asyncrt.NewBuilder().Clock(clock))
	asyncrt.SetReschedEvery(rt, 0)
	s := sleepRounds(t, rt, 5)
	assert.Zero(t, s.Parks, "simulated time jumps instead of parking")
	assert.Zero(t, s.SchedulerYields)
}
