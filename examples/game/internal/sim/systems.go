package sim

import (
	"math"
	"slices"

	"github.com/mlange-42/arche/ecs"

	"github.com/orrery-go/orrery/world"
)

// item is an entity in the grid.
type item struct {
	e    ecs.Entity
	pos  Position
	kind Kind
	idx  int32 // its place in the query order
}

// grid buckets entities by cell, sorted so that each cell's items are
// contiguous and a row of three neighbouring cells is one range: neighbours
// are found in the 3×3 cells around one, with memory read in order, so
// sensing and collisions stay linear in the entity count.
type grid struct {
	cols, rows int
	start      []int32 // items of cell c: sorted[start[c]:start[c+1]]
	sorted     []item
}

func (g *grid) init(w, h float64) {
	g.cols = max(1, int(math.Ceil(w/SenseRadius)))
	g.rows = max(1, int(math.Ceil(h/SenseRadius)))
	g.start = make([]int32, g.cols*g.rows+1)
}

func (g *grid) cell(p Position) (int, int) {
	cx := min(max(int(p.X/SenseRadius), 0), g.cols-1)
	cy := min(max(int(p.Y/SenseRadius), 0), g.rows-1)
	return cx, cy
}

// build sorts items by cell (a counting sort).
func (g *grid) build(items []item) {
	clear(g.start)
	for i := range items {
		cx, cy := g.cell(items[i].pos)
		g.start[cy*g.cols+cx+1]++
	}
	for c := 1; c < len(g.start); c++ {
		g.start[c] += g.start[c-1]
	}
	g.sorted = slices.Grow(g.sorted[:0], len(items))[:len(items)]
	fill := g.start // advanced per cell while filling, restored below
	for i := range items {
		cx, cy := g.cell(items[i].pos)
		c := cy*g.cols + cx
		g.sorted[fill[c]] = items[i]
		fill[c]++
	}
	// fill[c] now holds the end of cell c, which is the start of c+1.
	copy(g.start[1:], fill[:len(fill)-1])
	g.start[0] = 0
}

// rows3 returns, for the 3×3 cells around p, the three ranges of sorted
// items (one per row of cells).
func (g *grid) rows3(p Position) (r [3][2]int32, n int) {
	cx, cy := g.cell(p)
	x0, x1 := max(cx-1, 0), min(cx+1, g.cols-1)
	for y := max(cy-1, 0); y <= min(cy+1, g.rows-1); y++ {
		r[n] = [2]int32{g.start[y*g.cols+x0], g.start[y*g.cols+x1+1]}
		n++
	}
	return r, n
}

// move turns velocities towards steering and moves everything; walls
// bounce agents and end bullets.
func (s *Sim) move(w *world.World) {
	a := s.arena
	a.Tick++
	dt := a.dt
	k := min(1, Accel*dt)
	q := s.moving.Query(w.ECS())
	for q.Next() {
		_, p, v, st := q.Get()
		v.X += (st.X - v.X) * k
		v.Y += (st.Y - v.Y) * k
		p.X, v.X = bounce(p.X+v.X*dt, v.X, a.W)
		p.Y, v.Y = bounce(p.Y+v.Y*dt, v.Y, a.H)
	}
	b := s.flying.Query(w.ECS())
	for b.Next() {
		p, v, exp := b.Get()
		p.X += v.X * dt
		p.Y += v.Y * dt
		if p.X < 0 || p.Y < 0 || p.X > a.W || p.Y > a.H {
			exp.Tick = a.Tick // out of the arena: gone this tick
		}
	}
}

func bounce(x, v, limit float64) (float64, float64) {
	switch {
	case x < 0:
		return min(-x, limit), -v
	case x > limit:
		return max(2*limit-x, 0), -v
	}
	return x, v
}

// threatTable[a][b] says whether b threatens a; huntTable[a][b] whether a
// hunts b.
var threatTable, huntTable = func() (t, h [Bullet + 1][Bullet + 1]bool) {
	for a := Prey; a <= Bullet; a++ {
		for b := Prey; b <= Bullet; b++ {
			t[a][b], h[a][b] = threatens(a, b), hunts(a, b)
		}
	}
	return t, h
}()

// threatens and hunts say who senses whom.
func threatens(to, by Kind) bool {
	switch to {
	case Prey:
		return by == Predator || by == Ship
	case Predator, Ship:
		return by == Predator && to == Ship
	}
	return false
}

func hunts(hunter, prey Kind) bool {
	switch hunter {
	case Predator:
		return prey == Prey || prey == Ship
	case Ship:
		return prey == Prey || prey == Predator
	}
	return false
}

