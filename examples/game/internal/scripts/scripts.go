// Package scripts holds the behaviours of the game's agents, written as
// straight-line async code: each agent runs as a task of its own that
// wanders, chases, flees, waits and patrols with sleeps and selects, and
// that ends when its agent dies (the simulation cancels its token). Scripts
// touch the World only inside worldctx scopes, never across a suspension.
package scripts

import (
	"math"
	"time"

	"github.com/mlange-42/arche/ecs"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/game/internal/sim"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

// Agent is a script's handle on its entity. Its Select cases are made once
// and reused, so waiting does not allocate.
type Agent struct {
	sim    *sim.Sim
	ctx    worldctx.Ctx
	E      ecs.Entity
	Kind   sim.Kind
	done   *asyncrt.CancellationToken
	events *asyncrt.Receiver[sim.Event]

	onDone  *asyncrt.CancelCase
	onEvent *asyncrt.RecvCase[sim.Event]
	onTime  *asyncrt.TimeCase
}

// eventQueue is how many events an agent's channel holds.
const eventQueue = 4

// Spawn adds an agent of kind at p and starts behaviour as its script. The
// agent's token is a child of game, so cancelling game ends every script.
func Spawn(t *asyncrt.Task, s *sim.Sim, game *asyncrt.CancellationToken, kind sim.Kind, p sim.Position, behaviour func(*asyncrt.Task, *Agent)) (*Agent, error) {
	tx, rx, err := asyncrt.NewChan[sim.Event](t.Runtime(), eventQueue)
	if err != nil {
		return nil, err
	}
	a := &Agent{sim: s, ctx: worldctx.Of(t), Kind: kind, done: game.Child(), events: rx}
	a.onDone, a.onEvent, a.onTime = asyncrt.OnCancel(a.done), asyncrt.OnRecv(rx), asyncrt.OnTimeout(0)
	a.ctx.With(func(*world.World) {
		a.E, err = s.SpawnAgent(kind, p, sim.Mind{Done: a.done, Events: tx})
	})
	if err != nil {
		a.done.Cancel()
		return nil, err
	}
	asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
		defer rx.Close()
		defer a.stop() // a script that returns early leaves the agent still
		behaviour(t, a)
	}, asyncrt.Named(kind.String()+" script")).Detach()
	return a, nil
}

// Done reports whether the agent has died (or the game ended).
func (a *Agent) Done() bool { return a.done.IsCancelled() }

// Wait suspends the script for d, or until an event arrives; it returns the
// event (zero after a plain timeout) and false once the agent is dead.
func (a *Agent) Wait(t *asyncrt.Task, d time.Duration) (sim.Event, bool) {
	a.onTime.Reset(d)
	i, _ := asyncrt.Select(t, a.onDone, a.onEvent, a.onTime)
	switch {
	case i == 0:
		return sim.Event{}, false
	case i == 1 && a.onEvent.Err() == nil:
		return a.onEvent.Value(), true
	}
	return sim.Event{}, !a.done.IsCancelled()
}

// Senses returns what the agent perceives now.
func (a *Agent) Senses() sim.Senses {
	return worldctx.WithValue(a.ctx, func(*world.World) sim.Senses {
		sn, _ := a.sim.Senses(a.E)
		return sn
	})
}

// Position returns where the agent is.
func (a *Agent) Position() sim.Position {
	return worldctx.WithValue(a.ctx, func(*world.World) sim.Position {
		p, _ := a.sim.Position(a.E)
		return p
	})
}

// Steer asks for a velocity (clamped to the agent's top speed).
func (a *Agent) Steer(vx, vy float64) {
	a.ctx.With(func(*world.World) { _ = a.sim.SetSteer(a.E, vx, vy) })
}

// SteerTowards heads for p at speed; SteerAway flees from it.
func (a *Agent) SteerTowards(p sim.Position, speed float64) { a.steerRel(p, speed) }

// SteerAway heads away from p at speed.
func (a *Agent) SteerAway(p sim.Position, speed float64) { a.steerRel(p, -speed) }

func (a *Agent) steerRel(p sim.Position, speed float64) {
	a.ctx.With(func(*world.World) {
		me, ok := a.sim.Position(a.E)
		if !ok {
			return
		}
		dx, dy := p.X-me.X, p.Y-me.Y
		if n := math.Hypot(dx, dy); n > 0 {
			_ = a.sim.SetSteer(a.E, dx/n*speed, dy/n*speed)
		}
	})
}

func (a *Agent) stop() { a.Steer(0, 0) }

// random draws from the game's random source.
func (a *Agent) random() float64 {
	return worldctx.WithValue(a.ctx, func(*world.World) float64 { return a.sim.Arena().Rand.Float64() })
}

