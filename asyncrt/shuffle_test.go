package asyncrt_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// runOrder spawns ten tasks at once and returns the order they ran in.
func runOrder(t *testing.T, b *asyncrt.Builder) []int {
	t.Helper()
	rt, err := b.Clock(asyncrt.NewSimClock(time.Unix(0, 0))).Build()
	require.NoError(t, err)
	defer rt.Close()
	var got []int
	require.NoError(t, asyncrt.Run(rt, func(t *asyncrt.Task) error {
		for i := range 10 {
			asyncrt.SpawnFunc(t, func(*asyncrt.Task) { got = append(got, i) }).Detach()
		}
		for len(got) < 10 {
			t.Yield()
		}
		return nil
	}))
	return got
}

func TestShuffleReadyExploresOrdersAndReplays(t *testing.T) {
	fifo := runOrder(t, asyncrt.NewBuilder())
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, fifo, "without it, tasks run in the order they were woken")

	a := runOrder(t, asyncrt.NewBuilder().ShuffleReady(1))
	b := runOrder(t, asyncrt.NewBuilder().ShuffleReady(1))
	c := runOrder(t, asyncrt.NewBuilder().ShuffleReady(2))
	assert.Equal(t, a, b, "the same seed, the same order")
	assert.NotEqual(t, fifo, a, "a seed reorders")
	assert.NotEqual(t, a, c, "another seed, another order")
	sorted := slices.Clone(a)
	slices.Sort(sorted)
	assert.Equal(t, fifo, sorted, "every task ran once")
}

// Each ready task still runs once per cycle: a task that yields runs again
// in a later cycle, never twice in one.
func TestShuffleReadyRunsEachTaskOncePerCycle(t *testing.T) {
	for seed := range uint64(20) {
		rt, err := asyncrt.NewBuilder().ShuffleReady(seed).Clock(asyncrt.NewSimClock(time.Unix(0, 0))).Build()
		require.NoError(t, err)
		seen := make([][]uint64, 5)
		require.NoError(t, asyncrt.Run(rt, func(t *asyncrt.Task) error {
			set := asyncrt.NewJoinSet[struct{}]()
			for i := range seen {
				set.SpawnFunc(t, func(t *asyncrt.Task) {
					for range 3 {
						seen[i] = append(seen[i], t.Runtime().Stats().Cycles)
						t.Yield()
					}
				})
			}
			for {
				if _, ok := set.Next(t); !ok {
					return nil
				}
			}
		}))
		rt.Close()
		for i, cycles := range seen {
			require.Len(t, cycles, 3)
			assert.True(t, cycles[0] < cycles[1] && cycles[1] < cycles[2], "seed %d, task %d ran twice in a cycle: %v", seed, i, cycles)
		}
	}
}
