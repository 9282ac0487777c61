package engine

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/orrery-go/orrery/examples/trading/internal/itch"
)

// Fuzz input: a sequence of operations, each a kind byte, a 2-byte length
// and that many bytes (cut short at the end of the input). Kinds (mod 4):
// 0 and 1 a packet, 2 a snapshot, 3 markOwn of the 8-byte reference.
const (
	opPacket   = 0
	opSnapshot = 2
	opOwn      = 3
)

func fuzzOp(dst []byte, kind byte, payload []byte) []byte {
	dst = append(dst, kind)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)))
	return append(dst, payload...)
}

func fuzzOwn(dst []byte, ref uint64) []byte {
	return fuzzOp(dst, opOwn, binary.BigEndian.AppendUint64(nil, ref))
}

func fuzzSeeds() [][]byte {
	var seeds [][]byte
	// In order, with every message type.
	var s []byte
	s = fuzzOp(s, opPacket, packet(1,
		systemMsg(itch.EventStartOfMessages),
		addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 2, 'S', 100, p100_01), addMsg(2, 3, 'B', 5, p100_00)))
	s = fuzzOp(s, opPacket, packet(5, execMsg(1, 1, 10, 1), cancelMsg(1, 2, 5), replaceMsg(1, 1, 4, 50, p100_00)))
	s = fuzzOp(s, opPacket, packet(8, deleteMsg(2, 3), tradeMsg(1, 10, p100_00)))
	s = fuzzOp(s, opPacket, heartbeat(10))
	s = fuzzOp(s, opPacket, endOfSession(10))
	seeds = append(seeds, s)

	// A gap, buffered packets, a snapshot and a second gap.
	s = nil
	s = fuzzOp(s, opPacket, packet(1, addMsg(1, 1, 'B', 100, p99_99)))
	s = fuzzOp(s, opPacket, packet(3, addMsg(1, 3, 'S', 10, p100_01), execMsg(1, 1, 5, 1)))
	s = fuzzOp(s, opPacket, packet(3, addMsg(1, 3, 'S', 10, p100_01), execMsg(1, 1, 5, 1)))
	s = fuzzOp(s, opPacket, packet(7, deleteMsg(1, 3)))
	s = fuzzOp(s, opSnapshot, snapshot(3, addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 2, 'B', 7, p99_98)))
	s = fuzzOp(s, opSnapshot, snapshot(7, addMsg(1, 1, 'B', 95, p99_99)))
	s = fuzzOp(s, opPacket, heartbeat(12))
	seeds = append(seeds, s)

	// Own orders, before and after their Add.
	s = nil
	s = fuzzOwn(s, 2)
	s = fuzzOp(s, opPacket, packet(1, addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 2, 'B', 50, p99_99), addMsg(1, 3, 'S', 5, p100_01)))
	s = fuzzOwn(s, 3)
	s = fuzzOp(s, opPacket, packet(4, replaceMsg(1, 2, 9, 10, p100_00), execMsg(1, 9, 5, 1), cancelMsg(1, 3, 1)))
	s = fuzzOp(s, opPacket, packet(9, addMsg(1, 10, 'S', 1, p100_02)))
	s = fuzzOp(s, opSnapshot, snapshot(7, addMsg(1, 9, 'B', 5, p100_00), addMsg(1, 1, 'B', 100, p99_99)))
	seeds = append(seeds, s)

	// Zero-share orders, which are malformed (TestFeedZeroShareAdd).
	s = fuzzOp(nil, opPacket, packet(1, addMsg(1, 1, 'B', 0, p99_99), addMsg(1, 2, 'B', 100, p99_99),
		execMsg(1, 2, 100, 1), addMsg(1, 3, 'B', 50, p99_99), deleteMsg(1, 1)))
	seeds = append(seeds, s)

	// Garbage.
	seeds = append(seeds, nil, []byte{0}, fuzzOp(nil, opPacket, []byte("not a packet")), fuzzOp(nil, opSnapshot, []byte{0, 1, 'G'}))
	return seeds
}

func FuzzFeed(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(feedOps)
}

