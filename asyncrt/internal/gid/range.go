package gid

// Range calls f with each goroutine in the set and its value until f
// returns false. It is safe for concurrent use with the writer: it walks the
// table current when it starts, and an entry added or removed meanwhile may
// or may not be seen.
func (s *Set[V]) Range(f func(g uintptr, v *V) bool) {
	t := s.table.Load()
	if t == nil {
		return
	}
	for i := range t.keys {
		g := t.keys[i].Load()
		if g == 0 || g == tombstone {
			continue
		}
		if v := t.vals[i].Load(); v != nil && !f(g, v) {
			return
		}
	}
}
