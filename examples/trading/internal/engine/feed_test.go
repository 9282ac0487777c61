package engine

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/examples/trading/internal/itch"
	"github.com/orrery-go/orrery/examples/trading/internal/moldudp64"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

func TestNewFeedNeedsMarket(t *testing.T) {
	_, err := NewFeed(worldctx.New(world.New()), func() {}, func(*instrument, int64) {})
	require.Error(t, err, "a World without a Market resource")
}

func TestFeedBuildsLevels(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1,
		systemMsg(itch.EventStartOfMessages),
		addMsg(1, 1, 'B', 100, p99_99),
		addMsg(1, 2, 'B', 200, p99_99),
		addMsg(1, 3, 'B', 50, p99_98),
		addMsg(1, 4, 'B', 70, p100_00),
		addMsg(1, 5, 'S', 10, p100_02),
		addMsg(1, 6, 'S', 20, p100_01),
		addMsg(1, 7, 'S', 30, p100_03),
		addMsg(1, 8, 'S', 40, p100_01),
		addMsg(2, 9, 'B', 5, p100_00),
	))
	b := fx.book(t, 1)
	requireLevels(t, b,
		[]Level{lv(p99_98, 50, 1), lv(p99_99, 300, 2), lv(p100_00, 70, 1)},
		[]Level{lv(p100_03, 30, 1), lv(p100_02, 10, 1), lv(p100_01, 60, 2)})
	bid, ok := b.BestBid()
	require.True(t, ok)
	assert.Equal(t, lv(p100_00, 70, 1), bid)
	ask, ok := b.BestAsk()
	require.True(t, ok)
	assert.Equal(t, lv(p100_01, 60, 2), ask)
	mid, ok := b.Mid()
	require.True(t, ok)
	assert.Equal(t, int64((p100_00+p100_01)/2), mid)
	assert.False(t, b.Stale)
	assert.Equal(t, uint64(8), b.Updates)

	in := fx.mk.instrument(1)
	assert.Equal(t, "AAPL", in.info.Symbol)
	assert.Equal(t, uint16(1), in.info.Locate)
	assert.Equal(t, "MSFT", fx.mk.instrument(2).info.Symbol)
	assert.Equal(t, 2, fx.mk.Instruments())
	requireLevels(t, fx.book(t, 2), []Level{lv(p100_00, 5, 1)}, nil)
	_, ok = fx.book(t, 2).Mid()
	assert.False(t, ok, "one-sided book has no mid")

	st := fx.f.Stats()
	assert.Equal(t, uint64(1), st.Packets)
	assert.Equal(t, uint64(0), st.Gaps)
	assert.Equal(t, uint64(0), st.Recoveries)
	assert.Equal(t, 0, fx.requests, "seq 1 syncs without a snapshot")
	assert.False(t, fx.f.Recovering())
	assert.Equal(t, uint64(10), fx.mk.Messages)
	assert.Equal(t, uint64(9), fx.mk.Adds)
	assert.Equal(t, uint64(0), fx.mk.Malformed)
	assert.ElementsMatch(t, []uint16{1, 2}, fx.changed)
	assert.Equal(t, []int64{1, 1}, fx.t0s)
}