// feedOps runs the operations data encodes and checks the books after each.
func feedOps(t *testing.T, data []byte) {
	fx := newFeedFixture(t)
	for len(data) >= 3 {
		kind := data[0]
		n := min(int(binary.BigEndian.Uint16(data[1:])), len(data)-3)
		chunk := data[3 : 3+n]
		data = data[3+n:]
		afterPacket := false
		switch kind % 4 {
		case 0, 1:
			fx.f.OnPacket(chunk, int64(kind))
			afterPacket = true
		case 2:
			_ = fx.f.ApplySnapshot(chunk)
		case 3:
			if len(chunk) >= 8 {
				fx.mk.markOwn(binary.BigEndian.Uint64(chunk))
			}
		}
		if err := checkBooks(fx.mk); err != nil {
			t.Fatal(err)
		}
		if err := checkFeed(fx, afterPacket); err != nil {
			t.Fatal(err)
		}
	}
}

// checkBooks checks every book's levels: sorted worst to best, each with
// positive Qty and Orders, and exactly the sum of the resting orders that
// are not the engine's.
func checkBooks(mk *Market) error {
	type key struct {
		locate uint16
		side   byte
		price  int64
	}
	want := make(map[key]Level)
	for _, o := range mk.orders {
		if o.own {
			continue
		}
		k := key{o.locate, o.side, o.price}
		l := want[k]
		l.Price, l.Qty, l.Orders = o.price, l.Qty+o.qty, l.Orders+1
		want[k] = l
	}
	seen := 0
	for i := range mk.byLoc {
		in := &mk.byLoc[i]
		if in.info == nil {
			continue
		}
		for _, side := range []byte{'B', 'S'} {
			levels := *in.book.levels(side)
			for j, l := range levels {
				if l.Qty <= 0 || l.Orders <= 0 {
					return fmt.Errorf("locate %d side %c level %d: %+v: Qty and Orders must be positive", i, side, j, l)
				}
				if j > 0 {
					prev := levels[j-1].Price
					if side == 'B' && prev >= l.Price || side == 'S' && prev <= l.Price {
						return fmt.Errorf("locate %d side %c: levels out of order: %+v", i, side, levels)
					}
				}
				if w := want[key{uint16(i), side, l.Price}]; w != l {
					return fmt.Errorf("locate %d side %c: level %+v, the orders sum to %+v", i, side, l, w)
				}
				seen++
			}
		}
	}
	if seen != len(want) {
		return fmt.Errorf("%d levels in the books, the orders make %d", seen, len(want))
	}
	return nil
}

// checkFeed checks the feed's state; afterPacket says a packet was just
// handled, which reports and forgets every touched book.
func checkFeed(fx *feedFixture, afterPacket bool) error {
	f := fx.f
	if !f.recovering && len(f.buffered) > 0 {
		return fmt.Errorf("%d packets buffered while not recovering", len(f.buffered))
	}
	if afterPacket && len(fx.mk.touched) != 0 {
		return fmt.Errorf("touched not reset: %v", fx.mk.touched)
	}
	for i := range fx.mk.byLoc {
		in := &fx.mk.byLoc[i]
		if in.info != nil && in.book.Stale != f.recovering {
			return fmt.Errorf("locate %d: Stale = %v while recovering = %v", i, in.book.Stale, f.recovering)
		}
	}
	st := f.Stats()
	if st.Recoveries != uint64(fx.requests) {
		return fmt.Errorf("%d recoveries, %d snapshot requests", st.Recoveries, fx.requests)
	}
	return nil
}

// The feed never lets a level hold no shares: an Add Order (or an Order
// Replace) of 0 shares is malformed and skipped. Were it applied, removing
// it once it shared a price with others would take their level away.
func TestFeedZeroShareAdd(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 0, p99_99)))
	if err := checkBooks(fx.mk); err != nil {
		t.Error(err)
	}
	if fx.mk.Malformed != 1 {
		t.Errorf("Malformed = %d, want 1", fx.mk.Malformed)
	}
	fx.on(packet(2,
		addMsg(1, 2, 'B', 100, p99_99), // joins the zero level: {Qty:100, Orders:2}
		execMsg(1, 2, 100, 1),          // Qty 0, Orders 1: the level is dropped
		addMsg(1, 3, 'B', 50, p99_99),  // a fresh level {Qty:50, Orders:1}
		deleteMsg(1, 1),                // Orders 0: order 3's level is dropped
	))
	requireLevels(t, fx.book(t, 1), []Level{lv(p99_99, 50, 1)}, nil)
}
