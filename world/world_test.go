package world_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/world"
)

type position struct{ X, Y float64 }

type config struct{ Speed float64 }

func TestECSIsStableAndUsable(t *testing.T) {
	w := world.New(world.Capacity(16))
	require.Same(t, w.ECS(), w.ECS(), "ECS must always return the same arche world")

	mapper := generic.NewMap1[position](w.ECS())
	e := mapper.NewWith(&position{X: 1, Y: 2})
	assert.True(t, w.ECS().Alive(e))

	q := generic.NewFilter1[position]().Query(w.ECS())
	n := 0
	for q.Next() {
		assert.Equal(t, position{1, 2}, *q.Get())
		n++
	}
	assert.Equal(t, 1, n)
	assert.Panics(t, func() { world.New(world.Capacity(0)) })
}

func TestResources(t *testing.T) {
	w := world.New()
	_, ok := world.Resource[config](w)
	assert.False(t, ok)
	_, err := world.RequireResource[config](w)
	assert.ErrorIs(t, err, world.ErrNoResource)
	assert.ErrorContains(t, err, "world_test.config", "the error names the type")
	assert.PanicsWithValue(t, "world: no such resource: world_test.config (add it with world.AddResource)",
		func() { world.MustResource[config](w) })
	assert.ErrorIs(t, world.RemoveResource[config](w), world.ErrNoResource)

	epoch := w.ResourceEpoch()
	cfg := &config{Speed: 2}
	require.NoError(t, world.AddResource(w, cfg))
	assert.NotEqual(t, epoch, w.ResourceEpoch(), "adding a resource moves the epoch")
	assert.ErrorContains(t, world.AddResource(w, &config{}), "already present")
	assert.ErrorContains(t, world.AddResource[config](w, nil), "nil resource")
	got, ok := world.Resource[config](w)
	require.True(t, ok)
	assert.Same(t, cfg, got)
	assert.Same(t, cfg, world.MustResource[config](w))
	assert.True(t, world.HasResource[config](w))
	require.NoError(t, world.RemoveResource[config](w))
	assert.False(t, world.HasResource[config](w))
}

func TestResetLeavesNoHandlePointingAtANewEntity(t *testing.T) {
	w := world.New()
	mapper := generic.NewMap1[position](w.ECS())
	old := mapper.NewWith(&position{X: 1})
	require.NoError(t, world.AddResource(w, &config{}))

	require.NoError(t, w.Reset())
	assert.False(t, world.HasResource[config](w))
	assert.False(t, w.ECS().Alive(old))
	fresh := mapper.NewWith(&position{X: 2})
	assert.Equal(t, old.ID(), fresh.ID(), "the slot is reused")
	assert.False(t, w.ECS().Alive(old), "but the old handle does not reach the new entity")
	assert.True(t, w.ECS().Alive(fresh))

	q := w.ECS().Query(ecs.All())
	assert.ErrorIs(t, w.Reset(), world.ErrBusy, "not while a query is open")
	q.Close()
	assert.NoError(t, w.Reset())
}

func TestDeferredCommandsApplyInOrderAtSafePoints(t *testing.T) {
	w := world.New()
	var log []string
	w.Defer(func(w *world.World) {
		log = append(log, "a")
		w.Defer(func(*world.World) { log = append(log, "c (queued by a)") })
	})
	w.Defer(func(*world.World) { log = append(log, "b") })
	assert.True(t, w.HasDeferred())

	q := w.ECS().Query(ecs.All())
	assert.ErrorIs(t, w.ApplyDeferred(), world.ErrBusy, "not while a query is open")
	assert.Empty(t, log)
	q.Close()
	require.NoError(t, w.ApplyDeferred())
	assert.Equal(t, []string{"a", "b", "c (queued by a)"}, log)
	assert.False(t, w.HasDeferred())
	assert.Panics(t, func() { w.Defer(nil) })
}

func TestScopeMakesTheWorldBusy(t *testing.T) {
	w := world.New()
	assert.False(t, w.Locked())
	w.Scope(func(w *world.World) {
		assert.True(t, w.Locked())
		w.Scope(func(w *world.World) { assert.True(t, w.Locked()) })
		assert.True(t, w.Locked())
	})
	assert.False(t, w.Locked())
	func() {
		defer func() { _ = recover() }()
		w.Scope(func(*world.World) { panic("x") })
	}()
	assert.False(t, w.Locked(), "a panicking callback leaves the World free")
}

