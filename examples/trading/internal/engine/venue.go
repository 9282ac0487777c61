package engine

import (
	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/trading/internal/book"
	"github.com/orrery-go/orrery/examples/trading/internal/itch"
	"github.com/orrery-go/orrery/examples/trading/internal/ouch"
	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
)

// The venue's book owners: the recorded market, and the engine.
const (
	ownerMarket uint32 = 0
	ownerEngine uint32 = 1
)

// engineRefBase keeps the references of the engine's backtest orders apart
// from the recorded ones.
const engineRefBase = 1 << 62

// venueOrder is one of the engine's orders on the venue: its token and the
// attributes a Replaced message repeats from it.
type venueOrder struct {
	token     ouch.Token
	side      byte
	stock     ouch.Stock
	firm      ouch.Firm
	capacity  byte
	crossType byte
}

// VenueStats counts what the backtest venue did.
type VenueStats struct {
	// Orders, Replaces and Cancels count the engine's requests; Rejects
	// those refused.
	Orders, Replaces, Cancels, Rejects uint64
	// Fills counts executions of the engine's orders.
	Fills uint64
	// Diverged counts recorded messages about orders the venue no longer
	// has: the engine's orders traded with them, so the replay and the
	// recording went separate ways there.
	Diverged uint64
}

// Venue is the backtest's exchange: the exchange's matching engine, run
// in-process. It follows the recorded market through the feed's tap and
// matches the engine's orders against it with price-time priority:
//
//   - a recorded order that crosses one of the engine's resting orders
//     trades with it;
//   - a recorded execution of a resting order first fills the engine's
//     orders queued ahead of it (better price, or same price and earlier),
//     as the recorded aggressor would have;
//   - the engine's orders that cross recorded ones trade at once.
//
// It speaks OUCH in SoupBinTCP packets like the real exchange, so the
// gateway runs unchanged; answers are delivered by a task of the engine's
// runtime, after the request.
type Venue struct {
	gw      *Gateway
	books   map[uint16]*book.Book
	symbols map[ouch.Stock]uint16
	tokens  map[ouch.Token]book.OrderID // the engine's resting orders
	owners  map[book.OrderID]venueOrder
	forgot  map[uint64]struct{} // the recording's own orders: not market
	nextRef uint64
	match   uint64
	ts      uint64 // the last recorded timestamp
	stopRef book.OrderID
	stopAt  func(book.Order) bool
	fills   []book.Fill
	replies []byte
	spare   []byte
	wake    *asyncrt.Sender[struct{}]
	wakeRx  *asyncrt.Receiver[struct{}]
	msg     []byte
	stats   VenueStats

	add  itch.AddOrder
	exec itch.OrderExecuted
	can  itch.OrderCancel
	del  itch.OrderDelete
	rep  itch.OrderReplace
}

func newVenue(rt *asyncrt.Runtime, gw *Gateway) (*Venue, error) {
	v := &Venue{
		gw:      gw,
		books:   make(map[uint16]*book.Book),
		symbols: make(map[ouch.Stock]uint16),
		tokens:  make(map[ouch.Token]book.OrderID),
		owners:  make(map[book.OrderID]venueOrder),
		forgot:  make(map[uint64]struct{}),
		nextRef: engineRefBase,
		msg:     make([]byte, 0, 128),
	}
	v.stopAt = func(o book.Order) bool { return o.ID == v.stopRef }
	var err error
	if v.wake, v.wakeRx, err = asyncrt.NewChan[struct{}](rt, 1); err != nil {
		return nil, err
	}
	return v, nil
}

// Stats returns the venue's counters.
func (v *Venue) Stats() VenueStats { return v.stats }

func (v *Venue) book(locate uint16) *book.Book {
	b := v.books[locate]
	if b == nil {
		b = book.New()
		v.books[locate] = b
	}
	return b
}

func bookSideOf(side byte) book.Side {
	if side == 'B' {
		return book.Buy
	}
	return book.Sell
}

