package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/orrery-go/orrery/examples/trading/internal/itch"
	"github.com/orrery-go/orrery/examples/trading/internal/moldudp64"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

// maxBuffered bounds the packets kept while the feed recovers; beyond it
// the oldest go (the snapshot being fetched covers them anyway).
const maxBuffered = 1 << 16

// FeedStats counts what the feed handler saw.
type FeedStats struct {
	Packets, Heartbeats uint64
	// Gaps counts sequence gaps, GapMessages the messages they skipped.
	Gaps, GapMessages uint64
	// Duplicates counts packets already seen.
	Duplicates uint64
	// Recoveries counts snapshot requests; Snapshots the snapshots applied;
	// Unsolicited snapshots that arrived while the feed was not recovering.
	Recoveries, Snapshots, Unsolicited uint64
	// Buffered counts packets held during recoveries; Overflow those
	// dropped because too many were held.
	Buffered, Overflow uint64
	// Malformed counts packets and snapshots that could not be decoded;
	// OtherSession packets of another session.
	Malformed, OtherSession uint64
}

// Feed is the market-data handler: it checks MoldUDP64 sequence numbers,
// recovers from gaps through snapshots, and applies ITCH messages to the
// Market through pre-resolved handlers. It runs on the engine's runtime.
type Feed struct {
	market *Market
	stats  FeedStats

	onAdd     *worldctx.Handler1[*itch.AddOrder, Market]
	onExec    *worldctx.Handler1[*itch.OrderExecuted, Market]
	onCancel  *worldctx.Handler1[*itch.OrderCancel, Market]
	onDelete  *worldctx.Handler1[*itch.OrderDelete, Market]
	onReplace *worldctx.Handler1[*itch.OrderReplace, Market]
	onTrade   *worldctx.Handler1[*itch.Trade, Market]

	session     moldudp64.Session
	haveSession bool
	nextSeq     uint64 // the next message expected; 0 before the first sync
	recovering  bool
	ended       bool
	buffered    [][]byte

	// requestSnapshot asks for a snapshot; the answer comes to
	// ApplySnapshot.
	requestSnapshot func()
	// bookChanged is called after a packet for every book whose top changed;
	// t0 is when the packet was read (0 when not from a packet).
	bookChanged func(in *instrument, t0 int64)
	// tap, if set, sees every message applied, in sequence order, and
	// tapReset every snapshot before its messages: a backtest venue follows
	// the same market this way.
	tap      func(msg []byte)
	tapReset func()

	pkt     moldudp64.Packet
	add     itch.AddOrder
	exec    itch.OrderExecuted
	cancel  itch.OrderCancel
	del     itch.OrderDelete
	replace itch.OrderReplace
	trade   itch.Trade
}

// NewFeed makes a feed handler on ctx's World, which must hold a Market
// resource.
func NewFeed(ctx worldctx.Ctx, requestSnapshot func(), bookChanged func(in *instrument, t0 int64)) (*Feed, error) {
	f := &Feed{requestSnapshot: requestSnapshot, bookChanged: bookChanged}
	var err error
	if f.onAdd, err = worldctx.NewHandler1(ctx, func(m *itch.AddOrder, mk *Market) {
		mk.addOrder(m.Locate, m.Stock, m.Ref, m.Side, int64(m.Shares), int64(m.Price))
	}); err != nil {
		return nil, err
	}
	f.onExec, _ = worldctx.NewHandler1(ctx, func(m *itch.OrderExecuted, mk *Market) { mk.executed(m.Ref, int64(m.Shares)) })
	f.onCancel, _ = worldctx.NewHandler1(ctx, func(m *itch.OrderCancel, mk *Market) {
		if _, _, ok := mk.take(m.Ref, int64(m.Shares)); ok {
			mk.Cancels++
		}
	})
	f.onDelete, _ = worldctx.NewHandler1(ctx, func(m *itch.OrderDelete, mk *Market) {
		if _, _, ok := mk.take(m.Ref, -1); ok {
			mk.Deletes++
		}
	})
	f.onReplace, _ = worldctx.NewHandler1(ctx, func(m *itch.OrderReplace, mk *Market) {
		mk.replace(m.OrigRef, m.NewRef, int64(m.Shares), int64(m.Price))
	})
	f.onTrade, _ = worldctx.NewHandler1(ctx, func(m *itch.Trade, mk *Market) {
		mk.Trades++
		if in := mk.instrument(m.Locate); in != nil {
			in.book.LastTrade = int64(m.Price)
			in.book.Volume += int64(m.Shares)
		}
	})
	f.market = worldctx.WithValue(ctx, func(w *world.World) *Market { return world.MustResource[Market](w) })
	return f, nil
}

