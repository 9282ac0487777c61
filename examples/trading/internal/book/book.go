// Package book implements a limit order book and matching engine for one
// instrument, with price-time priority.
//
// Prices are positive integers in ticks and quantities are positive integers
// in lots. An incoming order trades against the best-priced resting orders of
// the opposite side, oldest first within a price, always at the resting
// (maker's) price; whatever is left may then rest in the book. The book
// performs no self-match prevention: an order may trade against a resting
// order of the same owner, and each [Fill] carries both owners so that
// callers can detect such trades.
//
// Resting orders live in a [slab.Slab] and are threaded on one FIFO list per
// price level; each side keeps its levels in a slice sorted so that the best
// level is last. Once the book has grown to its working size, Submit, Cancel,
// Reduce, Replace, Execute and Match do not allocate, except to report an
// error.
//
// A Book is not safe for concurrent use.
package book

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"

	"github.com/orrery-go/orrery/slab"
)

// Side is the side of an order: [Buy] or [Sell].
type Side uint8

// The two sides of the book. The zero Side is invalid.
const (
	Buy  Side = 1
	Sell Side = 2
)

// String returns "Buy", "Sell", or "Side(n)" for an invalid side.
func (s Side) String() string {
	switch s {
	case Buy:
		return "Buy"
	case Sell:
		return "Sell"
	}
	return "Side(" + strconv.Itoa(int(s)) + ")"
}

// Opposite returns the other side. An invalid side is returned unchanged.
func (s Side) Opposite() Side {
	switch s {
	case Buy:
		return Sell
	case Sell:
		return Buy
	}
	return s
}

// OrderID identifies an order. IDs are chosen by the caller and must be
// unique among the live orders of a book; an ID may be reused once its order
// has left the book.
type OrderID uint64

// Order is a limit order.
type Order struct {
	ID    OrderID
	Side  Side
	Owner uint32 // opaque to the book; copied into fills
	Price int64  // limit price in ticks
	Qty   int64  // remaining quantity
	Seq   uint64 // time priority, assigned by the book; lower is older
}

// Fill is one trade between a resting order (the maker) and an incoming one
// (the taker).
type Fill struct {
	Maker      OrderID
	Taker      OrderID
	MakerOwner uint32
	TakerOwner uint32
	Side       Side  // the taker's side
	Price      int64 // the maker's price
	Qty        int64
	MakerLeft  int64 // the maker's remaining quantity; 0 when it is done
}

// Level is the aggregate of the orders resting at one price.
type Level struct {
	Price  int64
	Qty    int64 // total remaining quantity
	Orders int   // number of orders
}

// Errors returned by the book, wrapped with details.
var (
	ErrDuplicateID  = errors.New("book: duplicate order id")
	ErrUnknownOrder = errors.New("book: unknown order")
	ErrInvalidQty   = errors.New("book: invalid quantity")
	ErrInvalidPrice = errors.New("book: invalid price")
	ErrInvalidSide  = errors.New("book: invalid side")
)

// none is the list link that points nowhere. Slab indices never reach it.
const none = math.MaxUint32

// node is a resting order and its links in the FIFO list of its level. Links
// are slab indices, so the slab holds no pointers for the collector to scan.
type node struct {
	Order
	prev, next uint32
}

// level is one price level: aggregate totals and the ends of its FIFO list.
type level struct {
	price      int64
	qty        int64
	count      int
	head, tail uint32
}

// Book is a limit order book for one instrument. Create one with [New].
type Book struct {
	nodes *slab.Slab[node]
	ids   map[OrderID]slab.Key
	bids  []level // ascending price: the best (highest) bid is last
	asks  []level // descending price: the best (lowest) ask is last
	seq   uint64
}

// chunkSize is the number of orders the slab grows by.
const chunkSize = 1024

// New returns an empty book.
func New() *Book {
	nodes, err := slab.NewUnbounded[node](chunkSize)
	if err != nil {
		panic(err) // unreachable: chunkSize is valid
	}
	return &Book{nodes: nodes, ids: make(map[OrderID]slab.Key)}
}

// Len returns the number of resting orders.
func (b *Book) Len() int { return len(b.ids) }

