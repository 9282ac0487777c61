package exchange

import (
	"slices"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/trading/internal/book"
	"github.com/orrery-go/orrery/examples/trading/internal/itch"
	"github.com/orrery-go/orrery/examples/trading/internal/ouch"
)

func sortIDs(ids []book.OrderID) { slices.Sort(ids) }

// handleOrderMessage processes one OUCH message from u. Malformed messages
// are counted and skipped.
func (x *Exchange) handleOrderMessage(t *asyncrt.Task, u *user, msg []byte) {
	typ, err := ouch.Type(msg)
	if err != nil {
		x.stats.Malformed++
		return
	}
	switch typ {
	case ouch.TypeEnterOrder:
		var m ouch.EnterOrder
		if m.Decode(msg) != nil {
			x.stats.Malformed++
			return
		}
		x.stats.Orders++
		x.enterOrder(t, u, &m)
	case ouch.TypeReplaceOrder:
		var m ouch.ReplaceOrder
		if m.Decode(msg) != nil {
			x.stats.Malformed++
			return
		}
		x.stats.Replaces++
		x.replaceOrder(t, u, &m)
	case ouch.TypeCancelOrder:
		var m ouch.CancelOrder
		if m.Decode(msg) != nil {
			x.stats.Malformed++
			return
		}
		x.stats.Cancels++
		id, ok := u.live[m.Token]
		if !ok {
			return // OUCH ignores cancels of unknown or finished orders
		}
		o := x.owners[id]
		x.cancelOrder(t, o.inst, id, int64(m.Shares), ouch.CancelUser)
	default:
		x.stats.Malformed++
	}
}

// attrs are the attributes of a user's order that a Replace Order message
// does not carry: the Replaced message repeats them from the order it
// replaces.
type attrs struct {
	side      byte // the Buy/Sell indicator as entered (T and E included)
	firm      ouch.Firm
	capacity  byte
	crossType byte
}

func (x *Exchange) reject(u *user, token ouch.Token, reason byte) {
	x.stats.Rejects++
	u.sequence(ouch.Rejected{Timestamp: x.timestamp(), Token: token, Reason: reason}.AppendTo(x.msg[:0]))
}

// checkOrder returns a reject reason, or 0 if the order may be entered.
func (x *Exchange) checkOrder(u *user, token ouch.Token, shares, price uint32) byte {
	switch {
	case hasToken(u, token):
		// OUCH 4.2 ignores the order silently; see the package doc.
		return ouch.RejectOther
	case shares == 0 || shares > MaxOrderShares:
		return ouch.RejectInvalidShares
	case price == 0 || price%Tick != 0:
		return ouch.RejectInvalidPrice
	}
	return 0
}

// checkEnter returns a reject reason for the attributes of an Enter Order
// message that OUCH 4.2 does not allow, or 0. The exchange repeats them in
// Accepted and Replaced: refusing them keeps every message it sends within
// the specification, whatever a client sends.
func checkEnter(m *ouch.EnterOrder) byte {
	switch {
	case !validDisplay(m.Display):
		return ouch.RejectInvalidDisplay
	case m.MinimumQuantity > m.Shares:
		return ouch.RejectInvalidMinimumQty
	case !validTIF(m.TimeInForce), !validFirm(m.Firm),
		m.Capacity != ouch.CapacityAgency && m.Capacity != ouch.CapacityPrincipal &&
			m.Capacity != ouch.CapacityRiskless && m.Capacity != ouch.CapacityOther,
		!validISO(m.IntermarketSweep),
		m.CrossType != ouch.CrossNone && m.CrossType != ouch.CrossOpening &&
			m.CrossType != ouch.CrossClosing && m.CrossType != ouch.CrossHaltIPO &&
			m.CrossType != crossSupplemental && m.CrossType != crossRetail,
		m.CustomerType != ouch.CustomerRetail && m.CustomerType != ouch.CustomerNotRetail &&
			m.CustomerType != ' ':
		return ouch.RejectOther
	}
	return 0
}

