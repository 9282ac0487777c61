// Package sim is the simulation of the game example: an arena of prey and
// predators (and the players' ships and their bullets) kept as entities of
// an Orrery World and stepped by systems on a fixed-rate schedule.
//
// Each tick, in order: agents steer towards the velocity their scripts (or
// players) asked for and move; a spatial grid is rebuilt so that sensing and
// collisions only look at nearby cells; bites and bullet hits become damage;
// the dead and the expired are removed, their scripts cancelled, and kills
// scored. Agent behaviour lives in scripts (see Agent), tasks that reach the
// World only through worldctx.
package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/world"
)

// Kind says what an entity is.
type Kind uint8

// The kinds of entity.
const (
	Prey Kind = iota + 1
	Predator
	Ship
	Bullet
)

func (k Kind) String() string {
	switch k {
	case Prey:
		return "prey"
	case Predator:
		return "predator"
	case Ship:
		return "ship"
	case Bullet:
		return "bullet"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Position is where an entity is, in arena units.
type Position struct{ X, Y float64 }

// Velocity is how fast it moves, in units per second.
type Velocity struct{ X, Y float64 }

// Steer is the velocity an agent wants; the movement system turns its
// velocity towards it.
type Steer struct{ X, Y float64 }

// Health is an entity's hit points.
type Health struct{ HP, Max int32 }

// Body is what every entity has: its kind and a stable id, unique for the
// game (entity handles are recycled; ids are not).
type Body struct {
	Kind Kind
	ID   uint32
}

// Senses is what an agent perceives, refreshed every tick: the nearest
// threat (for prey: a predator or a ship; for predators: a ship) and the
// nearest target (for predators and ships: prey), within SenseRadius.
type Senses struct {
	Threat, Target         ecs.Entity
	ThreatAt, TargetAt     Position
	ThreatDist, TargetDist float64
}

// Score counts what a predator or a ship has killed.
type Score struct{ Kills int32 }

// Mind links an agent to its script: the token that cancels it when the
// agent dies, and the channel that brings it events.
type Mind struct {
	Done   *asyncrt.CancellationToken
	Events *asyncrt.Sender[Event]
}

// Expiry is when a bullet disappears (a tick number).
type Expiry struct{ Tick uint64 }

// Shooter is whom a bullet belongs to.
type Shooter struct{ Entity ecs.Entity }

// EventKind says what happened to an agent.
type EventKind uint8

// Events a script can receive.
const (
	// Hit: the agent took damage.
	Hit EventKind = iota + 1
	// Killed: the agent killed another.
	Killed
)

// Event is something that happened to an agent.
type Event struct {
	Kind  EventKind
	Other ecs.Entity
}

// Tunables of the simulation, in arena units and seconds.
const (
	// SenseRadius is how far an agent perceives others; it is also the
	// grid's cell size.
	SenseRadius = 8.0
	// ContactRadius is how close a bite or a bullet must come.
	ContactRadius = 1.0
	PreySpeed     = 6.0
	PredatorSpeed = 7.0
	ShipSpeed     = 10.0
	BulletSpeed   = 40.0
	// BulletLife is how long a bullet flies.
	BulletLife = time.Second
	// Accel is how fast velocities turn towards steering, per second.
	Accel = 4.0
	// Bite is the damage a predator does per tick of contact; BulletDamage
	// per hit.
	Bite         = 4
	BulletDamage = 50
	// Density is agents per square unit of arena.
	Density = 0.02
)

// Config describes a game.
type Config struct {
	// Agents is the population the spawner keeps up: a fifth predators,
	// the rest prey.
	Agents int
	// Seed makes the game reproducible.
	Seed uint64
	// TPS is the physics rate in ticks per second.
	TPS int
}

func (c Config) validate() error {
	switch {
	case c.Agents < 1 || c.Agents > 10_000_000:
		return fmt.Errorf("sim: Agents = %d, want 1..10000000", c.Agents)
	case c.TPS < 1 || c.TPS > 10_000:
		return fmt.Errorf("sim: TPS = %d, want 1..10000", c.TPS)
	}
	return nil
}

// Stats counts what happened in the arena.
type Stats struct {
	Spawned, Died, Kills, Bites, Shots, Hits uint64
	// EventsDropped counts events a script's full channel could not take.
	EventsDropped uint64
}

// Arena is the World resource with the game's shared state.
type Arena struct {
	Config
	W, H float64
	// Tick is the number of physics ticks run.
	Tick uint64
	// Rand is the game's one random source, used in the single thread's
	// order, so a seed gives the same game every time.
	Rand  *rand.Rand
	Stats Stats

	nextID uint32
	dt     float64
}

// NewID returns a fresh entity id.
func (a *Arena) NewID() uint32 {
	a.nextID++
	return a.nextID
}

// Population counts the live entities by kind.
type Population struct{ Prey, Predators, Ships, Bullets int }

// Sim is a game's simulation: its World, its systems and the accessors the
// scripts, the spawner and the players use.
type Sim struct {
	w     *world.World
	arena *Arena
	grid  grid

	bodies   generic.Map[Body]
	pos      generic.Map[Position]
	vel      generic.Map[Velocity]
	steer    generic.Map[Steer]
	health   generic.Map[Health]
	senses   generic.Map[Senses]
	score    generic.Map[Score]
	minds    generic.Map[Mind]
	agentNew generic.Map8[Body, Position, Velocity, Steer, Health, Senses, Mind, Score]
	shipNew  generic.Map7[Body, Position, Velocity, Steer, Health, Senses, Score]
	bullets  generic.Map5[Body, Position, Velocity, Expiry, Shooter]

	moving  *generic.Filter4[Body, Position, Velocity, Steer]
	flying  *generic.Filter3[Position, Velocity, Expiry]
	living  *generic.Filter3[Body, Position, Senses]
	shots   *generic.Filter3[Position, Expiry, Shooter]
	all     *generic.Filter3[Body, Position, Velocity]
	scorers *generic.Filter2[Body, Score]
	items   []item
	sensed  []Senses
	damaged []damage
	doomed  []ecs.Entity

	schedule *world.Schedule
	onStart  []func(tick uint64)
	onTick   []func(tick uint64)
}

type damage struct {
	victim, by ecs.Entity
	amount     int32
}

// New sets up a game on w: the Arena resource and the physics schedule.
func New(w *world.World, cfg Config) (*Sim, error) {
	if w == nil {
		return nil, errors.New("sim: nil World")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	side := math.Sqrt(float64(cfg.Agents) / Density)
	side = max(side, 4*SenseRadius)
	arena := &Arena{
		Config: cfg, W: side, H: side,
		Rand: rand.New(rand.NewPCG(cfg.Seed, 0x67616d65)),
		dt:   1 / float64(cfg.TPS),
	}
	if err := world.AddResource(w, arena); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	e := w.ECS()
	s := &Sim{
		w: w, arena: arena,
		bodies: generic.NewMap[Body](e), pos: generic.NewMap[Position](e),
		vel: generic.NewMap[Velocity](e), steer: generic.NewMap[Steer](e),
		health: generic.NewMap[Health](e), senses: generic.NewMap[Senses](e),
		score: generic.NewMap[Score](e), minds: generic.NewMap[Mind](e),
		agentNew: generic.NewMap8[Body, Position, Velocity, Steer, Health, Senses, Mind, Score](e),
		shipNew:  generic.NewMap7[Body, Position, Velocity, Steer, Health, Senses, Score](e),
		bullets:  generic.NewMap5[Body, Position, Velocity, Expiry, Shooter](e),
		moving:   generic.NewFilter4[Body, Position, Velocity, Steer](),
		flying:   generic.NewFilter3[Position, Velocity, Expiry](),
		living:   generic.NewFilter3[Body, Position, Senses](),
		shots:    generic.NewFilter3[Position, Expiry, Shooter](),
		all:      generic.NewFilter3[Body, Position, Velocity](),
		scorers:  generic.NewFilter2[Body, Score](),
	}
	s.grid.init(arena.W, arena.H)
	sched, err := w.AddSchedule("physics", world.FixedRate(cfg.TPS))
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	for _, sys := range []func(*world.World){s.startTick, s.move, s.sense, s.applyDamage, s.despawn, s.endTick} {
		if err := sched.AddFunc(sys); err != nil {
			return nil, err
		}
	}
	s.schedule = sched
	return s, nil
}

// World returns the game's World.
func (s *Sim) World() *world.World { return s.w }

// Arena returns the Arena resource.
func (s *Sim) Arena() *Arena { return s.arena }

// Schedule returns the physics schedule, for timing or extra systems.
func (s *Sim) Schedule() *world.Schedule { return s.schedule }

// OnTickStart registers fn to run at the start of every tick, before the
// systems; tick is the number of the tick about to run.
func (s *Sim) OnTickStart(fn func(tick uint64)) { s.onStart = append(s.onStart, fn) }

// OnTick registers fn to run at the end of every tick, after the systems.
func (s *Sim) OnTick(fn func(tick uint64)) { s.onTick = append(s.onTick, fn) }

// RandomPosition returns a uniformly random point of the arena.
func (s *Sim) RandomPosition() Position {
	r := s.arena.Rand
	return Position{X: r.Float64() * s.arena.W, Y: r.Float64() * s.arena.H}
}

// SpawnAgent adds a prey or a predator at p, with its script's token and
// event channel. Call it outside any query.
func (s *Sim) SpawnAgent(kind Kind, p Position, mind Mind) (ecs.Entity, error) {
	if kind != Prey && kind != Predator {
		return ecs.Entity{}, fmt.Errorf("sim: SpawnAgent of kind %v", kind)
	}
	if mind.Done == nil || mind.Events == nil {
		return ecs.Entity{}, errors.New("sim: SpawnAgent needs a cancellation token and an event channel")
	}
	s.arena.Stats.Spawned++
	hp := int32(100)
	if kind == Predator {
		hp = 150
	}
	return s.agentNew.NewWith(&Body{Kind: kind, ID: s.arena.NewID()}, &p, &Velocity{}, &Steer{},
		&Health{HP: hp, Max: hp}, &Senses{}, &mind, &Score{}), nil
}

// SpawnShip adds a player's ship at a random position.
func (s *Sim) SpawnShip() ecs.Entity {
	s.arena.Stats.Spawned++
	p := s.RandomPosition()
	return s.shipNew.NewWith(&Body{Kind: Ship, ID: s.arena.NewID()}, &p, &Velocity{}, &Steer{},
		&Health{HP: 100, Max: 100}, &Senses{}, &Score{})
}

// Fire shoots a bullet from ship in direction (dx, dy).
func (s *Sim) Fire(ship ecs.Entity, dx, dy float64) error {
	if !s.Alive(ship) || s.bodies.Get(ship).Kind != Ship {
		return errors.New("no ship")
	}
	n := math.Hypot(dx, dy)
	if !(n > 0) || math.IsInf(n, 0) {
		return errors.New("fire needs a direction")
	}
	p := *s.pos.Get(ship)
	v := Velocity{X: dx / n * BulletSpeed, Y: dy / n * BulletSpeed}
	life := uint64(BulletLife.Seconds() * float64(s.arena.TPS))
	s.bullets.NewWith(&Body{Kind: Bullet, ID: s.arena.NewID()}, &p, &v,
		&Expiry{Tick: s.arena.Tick + life}, &Shooter{Entity: ship})
	s.arena.Stats.Shots++
	return nil
}

// Alive reports whether e is a live entity.
func (s *Sim) Alive(e ecs.Entity) bool { return !e.IsZero() && s.w.ECS().Alive(e) }

// Body returns e's body, and false if e is gone.
func (s *Sim) Body(e ecs.Entity) (Body, bool) {
	if !s.Alive(e) {
		return Body{}, false
	}
	return *s.bodies.Get(e), true
}

// Position returns where e is, and false if e is gone.
func (s *Sim) Position(e ecs.Entity) (Position, bool) {
	if !s.Alive(e) || !s.pos.Has(e) {
		return Position{}, false
	}
	return *s.pos.Get(e), true
}

// Health returns e's health, and false if e is gone or has none.
func (s *Sim) Health(e ecs.Entity) (Health, bool) {
	if !s.Alive(e) || !s.health.Has(e) {
		return Health{}, false
	}
	return *s.health.Get(e), true
}

// Kills returns the kills scored by e.
func (s *Sim) Kills(e ecs.Entity) int32 {
	if !s.Alive(e) || !s.score.Has(e) {
		return 0
	}
	return s.score.Get(e).Kills
}

// Senses returns what e perceives.
func (s *Sim) Senses(e ecs.Entity) (Senses, bool) {
	if !s.Alive(e) || !s.senses.Has(e) {
		return Senses{}, false
	}
	return *s.senses.Get(e), true
}

// SetSteer sets the velocity e wants, clamped to its kind's top speed.
func (s *Sim) SetSteer(e ecs.Entity, vx, vy float64) error {
	if !s.Alive(e) || !s.steer.Has(e) {
		return errors.New("no such agent")
	}
	if math.IsNaN(vx) || math.IsNaN(vy) || math.IsInf(vx, 0) || math.IsInf(vy, 0) {
		return errors.New("steering must be finite")
	}
	top := topSpeed(s.bodies.Get(e).Kind)
	if n := math.Hypot(vx, vy); n > top {
		vx, vy = vx/n*top, vy/n*top
	}
	*s.steer.Get(e) = Steer{X: vx, Y: vy}
	return nil
}

func topSpeed(k Kind) float64 {
	switch k {
	case Prey:
		return PreySpeed
	case Predator:
		return PredatorSpeed
	case Ship:
		return ShipSpeed
	}
	return BulletSpeed
}

// Remove takes e out of the game at once (a player leaving), cancelling its
// script if it has one.
func (s *Sim) Remove(e ecs.Entity) {
	if !s.Alive(e) {
		return
	}
	if s.minds.Has(e) {
		s.minds.Get(e).Done.Cancel()
	}
	s.w.ECS().RemoveEntity(e)
}

// Each calls fn for every entity, with its body and position.
func (s *Sim) Each(fn func(b Body, p Position)) {
	q := s.all.Query(s.w.ECS())
	for q.Next() {
		b, p, _ := q.Get()
		fn(*b, *p)
	}
}

// EachScore calls fn for every entity that keeps a score (every agent
// and ship; only predators and ships kill), with its body and kills.
func (s *Sim) EachScore(fn func(b Body, kills int32)) {
	q := s.scorers.Query(s.w.ECS())
	for q.Next() {
		b, sc := q.Get()
		fn(*b, sc.Kills)
	}
}

// Population counts the live entities by kind.
func (s *Sim) Population() Population {
	var p Population
	q := s.all.Query(s.w.ECS())
	for q.Next() {
		b, _, _ := q.Get()
		switch b.Kind {
		case Prey:
			p.Prey++
		case Predator:
			p.Predators++
		case Ship:
			p.Ships++
		case Bullet:
			p.Bullets++
		}
	}
	return p
}
