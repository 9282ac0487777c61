package asyncrt_test

import (
	"github.com/mlange-42/arche/generic"

	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

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