// checkReplace is checkEnter for the attributes of a Replace Order message.
func checkReplace(m *ouch.ReplaceOrder) byte {
	switch {
	case !validDisplay(m.Display):
		return ouch.RejectInvalidDisplay
	case m.MinimumQuantity > m.Shares:
		return ouch.RejectInvalidMinimumQty
	case !validTIF(m.TimeInForce), !validISO(m.IntermarketSweep):
		return ouch.RejectOther
	}
	return 0
}

// Cross Type values of OUCH 4.2 that the ouch package has no constant for.
const (
	crossSupplemental byte = 'S'
	crossRetail       byte = 'R'
)

// validDisplay reports whether d is a Display value of OUCH 4.2.
func validDisplay(d byte) bool {
	switch d {
	case 'A', 'Y', 'N', 'P', 'R', 'I', 'M', 'W', 'L', 'O', 'T', 'Q':
		return true
	}
	return false
}

// validTIF reports whether a Time in Force is one OUCH 4.2 allows: one of
// the special values, or a lifetime in seconds of at most a day.
func validTIF(tif uint32) bool {
	return tif <= 86_400 || tif == ouch.TIFMarketHours || tif == ouch.TIFSystemHours
}

func validISO(b byte) bool {
	return b == ouch.IntermarketSweepEligible || b == ouch.IntermarketSweepNotEligible
}

// validFirm reports whether f is an alpha field: printable characters,
// left-justified and padded with spaces, or all spaces (the port's default
// firm).
func validFirm(f ouch.Firm) bool {
	pad := false
	for _, c := range f {
		switch {
		case c == ' ':
			pad = true
		case c < ' ' || c > '~' || pad:
			return false
		}
	}
	return true
}

func hasToken(u *user, token ouch.Token) bool {
	_, ok := u.seen[token]
	return ok
}

func bookSide(side byte) (book.Side, bool) {
	switch side {
	case 'B':
		return book.Buy, true
	case 'S', 'T', 'E': // short sales match like sales
		return book.Sell, true
	}
	return 0, false
}

func itchSide(s book.Side) byte {
	if s == book.Buy {
		return 'B'
	}
	return 'S'
}

func (x *Exchange) enterOrder(t *asyncrt.Task, u *user, m *ouch.EnterOrder) {
	in := x.bySym[m.Stock]
	side, okSide := bookSide(m.Side)
	reason := x.checkOrder(u, m.Token, m.Shares, m.Price)
	switch {
	case in == nil:
		reason = ouch.RejectInvalidStock
	case !okSide: // the decoder already refuses such sides
		reason = ouch.RejectOther
	case reason == 0:
		reason = checkEnter(m)
	}
	if reason != 0 {
		x.reject(u, m.Token, reason)
		return
	}
	u.seen[m.Token] = struct{}{}
	ref := book.OrderID(x.nextRef)
	x.nextRef++
	ioc := m.TimeInForce == ouch.TIFImmediate
	// Accepted goes first, so the client knows the order before its fills.
	u.sequence(ouch.Accepted{
		Timestamp: x.timestamp(), Token: m.Token, Side: m.Side, Shares: m.Shares,
		Stock: m.Stock, Price: m.Price, TimeInForce: m.TimeInForce, Firm: m.Firm,
		Display: m.Display, OrderRef: uint64(ref), Capacity: m.Capacity,
		IntermarketSweep: m.IntermarketSweep, MinimumQuantity: m.MinimumQuantity,
		CrossType: m.CrossType, OrderState: ouch.OrderStateLive,
		// The exchange does not rate orders against the NBBO.
		BBOWeight: ouch.BBOWeightUnspecified,
	}.AppendTo(x.msg[:0]))
	x.owners[ref] = owned{u: u, token: m.Token, inst: in, attrs: attrs{
		side: m.Side, firm: m.Firm, capacity: m.Capacity, crossType: m.CrossType,
	}}
	x.submit(t, in, book.Order{ID: ref, Side: side, Price: int64(m.Price), Qty: int64(m.Shares), Owner: u.id}, ioc)
}

