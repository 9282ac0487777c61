package worldctx_test

import (
	"fmt"
	"time"

	"github.com/mlange-42/arche/generic"

	"github.com/orrery-go/orrery/asyncrt"

	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

type Inventory struct{ Units int }
type Ledger struct{ Cash float64 }

type Sale struct {
	Units int
	Price float64
}

// A handler resolves its resources once; each Run is then a direct call.
// Replacing a resource is picked up on the next Run.
func ExampleNewHandler2() {
	w := world.New()
	_ = world.AddResource(w, &Inventory{Units: 10})
	_ = world.AddResource(w, &Ledger{})

	// Tasks get their Ctx from Task.World; worldctx.New serves outside one.
	ctx := worldctx.New(w)
	onSale, err := worldctx.NewHandler2(ctx, func(s Sale, inv *Inventory, l *Ledger) {
		inv.Units -= s.Units
		l.Cash += float64(s.Units) * s.Price
	})
	if err != nil {
		panic(err)
	}
	onSale.Run(Sale{Units: 3, Price: 2.5})
	onSale.Run(Sale{Units: 1, Price: 4})

	ctx.With(func(w *world.World) {
		fmt.Println(world.MustResource[Inventory](w).Units, world.MustResource[Ledger](w).Cash)
	})

	// A new Ledger replaces the old one; the handler follows it.
	_ = world.RemoveResource[Ledger](w)
	_ = world.AddResource(w, &Ledger{Cash: 100})
	onSale.Run(Sale{Units: 1, Price: 1})
	fmt.Println(world.MustResource[Ledger](w).Cash)

	_, err = worldctx.NewHandler1(ctx, func(Sale, *struct{ Missing bool }) {})
	fmt.Println(err != nil)
	// Output:
	// 6 11.5
	// 101
	// true
}

type fill struct{ Px float64 }

// A task reaches the World through its Ctx: a pre-resolved handler applies
// each quote to the book resource with a direct call, World.Defer queues an
// entity for the next safe point, and WithValue reads a result out.
func ExampleOf() {
	w := world.New()
	_ = world.AddResource(w, &book{})
	rt, _ := asyncrt.NewBuilder().World(w).Build()
	defer rt.Close()

	spread, _ := asyncrt.BlockOn(rt, func(t *asyncrt.Task) float64 {
		ctx := worldctx.Of(t)
		onQuote, err := worldctx.NewHandler1(ctx, func(q quote, b *book) {
			b.Bid, b.Ask = q.Bid, q.Ask
		})
		if err != nil {
			panic(err)
		}
		tx, rx, _ := asyncrt.NewChan[quote](t.Runtime(), 8)
		asyncrt.Spawn(t, func(t *asyncrt.Task) struct{} {
			defer tx.Close()
			for _, q := range []quote{{99.5, 100.5}, {99.75, 100.25}} {
				_ = tx.Send(t, q)
				t.Sleep(time.Millisecond)
			}
			return struct{}{}
		})
		for {
			q, err := rx.Recv(t) // wait outside any World access
			if err != nil {
				break // the sender closed
			}
			onQuote.Run(q)
		}
		ctx.With(func(w *world.World) {
			w.Defer(func(w *world.World) {
				fills := generic.NewMap1[fill](w.ECS())
				fills.NewWith(&fill{Px: 100})
			})
		})
		t.Yield() // a safe point: the deferred entity now exists
		return worldctx.WithValue(ctx, func(w *world.World) float64 {
			b := world.MustResource[book](w)
			q := generic.NewFilter1[fill]().Query(w.ECS())
			fmt.Println("fills:", q.Count())
			q.Close() // Count leaves the query open; a task must not
			return b.Ask - b.Bid
		})
	})
	fmt.Println("spread:", spread)
	// Output:
	// fills: 1
	// spread: 0.5
}
