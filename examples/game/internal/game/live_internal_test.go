package game

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/game/internal/scripts"
	"github.com/orrery-go/orrery/examples/game/internal/sim"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

// TestSnapshotIsACopyOfTheArena plays two simulated seconds and checks the
// live view's snapshot against the World it was copied from: every entity
// once, at its place, the counts and the hunters; then plays on and checks
// that the snapshot did not change with the World.
func TestSnapshotIsACopyOfTheArena(t *testing.T) {
	w := world.New()
	s, err := sim.New(w, sim.Config{Agents: 200, Seed: 5, TPS: 60})
	require.NoError(t, err)
	rt, err := asyncrt.NewBuilder().World(w).Clock(asyncrt.NewSimClock(headlessStart)).Build()
	require.NoError(t, err)
	defer rt.Close()
	m := newMeter()
	s.OnTickStart(func(uint64) { m.start() })
	s.OnTick(func(uint64) { m.end() })

	var v view
	type entity struct {
		kind sim.Kind
		x, y int32
	}
	var want []entity
	var wantPop sim.Population
	var wantStats sim.Stats
	var kills map[uint32]int32
	err = asyncrt.Run(rt, func(t *asyncrt.Task) error {
		game := asyncrt.NewCancellationToken()
		spawner := asyncrt.Spawn(t, func(t *asyncrt.Task) error { return scripts.Spawner(t, s, game) })
		t.Sleep(2 * time.Second)
		worldctx.Of(t).With(func(*world.World) {
			v = snapshot(s, nil, m, t.Runtime().Stats(), 2*time.Second)
			s.Each(func(b sim.Body, p sim.Position) {
				want = append(want, entity{b.Kind, int32(p.X*10 + 0.5), int32(p.Y*10 + 0.5)})
			})
			wantPop, wantStats = s.Population(), s.Arena().Stats
			kills = map[uint32]int32{}
			s.EachScore(func(b sim.Body, k int32) { kills[b.ID] = k })
		})
		t.Sleep(time.Second) // the World moves on; the snapshot must not
		game.Cancel()
		return spawner.Wait(t)
	})
	require.NoError(t, err)

	assert.Equal(t, uint64(120), v.Tick, "two simulated seconds at 60 Hz")
	assert.Equal(t, 2.0, v.Elapsed)
	assert.Equal(t, population{wantPop.Prey, wantPop.Predators, wantPop.Ships, wantPop.Bullets}, v.Population)
	assert.Equal(t, wantStats.Kills, v.Stats.Kills)
	assert.Equal(t, wantStats.Spawned, v.Stats.Spawned)
	require.Len(t, v.Agents, 3*len(want), "a triplet per entity")
	for i, e := range want {
		assert.Equal(t, entity{sim.Kind(v.Agents[3*i]), v.Agents[3*i+1], v.Agents[3*i+2]}, e, "entity %d", i)
		assert.True(t, e.x >= 0 && float64(e.x) <= v.W*10 && e.y >= 0 && float64(e.y) <= v.H*10, "inside the arena")
	}
	require.NotEmpty(t, v.Hunters, "predators have killed in two seconds")
	assert.LessOrEqual(t, len(v.Hunters), hunters)
	for i, h := range v.Hunters {
		assert.Equal(t, kills[h.ID], h.Kills, "%s %d", h.Kind, h.ID)
		assert.Equal(t, "predator", h.Kind, "no ships in this game")
		if i > 0 {
			assert.GreaterOrEqual(t, v.Hunters[i-1].Kills, h.Kills, "best first")
		}
	}
	assert.Equal(t, int64(120), v.TickCount)
	assert.Positive(t, v.TickP99)
	assert.Positive(t, v.Tasks, "each agent's script is a task")
	assert.Empty(t, v.Players)

	b, err := json.Marshal(v)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	for _, key := range []string{"tick", "elapsed", "w", "h", "join", "population", "stats", "hunters", "players", "agents", "tickP99Us"} {
		assert.Contains(t, back, key, "the page reads %q", key)
	}
	assert.Equal(t, []any{}, back["players"], "an empty list, not null: the page iterates it")
}
