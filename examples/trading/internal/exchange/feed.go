package exchange

import (
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
	"github.com/orrery-go/orrery/examples/trading/internal/moldudp64"
)

// feedPublisher packs ITCH messages into MoldUDP64 packets and sends them.
type feedPublisher struct {
	x        *Exchange
	conn     *socket.UDPConn
	b        *moldudp64.Builder
	nextSeq  uint64 // sequence number the next message gets
	lastSend time.Time
	scratch  []byte
}

func (f *feedPublisher) init(x *Exchange, conn *socket.UDPConn) error {
	b, err := moldudp64.NewBuilder(x.session, x.cfg.MaxPacket)
	if err != nil {
		return err
	}
	f.x, f.conn, f.b, f.nextSeq = x, conn, b, 1
	f.b.Reset(f.nextSeq)
	return nil
}

// add appends one ITCH message to the packet being built, sending the packet
// first if the message does not fit.
func (f *feedPublisher) add(t *asyncrt.Task, msg []byte) {
	if err := f.b.Add(msg); err != nil {
		f.flush(t)
		if err := f.b.Add(msg); err != nil {
			// An ITCH message always fits an empty packet of MaxPacket >= 64.
			panic("exchange: feed message does not fit an empty packet: " + err.Error())
		}
	}
	f.nextSeq++
	f.x.stats.FeedMessages++
}

// flush sends the packet being built, if it holds anything. With a drop
// rate, some packets are never sent although their messages keep their
// sequence numbers: receivers see a gap.
func (f *feedPublisher) flush(t *asyncrt.Task) {
	if f.b.Count() == 0 {
		return
	}
	if f.x.cfg.DropRate > 0 && f.x.dropRng.Float64() < f.x.cfg.DropRate && !f.x.quiet {
		f.x.stats.FeedDropped++
	} else {
		f.send(t, f.b.Bytes())
		f.x.stats.FeedPackets++
	}
	f.b.Reset(f.nextSeq)
}

func (f *feedPublisher) send(t *asyncrt.Task, pkt []byte) {
	// A send error (the receiver's port closed, say) is a lost packet, as it
	// would be on a network; the receiver's gap detection covers it. So is
	// a packet sent while a played partition cuts the link.
	if f.x.linkDown() {
		f.x.stats.FeedPartitioned++
	} else {
		_, _ = f.conn.SendTo(pkt, f.x.cfg.Feed)
	}
	f.lastSend = t.Now()
}

// heartbeat tells receivers the next sequence number. It first sends the
// packet being built, if any: a heartbeat follows only if that did not go
// out (it was dropped, or there was none).
func (f *feedPublisher) heartbeat(t *asyncrt.Task) {
	sent := f.x.stats.FeedPackets
	f.flush(t)
	if f.x.stats.FeedPackets != sent {
		return
	}
	f.scratch = moldudp64.AppendHeartbeat(f.scratch[:0], f.x.session, f.nextSeq)
	f.send(t, f.scratch)
	f.x.stats.FeedHeartbeats++
}

func (f *feedPublisher) endOfSession(t *asyncrt.Task) {
	f.flush(t)
	f.scratch = moldudp64.AppendEndOfSession(f.scratch[:0], f.x.session, f.nextSeq)
	f.send(t, f.scratch)
}

// feedHeartbeats sends a MoldUDP64 heartbeat whenever the feed has been
// quiet for a heartbeat interval. It sleeps until one interval after the
// last send; a send meanwhile moves that deadline, and the task sleeps on
// to the new one. So a heartbeat leaves exactly one interval after the last
// packet: with a polling interval instead (wake every interval, send if the
// last packet is at least an interval old) the gap between packets could
// approach two intervals.
func (x *Exchange) feedHeartbeats(t *asyncrt.Task) {
	for {
		due := x.feed.lastSend.Add(x.cfg.Heartbeat)
		if t.Now().Before(due) {
			t.SleepUntil(due)
			continue
		}
		x.feed.heartbeat(t) // a send: the next deadline is an interval on
	}
}