func TestScheduleConfiguration(t *testing.T) {
	w := world.New()
	for _, tc := range []struct {
		name   string
		timing world.Timing
		want   string
	}{
		{"a", world.FixedRate(0), "rate must be positive"},
		{"b", world.FixedPeriod(-1), "period must be positive"},
		{"c", world.FixedRate(60).MaxCatchUp(0), "must be at least 1"},
		{"d", world.EveryCycle().MaxCatchUp(2), "applies to fixed-rate schedules"},
		{"e", world.Timing{}, "the zero Timing"},
		{"", world.EveryCycle(), "needs a name"},
	} {
		_, err := w.AddSchedule(tc.name, tc.timing)
		assert.ErrorContains(t, err, tc.want)
	}
	s, err := w.AddSchedule("physics", world.FixedRate(60))
	require.NoError(t, err)
	_, err = w.AddSchedule("physics", world.EveryCycle())
	assert.ErrorContains(t, err, "already exists")
	assert.ErrorContains(t, s.Add(nil), "nil system")
	assert.ErrorContains(t, s.AddFunc(nil), "nil function")
	assert.ErrorContains(t, s.RunIf(nil), "nil condition")
	assert.Equal(t, "physics", s.Name())
	assert.False(t, s.EveryCycle())
	assert.Equal(t, 5, s.MaxCatchUp())
	assert.Len(t, w.Schedules(), 1)
}

func TestFixedRateTickTimesAreExact(t *testing.T) {
	w := world.New()
	s, err := w.AddSchedule("sixty", world.FixedRate(60))
	require.NoError(t, err)
	for k := uint64(0); k <= 600; k++ {
		// k/60 s, rounded down to the nanosecond, with no accumulated error.
		want := int64(k) * 1_000_000_000 / 60
		require.Equal(t, want, int64(s.TickTime(k)), "tick %d", k)
		require.Equal(t, k, s.TicksBy(s.TickTime(k)), "tick %d", k)
	}
	assert.Equal(t, uint64(60), s.TicksBy(1_000_000_000), "60 ticks in the first second")
	assert.Equal(t, uint64(0), s.TicksBy(0))
}

type countingSystem struct {
	inits, updates, finals int
	initErr                error
	log                    *[]string
}

func (c *countingSystem) Init(*world.World) error { c.inits++; return c.initErr }
func (c *countingSystem) Update(*world.World)     { c.updates++; *c.log = append(*c.log, "update") }
func (c *countingSystem) Finalize(*world.World)   { c.finals++; *c.log = append(*c.log, "finalize") }

func TestRunTickRunsSystemsInOrder(t *testing.T) {
	w := world.New()
	s, _ := w.AddSchedule("main", world.EveryCycle())
	var log []string
	counting := &countingSystem{log: &log}
	require.NoError(t, s.AddFunc(func(w *world.World) {
		tick, ok := w.CurrentTick()
		require.True(t, ok)
		log = append(log, "first "+string(rune('0'+tick.N)))
		w.Defer(func(*world.World) { log = append(log, "deferred by first") })
	}))
	require.NoError(t, s.Add(counting))
	require.NoError(t, s.AddFunc(func(*world.World) { log = append(log, "third") }))
	enabled := true
	require.NoError(t, s.RunIf(func(*world.World) bool { return enabled }))

	for range 2 {
		ran, err := s.RunTick(timeZero)
		require.NoError(t, err)
		assert.True(t, ran)
	}
	enabled = false
	ran, _ := s.RunTick(timeZero)
	assert.False(t, ran)
	_, inTick := w.CurrentTick()
	assert.False(t, inTick)

	assert.Equal(t, []string{
		"first 1", "deferred by first", "update", "third",
		"first 2", "deferred by first", "update", "third",
	}, log)
	assert.Equal(t, 1, counting.inits, "Init once")
	assert.Equal(t, 2, counting.updates)
	st := s.Stats()
	assert.Equal(t, uint64(2), st.Ticks)
	assert.Equal(t, uint64(1), st.Skipped)
	assert.Equal(t, uint64(2), s.Tick().N)

	w.Finalize()
	w.Finalize() // once
	assert.Equal(t, 1, counting.finals)
}

func TestSystemInitError(t *testing.T) {
	w := world.New()
	s, _ := w.AddSchedule("main", world.EveryCycle())
	var log []string
	require.NoError(t, s.Add(&countingSystem{log: &log, initErr: errors.New("no config")}))
	_, err := s.RunTick(timeZero)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "no config") && strings.Contains(err.Error(), `"main"`), err.Error())
	assert.Empty(t, log, "a system that failed to initialise does not update")
}

func FuzzTicksBy(f *testing.F) {
	f.Add(60, int64(1_000_000_000))
	f.Add(7, int64(123_456_789_012))
	f.Add(1_000_000, int64(999))
	f.Fuzz(func(t *testing.T, hz int, d int64) {
		if hz <= 0 || hz > 10_000_000 || d < 0 {
			return
		}
		w := world.New()
		s, err := w.AddSchedule("s", world.FixedRate(hz))
		if err != nil {
			t.Fatal(err)
		}
		k := s.TicksBy(time.Duration(d))
		if int64(s.TickTime(k)) > d {
			t.Fatalf("hz %d: tick %d at %d is after %d", hz, k, s.TickTime(k), d)
		}
		if int64(s.TickTime(k+1)) <= d {
			t.Fatalf("hz %d: tick %d at %d is not after %d", hz, k+1, s.TickTime(k+1), d)
		}
	})
}
