package asyncrt_test

import (
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
	assert.Equal(t, s.Parks, s.SchedulerYields, "with no minimum interval, every park yields first")
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
