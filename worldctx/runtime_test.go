package worldctx_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

func TestFixedRateScheduleUnderSimulatedClock(t *testing.T) {
	for _, hz := range []int{60, 7, 1000} {
		t.Run(fmt.Sprint(hz), func(t *testing.T) {
			w := world.New()
			s, err := w.AddSchedule("physics", world.FixedRate(hz))
			require.NoError(t, err)
			var times []time.Duration
			require.NoError(t, s.AddFunc(func(w *world.World) {
				tick, _ := w.CurrentTick()
				times = append(times, tick.Time.Sub(simStart))
			}))
			rt, _ := simRuntime(t, asyncrt.NewBuilder().World(w))
			block(t, rt, func(t *asyncrt.Task) int { t.Sleep(3 * time.Second); return 0 })
			require.Len(t, times, 3*hz, "exactly hz ticks per simulated second")
			for k, at := range times {
				require.Equal(t, s.TickTime(uint64(k+1)), at, "tick %d", k+1)
			}
			assert.Equal(t, uint64(3*hz), s.Stats().Ticks)
			assert.Zero(t, s.Stats().Dropped)
		})
	}
}

func TestFixedRateCatchUpIsBounded(t *testing.T) {
	w := world.New()
	s, err := w.AddSchedule("fast", world.FixedRate(1000).MaxCatchUp(3))
	require.NoError(t, err)
	clock := asyncrt.NewSimClock(simStart)
	var ticks []world.Tick
	require.NoError(t, s.AddFunc(func(w *world.World) {
		tick, _ := w.CurrentTick()
		ticks = append(ticks, tick)
		if tick.N == 1 {
			clock.Advance(50 * time.Millisecond) // a slow system: its first tick takes 50 ms
		}
	}))
	rt := newRuntime(t, asyncrt.NewBuilder().World(w).Clock(clock))
	block(t, rt, func(t *asyncrt.Task) int {
		for len(ticks) < 8 {
			t.Sleep(time.Millisecond)
		}
		return 0
	})
	// Tick 1 is due at 1 ms and ends at 51 ms. Ticks 2 to 4 then run back to
	// back at their scheduled times; 5 to 51 are dropped; tick 52 is next.
	ms := time.Millisecond
	for i, want := range []time.Duration{1, 2, 3, 4, 52, 53, 54, 55} {
		assert.Equal(t, want*ms, ticks[i].Time.Sub(simStart), "tick %d", i)
	}
	assert.Equal(t, uint64(47), s.Stats().Dropped, "every skipped tick is counted")
	assert.Equal(t, ms, ticks[4].Delta, "a fixed rate's delta is its period")
	for i := 1; i < len(ticks); i++ {
		assert.Equal(t, uint64(i+1), ticks[i].N)
	}
}

func TestRunConditionsAndEveryCycleSchedules(t *testing.T) {
	w := world.New()
	every, _ := w.AddSchedule("every", world.EveryCycle())
	gated, _ := w.AddSchedule("gated", world.FixedRate(100))
	open := false
	everyTicks, gatedTicks := 0, 0
	require.NoError(t, every.AddFunc(func(*world.World) { everyTicks++ }))
	require.NoError(t, gated.AddFunc(func(*world.World) { gatedTicks++ }))
	require.NoError(t, gated.RunIf(func(*world.World) bool { return open }))
	rt, _ := simRuntime(t, asyncrt.NewBuilder().World(w))
	block(t, rt, func(t *asyncrt.Task) int {
		t.Sleep(time.Second)
		open = true
		t.Sleep(time.Second)
		return 0
	})
	assert.Equal(t, 100, gatedTicks, "runs only while the condition holds")
	assert.Equal(t, uint64(100), gated.Stats().Skipped)
	assert.Equal(t, rt.Stats().Cycles, uint64(everyTicks), "once per cycle")
}

// runLog runs tasks and a fixed-rate system side by side under a simulated
// clock and logs who did what, when.
func runLog(t *testing.T) []string {
	w := world.New()
	s, _ := w.AddSchedule("sim", world.FixedRate(20))
	var log []string
	require.NoError(t, s.AddFunc(func(w *world.World) {
		tick, _ := w.CurrentTick()
		log = append(log, fmt.Sprintf("%v system %d", tick.Time.Sub(simStart), tick.N))
	}))
	rt, _ := simRuntime(t, asyncrt.NewBuilder().World(w))
	block(t, rt, func(t *asyncrt.Task) int {
		var hs []asyncrt.JoinHandle[int]
		for i := range 3 {
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int {
				for j := range 4 {
					t.Sleep(time.Duration(37+i*11) * time.Millisecond)
					log = append(log, fmt.Sprintf("%v task %d step %d", t.Now().Sub(simStart), i, j))
				}
				return i
			}))
		}
		for _, h := range hs {
			_, _ = h.Await(t)
		}
		return 0
	})
	return log
}

func TestTasksAndSystemsInterleaveReproducibly(t *testing.T) {
	a, b := runLog(t), runLog(t)
	assert.Equal(t, a, b)
	joined := strings.Join(a, "\n")
	assert.Contains(t, joined, "system", "systems ran")
	assert.Equal(t, 12, strings.Count(joined, "task"), "every task step ran")
}

func TestWorldCtxWith(t *testing.T) {
	w := world.New()
	require.NoError(t, world.AddResource(w, &vel{X: 3}))
	rt := newRuntime(t, asyncrt.NewBuilder().World(w))
	got := block(t, rt, func(t *asyncrt.Task) float64 {
		ctx := worldctx.Of(t)
		mapper := generic.NewMap1[pos](w.ECS())
		ctx.With(func(w *world.World) { mapper.NewWith(&pos{X: 1}) })
		return worldctxSum(ctx)
	})
	assert.Equal(t, 1.0+3.0, got)
}