func TestFeedUpdatesLevels(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1,
		addMsg(1, 1, 'B', 100, p99_99),
		addMsg(1, 2, 'B', 200, p99_99),
		addMsg(1, 3, 'S', 300, p100_01),
		addMsg(1, 4, 'S', 50, p100_02),
	))
	b := fx.book(t, 1)

	// Partial execution: the level shrinks, the order stays.
	fx.on(packet(5, execMsg(1, 1, 30, 1)))
	requireLevels(t, b, []Level{lv(p99_99, 270, 2)}, []Level{lv(p100_02, 50, 1), lv(p100_01, 300, 1)})
	assert.Equal(t, int64(p99_99), b.LastTrade)
	assert.Equal(t, int64(30), b.Volume)

	// Full execution of the rest: the order leaves the level.
	fx.on(packet(6, execMsg(1, 1, 70, 2)))
	requireLevels(t, b, []Level{lv(p99_99, 200, 1)}, []Level{lv(p100_02, 50, 1), lv(p100_01, 300, 1)})
	assert.Equal(t, int64(100), b.Volume)

	// Executing more than is left counts only what was left.
	fx.on(packet(7, execMsg(1, 4, 80, 3)))
	requireLevels(t, b, []Level{lv(p99_99, 200, 1)}, []Level{lv(p100_01, 300, 1)})
	assert.Equal(t, int64(150), b.Volume)
	assert.Equal(t, int64(p100_02), b.LastTrade)

	// Partial cancel, then a cancel of everything left.
	fx.on(packet(8, cancelMsg(1, 3, 100)))
	requireLevels(t, b, []Level{lv(p99_99, 200, 1)}, []Level{lv(p100_01, 200, 1)})
	fx.on(packet(9, cancelMsg(1, 3, 200)))
	requireLevels(t, b, []Level{lv(p99_99, 200, 1)}, nil)

	// Replace moves the order to a new price, size and reference.
	fx.on(packet(10, replaceMsg(1, 2, 20, 150, p100_00)))
	requireLevels(t, b, []Level{lv(p100_00, 150, 1)}, nil)
	fx.on(packet(11, execMsg(1, 2, 1, 4)))
	assert.Equal(t, uint64(1), fx.mk.Unknown, "the old reference is gone")
	fx.on(packet(12, execMsg(1, 20, 50, 5)))
	requireLevels(t, b, []Level{lv(p100_00, 100, 1)}, nil)

	// Delete.
	fx.on(packet(13, deleteMsg(1, 20)))
	requireLevels(t, b, nil, nil)

	// A trade updates the last price and volume but no level.
	fx.on(packet(14, tradeMsg(1, 25, p100_03)))
	assert.Equal(t, int64(p100_03), b.LastTrade)
	assert.Equal(t, int64(225), b.Volume)

	// Messages about unknown orders are counted.
	fx.on(packet(15, execMsg(1, 999, 1, 6), cancelMsg(1, 999, 1), deleteMsg(1, 999), replaceMsg(1, 999, 1000, 1, 1)))
	assert.Equal(t, uint64(5), fx.mk.Unknown)

	assert.Equal(t, uint64(4+1), fx.mk.Adds, "a replacement counts as an add")
	assert.Equal(t, uint64(4), fx.mk.Executions)
	assert.Equal(t, uint64(2), fx.mk.Cancels)
	assert.Equal(t, uint64(1), fx.mk.Deletes)
	assert.Equal(t, uint64(1), fx.mk.Replaces)
	assert.Equal(t, uint64(1), fx.mk.Trades)
	assert.Equal(t, uint64(0), fx.f.Stats().Gaps)
	assert.Empty(t, fx.mk.orders)
}

func TestFeedDuplicateAddIsUnknown(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 1, 'S', 5, p100_01)))
	requireLevels(t, fx.book(t, 1), []Level{lv(p99_99, 100, 1)}, nil)
	assert.Equal(t, uint64(1), fx.mk.Unknown)
}

func TestFeedReplaceOntoExistingRef(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 2, 'B', 10, p99_98), replaceMsg(1, 1, 2, 50, p100_00)))
	// The original is gone; the replacement clashes with order 2 and is
	// counted, not applied.
	requireLevels(t, fx.book(t, 1), []Level{lv(p99_98, 10, 1)}, nil)
	assert.Equal(t, uint64(1), fx.mk.Unknown)
}

func TestFeedFirstPacketWithoutSeq1Recovers(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(5, addMsg(1, 1, 'B', 100, p99_99)))
	assert.True(t, fx.f.Recovering())
	assert.Equal(t, 1, fx.requests)
	st := fx.f.Stats()
	assert.Equal(t, uint64(0), st.Gaps, "joining late is not a gap")
	assert.Equal(t, uint64(1), st.Recoveries)
	assert.Equal(t, uint64(1), st.Buffered)
	assert.Nil(t, fx.mk.instrument(1), "nothing applied before the snapshot")

	require.NoError(t, fx.f.ApplySnapshot(snapshot(5, addMsg(1, 7, 'S', 10, p100_01))))
	assert.False(t, fx.f.Recovering())
	requireLevels(t, fx.book(t, 1), []Level{lv(p99_99, 100, 1)}, []Level{lv(p100_01, 10, 1)})
	assert.Equal(t, uint64(6), fx.f.nextSeq)
}

