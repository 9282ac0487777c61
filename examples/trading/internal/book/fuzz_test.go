package book_test

import (
	"cmp"
	"errors"
	"slices"
	"testing"

	"github.com/orrery-go/orrery/examples/trading/internal/book"
)

// model is a naive order book: an unordered slice of resting orders,
// matched by scanning for the best price and then the lowest Seq.
type model struct {
	orders []book.Order
	seq    uint64
}

func (m *model) find(id book.OrderID) int {
	return slices.IndexFunc(m.orders, func(o book.Order) bool { return o.ID == id })
}

// ahead reports whether resting order a trades before resting order b of
// the same side.
func ahead(a, b book.Order) bool {
	if a.Price != b.Price {
		return (a.Side == book.Buy) == (a.Price > b.Price)
	}
	return a.Seq < b.Seq
}

func (m *model) match(side book.Side, limit, qty int64, taker book.OrderID, owner uint32, stop func(book.Order) bool, dst []book.Fill) ([]book.Fill, int64) {
	if side != book.Buy && side != book.Sell {
		return dst, qty
	}
	for qty > 0 {
		best := -1
		for i, o := range m.orders {
			if o.Side != side.Opposite() || side == book.Buy && o.Price > limit || side == book.Sell && o.Price < limit {
				continue
			}
			if best < 0 || ahead(o, m.orders[best]) {
				best = i
			}
		}
		if best < 0 || stop != nil && stop(m.orders[best]) {
			break
		}
		mk := &m.orders[best]
		q := min(qty, mk.Qty)
		qty -= q
		mk.Qty -= q
		dst = append(dst, book.Fill{Maker: mk.ID, Taker: taker, MakerOwner: mk.Owner, TakerOwner: owner, Side: side, Price: mk.Price, Qty: q, MakerLeft: mk.Qty})
		if mk.Qty == 0 {
			m.orders = slices.Delete(m.orders, best, best+1)
		}
	}
	return dst, qty
}

func modelValidate(s book.Side, price, qty int64) error {
	switch {
	case s != book.Buy && s != book.Sell:
		return book.ErrInvalidSide
	case price <= 0:
		return book.ErrInvalidPrice
	case qty <= 0:
		return book.ErrInvalidQty
	}
	return nil
}

func (m *model) submit(o book.Order, ioc bool, dst []book.Fill) ([]book.Fill, bool, error) {
	if err := modelValidate(o.Side, o.Price, o.Qty); err != nil {
		return dst, false, err
	}
	if m.find(o.ID) >= 0 {
		return dst, false, book.ErrDuplicateID
	}
	m.seq++
	o.Seq = m.seq
	dst, o.Qty = m.match(o.Side, o.Price, o.Qty, o.ID, o.Owner, nil, dst)
	if o.Qty == 0 || ioc {
		return dst, false, nil
	}
	m.orders = append(m.orders, o)
	return dst, true, nil
}

func (m *model) cancel(id book.OrderID) (book.Order, error) {
	i := m.find(id)
	if i < 0 {
		return book.Order{}, book.ErrUnknownOrder
	}
	o := m.orders[i]
	m.orders = slices.Delete(m.orders, i, i+1)
	return o, nil
}

func (m *model) reduce(id book.OrderID, n int64) (int64, error) {
	i := m.find(id)
	switch {
	case i < 0:
		return 0, book.ErrUnknownOrder
	case n <= 0:
		return 0, book.ErrInvalidQty
	case n >= m.orders[i].Qty:
		m.orders = slices.Delete(m.orders, i, i+1)
		return 0, nil
	}
	m.orders[i].Qty -= n
	return m.orders[i].Qty, nil
}

func (m *model) replace(id, newID book.OrderID, price, qty int64, dst []book.Fill) ([]book.Fill, bool, error) {
	i := m.find(id)
	if i < 0 {
		return dst, false, book.ErrUnknownOrder
	}
	o := m.orders[i]
	if err := modelValidate(o.Side, price, qty); err != nil {
		return dst, false, err
	}
	if newID != id && m.find(newID) >= 0 {
		return dst, false, book.ErrDuplicateID
	}
	if price == o.Price && qty <= o.Qty {
		m.orders[i].ID, m.orders[i].Qty = newID, qty
		return dst, true, nil
	}
	m.orders = slices.Delete(m.orders, i, i+1)
	return m.submit(book.Order{ID: newID, Side: o.Side, Owner: o.Owner, Price: price, Qty: qty}, false, dst)
}

