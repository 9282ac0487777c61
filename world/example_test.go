package world_test

import (
	"fmt"
	"time"

	"github.com/mlange-42/arche/generic"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/world"
)

type Position struct{ X, Y float64 }
type Velocity struct{ X, Y float64 }

// A physics system on a fixed rate of 10 Hz, driven by a runtime on a
// simulated clock: one simulated second gives exactly ten ticks, each
// stepping every moving entity by its velocity times the period.
func ExampleWorld_AddSchedule() {
	w := world.New()
	spawn := generic.NewMap2[Position, Velocity](w.ECS())
	spawn.NewWith(&Position{}, &Velocity{X: 1, Y: 2})

	physics, err := w.AddSchedule("physics", world.FixedRate(10))
	if err != nil {
		panic(err)
	}
	moving := generic.NewFilter2[Position, Velocity]()
	_ = physics.AddFunc(func(w *world.World) {
		tick, _ := w.CurrentTick()
		dt := tick.Delta.Seconds()
		q := moving.Query(w.ECS())
		for q.Next() {
			p, v := q.Get()
			p.X += v.X * dt
			p.Y += v.Y * dt
		}
	})

	rt, err := asyncrt.NewBuilder().World(w).
		Clock(asyncrt.NewSimClock(time.Unix(0, 0))).
		Build()
	if err != nil {
		panic(err)
	}
	defer rt.Close()

	// Under a simulated clock, time jumps ahead whenever every task waits.
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		t.Sleep(time.Second)
		return struct{}{}
	})

	q := moving.Query(w.ECS())
	for q.Next() {
		p, _ := q.Get()
		fmt.Printf("after %d ticks: (%.1f, %.1f)\n", physics.Stats().Ticks, p.X, p.Y)
	}
	// Output: after 10 ticks: (1.0, 2.0)
}

type Config struct{ Speed float64 }

func ExampleRequireResource() {
	w := world.New()
	if err := world.AddResource(w, &Config{Speed: 2.5}); err != nil {
		panic(err)
	}
	cfg, err := world.RequireResource[Config](w)
	fmt.Println(cfg.Speed, err)

	_, err = world.RequireResource[Velocity](w)
	fmt.Println(err)
	// Output:
	// 2.5 <nil>
	// world: no such resource: world_test.Velocity
}
