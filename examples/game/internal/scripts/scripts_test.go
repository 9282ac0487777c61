package scripts_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/game/internal/scripts"
	"github.com/orrery-go/orrery/examples/game/internal/sim"
	"github.com/orrery-go/orrery/world"
)

func newGame(t *testing.T) (*sim.Sim, *asyncrt.Runtime) {
	w := world.New()
	s, err := sim.New(w, sim.Config{Agents: 10, Seed: 1, TPS: 60})
	require.NoError(t, err)
	rt, err := asyncrt.NewBuilder().World(w).Clock(asyncrt.NewSimClock(time.Unix(0, 0))).Build()
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	return s, rt
}

func TestDeathCancelsTheScript(t *testing.T) {
	s, rt := newGame(t)
	type outcome struct {
		preyEnded, predatorAlive bool
		tasksBefore, tasksAfter  int
		hits                     int
	}
	got, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) outcome {
		game := asyncrt.NewCancellationToken()
		defer game.Cancel()
		var o outcome
		ended := make(chan struct{}, 1)
		at := sim.Position{X: 20, Y: 20}
		// A prey that only waits, counting its hits, and a predator on top
		// of it: the bites kill the prey within a second.
		prey, err := scripts.Spawn(t, s, game, sim.Prey, at, func(t *asyncrt.Task, a *scripts.Agent) {
			defer func() { ended <- struct{}{} }()
			for {
				ev, alive := a.Wait(t, time.Hour)
				if !alive {
					return
				}
				if ev.Kind == sim.Hit {
					o.hits++
				}
			}
		})
		if err != nil {
			panic(err)
		}
		predator, err := scripts.Spawn(t, s, game, sim.Predator, at, func(t *asyncrt.Task, a *scripts.Agent) {
			for alive := true; alive; _, alive = a.Wait(t, time.Hour) {
			}
		})
		if err != nil {
			panic(err)
		}
		t.Yield() // let both scripts start
		o.tasksBefore = t.Runtime().Stats().LiveTasks
		for !prey.Done() {
			t.Sleep(time.Second / 60)
		}
		for range 10 {
			t.Yield()
		}
		select {
		case <-ended:
			o.preyEnded = true
		default:
		}
		o.predatorAlive = !predator.Done()
		o.tasksAfter = t.Runtime().Stats().LiveTasks
		return o
	})
	require.NoError(t, err)
	assert.True(t, got.preyEnded, "the prey's script returned when it died")
	assert.True(t, got.predatorAlive)
	assert.Equal(t, got.tasksBefore-1, got.tasksAfter, "exactly one task, the prey's, ended")
	// 100 hit points, 4 per bite: the 25th bite kills, and the death wins
	// over that bite's event in the script's Select.
	assert.Equal(t, 24, got.hits)
	assert.Equal(t, uint64(1), s.Arena().Stats.Kills)
}

func TestCancellingTheGameEndsEveryScript(t *testing.T) {
	s, rt := newGame(t)
	live, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) [2]int {
		game := asyncrt.NewCancellationToken()
		spawner := asyncrt.Spawn(t, func(t *asyncrt.Task) error { return scripts.Spawner(t, s, game) })
		t.Sleep(10 * time.Second) // prey wander and flee, predators patrol and chase
		during := t.Runtime().Stats().LiveTasks
		game.Cancel()
		if err := spawner.Wait(t); err != nil {
			panic(err)
		}
		for range 100 {
			t.Yield()
		}
		return [2]int{during, t.Runtime().Stats().LiveTasks}
	})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, live[0], 10, "a script per agent")
	assert.Equal(t, 1, live[1], "only the root is left")
	pop := s.Population()
	assert.LessOrEqual(t, pop.Prey+pop.Predators, 10, "the spawner keeps the population, and predators thin it")
	assert.Greater(t, pop.Prey+pop.Predators, 0)
}

func TestSpawnRejectsBadKinds(t *testing.T) {
	s, rt := newGame(t)
	err := asyncrt.Run(rt, func(t *asyncrt.Task) error {
		game := asyncrt.NewCancellationToken()
		defer game.Cancel()
		_, err := scripts.Spawn(t, s, game, sim.Ship, sim.Position{}, scripts.Prey)
		return err
	})
	assert.Error(t, err, "only prey and predators have scripts")
}