func TestFeedFirstHeartbeat(t *testing.T) {
	t.Run("seq 1", func(t *testing.T) {
		fx := newFeedFixture(t)
		fx.on(heartbeat(1))
		assert.False(t, fx.f.Recovering())
		assert.Equal(t, uint64(1), fx.f.Stats().Heartbeats)
		assert.Equal(t, uint64(0), fx.f.Stats().Duplicates)
		fx.on(packet(1, addMsg(1, 1, 'B', 1, p99_99)))
		assert.Equal(t, 0, fx.requests)
		requireLevels(t, fx.book(t, 1), []Level{lv(p99_99, 1, 1)}, nil)
	})
	t.Run("later seq", func(t *testing.T) {
		fx := newFeedFixture(t)
		fx.on(heartbeat(40))
		assert.True(t, fx.f.Recovering())
		assert.Equal(t, 1, fx.requests)
		assert.Equal(t, uint64(0), fx.f.Stats().Gaps)
	})
}

func TestFeedGapStartsRecovery(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 2, 'S', 100, p100_01)))
	fx.resetChanged()

	fx.on(packet(6, addMsg(1, 3, 'B', 10, p100_00))) // 3, 4 and 5 are missing
	st := fx.f.Stats()
	assert.Equal(t, uint64(1), st.Gaps)
	assert.Equal(t, uint64(3), st.GapMessages)
	assert.Equal(t, uint64(1), st.Recoveries)
	assert.Equal(t, uint64(1), st.Buffered)
	assert.True(t, fx.f.Recovering())
	assert.Equal(t, 1, fx.requests)
	b := fx.book(t, 1)
	assert.True(t, b.Stale)
	_, ok := b.Mid()
	assert.False(t, ok, "a stale book has no mid")
	assert.Equal(t, []uint16{1}, fx.changed, "a stale book is reported")
	requireLevels(t, b, []Level{lv(p99_99, 100, 1)}, []Level{lv(p100_01, 100, 1)})

	// More packets while recovering are buffered; no second request.
	fx.resetChanged()
	fx.on(packet(7, addMsg(1, 4, 'B', 10, p100_00)), heartbeat(8), packet(20, addMsg(1, 5, 'B', 1, p99_98)))
	st = fx.f.Stats()
	assert.Equal(t, uint64(1), st.Gaps)
	assert.Equal(t, uint64(1), st.Recoveries)
	assert.Equal(t, uint64(4), st.Buffered)
	assert.Equal(t, 1, fx.requests)
	assert.Len(t, fx.f.buffered, 4)
	assert.Empty(t, fx.changed, "nothing changes while recovering")
	assert.Equal(t, uint64(2), fx.mk.Adds)
}

func TestFeedHeartbeatGap(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99)))
	fx.on(heartbeat(2)) // in sequence: nothing missing
	assert.False(t, fx.f.Recovering())
	fx.on(heartbeat(1)) // an old heartbeat: not a duplicate of messages
	assert.Equal(t, uint64(0), fx.f.Stats().Duplicates)
	fx.on(heartbeat(4)) // messages 2 and 3 were sent and lost
	st := fx.f.Stats()
	assert.True(t, fx.f.Recovering())
	assert.Equal(t, uint64(1), st.Gaps)
	assert.Equal(t, uint64(2), st.GapMessages)
	assert.Equal(t, uint64(3), st.Heartbeats)
	assert.Equal(t, 1, fx.requests)
	assert.True(t, fx.book(t, 1).Stale)
}