// Submit enters a limit order. It first trades o against the resting orders
// of the opposite side priced at o.Price or better, in price-time priority and
// at each maker's price; then, unless ioc is set, it rests any remainder at
// o.Price behind the orders already there. The fills are appended to dst and
// returned; Submit does not allocate for them when dst has room. rested
// reports whether a remainder was added to the book.
//
// The book assigns o.Seq. o.Side must be [Buy] or [Sell], o.Price and o.Qty
// must be positive, and o.ID must not name a resting order; otherwise Submit
// returns an error wrapping [ErrInvalidSide], [ErrInvalidPrice],
// [ErrInvalidQty] or [ErrDuplicateID] and leaves the book unchanged. It also
// rejects, with ErrInvalidQty, an order whose remainder could push the total
// quantity of its price level past math.MaxInt64.
func (b *Book) Submit(o Order, ioc bool, dst []Fill) (fills []Fill, rested bool, err error) {
	if err := validate(o.Side, o.Price, o.Qty); err != nil {
		return dst, false, err
	}
	if _, dup := b.ids[o.ID]; dup {
		return dst, false, fmt.Errorf("%w: %d", ErrDuplicateID, o.ID)
	}
	levels := b.side(o.Side)
	// Matching only touches the opposite side, so the position found here
	// is still right when the remainder rests.
	i, found := search(*levels, o.Side, o.Price)
	if !ioc && found && (*levels)[i].qty > math.MaxInt64-o.Qty {
		return dst, false, fmt.Errorf("%w: %d would overflow the total at price %d", ErrInvalidQty, o.Qty, o.Price)
	}
	b.seq++
	o.Seq = b.seq
	dst, o.Qty = b.match(o.Side, o.Price, o.Qty, o.ID, o.Owner, nil, dst)
	if o.Qty == 0 || ioc {
		return dst, false, nil
	}
	b.rest(levels, i, found, o)
	return dst, true, nil
}

// Cancel removes the resting order id and returns it as it was, with its
// remaining quantity. It returns an error wrapping [ErrUnknownOrder] if no
// such order rests.
func (b *Book) Cancel(id OrderID) (Order, error) {
	k, n, err := b.lookup(id)
	if err != nil {
		return Order{}, err
	}
	o := n.Order
	b.remove(k, n)
	return o, nil
}

// Reduce lowers the quantity of the resting order id by n, keeping its time
// priority, and returns the quantity left. If n is at least the remaining
// quantity the order is removed and Reduce returns 0. It returns an error
// wrapping [ErrUnknownOrder] if no such order rests, or [ErrInvalidQty] if n
// is not positive.
func (b *Book) Reduce(id OrderID, n int64) (left int64, err error) {
	k, nd, err := b.lookup(id)
	if err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, fmt.Errorf("%w: reduce by %d", ErrInvalidQty, n)
	}
	if n >= nd.Qty {
		b.remove(k, nd)
		return 0, nil
	}
	b.take(nd, n)
	return nd.Qty, nil
}

// Replace cancels the resting order id and enters newID in its place, on the
// same side and for the same owner, with the given price and remaining
// quantity; newID may equal id. If the price is unchanged and qty does not
// exceed the remaining quantity, the order keeps its place in the queue and
// only its ID and quantity change. Otherwise the replacement loses its
// priority: it is submitted as a new order, may trade (the fills are appended
// to dst), and rests behind the orders at its price. rested reports whether
// the replacement is in the book afterwards.
//
// Replace returns an error wrapping [ErrUnknownOrder], [ErrInvalidPrice],
// [ErrInvalidQty] (also for a level total that would overflow, as in
// Submit) or [ErrDuplicateID] (newID names another resting order), and
// leaves the book unchanged, when the replacement cannot be made.
func (b *Book) Replace(id, newID OrderID, price, qty int64, dst []Fill) (fills []Fill, rested bool, err error) {
	k, n, err := b.lookup(id)
	if err != nil {
		return dst, false, err
	}
	if err := validate(n.Side, price, qty); err != nil {
		return dst, false, err
	}
	if newID != id {
		if _, dup := b.ids[newID]; dup {
			return dst, false, fmt.Errorf("%w: %d", ErrDuplicateID, newID)
		}
	}
	if price == n.Price && qty <= n.Qty {
		b.take(n, n.Qty-qty)
		if newID != id {
			delete(b.ids, id)
			n.ID = newID
			b.ids[newID] = k
		}
		return dst, true, nil
	}
	levels := b.side(n.Side)
	if i, found := search(*levels, n.Side, price); found {
		total := (*levels)[i].qty
		if price == n.Price {
			total -= n.Qty
		}
		if total > math.MaxInt64-qty {
			return dst, false, fmt.Errorf("%w: %d would overflow the total at price %d", ErrInvalidQty, qty, price)
		}
	}
	o := n.Order
	b.remove(k, n)
	o.ID, o.Price = newID, price
	b.seq++
	o.Seq = b.seq
	dst, o.Qty = b.match(o.Side, price, qty, newID, o.Owner, nil, dst)
	if o.Qty == 0 {
		return dst, false, nil
	}
	i, found := search(*levels, o.Side, price)
	b.rest(levels, i, found, o)
	return dst, true, nil
}