// Stats returns the feed's counters.
func (f *Feed) Stats() FeedStats { return f.stats }

// Recovering reports whether the feed waits for a snapshot.
func (f *Feed) Recovering() bool { return f.recovering }

// Ended reports whether the feed saw the end of its session.
func (f *Feed) Ended() bool { return f.ended }

// OnPacket handles one MoldUDP64 packet read at t0 (nanoseconds on the
// engine's latency clock).
func (f *Feed) OnPacket(pkt []byte, t0 int64) {
	f.stats.Packets++
	f.process(pkt)
	f.afterPacket(t0)
}

func (f *Feed) process(pkt []byte) {
	if err := f.pkt.Parse(pkt); err != nil {
		f.stats.Malformed++
		return
	}
	if !f.haveSession {
		f.session, f.haveSession = f.pkt.Session, true
	} else if f.pkt.Session != f.session {
		f.stats.OtherSession++
		return
	}
	if f.pkt.Count == moldudp64.EndOfSession {
		f.ended = true
		return
	}
	if f.recovering {
		f.buffer(pkt)
		return
	}
	first := f.pkt.Seq
	next := first + uint64(f.pkt.Count)
	if f.nextSeq == 0 && first == 1 {
		f.nextSeq = 1 // the session's very start: nothing to recover
	}
	if f.pkt.Count == 0 {
		f.stats.Heartbeats++
	}
	switch {
	case f.nextSeq == 0 || first > f.nextSeq:
		if f.nextSeq != 0 {
			f.stats.Gaps++
			f.stats.GapMessages += first - f.nextSeq
		}
		f.startRecovery()
		f.buffer(pkt)
		return
	case next <= f.nextSeq:
		if f.pkt.Count > 0 {
			f.stats.Duplicates++
		}
		return
	}
	skip := f.nextSeq - first // messages of this packet already applied
	for msg, ok := f.pkt.Next(); ok; msg, ok = f.pkt.Next() {
		if skip > 0 {
			skip--
			continue
		}
		f.nextSeq++
		f.apply(msg)
	}
}

func (f *Feed) apply(msg []byte) {
	if f.tap != nil {
		f.tap(msg)
	}
	mk := f.market
	mk.Messages++
	typ, err := itch.Type(msg)
	if err != nil {
		mk.Malformed++
		return
	}
	switch typ {
	case itch.TypeAddOrder:
		if f.add.Decode(msg) == nil {
			f.onAdd.Run(&f.add)
			return
		}
	case itch.TypeOrderExecuted:
		if f.exec.Decode(msg) == nil {
			f.onExec.Run(&f.exec)
			return
		}
	case itch.TypeOrderCancel:
		if f.cancel.Decode(msg) == nil {
			f.onCancel.Run(&f.cancel)
			return
		}
	case itch.TypeOrderDelete:
		if f.del.Decode(msg) == nil {
			f.onDelete.Run(&f.del)
			return
		}
	case itch.TypeOrderReplace:
		if f.replace.Decode(msg) == nil {
			f.onReplace.Run(&f.replace)
			return
		}
	case itch.TypeTrade:
		if f.trade.Decode(msg) == nil {
			f.onTrade.Run(&f.trade)
			return
		}
	case itch.TypeSystemEvent:
		var ev itch.SystemEvent
		if ev.Decode(msg) == nil {
			return
		}
	default:
		return // a message type this engine does not use
	}
	mk.Malformed++
}