func TestFeedSnapshotReplaysBuffered(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 2, 'S', 100, p100_01)))
	// Lost: 3 = add 3, 4 = exec 1 (30).
	fx.on(packet(5, addMsg(1, 4, 'S', 40, p100_02), addMsg(1, 5, 'B', 7, p99_98))) // 5, 6
	fx.on(packet(7, execMsg(1, 3, 5, 1)))                                          // 7
	fx.on(packet(8, deleteMsg(1, 2)))                                              // 8
	require.True(t, fx.f.Recovering())
	fx.resetChanged()

	// The snapshot was taken after message 5: it holds add 4 but not add 5.
	snap := snapshot(6,
		addMsg(1, 1, 'B', 70, p99_99), // after the lost execution
		addMsg(1, 2, 'S', 100, p100_01),
		addMsg(1, 3, 'B', 20, p100_00),
		addMsg(1, 4, 'S', 40, p100_02),
	)
	require.NoError(t, fx.f.ApplySnapshot(snap))
	assert.False(t, fx.f.Recovering())
	b := fx.book(t, 1)
	assert.False(t, b.Stale)
	requireLevels(t, b,
		[]Level{lv(p99_98, 7, 1), lv(p99_99, 70, 1), lv(p100_00, 15, 1)},
		[]Level{lv(p100_02, 40, 1)})
	st := fx.f.Stats()
	assert.Equal(t, uint64(1), st.Snapshots)
	assert.Equal(t, uint64(0), fx.mk.Unknown, "add 4 was not applied twice")
	assert.Equal(t, uint64(9), fx.f.nextSeq)
	assert.Empty(t, fx.f.buffered)
	assert.Equal(t, []uint16{1}, fx.changed, "the book is reported once, after the replay")
	assert.Equal(t, []int64{0}, fx.t0s)

	// The live feed goes on.
	fx.on(packet(9, execMsg(1, 5, 7, 2)))
	requireLevels(t, b, []Level{lv(p99_99, 70, 1), lv(p100_00, 15, 1)}, []Level{lv(p100_02, 40, 1)})
	assert.Equal(t, 1, fx.requests)
}

func TestFeedSecondGapInBuffered(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99)))
	fx.on(packet(3, addMsg(1, 3, 'B', 1, p99_98)))  // 2 lost
	fx.on(packet(4, addMsg(1, 4, 'S', 1, p100_02))) // 4
	fx.on(packet(6, addMsg(1, 6, 'S', 1, p100_03))) // 5 lost again
	fx.on(packet(7, addMsg(1, 7, 'S', 1, p100_01))) // 7
	require.Equal(t, 1, fx.requests)

	require.NoError(t, fx.f.ApplySnapshot(snapshot(3, addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 2, 'B', 9, p100_00))))
	st := fx.f.Stats()
	assert.True(t, fx.f.Recovering(), "the gap at 5 starts another recovery")
	assert.Equal(t, 2, fx.requests)
	assert.Equal(t, uint64(2), st.Gaps)
	assert.Equal(t, uint64(2), st.GapMessages) // 2, then 5
	assert.Equal(t, uint64(2), st.Recoveries)
	assert.Equal(t, uint64(5), fx.f.nextSeq)
	require.Len(t, fx.f.buffered, 2, "the packets from the new gap on are kept")
	assert.True(t, bytes.Equal(packet(6, addMsg(1, 6, 'S', 1, p100_03)), fx.f.buffered[0]))
	assert.True(t, bytes.Equal(packet(7, addMsg(1, 7, 'S', 1, p100_01)), fx.f.buffered[1]))
	b := fx.book(t, 1)
	assert.True(t, b.Stale)
	requireLevels(t, b, []Level{lv(p99_98, 1, 1), lv(p99_99, 100, 1), lv(p100_00, 9, 1)}, []Level{lv(p100_02, 1, 1)})

	require.NoError(t, fx.f.ApplySnapshot(snapshot(6,
		addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 2, 'B', 9, p100_00), addMsg(1, 3, 'B', 1, p99_98),
		addMsg(1, 4, 'S', 1, p100_02), addMsg(1, 5, 'S', 3, p100_02))))
	assert.False(t, fx.f.Recovering())
	assert.False(t, b.Stale)
	assert.Equal(t, uint64(8), fx.f.nextSeq)
	requireLevels(t, b,
		[]Level{lv(p99_98, 1, 1), lv(p99_99, 100, 1), lv(p100_00, 9, 1)},
		[]Level{lv(p100_03, 1, 1), lv(p100_02, 4, 2), lv(p100_01, 1, 1)})
	assert.Equal(t, uint64(2), fx.f.Stats().Snapshots)
}