// submit matches o, publishes the executions, rests the remainder (or
// cancels it, for an immediate-or-cancel order) and tells the owners.
func (x *Exchange) submit(t *asyncrt.Task, in *instrument, o book.Order, ioc bool) {
	fills, rested, err := in.book.Submit(o, ioc, x.fills[:0])
	if err != nil {
		panic("exchange: checked order refused by the book: " + err.Error())
	}
	x.fills = fills
	x.publishFills(t, in, fills)
	left := o.Qty
	for _, f := range fills {
		left -= f.Qty
	}
	switch {
	case rested:
		x.feed.add(t, itch.AddOrder{
			Header: x.header(in), Ref: uint64(o.ID), Side: itchSide(o.Side),
			Shares: uint32(left), Stock: in.stock, Price: uint32(o.Price),
		}.AppendTo(x.msg[:0]))
		if ow, ok := x.owners[o.ID]; ok {
			ow.u.live[ow.token] = o.ID
		}
	case left > 0: // an immediate-or-cancel remainder
		x.finish(o.ID, left, ouch.CancelImmediateOrCancel)
	default:
		delete(x.owners, o.ID) // filled on arrival
	}
}

// publishFills sends the executions to the feed and to the users involved.
func (x *Exchange) publishFills(t *asyncrt.Task, in *instrument, fills []book.Fill) {
	for _, f := range fills {
		x.nextMatch++
		x.stats.Executions++
		x.feed.add(t, itch.OrderExecuted{
			Header: x.header(in), Ref: uint64(f.Maker), Shares: uint32(f.Qty), Match: x.nextMatch,
		}.AppendTo(x.msg[:0]))
		if f.MakerOwner != 0 {
			x.execute(in, f.Maker, f.Side.Opposite(), f, ouch.LiquidityAdded)
			if f.MakerLeft == 0 {
				x.forget(f.Maker)
			}
		} else if f.MakerLeft == 0 {
			in.removeSynth(f.Maker)
		}
		if f.TakerOwner != 0 {
			x.execute(in, f.Taker, f.Side, f, ouch.LiquidityRemoved)
		}
	}
}

// execute reports an execution of id (on side s) to its owner and books it
// in the owner's position.
func (x *Exchange) execute(in *instrument, id book.OrderID, s book.Side, f book.Fill, liquidity byte) {
	ow, ok := x.owners[id]
	if !ok {
		return
	}
	x.stats.UserFills++
	p := ow.u.position(in)
	if s == book.Buy {
		p.Qty += f.Qty
		p.Cash -= f.Qty * f.Price
	} else {
		p.Qty -= f.Qty
		p.Cash += f.Qty * f.Price
	}
	p.Fills++
	p.Volume += f.Qty
	ow.u.sequence(ouch.Executed{
		Timestamp: x.timestamp(), Token: ow.token, Shares: uint32(f.Qty),
		Price: uint32(f.Price), Liquidity: liquidity, Match: x.nextMatch,
	}.AppendTo(x.msg[:0]))
}

// forget drops a finished user order.
func (x *Exchange) forget(id book.OrderID) {
	if ow, ok := x.owners[id]; ok {
		delete(ow.u.live, ow.token)
		delete(x.owners, id)
	}
}

// finish reports the cancellation of n shares of a user order that is now
// done, and forgets it.
func (x *Exchange) finish(id book.OrderID, n int64, reason byte) {
	if ow, ok := x.owners[id]; ok {
		ow.u.sequence(ouch.Canceled{
			Timestamp: x.timestamp(), Token: ow.token, Decrement: uint32(n), Reason: reason,
		}.AppendTo(x.msg[:0]))
		x.forget(id)
	}
}