// Execute trades n of the resting order id as if against an incoming order,
// wherever the order is in its queue, and returns the fill. The fill's Taker
// and TakerOwner are 0. It is meant for applying executions reported by
// someone else, such as a recorded market data feed. Execute returns an error
// wrapping [ErrUnknownOrder] if no such order rests, or [ErrInvalidQty] if n
// is not positive or exceeds the remaining quantity; the book is then
// unchanged.
func (b *Book) Execute(id OrderID, n int64) (Fill, error) {
	k, nd, err := b.lookup(id)
	if err != nil {
		return Fill{}, err
	}
	if n <= 0 || n > nd.Qty {
		return Fill{}, fmt.Errorf("%w: execute %d of %d", ErrInvalidQty, n, nd.Qty)
	}
	f := Fill{
		Maker:      nd.ID,
		MakerOwner: nd.Owner,
		Side:       nd.Side.Opposite(),
		Price:      nd.Price,
		Qty:        n,
		MakerLeft:  nd.Qty - n,
	}
	if f.MakerLeft == 0 {
		b.remove(k, nd)
	} else {
		b.take(nd, n)
	}
	return f, nil
}

// Match trades an incoming order of side takerSide, limit price limit and
// quantity qty against the resting orders in priority order, like Submit, but
// stops before the first maker for which stop returns true; stop may be nil.
// Nothing rests. The fills are appended to dst, and Match returns them with
// the quantity left unfilled. takerID and takerOwner are only copied into
// the fills; takerID need not be unique.
//
// stop sees each maker, with its remaining quantity, before it trades. It
// must not modify the book. If takerSide is invalid or qty is not positive,
// Match does nothing.
func (b *Book) Match(takerSide Side, limit, qty int64, takerID OrderID, takerOwner uint32, stop func(Order) bool, dst []Fill) ([]Fill, int64) {
	if takerSide != Buy && takerSide != Sell || qty <= 0 {
		return dst, qty
	}
	return b.match(takerSide, limit, qty, takerID, takerOwner, stop, dst)
}

// Get returns the resting order id, or false if no such order rests.
func (b *Book) Get(id OrderID) (Order, bool) {
	k, ok := b.ids[id]
	if !ok {
		return Order{}, false
	}
	n, _ := b.nodes.Get(k)
	return n.Order, true
}

// Best returns the price and total quantity of the best level of side s: the
// highest bid or the lowest ask. ok is false if that side is empty or s is
// invalid.
func (b *Book) Best(s Side) (price, qty int64, ok bool) {
	levels := b.side(s)
	if levels == nil || len(*levels) == 0 {
		return 0, 0, false
	}
	lv := &(*levels)[len(*levels)-1]
	return lv.price, lv.qty, true
}

// Levels appends the price levels of side s to dst, best first, and returns
// the extended slice. It appends nothing if s is invalid.
func (b *Book) Levels(s Side, dst []Level) []Level {
	levels := b.side(s)
	if levels == nil {
		return dst
	}
	for i := len(*levels) - 1; i >= 0; i-- {
		lv := &(*levels)[i]
		dst = append(dst, Level{Price: lv.price, Qty: lv.qty, Orders: lv.count})
	}
	return dst
}

// Orders returns an iterator over the resting orders: the bids, best level
// first, then the asks, best level first, oldest first within a level.
// Replaying them into an empty book with Submit rebuilds the same queues.
// The book must not be modified during the iteration.
func (b *Book) Orders() iter.Seq[Order] {
	return func(yield func(Order) bool) {
		for _, levels := range [...][]level{b.bids, b.asks} {
			for i := len(levels) - 1; i >= 0; i-- {
				for idx := levels[i].head; idx != none; {
					n := b.at(idx)
					if !yield(n.Order) {
						return
					}
					idx = n.next
				}
			}
		}
	}
}

// validate checks the fields of a new order.
func validate(s Side, price, qty int64) error {
	switch {
	case s != Buy && s != Sell:
		return fmt.Errorf("%w: %d", ErrInvalidSide, uint8(s))
	case price <= 0:
		return fmt.Errorf("%w: %d", ErrInvalidPrice, price)
	case qty <= 0:
		return fmt.Errorf("%w: %d", ErrInvalidQty, qty)
	}
	return nil
}

// side returns the levels of s, or nil if s is invalid.
func (b *Book) side(s Side) *[]level {
	switch s {
	case Buy:
		return &b.bids
	case Sell:
		return &b.asks
	}
	return nil
}