// onMarket applies one recorded ITCH message.
func (v *Venue) onMarket(msg []byte) {
	typ, err := itch.Type(msg)
	if err != nil {
		return
	}
	switch typ {
	case itch.TypeAddOrder:
		if v.add.Decode(msg) != nil {
			return
		}
		v.ts = v.add.Timestamp
		v.symbols[ouch.Stock(v.add.Stock)] = v.add.Locate
		if _, own := v.forgot[v.add.Ref]; own {
			return
		}
		v.marketOrder(v.add.Locate, v.add.Ref, bookSideOf(v.add.Side), int64(v.add.Price), int64(v.add.Shares))
	case itch.TypeOrderExecuted:
		if v.exec.Decode(msg) != nil {
			return
		}
		v.ts = v.exec.Timestamp
		v.executed(v.exec.Locate, book.OrderID(v.exec.Ref), int64(v.exec.Shares))
	case itch.TypeOrderCancel:
		if v.can.Decode(msg) != nil {
			return
		}
		b := v.book(v.can.Locate)
		o, ok := b.Get(book.OrderID(v.can.Ref))
		switch {
		case !ok:
			v.diverged(v.can.Ref)
		case int64(v.can.Shares) >= o.Qty:
			_, _ = b.Cancel(o.ID)
		default:
			_, _ = b.Reduce(o.ID, int64(v.can.Shares))
		}
	case itch.TypeOrderDelete:
		if v.del.Decode(msg) != nil {
			return
		}
		if _, err := v.book(v.del.Locate).Cancel(book.OrderID(v.del.Ref)); err != nil {
			v.diverged(v.del.Ref)
		}
	case itch.TypeOrderReplace:
		if v.rep.Decode(msg) != nil {
			return
		}
		b := v.book(v.rep.Locate)
		if _, own := v.forgot[v.rep.OrigRef]; own {
			v.forgot[v.rep.NewRef] = struct{}{}
			return
		}
		o, err := b.Cancel(book.OrderID(v.rep.OrigRef))
		if err != nil {
			v.diverged(v.rep.OrigRef)
			return
		}
		v.marketOrder(v.rep.Locate, v.rep.NewRef, o.Side, int64(v.rep.Price), int64(v.rep.Shares))
	}
}

func (v *Venue) diverged(ref uint64) {
	if _, own := v.forgot[ref]; !own {
		v.stats.Diverged++
	}
}

// marketOrder enters a recorded order; it trades with any engine order it
// crosses.
func (v *Venue) marketOrder(locate uint16, ref uint64, side book.Side, price, qty int64) {
	fills, _, err := v.book(locate).Submit(book.Order{ID: book.OrderID(ref), Side: side, Price: price, Qty: qty, Owner: ownerMarket}, false, v.fills[:0])
	if err != nil {
		v.diverged(ref)
		return
	}
	v.fills = fills
	v.report(fills)
}

// executed replays a recorded execution of ref: the aggressor behind it
// first meets the engine's orders queued ahead of ref.
func (v *Venue) executed(locate uint16, ref book.OrderID, n int64) {
	b := v.book(locate)
	o, ok := b.Get(ref)
	if !ok {
		v.diverged(uint64(ref))
		return
	}
	v.stopRef = ref
	fills, left := b.Match(o.Side.Opposite(), o.Price, n, 0, ownerMarket, v.stopAt, v.fills[:0])
	v.fills = fills
	v.report(fills)
	if o, ok = b.Get(ref); ok && left > 0 {
		_, _ = b.Execute(ref, min(left, o.Qty))
	}
}

// report tells the engine about the fills of its orders.
func (v *Venue) report(fills []book.Fill) {
	for _, f := range fills {
		if f.MakerOwner == ownerEngine {
			v.execution(f.Maker, f, ouch.LiquidityAdded, f.MakerLeft == 0)
		}
		if f.TakerOwner == ownerEngine {
			v.execution(f.Taker, f, ouch.LiquidityRemoved, false)
		}
	}
}

func (v *Venue) execution(id book.OrderID, f book.Fill, liquidity byte, done bool) {
	o, ok := v.owners[id]
	if !ok {
		return
	}
	tok := o.token
	v.match++
	v.stats.Fills++
	v.reply(ouch.Executed{
		Timestamp: v.ts, Token: tok, Shares: uint32(f.Qty), Price: uint32(f.Price),
		Liquidity: liquidity, Match: v.match,
	}.AppendTo(v.msg[:0]))
	if done {
		delete(v.tokens, tok)
		delete(v.owners, id)
	}
}