// cancelOrder reduces a resting order to keep shares (0: cancels it) and
// publishes the change.
func (x *Exchange) cancelOrder(t *asyncrt.Task, in *instrument, id book.OrderID, keep int64, reason byte) {
	o, ok := in.book.Get(id)
	if !ok || keep >= o.Qty {
		return
	}
	if keep > 0 {
		dec := o.Qty - keep
		if _, err := in.book.Reduce(id, dec); err != nil {
			panic("exchange: " + err.Error())
		}
		x.feed.add(t, itch.OrderCancel{Header: x.header(in), Ref: uint64(id), Shares: uint32(dec)}.AppendTo(x.msg[:0]))
		if ow, ok := x.owners[id]; ok {
			ow.u.sequence(ouch.Canceled{
				Timestamp: x.timestamp(), Token: ow.token, Decrement: uint32(dec), Reason: reason,
			}.AppendTo(x.msg[:0]))
		}
		return
	}
	if _, err := in.book.Cancel(id); err != nil {
		panic("exchange: " + err.Error())
	}
	x.feed.add(t, itch.OrderDelete{Header: x.header(in), Ref: uint64(id)}.AppendTo(x.msg[:0]))
	if o.Owner == 0 {
		in.removeSynth(id)
	}
	x.finish(id, o.Qty, reason)
}

func (x *Exchange) replaceOrder(t *asyncrt.Task, u *user, m *ouch.ReplaceOrder) {
	id, ok := u.live[m.Existing]
	if !ok {
		// No live order has the token (it filled, say): OUCH 4.2 ignores
		// the replace silently; see the package doc.
		x.reject(u, m.Replacement, ouch.RejectOther)
		return
	}
	reason := x.checkOrder(u, m.Replacement, m.Shares, m.Price)
	if reason == 0 {
		reason = checkReplace(m)
	}
	if reason != 0 {
		x.reject(u, m.Replacement, reason)
		return
	}
	ow := x.owners[id]
	in := ow.inst
	old, _ := in.book.Get(id)
	u.seen[m.Replacement] = struct{}{}
	ref := book.OrderID(x.nextRef)
	x.nextRef++
	fills, rested, err := in.book.Replace(id, ref, int64(m.Price), int64(m.Shares), x.fills[:0])
	if err != nil {
		panic("exchange: checked replace refused by the book: " + err.Error())
	}
	x.fills = fills
	delete(u.live, m.Existing)
	delete(x.owners, id)
	x.owners[ref] = owned{u: u, token: m.Replacement, inst: in, attrs: ow.attrs}
	side := itchSide(old.Side)
	// The replacement keeps what Replace Order cannot change: the side as
	// entered, the firm, the capacity and the cross type.
	u.sequence(ouch.Replaced{
		Timestamp: x.timestamp(), Token: m.Replacement, Side: ow.side, Shares: m.Shares,
		Stock: in.ostock, Price: m.Price, TimeInForce: m.TimeInForce, Firm: ow.firm,
		Display: m.Display, OrderRef: uint64(ref), Capacity: ow.capacity,
		IntermarketSweep: m.IntermarketSweep, MinimumQuantity: m.MinimumQuantity,
		CrossType: ow.crossType, OrderState: ouch.OrderStateLive, Previous: m.Existing,
		BBOWeight: ouch.BBOWeightUnspecified,
	}.AppendTo(x.msg[:0]))
	if len(fills) == 0 && rested {
		x.feed.add(t, itch.OrderReplace{
			Header: x.header(in), OrigRef: uint64(id), NewRef: uint64(ref),
			Shares: m.Shares, Price: m.Price,
		}.AppendTo(x.msg[:0]))
		u.live[m.Replacement] = ref
		return
	}
	// The replacement trades on arrival: the old order leaves the book and
	// the new one enters it like a fresh order.
	x.feed.add(t, itch.OrderDelete{Header: x.header(in), Ref: uint64(id)}.AppendTo(x.msg[:0]))
	x.publishFills(t, in, fills)
	left := int64(m.Shares)
	for _, f := range fills {
		left -= f.Qty
	}
	if rested {
		x.feed.add(t, itch.AddOrder{
			Header: x.header(in), Ref: uint64(ref), Side: side,
			Shares: uint32(left), Stock: in.stock, Price: m.Price,
		}.AppendTo(x.msg[:0]))
		u.live[m.Replacement] = ref
	} else {
		delete(x.owners, ref)
	}
}