// at returns the node in slab slot idx, which must be live.
func (b *Book) at(idx uint32) *node {
	_, n, _ := b.nodes.At(idx)
	return n
}

func (b *Book) lookup(id OrderID) (slab.Key, *node, error) {
	k, ok := b.ids[id]
	if !ok {
		return slab.Key{}, nil, fmt.Errorf("%w: %d", ErrUnknownOrder, id)
	}
	n, _ := b.nodes.Get(k)
	return k, n, nil
}

// worse reports whether price a is worse than price b for side s.
func worse(s Side, a, b int64) bool {
	if s == Buy {
		return a < b
	}
	return a > b
}

// search returns the position of price in levels of side s, sorted worst to
// best, and whether a level with that price is there. The common case, a
// price at or beyond the best level, is answered without a binary search.
func search(levels []level, s Side, price int64) (int, bool) {
	n := len(levels)
	if n > 0 {
		best := levels[n-1].price
		if best == price {
			return n - 1, true
		}
		if worse(s, best, price) {
			return n, false
		}
	}
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if worse(s, levels[m].price, price) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < n && levels[lo].price == price
}

// level returns the level that holds the resting node n, and its position.
func (b *Book) level(n *node) (*[]level, int) {
	levels := b.side(n.Side)
	i, _ := search(*levels, n.Side, n.Price)
	return levels, i
}

// rest appends o to the level at position i of levels, creating the level
// first unless found.
func (b *Book) rest(levels *[]level, i int, found bool, o Order) {
	k, n, err := b.nodes.Alloc()
	if err != nil {
		// Only reachable past 2^32-3 resting orders (the slab's limit).
		panic(fmt.Sprintf("book: cannot store order %d: %v", o.ID, err))
	}
	if !found {
		*levels = slices.Insert(*levels, i, level{price: o.Price, head: none, tail: none})
	}
	lv := &(*levels)[i]
	idx := k.Index()
	n.Order = o
	n.prev, n.next = lv.tail, none
	if lv.tail != none {
		b.at(lv.tail).next = idx
	} else {
		lv.head = idx
	}
	lv.tail = idx
	lv.qty += o.Qty
	lv.count++
	b.ids[o.ID] = k
}

// take lowers the quantity of the resting node n by q, which is less than
// its remaining quantity.
func (b *Book) take(n *node, q int64) {
	levels, i := b.level(n)
	(*levels)[i].qty -= q
	n.Qty -= q
}

// remove takes the resting node n, stored under k, out of the book.
func (b *Book) remove(k slab.Key, n *node) {
	levels, i := b.level(n)
	lv := &(*levels)[i]
	if n.prev != none {
		b.at(n.prev).next = n.next
	} else {
		lv.head = n.next
	}
	if n.next != none {
		b.at(n.next).prev = n.prev
	} else {
		lv.tail = n.prev
	}
	lv.qty -= n.Qty
	lv.count--
	if lv.count == 0 {
		*levels = slices.Delete(*levels, i, i+1)
	}
	delete(b.ids, n.ID)
	b.nodes.Delete(k)
}

// match trades an incoming order against the opposite side; see Match.
// side must be valid and qty positive.
func (b *Book) match(side Side, limit, qty int64, takerID OrderID, takerOwner uint32, stop func(Order) bool, dst []Fill) ([]Fill, int64) {
	levels := b.side(side.Opposite())
	for qty > 0 && len(*levels) > 0 {
		last := len(*levels) - 1
		lv := &(*levels)[last]
		if side == Buy && lv.price > limit || side == Sell && lv.price < limit {
			break
		}
		for qty > 0 && lv.head != none {
			k, n, _ := b.nodes.At(lv.head)
			if stop != nil && stop(n.Order) {
				return dst, qty
			}
			q := min(qty, n.Qty)
			qty -= q
			n.Qty -= q
			lv.qty -= q
			dst = append(dst, Fill{
				Maker:      n.ID,
				Taker:      takerID,
				MakerOwner: n.Owner,
				TakerOwner: takerOwner,
				Side:       side,
				Price:      n.Price,
				Qty:        q,
				MakerLeft:  n.Qty,
			})
			if n.Qty > 0 {
				break // the taker is done
			}
			lv.head = n.next
			if n.next != none {
				b.at(n.next).prev = none
			} else {
				lv.tail = none
			}
			lv.count--
			delete(b.ids, n.ID)
			b.nodes.Delete(k)
		}
		if lv.count > 0 {
			break
		}
		*levels = (*levels)[:last]
	}
	return dst, qty
}