func TestFeedSnapshotOlderThanBuffer(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99)))
	fx.on(packet(10, addMsg(1, 10, 'B', 1, p99_98)))
	// A snapshot that continues at 5, before the buffered packet at 10:
	// still a gap, so another recovery.
	require.NoError(t, fx.f.ApplySnapshot(snapshot(5, addMsg(1, 1, 'B', 100, p99_99))))
	assert.True(t, fx.f.Recovering())
	assert.Equal(t, 2, fx.requests)
	st := fx.f.Stats()
	assert.Equal(t, uint64(2), st.Gaps)
	assert.Equal(t, uint64(8+5), st.GapMessages) // 2..9, then 5..9
	assert.Len(t, fx.f.buffered, 1)
	assert.True(t, fx.book(t, 1).Stale)
}

func TestFeedDuplicatesAndOverlaps(t *testing.T) {
	fx := newFeedFixture(t)
	p1 := packet(1, addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 2, 'B', 50, p99_99))
	fx.on(p1, p1)
	st := fx.f.Stats()
	assert.Equal(t, uint64(1), st.Duplicates)
	b := fx.book(t, 1)
	requireLevels(t, b, []Level{lv(p99_99, 150, 2)}, nil)

	// An overlapping packet: message 2 again, then 3 and 4.
	fx.on(packet(2, addMsg(1, 2, 'B', 50, p99_99), execMsg(1, 1, 10, 1), addMsg(1, 3, 'S', 5, p100_01)))
	requireLevels(t, b, []Level{lv(p99_99, 140, 2)}, []Level{lv(p100_01, 5, 1)})
	assert.Equal(t, uint64(0), fx.mk.Unknown, "message 2 was skipped, not re-applied")
	assert.Equal(t, uint64(5), fx.f.nextSeq)

	// A packet entirely in the past: a duplicate.
	fx.on(packet(3, execMsg(1, 1, 10, 1)))
	requireLevels(t, b, []Level{lv(p99_99, 140, 2)}, []Level{lv(p100_01, 5, 1)})
	st = fx.f.Stats()
	assert.Equal(t, uint64(2), st.Duplicates)
	assert.Equal(t, uint64(0), st.Gaps)
	assert.Equal(t, 0, fx.requests)
	assert.Equal(t, uint64(1), fx.mk.Executions)
}

func TestFeedDuplicatesWhileRecovering(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99)))
	p3 := packet(3, execMsg(1, 1, 10, 1), execMsg(1, 1, 10, 2))
	fx.on(p3, p3, packet(4, execMsg(1, 1, 10, 2), execMsg(1, 1, 10, 3)))
	require.NoError(t, fx.f.ApplySnapshot(snapshot(3, addMsg(1, 1, 'B', 100, p99_99))))
	requireLevels(t, fx.book(t, 1), []Level{lv(p99_99, 70, 1)}, nil)
	assert.Equal(t, uint64(1), fx.f.Stats().Duplicates)
	assert.Equal(t, uint64(3), fx.mk.Executions)
}

