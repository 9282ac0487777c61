package engine

import (
	"slices"

	"github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"

	"github.com/orrery-go/orrery/examples/trading/internal/itch"
	"github.com/orrery-go/orrery/world"
)

// Instrument names an instrument entity.
type Instrument struct {
	Locate uint16
	Symbol string
	stock  itch.Stock
}

// Level is one price level of a book: the shares resting at a price and how
// many orders they come from.
type Level struct {
	Price, Qty int64
	Orders     int32
}

// Book is an instrument's market, built from the feed: price levels without
// the engine's own orders, best level last.
type Book struct {
	Bids, Asks []Level
	// Stale is set while the feed is recovering from a gap: the book may be
	// wrong, so nothing should trade on it.
	Stale bool
	// LastTrade is the price of the last execution seen, Volume the shares
	// executed.
	LastTrade, Volume int64
	// Updates counts the feed messages applied to this book.
	Updates uint64

	seen top // the top of book as of the last look for changes
}

type top struct{ bid, bidQty, ask, askQty int64 }

func (b *Book) top() top {
	var tp top
	if n := len(b.Bids); n > 0 {
		tp.bid, tp.bidQty = b.Bids[n-1].Price, b.Bids[n-1].Qty
	}
	if n := len(b.Asks); n > 0 {
		tp.ask, tp.askQty = b.Asks[n-1].Price, b.Asks[n-1].Qty
	}
	return tp
}

// BestBid returns the best bid level.
func (b *Book) BestBid() (Level, bool) {
	if n := len(b.Bids); n > 0 {
		return b.Bids[n-1], true
	}
	return Level{}, false
}

// BestAsk returns the best ask level.
func (b *Book) BestAsk() (Level, bool) {
	if n := len(b.Asks); n > 0 {
		return b.Asks[n-1], true
	}
	return Level{}, false
}

// Mid returns the midpoint of the best bid and ask, and false unless both
// exist and the book is not stale.
func (b *Book) Mid() (int64, bool) {
	bid, okb := b.BestBid()
	ask, oka := b.BestAsk()
	if !okb || !oka || b.Stale {
		return 0, false
	}
	return (bid.Price + ask.Price) / 2, true
}

// levels returns the side's levels and whether a better price sorts later.
func (b *Book) levels(side byte) *[]Level {
	if side == 'B' {
		return &b.Bids
	}
	return &b.Asks
}

// find returns where price is or belongs in a side's levels (sorted worst
// to best).
func find(levels []Level, side byte, price int64) (int, bool) {
	return slices.BinarySearchFunc(levels, price, func(l Level, p int64) int {
		switch {
		case l.Price == p:
			return 0
		case (l.Price < p) == (side == 'B'): // a worse bid is lower, a worse ask higher
			return -1
		}
		return 1
	})
}

func (b *Book) add(side byte, price, qty int64) {
	lv := b.levels(side)
	i, ok := find(*lv, side, price)
	if ok {
		(*lv)[i].Qty += qty
		(*lv)[i].Orders++
	} else {
		*lv = slices.Insert(*lv, i, Level{Price: price, Qty: qty, Orders: 1})
	}
}

// remove takes qty off the level at price; done says the order left it.
func (b *Book) remove(side byte, price, qty int64, done bool) {
	lv := b.levels(side)
	i, ok := find(*lv, side, price)
	if !ok {
		return
	}
	l := &(*lv)[i]
	l.Qty -= qty
	if done {
		l.Orders--
	}
	if l.Qty <= 0 || l.Orders <= 0 {
		*lv = slices.Delete(*lv, i, i+1)
	}
}

func (b *Book) clear() {
	b.Bids, b.Asks = b.Bids[:0], b.Asks[:0]
}

// Quote is the engine's two working orders on an instrument.
type Quote struct {
	Bid, Ask QuoteSide
}

// QuoteSide is one working order: none, pending at the exchange, or live.
type QuoteSide struct {
	// Token is the order's token, 0 when there is no order.
	Token uint64
	Price int64
	Qty   int64
	// Pending is set while a request for this side awaits the exchange.
	Pending bool
}

// Position is what the engine holds in an instrument, from its fills.
type Position struct {
	// Qty is shares bought minus shares sold.
	Qty int64
	// Cash is the proceeds of sales minus the cost of purchases, in price
	// units (four implied decimals).
	Cash int64
	// Fills and Volume count executions and shares traded.
	Fills, Volume int64
}

// PnL marks the position at price: realised and unrealised profit, in
// price units.
func (p *Position) PnL(mark int64) int64 { return p.Cash + p.Qty*mark }

// feedOrder is an order resting on the exchange, as the feed tells it.
type feedOrder struct {
	locate uint16
	side   byte
	own    bool // one of the engine's: kept out of the levels
	price  int64
	qty    int64
}

// instrument is the engine's handle on an instrument entity, with its
// components. The pointers are refreshed whenever an instrument is added,
// since arche may move components when a table grows.
type instrument struct {
	entity ecs.Entity
	info   *Instrument
	book   *Book
	quote  *Quote
	pos    *Position
}

// Market is the World resource that holds the feed's view of the exchange:
// every resting order by reference, and the instrument entities by locate
// code.
type Market struct {
	w       *world.World
	mapper  generic.Map4[Instrument, Book, Quote, Position]
	byLoc   []instrument // index: locate code
	orders  map[uint64]feedOrder
	ownRefs map[uint64]struct{} // the engine's own exchange references
	touched []uint16            // locates changed since the last look

	// Counters.
	Messages, Adds, Executions, Cancels, Deletes, Replaces, Trades uint64
	// Unknown counts messages about orders the engine does not know (after a
	// gap, say); Malformed messages that could not be decoded.
	Unknown, Malformed uint64
}

