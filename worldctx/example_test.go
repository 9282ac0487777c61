package worldctx_test

import (
	"fmt"

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