// forget takes one of the recording's own orders out of the market.
func (v *Venue) forget(ref uint64) {
	v.forgot[ref] = struct{}{}
	for _, b := range v.books {
		if o, ok := b.Get(book.OrderID(ref)); ok && o.Owner == ownerMarket {
			_, _ = b.Cancel(o.ID)
		}
	}
}

// reset drops the recorded market before a snapshot rebuilds it; the
// engine's orders stay.
func (v *Venue) reset() {
	var ids []book.OrderID
	for _, b := range v.books {
		ids = ids[:0]
		for o := range b.Orders() {
			if o.Owner == ownerMarket {
				ids = append(ids, o.ID)
			}
		}
		for _, id := range ids {
			_, _ = b.Cancel(id)
		}
	}
}

func (v *Venue) reply(msg []byte) {
	v.replies, _ = soupbin.AppendPacket(v.replies, soupbin.TypeSequencedData, msg)
	_ = v.wake.TrySend(struct{}{})
}

func (v *Venue) reject(tok ouch.Token, reason byte) {
	v.stats.Rejects++
	v.reply(ouch.Rejected{Timestamp: v.ts, Token: tok, Reason: reason}.AppendTo(v.msg[:0]))
}

// send takes the gateway's packets, as a connection would.
func (v *Venue) send(_ *asyncrt.Task, b []byte) error {
	for len(b) > 0 {
		typ, payload, n, err := soupbin.Next(b, 0)
		if err != nil || n == 0 {
			return err // the gateway frames whole packets; this cannot happen
		}
		b = b[n:]
		if typ == soupbin.TypeUnsequencedData {
			v.request(payload)
		}
	}
	return nil
}

func (v *Venue) request(msg []byte) {
	typ, err := ouch.Type(msg)
	if err != nil {
		return
	}
	switch typ {
	case ouch.TypeEnterOrder:
		var m ouch.EnterOrder
		if m.Decode(msg) != nil {
			return
		}
		v.stats.Orders++
		v.enter(&m)
	case ouch.TypeReplaceOrder:
		var m ouch.ReplaceOrder
		if m.Decode(msg) != nil {
			return
		}
		v.stats.Replaces++
		v.replace(&m)
	case ouch.TypeCancelOrder:
		var m ouch.CancelOrder
		if m.Decode(msg) != nil {
			return
		}
		v.stats.Cancels++
		v.cancel(&m)
	}
}

func (v *Venue) enter(m *ouch.EnterOrder) {
	locate, ok := v.symbols[m.Stock]
	switch {
	case !ok:
		v.reject(m.Token, ouch.RejectInvalidStock)
		return
	case m.Shares == 0:
		v.reject(m.Token, ouch.RejectInvalidShares)
		return
	case m.Price == 0:
		v.reject(m.Token, ouch.RejectInvalidPrice)
		return
	}
	if _, dup := v.tokens[m.Token]; dup {
		v.reject(m.Token, ouch.RejectOther) // as the exchange answers it
		return
	}
	v.nextRef++
	id := book.OrderID(v.nextRef)
	v.reply(ouch.Accepted{
		Timestamp: v.ts, Token: m.Token, Side: m.Side, Shares: m.Shares, Stock: m.Stock,
		Price: m.Price, TimeInForce: m.TimeInForce, Firm: m.Firm, Display: m.Display,
		OrderRef: uint64(id), Capacity: m.Capacity, IntermarketSweep: m.IntermarketSweep,
		MinimumQuantity: m.MinimumQuantity, CrossType: m.CrossType, OrderState: ouch.OrderStateLive,
		BBOWeight: ouch.BBOWeightUnspecified,
	}.AppendTo(v.msg[:0]))
	v.tokens[m.Token] = id
	v.owners[id] = venueOrder{
		token: m.Token, side: m.Side, stock: m.Stock, firm: m.Firm, capacity: m.Capacity, crossType: m.CrossType,
	}
	fills, rested, err := v.book(locate).Submit(book.Order{ID: id, Side: bookSideOf(m.Side), Price: int64(m.Price), Qty: int64(m.Shares), Owner: ownerEngine}, false, v.fills[:0])
	if err != nil {
		panic("engine: venue refused a checked order: " + err.Error())
	}
	v.fills = fills
	v.report(fills)
	if !rested {
		delete(v.tokens, m.Token)
		delete(v.owners, id)
	}
}