// NewMarket makes an empty market for w.
func NewMarket(w *world.World) *Market {
	return &Market{
		w:       w,
		mapper:  generic.NewMap4[Instrument, Book, Quote, Position](w.ECS()),
		byLoc:   make([]instrument, 1), // locate 0 is never used
		orders:  make(map[uint64]feedOrder, 1<<14),
		ownRefs: make(map[uint64]struct{}),
	}
}

// Instrument returns the instrument with the given locate code.
func (m *Market) instrument(locate uint16) *instrument {
	if int(locate) < len(m.byLoc) && m.byLoc[locate].info != nil {
		return &m.byLoc[locate]
	}
	return nil
}

// ensure returns the instrument with locate, making its entity the first
// time the feed names it.
func (m *Market) ensure(locate uint16, stock itch.Stock) *instrument {
	if in := m.instrument(locate); in != nil {
		return in
	}
	if locate == 0 {
		return nil
	}
	for int(locate) >= len(m.byLoc) {
		m.byLoc = append(m.byLoc, instrument{})
	}
	e := m.mapper.NewWith(&Instrument{Locate: locate, Symbol: stock.String(), stock: stock}, &Book{}, &Quote{}, &Position{})
	m.byLoc[locate].entity = e
	m.refresh()
	return &m.byLoc[locate]
}

// refresh re-reads every instrument's component pointers.
func (m *Market) refresh() {
	for i := range m.byLoc {
		in := &m.byLoc[i]
		if in.entity.IsZero() {
			continue
		}
		in.info, in.book, in.quote, in.pos = m.mapper.Get(in.entity)
	}
}

// Instruments returns how many instruments the feed has named.
func (m *Market) Instruments() int {
	n := 0
	for i := range m.byLoc {
		if m.byLoc[i].info != nil {
			n++
		}
	}
	return n
}

func (m *Market) touch(in *instrument) {
	if !slices.Contains(m.touched, in.info.Locate) {
		m.touched = append(m.touched, in.info.Locate)
	}
}

func (m *Market) addOrder(locate uint16, stock itch.Stock, ref uint64, side byte, qty, price int64) {
	in := m.ensure(locate, stock)
	if in == nil {
		m.Malformed++
		return
	}
	if qty <= 0 || price <= 0 {
		m.Malformed++ // an order of nothing would corrupt the levels
		return
	}
	if _, dup := m.orders[ref]; dup {
		m.Unknown++
		return
	}
	_, own := m.ownRefs[ref]
	m.orders[ref] = feedOrder{locate: locate, side: side, own: own, price: price, qty: qty}
	m.Adds++
	in.book.Updates++
	if !own {
		in.book.add(side, price, qty)
		m.touch(in)
	}
}

// take removes n shares of order ref (all of them when n < 0) and returns
// the order as it was.
func (m *Market) take(ref uint64, n int64) (feedOrder, *instrument, bool) {
	o, ok := m.orders[ref]
	if !ok {
		m.Unknown++
		return o, nil, false
	}
	in := m.instrument(o.locate)
	if n < 0 || n >= o.qty {
		n = o.qty
		delete(m.orders, ref)
		if o.own {
			delete(m.ownRefs, ref)
		}
	} else {
		m.orders[ref] = feedOrder{locate: o.locate, side: o.side, own: o.own, price: o.price, qty: o.qty - n}
	}
	in.book.Updates++
	if !o.own {
		in.book.remove(o.side, o.price, n, n == o.qty)
		m.touch(in)
	}
	return o, in, true
}

func (m *Market) executed(ref uint64, n int64) {
	if o, in, ok := m.take(ref, n); ok {
		m.Executions++
		in.book.LastTrade = o.price
		in.book.Volume += min(n, o.qty)
		m.touch(in)
	}
}

func (m *Market) replace(orig, ref uint64, qty, price int64) {
	o, in, ok := m.take(orig, -1)
	if !ok {
		return
	}
	m.Replaces++
	if o.own {
		m.ownRefs[ref] = struct{}{}
	}
	m.addOrder(o.locate, in.info.stock, ref, o.side, qty, price)
}

// markOwn tells the market that ref is one of the engine's orders: it
// leaves the levels (if the feed has shown it already) or is kept out of
// them when it shows up.
func (m *Market) markOwn(ref uint64) {
	m.ownRefs[ref] = struct{}{}
	o, ok := m.orders[ref]
	if !ok || o.own {
		return
	}
	in := m.instrument(o.locate)
	in.book.remove(o.side, o.price, o.qty, true)
	o.own = true
	m.orders[ref] = o
	m.touch(in)
}

// clear forgets every order, before a snapshot rebuilds the books. The
// engine's own references are kept: its live orders are in the snapshot.
func (m *Market) clear() {
	clear(m.orders)
	for i := range m.byLoc {
		if in := &m.byLoc[i]; in.info != nil {
			in.book.clear()
			m.touch(in)
		}
	}
}

// setStale marks every book stale or fresh.
func (m *Market) setStale(stale bool) {
	for i := range m.byLoc {
		if in := &m.byLoc[i]; in.info != nil && in.book.Stale != stale {
			in.book.Stale = stale
			m.touch(in)
		}
	}
}
