package worldctx_test

import (
	"testing"
	"time"

	"github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

func onQuote(q quote, b *book, p *position) {
	b.Bid, b.Ask = q.Bid, q.Ask
	if q.Bid > 100 {
		p.Qty++
	}
}

func dispatchWorld(b *testing.B) *world.World {
	w := world.New()
	if err := world.AddResource(w, &book{}); err != nil {
		b.Fatal(err)
	}
	if err := world.AddResource(w, &position{}); err != nil {
		b.Fatal(err)
	}
	return w
}

// BenchmarkHandlerDispatch dispatches an event to a function with two
// resources resolved once, when the handler was made.
func BenchmarkHandlerDispatch(b *testing.B) {
	w := dispatchWorld(b)
	h, err := worldctx.NewHandler2(worldctx.New(w), onQuote)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Run(quote{Bid: float64(i & 255), Ask: 101})
	}
}

// BenchmarkResourceLookupDispatch is the baseline: arche's GetResource for
// both resources on every event.
func BenchmarkResourceLookupDispatch(b *testing.B) {
	w := dispatchWorld(b)
	e := w.ECS()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		onQuote(quote{Bid: float64(i & 255), Ask: 101}, ecs.GetResource[book](e), ecs.GetResource[position](e))
	}
}

type pos struct{ X, Y float64 }
type vel struct{ X, Y float64 }

func moverWorld(b *testing.B) *world.World {
	w := world.New(world.Capacity(10_000))
	mapper := generic.NewMap2[pos, vel](w.ECS())
	for i := range 10_000 {
		mapper.NewWith(&pos{}, &vel{X: float64(i % 7), Y: 1})
	}
	return w
}

// move is the system's work: one query over 10,000 entities.
func move(w *world.World, filter *generic.Filter2[pos, vel]) {
	q := filter.Query(w.ECS())
	for q.Next() {
		p, v := q.Get()
		p.X += v.X
		p.Y += v.Y
	}
}

// BenchmarkSystemTick10k measures one tick of a fixed-rate system that
// iterates 10,000 entities with two components, driven by the runtime's
// timer wheel (under a simulated clock, so that ticks follow each other
// without waiting).
func BenchmarkSystemTick10k(b *testing.B) {
	w := moverWorld(b)
	filter := generic.NewFilter2[pos, vel]()
	s, err := w.AddSchedule("move", world.FixedRate(1000))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.AddFunc(func(w *world.World) { move(w, filter) }); err != nil {
		b.Fatal(err)
	}
	rt, err := asyncrt.NewBuilder().World(w).Clock(asyncrt.NewSimClock(time.Unix(0, 0))).
		OnStall(func(asyncrt.StallReport) {}).Build() // the root never suspends
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	b.ReportAllocs()
	b.ResetTimer()
	_, err = asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		t.Sleep(time.Duration(b.N) * time.Millisecond) // b.N ticks pass meanwhile
		return 0
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if got := s.Stats().Ticks; got != uint64(b.N) {
		b.Fatalf("%d ticks, want %d", got, b.N)
	}
}

// BenchmarkArcheQuery10k is the baseline: the same query loop, called
// directly.
func BenchmarkArcheQuery10k(b *testing.B) {
	w := moverWorld(b)
	filter := generic.NewFilter2[pos, vel]()
	b.ReportAllocs()
	for b.Loop() {
		move(w, filter)
	}
}