// sense rebuilds the grid, refreshes every agent's senses, and turns bites
// and bullet hits into damage.
func (s *Sim) sense(w *world.World) {
	s.items = s.items[:0]
	q := s.living.Query(w.ECS())
	for q.Next() {
		b, p, _ := q.Get()
		s.items = append(s.items, item{e: q.Entity(), pos: *p, kind: b.Kind})
	}
	for i := range s.items {
		s.items[i].idx = int32(i)
	}
	s.grid.build(s.items)
	s.sensed = slices.Grow(s.sensed[:0], len(s.items))[:len(s.items)]
	const r2 = SenseRadius * SenseRadius
	const c2 = ContactRadius * ContactRadius
	g := &s.grid
	// The neighbour loops are written out, not behind a callback: this is
	// the hottest code of a big game. Agents are visited cell by cell, so
	// the neighbours they read were mostly just read.
	for i := range g.sorted {
		me := g.sorted[i]
		sn := Senses{ThreatDist: math.Inf(1), TargetDist: math.Inf(1)}
		threat, hunt, bites := &threatTable[me.kind], &huntTable[me.kind], me.kind == Predator
		ranges, n := g.rows3(me.pos)
		for _, rg := range ranges[:n] {
			for j := rg[0]; j < rg[1]; j++ {
				o := &g.sorted[j]
				dx, dy := o.pos.X-me.pos.X, o.pos.Y-me.pos.Y
				d2 := dx*dx + dy*dy
				if d2 > r2 || int(j) == i {
					continue
				}
				if threat[o.kind] && d2 < sn.ThreatDist {
					sn.Threat, sn.ThreatAt, sn.ThreatDist = o.e, o.pos, d2
				}
				if hunt[o.kind] {
					if d2 < sn.TargetDist {
						sn.Target, sn.TargetAt, sn.TargetDist = o.e, o.pos, d2
					}
					if bites && d2 <= c2 {
						s.damaged = append(s.damaged, damage{victim: o.e, by: me.e, amount: Bite})
						s.arena.Stats.Bites++
					}
				}
			}
		}
		sn.ThreatDist, sn.TargetDist = math.Sqrt(sn.ThreatDist), math.Sqrt(sn.TargetDist)
		s.sensed[me.idx] = sn
	}
	// The same query again, in the same order: write the senses back.
	q = s.living.Query(w.ECS())
	for i := 0; q.Next(); i++ {
		_, _, sn := q.Get()
		*sn = s.sensed[i]
	}
	// Bullets hit the first thing in reach, other than their shooter.
	bq := s.shots.Query(w.ECS())
	for bq.Next() {
		p, exp, sh := bq.Get()
		if exp.Tick <= s.arena.Tick {
			continue
		}
		var hit ecs.Entity
		best := c2
		ranges, n := g.rows3(*p)
		for _, rg := range ranges[:n] {
			for _, o := range g.sorted[rg[0]:rg[1]] {
				dx, dy := o.pos.X-p.X, o.pos.Y-p.Y
				if d2 := dx*dx + dy*dy; d2 <= best && o.e != sh.Entity {
					hit, best = o.e, d2
				}
			}
		}
		if !hit.IsZero() {
			s.damaged = append(s.damaged, damage{victim: hit, by: sh.Entity, amount: BulletDamage})
			s.arena.Stats.Hits++
			exp.Tick = s.arena.Tick // the bullet is spent
		}
	}
}

// applyDamage takes hit points off, tells the victims' scripts, and scores
// the kills.
func (s *Sim) applyDamage(w *world.World) {
	for _, d := range s.damaged {
		if !s.Alive(d.victim) {
			continue
		}
		h := s.health.Get(d.victim)
		if h.HP <= 0 {
			continue // already dead this tick
		}
		h.HP -= d.amount
		s.tell(d.victim, Event{Kind: Hit, Other: d.by})
		if h.HP > 0 {
			continue
		}
		s.doomed = append(s.doomed, d.victim)
		s.arena.Stats.Died++
		if s.Alive(d.by) && s.score.Has(d.by) {
			s.score.Get(d.by).Kills++
			s.arena.Stats.Kills++
			s.tell(d.by, Event{Kind: Killed, Other: d.victim})
		}
	}
	s.damaged = s.damaged[:0]
}

// tell sends an event to e's script, if it has one.
func (s *Sim) tell(e ecs.Entity, ev Event) {
	if !s.minds.Has(e) {
		return
	}
	if err := s.minds.Get(e).Events.TrySend(ev); err != nil {
		s.arena.Stats.EventsDropped++ // the script has not caught up; it will see its senses
	}
}

// despawn removes the dead and the spent bullets, cancelling the scripts of
// the dead.
func (s *Sim) despawn(w *world.World) {
	q := s.shots.Query(w.ECS())
	for q.Next() {
		_, exp, _ := q.Get()
		if exp.Tick <= s.arena.Tick {
			s.doomed = append(s.doomed, q.Entity())
		}
	}
	for _, e := range s.doomed {
		s.Remove(e)
	}
	s.doomed = s.doomed[:0]
}

func (s *Sim) startTick(*world.World) {
	for _, fn := range s.onStart {
		fn(s.arena.Tick + 1)
	}
}

func (s *Sim) endTick(*world.World) {
	for _, fn := range s.onTick {
		fn(s.arena.Tick)
	}
}