func (v *Venue) replace(m *ouch.ReplaceOrder) {
	id, ok := v.tokens[m.Existing]
	if !ok { // as the exchange answers it
		v.reject(m.Replacement, ouch.RejectOther)
		return
	}
	if _, dup := v.tokens[m.Replacement]; dup || m.Shares == 0 || m.Price == 0 {
		v.reject(m.Replacement, ouch.RejectOther)
		return
	}
	var b *book.Book
	for _, bk := range v.books {
		if _, ok := bk.Get(id); ok {
			b = bk
			break
		}
	}
	if b == nil {
		v.reject(m.Replacement, ouch.RejectOther)
		return
	}
	v.nextRef++
	nid := book.OrderID(v.nextRef)
	old := v.owners[id]
	delete(v.tokens, m.Existing)
	delete(v.owners, id)
	v.tokens[m.Replacement] = nid
	v.owners[nid] = venueOrder{
		token: m.Replacement, side: old.side, stock: old.stock, firm: old.firm, capacity: old.capacity, crossType: old.crossType,
	}
	// As on the exchange, the replacement keeps what Replace Order cannot
	// change.
	v.reply(ouch.Replaced{
		Timestamp: v.ts, Token: m.Replacement, Side: old.side, Shares: m.Shares, Stock: old.stock,
		Price: m.Price, TimeInForce: m.TimeInForce, Firm: old.firm, Display: m.Display,
		OrderRef: uint64(nid), Capacity: old.capacity, IntermarketSweep: m.IntermarketSweep,
		MinimumQuantity: m.MinimumQuantity, CrossType: old.crossType, OrderState: ouch.OrderStateLive,
		Previous: m.Existing, BBOWeight: ouch.BBOWeightUnspecified,
	}.AppendTo(v.msg[:0]))
	fills, rested, err := b.Replace(id, nid, int64(m.Price), int64(m.Shares), v.fills[:0])
	if err != nil {
		panic("engine: venue refused a checked replace: " + err.Error())
	}
	v.fills = fills
	v.report(fills)
	if !rested {
		delete(v.tokens, m.Replacement)
		delete(v.owners, nid)
	}
}

func (v *Venue) cancel(m *ouch.CancelOrder) {
	id, ok := v.tokens[m.Token]
	if !ok {
		return // as on the exchange: cancels of unknown orders are ignored
	}
	for _, b := range v.books {
		o, ok := b.Get(id)
		if !ok {
			continue
		}
		keep := int64(m.Shares)
		if keep >= o.Qty {
			return
		}
		if keep > 0 {
			_, _ = b.Reduce(id, o.Qty-keep)
		} else {
			_, _ = b.Cancel(id)
			delete(v.tokens, m.Token)
			delete(v.owners, id)
		}
		v.reply(ouch.Canceled{Timestamp: v.ts, Token: m.Token, Decrement: uint32(o.Qty - keep), Reason: ouch.CancelUser}.AppendTo(v.msg[:0]))
		return
	}
}

// deliver hands the venue's answers to the gateway, as a reader task would.
func (v *Venue) deliver(t *asyncrt.Task, after func()) {
	for {
		if _, err := v.wakeRx.Recv(t); err != nil {
			return
		}
		for len(v.replies) > 0 {
			buf := v.replies
			v.replies = v.spare[:0]
			for b := buf; len(b) > 0; {
				_, payload, n, err := soupbin.Next(b, 0)
				if err != nil || n == 0 {
					break
				}
				b = b[n:]
				v.gw.onSequenced(payload)
			}
			v.spare = buf[:0]
			after()
		}
	}
}
