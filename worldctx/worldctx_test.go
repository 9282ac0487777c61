package worldctx_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

type book struct{ Bid, Ask float64 }
type position struct{ Qty int }
type risk struct{ Limit int }
type stats struct{ Events int }

type quote struct{ Bid, Ask float64 }

func TestWithAndWithValue(t *testing.T) {
	w := world.New()
	require.NoError(t, world.AddResource(w, &stats{Events: 2}))
	ctx := worldctx.New(w)
	ctx.With(func(w *world.World) {
		assert.True(t, w.Locked(), "the World is held during With")
		world.MustResource[stats](w).Events++
	})
	assert.False(t, w.Locked())
	n := worldctx.WithValue(ctx, func(w *world.World) int { return world.MustResource[stats](w).Events })
	assert.Equal(t, 3, n)
	assert.Panics(t, func() { ctx.With(nil) })
	assert.Panics(t, func() { worldctx.WithValue[int](ctx, nil) })
	assert.Panics(t, func() { worldctx.New(nil) })

}

func TestHandlersResolveOnceAndFollowChanges(t *testing.T) {
	w := world.New()
	ctx := worldctx.New(w)
	_, err := worldctx.NewHandler2(ctx, func(q quote, b *book, p *position) {})
	assert.ErrorIs(t, err, world.ErrNoResource)
	assert.ErrorContains(t, err, "worldctx_test.book")
	_, err = worldctx.NewHandler1[quote, book](ctx, nil)
	assert.ErrorContains(t, err, "nil function")

	b := &book{}
	require.NoError(t, world.AddResource(w, b))
	require.NoError(t, world.AddResource(w, &position{Qty: 5}))
	h, err := worldctx.NewHandler2(ctx, func(q quote, b *book, p *position) {
		b.Bid, b.Ask = q.Bid, q.Ask
		p.Qty++
	})
	require.NoError(t, err)
	h.Run(quote{Bid: 99, Ask: 101})
	assert.Equal(t, book{99, 101}, *b)
	assert.Equal(t, 6, world.MustResource[position](w).Qty)

	// The resource is replaced: the next Run looks it up again.
	require.NoError(t, world.RemoveResource[book](w))
	b2 := &book{}
	require.NoError(t, world.AddResource(w, b2))
	h.Run(quote{Bid: 1, Ask: 2})
	assert.Equal(t, book{1, 2}, *b2)
	assert.Equal(t, book{99, 101}, *b, "the old one is left alone")

	// Removed for good: Run says which.
	require.NoError(t, world.RemoveResource[book](w))
	assert.PanicsWithValue(t,
		"worldctx: a handler's resource was removed: world: no such resource: worldctx_test.book",
		func() { h.Run(quote{}) })
}

func TestHandlersOfEveryArity(t *testing.T) {
	w := world.New()
	for _, add := range []func() error{
		func() error { return world.AddResource(w, &book{}) },
		func() error { return world.AddResource(w, &position{}) },
		func() error { return world.AddResource(w, &risk{Limit: 7}) },
		func() error { return world.AddResource(w, &stats{}) },
	} {
		require.NoError(t, add())
	}
	ctx := worldctx.New(w)
	h1, err := worldctx.NewHandler1(ctx, func(e int, s *stats) { s.Events += e })
	require.NoError(t, err)
	h3, err := worldctx.NewHandler3(ctx, func(e int, b *book, p *position, r *risk) { p.Qty = min(e, r.Limit) })
	require.NoError(t, err)
	h4, err := worldctx.NewHandler4(ctx, func(e int, b *book, p *position, r *risk, s *stats) { s.Events += p.Qty })
	require.NoError(t, err)
	h1.Run(2)
	h3.Run(100)
	h4.Run(0)
	assert.Equal(t, 7, world.MustResource[position](w).Qty)
	assert.Equal(t, 9, world.MustResource[stats](w).Events)
	for _, err := range []error{
		func() error {
			_, err := worldctx.NewHandler3[int, book, position, quote](ctx, func(int, *book, *position, *quote) {})
			return err
		}(),
		func() error {
			_, err := worldctx.NewHandler4[int, book, position, risk, quote](ctx, func(int, *book, *position, *risk, *quote) {})
			return err
		}(),
	} {
		assert.ErrorIs(t, err, world.ErrNoResource)
	}
}
