package sim

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"
)

// Checksum hashes the state of the game: the tick, the counters, and every
// entity's id, kind, position, velocity, health and kills, in id order. Two
// runs with the same seed end with the same checksum.
func (s *Sim) Checksum() uint64 {
	type rec struct {
		b     Body
		p     Position
		v     Velocity
		hp    int32
		kills int32
	}
	var recs []rec
	q := s.all.Query(s.w.ECS())
	for q.Next() {
		b, p, v := q.Get()
		recs = append(recs, rec{b: *b, p: *p, v: *v})
		e := q.Entity()
		r := &recs[len(recs)-1]
		if s.health.HasUnchecked(e) {
			r.hp = s.health.GetUnchecked(e).HP
		}
		if s.score.HasUnchecked(e) {
			r.kills = s.score.GetUnchecked(e).Kills
		}
	}
	slices.SortFunc(recs, func(a, b rec) int { return int(a.b.ID) - int(b.b.ID) })
	h := fnv.New64a()
	var buf []byte
	a := s.arena
	st := a.Stats
	for _, v := range []uint64{a.Tick, st.Spawned, st.Died, st.Kills, st.Bites, st.Shots, st.Hits} {
		buf = binary.LittleEndian.AppendUint64(buf, v)
	}
	for _, r := range recs {
		buf = binary.LittleEndian.AppendUint32(buf, r.b.ID)
		buf = append(buf, byte(r.b.Kind))
		for _, f := range []float64{r.p.X, r.p.Y, r.v.X, r.v.Y} {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(f))
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(r.hp))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(r.kills))
		if len(buf) > 1<<16 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	return h.Sum64()
}
