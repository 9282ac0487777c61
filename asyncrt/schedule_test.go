package asyncrt_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/orrery-go/orrery/asyncrt"
)

// cycleOf returns the number of the executor cycle the task is running in,
// counting from 1.
func cycleOf(t *asyncrt.Task) uint64 { return t.Runtime().Stats().Cycles + 1 }

func TestWokenTaskRunsInNextCycle(t *testing.T) {
	rt := newRuntime(t, nil)
	cycles := block(t, rt, func(t *asyncrt.Task) []uint64 {
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) []uint64 {
			var seen []uint64
			for range 5 {
				seen = append(seen, cycleOf(t))
				t.Yield()
			}
			return append(seen, cycleOf(t))
		})
		t.Yield()
		v, _ := h.Await(t)
		return v
	})
	// The root runs in cycle 1; the child then runs once per cycle, never
	// twice in one, however much room the cycle has.
	assert.Equal(t, []uint64{2, 3, 4, 5, 6, 7}, cycles)
}

func TestAwaitRunsUnstartedTaskAtOnce(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		quickCycle, slowCycles []uint64
		pollsForQuick          uint64
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		slow := asyncrt.Spawn(t, func(t *asyncrt.Task) []uint64 {
			c := []uint64{cycleOf(t)}
			t.Yield() // suspends: from here its awaiter waits as usual
			return append(c, cycleOf(t))
		})
		quick := asyncrt.Spawn(t, cycleOf)
		before := t.Runtime().Stats().Polls
		c, _ := quick.Await(t)
		polls := t.Runtime().Stats().Polls - before
		v, _ := slow.Await(t)
		return result{[]uint64{c}, v, polls}
	})
	assert.Equal(t, []uint64{1}, r.quickCycle, "awaited before it started, a task runs in its awaiter's turn")
	assert.Equal(t, uint64(1), r.pollsForQuick, "one poll, the inline run: the awaiter did not suspend")
	assert.Equal(t, []uint64{1, 2}, r.slowCycles, "after suspending, it is scheduled as usual")
}

func TestTasksPerCycleBoundsAPass(t *testing.T) {
	for _, tc := range []struct {
		perCycle int
		want     []uint64
	}{
		{4, []uint64{2, 2, 2, 2, 3, 3, 3, 3, 4, 4}},
		{64, []uint64{2, 2, 2, 2, 2, 2, 2, 2, 2, 2}},
		{1, []uint64{2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
	} {
		t.Run(fmt.Sprint(tc.perCycle), func(t *testing.T) {
			rt := newRuntime(t, asyncrt.NewBuilder().TasksPerCycle(tc.perCycle))
			got := block(t, rt, func(t *asyncrt.Task) []uint64 {
				var hs []asyncrt.JoinHandle[uint64]
				for range 10 {
					hs = append(hs, asyncrt.Spawn(t, cycleOf))
				}
				// Wait for them through the executor, not by awaiting
				// (which would run them inline).
				for !hs[len(hs)-1].IsFinished() {
					t.Yield()
				}
				var cycles []uint64
				for _, h := range hs {
					c, _ := h.Await(t)
					cycles = append(cycles, c)
				}
				return cycles
			})
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestReadyTasksRunInFIFOOrder(t *testing.T) {
	rt := newRuntime(t, nil)
	log := block(t, rt, func(t *asyncrt.Task) []string {
		var log []string
		var hs []asyncrt.JoinHandle[int]
		for _, name := range []string{"a", "b", "c"} {
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int {
				for i := range 3 {
					log = append(log, fmt.Sprint(name, i))
					t.Yield()
				}
				return 0
			}))
		}
		for _, h := range hs {
			_, _ = h.Await(t)
		}
		return log
	})
	assert.Equal(t, []string{"a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"}, log)
}

func TestRunsAreReproducible(t *testing.T) {
	run := func() []int {
		rt := newRuntime(t, asyncrt.NewBuilder().TasksPerCycle(3))
		return block(t, rt, func(t *asyncrt.Task) []int {
			var log []int
			var hs []asyncrt.JoinHandle[int]
			for i := range 20 {
				hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int {
					for j := range i % 4 {
						log = append(log, i*10+j)
						t.Yield()
					}
					return i
				}))
			}
			for _, h := range hs {
				v, _ := h.Await(t)
				log = append(log, -v)
			}
			return log
		})
	}
	assert.Equal(t, run(), run())
}