func (m *model) execute(id book.OrderID, n int64) (book.Fill, error) {
	i := m.find(id)
	if i < 0 {
		return book.Fill{}, book.ErrUnknownOrder
	}
	o := &m.orders[i]
	if n <= 0 || n > o.Qty {
		return book.Fill{}, book.ErrInvalidQty
	}
	o.Qty -= n
	f := book.Fill{Maker: o.ID, MakerOwner: o.Owner, Side: o.Side.Opposite(), Price: o.Price, Qty: n, MakerLeft: o.Qty}
	if o.Qty == 0 {
		m.orders = slices.Delete(m.orders, i, i+1)
	}
	return f, nil
}

// sorted returns the model's orders in the order Book.Orders yields them.
func (m *model) sorted() []book.Order {
	out := slices.Clone(m.orders)
	slices.SortFunc(out, func(a, b book.Order) int {
		if a.Side != b.Side {
			return cmp.Compare(a.Side, b.Side) // bids first
		}
		if ahead(a, b) {
			return -1
		}
		return 1
	})
	return out
}

func (m *model) levels(s book.Side) []book.Level {
	var out []book.Level
	for _, o := range m.sorted() {
		if o.Side != s {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Price == o.Price {
			out[n-1].Qty += o.Qty
			out[n-1].Orders++
			continue
		}
		out = append(out, book.Level{Price: o.Price, Qty: o.Qty, Orders: 1})
	}
	return out
}

// FuzzBookAgainstModel applies a random sequence of operations, valid and
// invalid, to a Book and to the naive model, and compares every result and
// the whole observable state after each operation.
func FuzzBookAgainstModel(f *testing.F) {
	f.Add([]byte{0, 0, 3, 5, 0, 0, 0, 1, 3, 5, 0, 0, 1, 1, 3, 9, 0, 0})
	f.Add([]byte{
		0, 0, 2, 4, 0, 1, 0, 0, 2, 4, 0, 2, 0, 0, 4, 4, 0, 0, 0, 1, 6, 12, 0, 0,
		7, 1, 9, 12, 1, 0, 2, 0, 1, 0, 0, 0, 3, 1, 5, 1, 0, 0, 4, 0, 1, 0, 0, 0,
		5, 1, 2, 3, 2, 0, 6, 0, 10, 12, 3, 1, 0, 0, 255, 0, 0, 0,
	})
	f.Add([]byte{0, 15, 3, 3, 0, 0, 0, 0, 254, 3, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 3, 2, 128, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := book.New()
		m := &model{}
		var used []book.OrderID
		next := book.OrderID(1)
		fresh := func() book.OrderID {
			id := next
			next++
			used = append(used, id)
			return id
		}
		pick := func(x byte) book.OrderID {
			if len(used) == 0 || x%16 == 15 {
				return 1 << 40 // never used
			}
			return used[int(x)%len(used)]
		}
		side := func(x byte) book.Side {
			if x&0x0f == 0x0f {
				return book.Side(x>>4&1) * 3 // 0 or 3: invalid
			}
			return book.Side(x&1) + book.Buy
		}
		price := func(x byte) int64 {
			switch x {
			case 255:
				return 0
			case 254:
				return -3
			}
			return 95 + int64(x%11)
		}
		qty := func(x byte) int64 {
			if x == 255 {
				return -1
			}
			return int64(x % 13)
		}
		var got, want []book.Fill
		for i := 0; i+6 <= len(data); i += 6 {
			op, x, y, z, w, v := data[i]%8, data[i+1], data[i+2], data[i+3], data[i+4], data[i+5]
			var gerr, werr error
			switch op {
			case 0, 1:
				id := fresh()
				if w&0x80 != 0 {
					id = pick(w)
				}
				o := book.Order{ID: id, Side: side(x), Owner: uint32(w % 3), Price: price(y), Qty: qty(z), Seq: uint64(v)}
				ioc := v&1 != 0
				var grest, wrest bool
				got, grest, gerr = b.Submit(o, ioc, got[:0])
				want, wrest, werr = m.submit(o, ioc, want[:0])
				if grest != wrest {
					t.Fatalf("op %d: submit %+v ioc=%v: rested %v, model %v", i, o, ioc, grest, wrest)
				}
			case 2:
				id := pick(x)
				g, e1 := b.Cancel(id)
				w, e2 := m.cancel(id)
				gerr, werr = e1, e2
				if g != w {
					t.Fatalf("op %d: cancel %d: got %+v, model %+v", i, id, g, w)
				}
			case 3:
				id, n := pick(x), qty(y)
				g, e1 := b.Reduce(id, n)
				w, e2 := m.reduce(id, n)
				gerr, werr = e1, e2
				if g != w {
					t.Fatalf("op %d: reduce %d by %d: got %d, model %d", i, id, n, g, w)
				}
			case 4:
				id := pick(x)
				var newID book.OrderID
				switch v % 4 {
				case 0:
					newID = id
				case 1:
					newID = pick(v >> 2)
				default:
					newID = fresh()
				}
				var grest, wrest bool
				got, grest, gerr = b.Replace(id, newID, price(y), qty(z), got[:0])
				want, wrest, werr = m.replace(id, newID, price(y), qty(z), want[:0])
				if grest != wrest {
					t.Fatalf("op %d: replace %d->%d: rested %v, model %v", i, id, newID, grest, wrest)
				}
			case 5:
				id, n := pick(x), qty(y)
				g, e1 := b.Execute(id, n)
				w, e2 := m.execute(id, n)
				gerr, werr = e1, e2
				got, want = append(got[:0], g), append(want[:0], w)
			case 6, 7:
				var stop func(book.Order) bool
				switch v % 4 {
				case 1:
					target := pick(w)
					stop = func(o book.Order) bool { return o.ID == target }
				case 2:
					stop = func(o book.Order) bool { return o.Owner == uint32(w%3) }
				case 3:
					stop = func(o book.Order) bool { return o.Qty > int64(w%8) }
				}
				s, limit, n := side(x), price(y), qty(z)
				var gleft, wleft int64
				got, gleft = b.Match(s, limit, n, 7, 70, stop, got[:0])
				want, wleft = m.match(s, limit, n, 7, 70, stop, want[:0])
				if gleft != wleft {
					t.Fatalf("op %d: match %v %d@%d: left %d, model %d", i, s, n, limit, gleft, wleft)
				}
			}
			if (gerr == nil) != (werr == nil) || werr != nil && !errors.Is(gerr, werr) {
				t.Fatalf("op %d (%d): error %v, model %v", i, op, gerr, werr)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("op %d (%d): fills\n got %+v\nwant %+v", i, op, got, want)
			}
			check(t, i, b, m, used)
		}
	})
}

func check(t *testing.T, op int, b *book.Book, m *model, used []book.OrderID) {
	t.Helper()
	if g, w := slices.Collect(b.Orders()), m.sorted(); !slices.Equal(g, w) {
		t.Fatalf("op %d: orders\n got %+v\nwant %+v", op, g, w)
	}
	if b.Len() != len(m.orders) {
		t.Fatalf("op %d: len %d, model %d", op, b.Len(), len(m.orders))
	}
	for _, s := range []book.Side{book.Buy, book.Sell} {
		g, w := b.Levels(s, nil), m.levels(s)
		if !slices.Equal(g, w) {
			t.Fatalf("op %d: %v levels\n got %+v\nwant %+v", op, s, g, w)
		}
		p, q, ok := b.Best(s)
		if ok != (len(w) > 0) || ok && (p != w[0].Price || q != w[0].Qty) {
			t.Fatalf("op %d: best %v: (%d, %d, %v), levels %+v", op, s, p, q, ok, w)
		}
	}
	for _, id := range used {
		g, gok := b.Get(id)
		var w book.Order
		i := m.find(id)
		if i >= 0 {
			w = m.orders[i]
		}
		if gok != (i >= 0) || g != w {
			t.Fatalf("op %d: get %d: (%+v, %v), model %+v", op, id, g, gok, w)
		}
	}
}