func (f *Feed) buffer(pkt []byte) {
	if len(f.buffered) >= maxBuffered {
		f.buffered = append(f.buffered[:0], f.buffered[1:]...)
		f.stats.Overflow++
	}
	f.buffered = append(f.buffered, append([]byte(nil), pkt...))
	f.stats.Buffered++
}

func (f *Feed) startRecovery() {
	f.recovering = true
	f.stats.Recoveries++
	f.market.setStale(true)
	f.requestSnapshot()
}

// afterPacket reports the books whose top changed.
func (f *Feed) afterPacket(t0 int64) {
	mk := f.market
	for _, loc := range mk.touched {
		in := mk.instrument(loc)
		if tp := in.book.top(); tp != in.book.seen || in.book.Stale {
			in.book.seen = tp
			f.bookChanged(in, t0)
		}
	}
	mk.touched = mk.touched[:0]
}

// ApplySnapshot rebuilds the books from a snapshot: message blocks (2-byte
// length, ITCH message) of Add Orders ending with End of Snapshot. Packets
// buffered during the recovery are then applied from the snapshot's
// sequence number on.
func (f *Feed) ApplySnapshot(snapshot []byte) error {
	seq, err := checkSnapshot(snapshot)
	if err != nil {
		f.stats.Malformed++
		return err
	}
	if !f.recovering {
		f.stats.Unsolicited++
		return nil
	}
	mk := f.market
	mk.clear()
	if f.tapReset != nil {
		f.tapReset()
	}
	forEachBlock(snapshot, func(msg []byte) {
		if typ, _ := itch.Type(msg); typ == itch.TypeAddOrder {
			if f.tap != nil {
				f.tap(msg)
			}
			_ = f.add.Decode(msg) // checked above
			f.onAdd.Run(&f.add)
		}
	})
	f.nextSeq = seq // End of Snapshot names the message the live feed continues with
	f.recovering = false
	mk.setStale(false)
	f.stats.Snapshots++
	pending := f.buffered
	f.buffered = nil
	for i, pkt := range pending {
		f.process(pkt)
		if f.recovering { // another gap: keep the rest for the next snapshot
			f.buffered = append(f.buffered, pending[i+1:]...)
			break
		}
	}
	f.afterPacket(0)
	return nil
}

func forEachBlock(b []byte, fn func(msg []byte)) {
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		fn(b[2 : 2+n])
		b = b[2+n:]
	}
}

// checkSnapshot validates a snapshot and returns its sequence number.
func checkSnapshot(b []byte) (uint64, error) {
	var add itch.AddOrder
	var end itch.EndOfSnapshot
	seen := false
	for len(b) > 0 {
		if len(b) < 2 {
			return 0, fmt.Errorf("engine: snapshot: truncated block header")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return 0, fmt.Errorf("engine: snapshot: block of %d bytes, %d left", n, len(b)-2)
		}
		msg := b[2 : 2+n]
		b = b[2+n:]
		if seen {
			return 0, fmt.Errorf("engine: snapshot: messages after End of Snapshot")
		}
		typ, err := itch.Type(msg)
		if err != nil {
			return 0, fmt.Errorf("engine: snapshot: %w", err)
		}
		switch typ {
		case itch.TypeAddOrder:
			if err := add.Decode(msg); err != nil {
				return 0, fmt.Errorf("engine: snapshot: %w", err)
			}
		case itch.TypeEndOfSnapshot:
			if err := end.Decode(msg); err != nil {
				return 0, fmt.Errorf("engine: snapshot: %w", err)
			}
			seen = true
		default:
			return 0, fmt.Errorf("engine: snapshot: unexpected message type %q", typ)
		}
	}
	if !seen {
		return 0, fmt.Errorf("engine: snapshot: no End of Snapshot")
	}
	return end.Seq, nil
}

// AppendSnapshotBlock appends msg as a snapshot block.
func AppendSnapshotBlock(dst, msg []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(msg)))
	return append(dst, msg...)
}
