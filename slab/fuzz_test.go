package slab_test

import (
	"errors"
	"testing"

	"github.com/orrery-go/orrery/slab"
)

// FuzzSlabAgainstMap drives a slab with a random sequence of operations and
// checks every answer against a map. Removed and released keys are kept and
// replayed, so stale keys are exercised as much as live ones.
func FuzzSlabAgainstMap(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 2, 3, 4, 5, 1, 1})
	f.Add([]byte{4, 4, 4, 4, 4, 5, 6, 7, 0, 1, 2, 3})
	f.Add([]byte{0xff, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		var s *slab.Slab[uint32]
		capacity := int(ops[0]%8) + 1
		if ops[0]&0x80 != 0 {
			s, _ = slab.NewUnbounded[uint32](capacity)
		} else {
			s, _ = slab.New[uint32](capacity)
		}
		foreign, _ := slab.New[uint32](8)
		fk, _ := foreign.Insert(99)

		model := map[slab.Key]uint32{}
		var keys []slab.Key // every key ever handed out, live or stale
		var claims []slab.Claim[uint32]
		next := uint32(1)
		pick := func(b byte) slab.Key {
			if len(keys) == 0 || b%7 == 6 {
				return fk
			}
			return keys[int(b)%len(keys)]
		}
		for i := 1; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%7, ops[i+1]
			switch op {
			case 0: // insert, or alloc and fill in place
				var k slab.Key
				var err error
				if arg&1 == 0 {
					k, err = s.Insert(next)
				} else {
					var p *uint32
					if k, p, err = s.Alloc(); err == nil {
						*p = next
					}
				}
				if err != nil {
					if !errors.Is(err, slab.ErrFull) || !s.Bounded() || s.Len()+len(claims) < s.Cap() {
						t.Fatalf("insert: unexpected %v (len %d, claims %d, cap %d)", err, s.Len(), len(claims), s.Cap())
					}
					continue
				}
				if _, dup := model[k]; dup {
					t.Fatalf("insert returned a live key %v", k)
				}
				model[k] = next
				keys = append(keys, k)
				next++
			case 1: // get
				k := pick(arg)
				p, ok := s.Get(k)
				want, live := model[k]
				if ok != live || (ok && *p != want) {
					t.Fatalf("get %v: got (%v, %v), model (%v, %v)", k, p, ok, want, live)
				}
				if s.Contains(k) != live {
					t.Fatalf("contains %v disagrees with model", k)
				}
			case 2: // remove or delete
				k := pick(arg)
				want, live := model[k]
				if arg&0x80 != 0 {
					if ok := s.Delete(k); ok != live {
						t.Fatalf("delete %v: got %v, model %v", k, ok, live)
					}
				} else if v, ok := s.Remove(k); ok != live || (ok && v != want) {
					t.Fatalf("remove %v: got (%v, %v), model (%v, %v)", k, v, ok, want, live)
				}
				delete(model, k)
			case 3: // claim
				c, err := s.Claim()
				if err != nil {
					if !errors.Is(err, slab.ErrFull) {
						t.Fatalf("claim: %v", err)
					}
					continue
				}
				claims = append(claims, c)
				keys = append(keys, c.Key())
			case 4, 5: // fill or release a claim (possibly one already used)
				if len(claims) == 0 {
					continue
				}
				j := int(arg) % len(claims)
				c := claims[j]
				if op == 4 {
					p, err := c.Fill(next)
					if err != nil {
						t.Fatalf("fill: %v", err)
					}
					if *p != next {
						t.Fatalf("fill stored %d, want %d", *p, next)
					}
					model[c.Key()] = next
					next++
				} else if err := c.Release(); err != nil {
					t.Fatalf("release: %v", err)
				}
				claims = append(claims[:j], claims[j+1:]...)
				if _, err := c.Fill(0); !errors.Is(err, slab.ErrStaleClaim) {
					t.Fatalf("reusing a claim: got %v, want ErrStaleClaim", err)
				}
			case 6: // iterate
				seen := 0
				for k, p := range s.All() {
					want, live := model[k]
					if !live || *p != want {
						t.Fatalf("iteration yielded %v=%d, model (%d, %v)", k, *p, want, live)
					}
					seen++
				}
				if seen != len(model) {
					t.Fatalf("iteration saw %d entries, model has %d", seen, len(model))
				}
			}
			if s.Len() != len(model) {
				t.Fatalf("len %d, model %d", s.Len(), len(model))
			}
		}
		if v, ok := foreign.Get(fk); !ok || *v != 99 {
			t.Fatal("the foreign slab was touched")
		}
	})
}
