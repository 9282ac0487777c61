package sim

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlange-42/arche/ecs"
)

// neighbours lists, through the grid, the items within SenseRadius of p.
func (g *grid) neighbours(p Position) []int32 {
	var out []int32
	ranges, n := g.rows3(p)
	for _, rg := range ranges[:n] {
		for _, it := range g.sorted[rg[0]:rg[1]] {
			if dx, dy := it.pos.X-p.X, it.pos.Y-p.Y; dx*dx+dy*dy <= SenseRadius*SenseRadius {
				out = append(out, it.idx)
			}
		}
	}
	slices.Sort(out)
	return out
}

// FuzzGridAgainstBruteForce checks the grid finds exactly the items a scan
// of all of them finds, for random arenas and positions (some outside the
// arena, as a bounce can leave them on the edge).
func FuzzGridAgainstBruteForce(f *testing.F) {
	f.Add(uint64(1), uint16(50), 100.0, 80.0)
	f.Add(uint64(2), uint16(0), 10.0, 10.0)
	f.Add(uint64(3), uint16(500), 33.0, 400.0)
	f.Fuzz(func(t *testing.T, seed uint64, n uint16, w, h float64) {
		if !(w > 0 && h > 0 && w < 1e4 && h < 1e4) {
			return
		}
		r := rand.New(rand.NewPCG(seed, 1))
		var g grid
		g.init(w, h)
		items := make([]item, int(n)%2000)
		for i := range items {
			items[i] = item{
				e:   ecs.Entity{},
				pos: Position{X: r.Float64()*(w+2) - 1, Y: r.Float64()*(h+2) - 1},
				idx: int32(i),
			}
		}
		g.build(items)
		if len(g.sorted) != len(items) || g.start[len(g.start)-1] != int32(len(items)) {
			t.Fatalf("%d sorted items, last start %d, want %d", len(g.sorted), g.start[len(g.start)-1], len(items))
		}
		for q := 0; q < 20; q++ {
			p := Position{X: r.Float64() * w, Y: r.Float64() * h}
			var want []int32
			for i, it := range items {
				if dx, dy := it.pos.X-p.X, it.pos.Y-p.Y; dx*dx+dy*dy <= SenseRadius*SenseRadius {
					want = append(want, int32(i))
				}
			}
			got := g.neighbours(p)
			if !slices.Equal(got, want) {
				t.Fatalf("near %v: grid found %v, scan %v", p, got, want)
			}
		}
	})
}