func TestFeedMalformed(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99)))

	// Packets that do not parse.
	good := packet(2, addMsg(1, 2, 'B', 1, p99_98))
	fx.on(nil, []byte("short"), good[:len(good)-1], append(append([]byte(nil), good...), 0))
	assert.Equal(t, uint64(3+1), fx.f.Stats().Malformed)
	assert.Equal(t, uint64(4+1), fx.f.Stats().Packets)

	// Messages that do not decode: each takes its sequence number.
	add := addMsg(1, 3, 'X', 1, p99_98) // bad side
	fx.on(packet(2,
		add,
		[]byte{itch.TypeOrderExecuted, 1, 2},
		[]byte{itch.TypeOrderCancel},
		[]byte{itch.TypeOrderDelete, 0},
		[]byte{itch.TypeOrderReplace, 0},
		[]byte{itch.TypeTrade, 0},
		[]byte{itch.TypeSystemEvent, 0},
		itch.SystemEvent{Event: 'z'}.AppendTo(nil),
		[]byte{'R', 1, 2, 3}, // a type the engine does not use
		itch.EndOfSnapshot{Seq: 3}.AppendTo(nil),
	))
	assert.Equal(t, uint64(8), fx.mk.Malformed)
	assert.Equal(t, uint64(12), fx.f.nextSeq)
	assert.False(t, fx.f.Recovering())
	requireLevels(t, fx.book(t, 1), []Level{lv(p99_99, 100, 1)}, nil)

	// A message for locate 0 names no instrument.
	fx.on(packet(12, addMsg(0, 4, 'B', 1, p99_99)))
	assert.Equal(t, uint64(9), fx.mk.Malformed)
	assert.Equal(t, 1, fx.mk.Instruments())
}

func TestFeedEmptyMessageIsMalformed(t *testing.T) {
	// The Builder refuses empty messages; build the block by hand.
	pkt := append(heartbeat(1)[:18:18], 0, 1, 0, 0)
	fx := newFeedFixture(t)
	fx.on(pkt)
	assert.Equal(t, uint64(0), fx.f.Stats().Malformed)
	assert.Equal(t, uint64(1), fx.mk.Malformed)
	assert.Equal(t, uint64(2), fx.f.nextSeq)
}

func TestFeedOtherSession(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99)))
	fx.on(packetOf(mustSession("OTHER"), 2, addMsg(1, 2, 'B', 100, p99_99)))
	assert.Equal(t, uint64(1), fx.f.Stats().OtherSession)
	assert.Equal(t, uint64(2), fx.f.nextSeq)
	requireLevels(t, fx.book(t, 1), []Level{lv(p99_99, 100, 1)}, nil)
	fx.on(moldudp64.AppendEndOfSession(nil, mustSession("OTHER"), 9))
	assert.False(t, fx.f.Ended(), "another session's end is not ours")
}

func TestFeedEndOfSession(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99)))
	assert.False(t, fx.f.Ended())
	fx.on(endOfSession(2))
	assert.True(t, fx.f.Ended())
	assert.False(t, fx.f.Recovering())

	// Also while recovering.
	fx = newFeedFixture(t)
	fx.on(packet(4, addMsg(1, 1, 'B', 100, p99_99)))
	fx.on(endOfSession(5))
	assert.True(t, fx.f.Ended())
	assert.Len(t, fx.f.buffered, 1, "the end is not buffered")
}

func TestFeedBookChangedOnlyOnTopChange(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 2, 'S', 100, p100_01), addMsg(2, 3, 'B', 10, p99_99)))
	assert.ElementsMatch(t, []uint16{1, 2}, fx.changed)

	cases := []struct {
		name string
		msgs [][]byte
		want []uint16
	}{
		{"behind the top", [][]byte{addMsg(1, 10, 'B', 5, p99_98), addMsg(1, 11, 'S', 5, p100_02)}, nil},
		{"top quantity", [][]byte{addMsg(1, 12, 'B', 5, p99_99)}, []uint16{1}},
		{"top price", [][]byte{addMsg(2, 13, 'S', 5, p100_01)}, []uint16{2}},
		{"added and gone", [][]byte{addMsg(1, 14, 'B', 5, p100_00), deleteMsg(1, 14)}, nil},
		{"trade", [][]byte{tradeMsg(1, 5, p100_00)}, nil},
		{"both", [][]byte{cancelMsg(1, 1, 1), execMsg(2, 3, 1, 1)}, []uint16{1, 2}},
		{"unknown", [][]byte{deleteMsg(1, 999)}, nil},
	}
	seq := uint64(4)
	for _, c := range cases {
		fx.resetChanged()
		fx.on(packet(seq, c.msgs...))
		seq += uint64(len(c.msgs))
		assert.ElementsMatch(t, c.want, fx.changed, c.name)
	}
}