// between returns a random duration in [lo, hi).
func (a *Agent) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(a.random()*float64(hi-lo))
}

// wander heads in a random direction for a while.
func (a *Agent) wander(speed float64) {
	angle := 2 * math.Pi * a.random()
	a.Steer(math.Cos(angle)*speed, math.Sin(angle)*speed)
}

// Prey grazes and wanders, and flees from whatever threatens it.
func Prey(t *asyncrt.Task, a *Agent) {
	for {
		if a.random() < 0.3 { // graze a moment
			a.Steer(0, 0)
		} else {
			a.wander(sim.PreySpeed * 0.5)
		}
		ev, alive := a.Wait(t, a.between(500*time.Millisecond, 2*time.Second))
		if !alive {
			return
		}
		if ev.Kind == sim.Hit || a.Senses().ThreatDist < sim.SenseRadius {
			if !flee(t, a) {
				return
			}
		}
	}
}

// flee runs from the nearest threat until it is out of sight, for at most
// three seconds. It returns false if the agent died.
func flee(t *asyncrt.Task, a *Agent) bool {
	for deadline := t.Now().Add(3 * time.Second); t.Now().Before(deadline); {
		sn := a.Senses()
		if sn.Threat.IsZero() {
			return true
		}
		a.SteerAway(sn.ThreatAt, sim.PreySpeed)
		if _, alive := a.Wait(t, 100*time.Millisecond); !alive {
			return false
		}
	}
	return true
}

// Predator patrols between random waypoints, chases prey it sees, and
// rests after a kill.
func Predator(t *asyncrt.Task, a *Agent) {
	for {
		waypoint := worldctx.WithValue(a.ctx, func(*world.World) sim.Position { return a.sim.RandomPosition() })
		// Patrol until the waypoint is near, or prey comes in sight.
		for seen := false; !seen; {
			a.SteerTowards(waypoint, sim.PredatorSpeed*0.6)
			if _, alive := a.Wait(t, 250*time.Millisecond); !alive {
				return
			}
			sn := a.Senses()
			seen = !sn.Target.IsZero()
			if p := a.Position(); math.Hypot(p.X-waypoint.X, p.Y-waypoint.Y) < 2 {
				break
			}
		}
		if a.Senses().Target.IsZero() {
			continue
		}
		switch chase(t, a) {
		case chaseDied:
			return
		case chaseKilled: // rest
			a.Steer(0, 0)
			if _, alive := a.Wait(t, 2*time.Second); !alive {
				return
			}
		}
	}
}

type chaseResult int

const (
	chaseLost chaseResult = iota
	chaseKilled
	chaseDied
)

// chase runs at the nearest target for at most five seconds.
func chase(t *asyncrt.Task, a *Agent) chaseResult {
	for deadline := t.Now().Add(5 * time.Second); t.Now().Before(deadline); {
		sn := a.Senses()
		if sn.Target.IsZero() {
			return chaseLost
		}
		a.SteerTowards(sn.TargetAt, sim.PredatorSpeed)
		ev, alive := a.Wait(t, 100*time.Millisecond)
		if !alive {
			return chaseDied
		}
		if ev.Kind == sim.Killed {
			return chaseKilled
		}
	}
	return chaseLost
}

// WaveInterval is how often the spawner tops the population up.
const WaveInterval = 5 * time.Second

// Spawner keeps the population at the arena's Agents, a fifth of them
// predators: the first wave at once, then every WaveInterval it replaces
// the dead, at most a tenth of the population per wave. It returns when
// game is cancelled.
func Spawner(t *asyncrt.Task, s *sim.Sim, game *asyncrt.CancellationToken) error {
	want := s.Arena().Agents
	wantPredators := want / 5
	first := true
	onDone, onTime := asyncrt.OnCancel(game), asyncrt.OnTimeout(0)
	for {
		pop := worldctx.WithValue(worldctx.Of(t), func(*world.World) sim.Population { return s.Population() })
		missing := want - pop.Prey - pop.Predators
		if !first {
			missing = min(missing, max(want/10, 1))
		}
		first = false
		for i := range missing {
			kind, behaviour := sim.Prey, Prey
			if pop.Predators < wantPredators && (i%5 == 0 || pop.Prey >= want-wantPredators) {
				kind, behaviour = sim.Predator, Predator
				pop.Predators++
			} else {
				pop.Prey++
			}
			p := worldctx.WithValue(worldctx.Of(t), func(*world.World) sim.Position { return s.RandomPosition() })
			if _, err := Spawn(t, s, game, kind, p, behaviour); err != nil {
				return err
			}
		}
		onTime.Reset(WaveInterval)
		if i, _ := asyncrt.Select(t, onDone, onTime); i == 0 {
			return nil
		}
	}
}