func TestSuspendingInsideWithIsDetected(t *testing.T) {
	w := world.New()
	rt := newRuntime(t, asyncrt.NewBuilder().World(w))
	err := block(t, rt, func(t *asyncrt.Task) error {
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			worldctx.Of(t).With(func(*world.World) { t.Yield() })
			return 0
		})
		_, err := h.Await(t)
		return err
	})
	var pe *asyncrt.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, pe.Error(), "suspended while its World was locked")
	assert.Contains(t, pe.Error(), "defer the change", "the message names the fix")
	assert.False(t, w.Locked(), "the World is free again")
}

func TestSuspendingWithAnOpenQueryIsDetected(t *testing.T) {
	w := world.New()
	mapper := generic.NewMap1[pos](w.ECS())
	mapper.New()
	rt := newRuntime(t, asyncrt.NewBuilder().World(w))
	errs := block(t, rt, func(t *asyncrt.Task) []error {
		careful := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			q := w.ECS().Query(ecs.All())
			defer q.Close()
			t.Sleep(time.Millisecond) // suspends with the query open
			return q.Count()
		})
		careless := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			q := w.ECS().Query(ecs.All())
			return q.Count() // returns without closing it
		})
		_, e1 := careful.Await(t)
		_, e2 := careless.Await(t)
		return []error{e1, e2}
	})
	assert.ErrorContains(t, errs[0], "query open")
	assert.ErrorContains(t, errs[1], "query still open")
}

func TestDeferredCommandsApplyAfterThePoll(t *testing.T) {
	w := world.New()
	rt := newRuntime(t, asyncrt.NewBuilder().World(w))
	counts := block(t, rt, func(t *asyncrt.Task) []int {
		ctx := worldctx.Of(t)
		mapper := generic.NewMap1[pos](w.ECS())
		count := func() int {
			q := w.ECS().Query(ecs.All())
			defer q.Close()
			return q.Count()
		}
		var order []int
		for i := range 3 {
			ctx.With(func(w *world.World) {
				w.Defer(func(*world.World) {
					mapper.NewWith(&pos{X: float64(i)})
					order = append(order, i)
				})
			})
		}
		before := count()
		t.Yield() // a safe point: the commands apply after this poll
		if fmt.Sprint(order) != "[0 1 2]" {
			panic("out of order: " + fmt.Sprint(order))
		}
		return []int{before, count()}
	})
	assert.Equal(t, []int{0, 3}, counts)
}

type stubborn struct{}

func (stubborn) Update(*world.World)   { panic("a system bug") }
func (stubborn) Finalize(*world.World) {}

func TestSystemPanicGoesToThePanicPolicy(t *testing.T) {
	w := world.New()
	s, _ := w.AddSchedule("broken", world.FixedRate(10))
	require.NoError(t, s.Add(stubborn{}))
	rt, _ := simRuntime(t, asyncrt.NewBuilder().World(w))
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int { t.Sleep(time.Second); return 0 })
	var pe *asyncrt.PanicError
	require.ErrorAs(t, err, &pe)
	var se *world.SystemError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "broken", se.Schedule)
	assert.Contains(t, pe.Error(), `schedule "broken"`)
	assert.ErrorContains(t, se.Err, "a system bug")
	assert.NotEmpty(t, se.Stack)
}

type finalizing struct{ finalized *bool }

func (f finalizing) Update(*world.World)   {}
func (f finalizing) Finalize(*world.World) { *f.finalized = true }

func TestCloseFinalizesSystems(t *testing.T) {
	w := world.New()
	s, _ := w.AddSchedule("s", world.FixedRate(10))
	done := false
	require.NoError(t, s.Add(finalizing{&done}))
	rt, _ := simRuntime(t, asyncrt.NewBuilder().World(w))
	block(t, rt, func(t *asyncrt.Task) int { t.Sleep(time.Second); return 0 })
	assert.False(t, done)
	rt.Close()
	assert.True(t, done)
}

// worldctxSum adds up the X of every pos and the resource vel's X, through
// WithValue.
func worldctxSum(ctx worldctx.Ctx) float64 {
	return worldctx.WithValue(ctx, func(w *world.World) float64 {
		sum := world.MustResource[vel](w).X
		q := generic.NewFilter1[pos]().Query(w.ECS())
		for q.Next() {
			sum += q.Get().X
		}
		return sum
	})
}

var simStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newRuntime builds a runtime for a test and closes it when the test ends.
func newRuntime(t *testing.T, b *asyncrt.Builder) *asyncrt.Runtime {
	t.Helper()
	if b == nil {
		b = asyncrt.NewBuilder()
	}
	rt, err := b.Build()
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	return rt
}

// simRuntime builds a runtime on a simulated clock.
func simRuntime(t *testing.T, b *asyncrt.Builder) (*asyncrt.Runtime, *asyncrt.SimClock) {
	t.Helper()
	clock := asyncrt.NewSimClock(simStart)
	return newRuntime(t, b.Clock(clock)), clock
}

// block runs fn as the root of rt and fails the test on error.
func block[T any](t *testing.T, rt *asyncrt.Runtime, fn func(*asyncrt.Task) T) T {
	t.Helper()
	v, err := asyncrt.BlockOn(rt, fn)
	require.NoError(t, err)
	return v
}
