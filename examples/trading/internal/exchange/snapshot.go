package exchange

import (
	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
	"github.com/orrery-go/orrery/examples/trading/internal/itch"
	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
)

// serveSnapshot sends a GLIMPSE-style snapshot: after the login, one Add
// Order per resting order of every book, then End of Snapshot carrying the
// sequence number at which the live feed continues, then End of Session.
//
// The runtime is single-threaded, so the snapshot is built in one step: no
// feed message can slip between the books and the sequence number.
func (x *Exchange) serveSnapshot(t *asyncrt.Task, conn *socket.TCPConn) {
	defer conn.Close()
	r := newPacketReader(t, x, conn)
	if u, _ := x.login(t, conn, r, true); u == nil {
		return
	}
	x.stats.Snapshots++
	x.setNow(t)
	x.feed.flush(t) // every message so far is on the wire (or dropped)
	out, err := soupbin.LoginAccepted{Session: x.cfg.Session, Seq: 1}.AppendTo(nil)
	if err != nil {
		panic(err)
	}
	var msg []byte
	for _, in := range x.insts {
		for o := range in.book.Orders() {
			msg = itch.AddOrder{
				Header: x.header(in), Ref: uint64(o.ID), Side: itchSide(o.Side),
				Shares: uint32(o.Qty), Stock: in.stock, Price: uint32(o.Price),
			}.AppendTo(msg[:0])
			out, _ = soupbin.AppendPacket(out, soupbin.TypeSequencedData, msg)
		}
	}
	msg = itch.EndOfSnapshot{Seq: x.feed.nextSeq}.AppendTo(msg[:0]) // where the live feed continues
	out, _ = soupbin.AppendPacket(out, soupbin.TypeSequencedData, msg)
	out, _ = soupbin.AppendPacket(out, soupbin.TypeEndOfSession, nil)
	x.awaitLink(t)
	_, _ = conn.Write(out) // a client gone meanwhile simply asks again
}