func TestFeedStaleBooksReportedAndRefreshed(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99), addMsg(2, 2, 'B', 100, p99_99)))
	fx.resetChanged()
	fx.on(packet(9, addMsg(1, 9, 'B', 1, p99_98)))
	assert.ElementsMatch(t, []uint16{1, 2}, fx.changed, "both books went stale")
	fx.resetChanged()
	// Book 2's top changes in the snapshot; book 1's top is as it was and
	// the replayed packet adds behind it. Only book 2 is reported: a book
	// that turns fresh with the same top is left to the periodic review.
	require.NoError(t, fx.f.ApplySnapshot(snapshot(9, addMsg(1, 1, 'B', 100, p99_99), addMsg(2, 2, 'B', 50, p99_99))))
	assert.False(t, fx.f.Recovering())
	assert.False(t, fx.book(t, 1).Stale)
	assert.False(t, fx.book(t, 2).Stale)
	requireLevels(t, fx.book(t, 1), []Level{lv(p99_98, 1, 1), lv(p99_99, 100, 1)}, nil)
	assert.Equal(t, []uint16{2}, fx.changed)
}

func TestFeedOwnOrders(t *testing.T) {
	fx := newFeedFixture(t)
	fx.mk.markOwn(2) // before the feed shows it
	fx.on(packet(1,
		addMsg(1, 1, 'B', 100, p99_99),
		addMsg(1, 2, 'B', 50, p99_99),
		addMsg(1, 3, 'S', 70, p100_01),
	))
	b := fx.book(t, 1)
	requireLevels(t, b, []Level{lv(p99_99, 100, 1)}, []Level{lv(p100_01, 70, 1)})
	assert.Equal(t, uint64(3), fx.mk.Adds)

	// After the feed shows it: the order leaves the levels.
	fx.resetChanged()
	fx.mk.markOwn(3)
	requireLevels(t, b, []Level{lv(p99_99, 100, 1)}, nil)
	fx.mk.markOwn(3) // twice is harmless
	requireLevels(t, b, []Level{lv(p99_99, 100, 1)}, nil)
	fx.f.afterPacket(0)
	assert.Equal(t, []uint16{1}, fx.changed)

	// Executions, cancels and replaces of own orders leave the levels alone.
	fx.on(packet(4, execMsg(1, 2, 10, 1), cancelMsg(1, 3, 20), replaceMsg(1, 2, 20, 40, p100_00), execMsg(1, 3, 50, 2)))
	requireLevels(t, b, []Level{lv(p99_99, 100, 1)}, nil)
	assert.Equal(t, int64(60), b.Volume, "own executions still count as volume")
	_, own := fx.mk.ownRefs[20]
	assert.True(t, own, "the replacement of an own order is own")
	_, own = fx.mk.ownRefs[3]
	assert.False(t, own, "a done own order is forgotten")
	fx.on(packet(8, deleteMsg(1, 20)))
	requireLevels(t, b, []Level{lv(p99_99, 100, 1)}, nil)
	assert.Empty(t, fx.mk.ownRefs)
	assert.Len(t, fx.mk.orders, 1)

	// Own references survive a snapshot, which then keeps them out.
	fx.mk.markOwn(30)
	fx.on(packet(20, addMsg(1, 21, 'B', 1, p99_98)))
	require.NoError(t, fx.f.ApplySnapshot(snapshot(20, addMsg(1, 1, 'B', 100, p99_99), addMsg(1, 30, 'S', 5, p100_02))))
	requireLevels(t, b, []Level{lv(p99_98, 1, 1), lv(p99_99, 100, 1)}, nil)
}

