package world_test

import (
	"testing"

	"github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/world"
)

type position struct{ X, Y float64 }

func TestECSIsStableAndUsable(t *testing.T) {
	w := world.New()
	require.Same(t, w.ECS(), w.ECS(), "ECS must always return the same arche world")

	mapper := generic.NewMap1[position](w.ECS())
	e := mapper.NewWith(&position{X: 1, Y: 2})
	assert.True(t, w.ECS().Alive(e))

	filter := generic.NewFilter1[position]()
	q := filter.Query(w.ECS())
	n := 0
	for q.Next() {
		p := q.Get()
		assert.Equal(t, position{1, 2}, *p)
		n++
	}
	assert.Equal(t, 1, n)
	var _ *ecs.World = w.ECS()
}

func TestWorldsAreIndependent(t *testing.T) {
	a, b := world.New(), world.New()
	m := generic.NewMap1[position](a.ECS())
	m.New()
	assert.Equal(t, 0, countEntities(b))
	assert.Equal(t, 1, countEntities(a))
}

func countEntities(w *world.World) int {
	q := w.ECS().Query(ecs.All())
	defer q.Close()
	return q.Count()
}