func TestFeedSnapshotErrors(t *testing.T) {
	end := itch.EndOfSnapshot{Seq: 5}.AppendTo(nil)
	add := addMsg(1, 1, 'B', 1, p99_99)
	cases := []struct {
		name string
		snap []byte
	}{
		{"empty", nil},
		{"no end", AppendSnapshotBlock(nil, add)},
		{"truncated header", append(AppendSnapshotBlock(nil, end), 0)},
		{"truncated block", AppendSnapshotBlock(nil, end)[:10]},
		{"after end", AppendSnapshotBlock(AppendSnapshotBlock(nil, end), add)},
		{"empty block", AppendSnapshotBlock(AppendSnapshotBlock(nil, nil), end)},
		{"bad add", AppendSnapshotBlock(AppendSnapshotBlock(nil, addMsg(1, 1, 'Q', 1, 1)), end)},
		{"short add", AppendSnapshotBlock(AppendSnapshotBlock(nil, add[:20]), end)},
		{"bad end", AppendSnapshotBlock(nil, append([]byte{itch.TypeEndOfSnapshot}, bytes.Repeat([]byte{' '}, 20)...))},
		{"other type", AppendSnapshotBlock(AppendSnapshotBlock(nil, deleteMsg(1, 1)), end)},
	}
	fx := newFeedFixture(t)
	fx.on(packet(3, add)) // recovering
	for i, c := range cases {
		err := fx.f.ApplySnapshot(c.snap)
		require.Error(t, err, c.name)
		assert.Equal(t, uint64(i+1), fx.f.Stats().Malformed, c.name)
		assert.True(t, fx.f.Recovering(), c.name)
	}
	assert.Equal(t, uint64(0), fx.f.Stats().Snapshots)
}

func TestFeedUnsolicitedSnapshot(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 100, p99_99)))
	require.NoError(t, fx.f.ApplySnapshot(snapshot(1)))
	st := fx.f.Stats()
	assert.Equal(t, uint64(1), st.Unsolicited)
	assert.Equal(t, uint64(0), st.Snapshots)
	requireLevels(t, fx.book(t, 1), []Level{lv(p99_99, 100, 1)}, nil)
	assert.Equal(t, uint64(2), fx.f.nextSeq)
}

func TestFeedSnapshotLocateZeroIsMalformed(t *testing.T) {
	fx := newFeedFixture(t)
	fx.on(packet(2, addMsg(1, 1, 'B', 1, p99_99)))
	require.NoError(t, fx.f.ApplySnapshot(snapshot(2, addMsg(0, 5, 'B', 1, p99_99))))
	assert.Equal(t, uint64(1), fx.mk.Malformed)
}

func TestFeedTap(t *testing.T) {
	fx := newFeedFixture(t)
	var tapped [][]byte
	resets := 0
	fx.f.tap = func(msg []byte) { tapped = append(tapped, append([]byte(nil), msg...)) }
	fx.f.tapReset = func() { resets++ }
	a1, a2, a3 := addMsg(1, 1, 'B', 1, p99_99), addMsg(1, 2, 'B', 1, p99_99), addMsg(1, 3, 'B', 1, p99_99)
	fx.on(packet(1, a1), packet(1, a1), packet(3, a3))
	require.NoError(t, fx.f.ApplySnapshot(snapshot(3, a1, a2)))
	assert.Equal(t, 1, resets)
	assert.Equal(t, [][]byte{a1, a1, a2, a3}, tapped, "live a1, snapshot a1 a2, replayed a3")
}

func TestFeedBufferOverflow(t *testing.T) {
	if testing.Short() {
		t.Skip("buffers 65536 packets")
	}
	fx := newFeedFixture(t)
	fx.on(packet(1, addMsg(1, 1, 'B', 1, p99_99)))
	hb := heartbeat(3)
	for range maxBuffered + 2 {
		fx.f.OnPacket(hb, 0)
	}
	st := fx.f.Stats()
	assert.Equal(t, uint64(2), st.Overflow)
	assert.Equal(t, uint64(maxBuffered+2), st.Buffered)
	assert.Len(t, fx.f.buffered, maxBuffered)
}

func TestAppendSnapshotBlock(t *testing.T) {
	b := AppendSnapshotBlock([]byte{9}, []byte("abc"))
	assert.Equal(t, []byte{9, 0, 3, 'a', 'b', 'c'}, b)
	var got [][]byte
	forEachBlock(AppendSnapshotBlock(b[1:], []byte("de")), func(msg []byte) { got = append(got, msg) })
	assert.Equal(t, [][]byte{[]byte("abc"), []byte("de")}, got)
}
