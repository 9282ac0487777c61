package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/internal/hdr"
	"github.com/orrery-go/orrery/examples/trading/internal/itch"
	"github.com/orrery-go/orrery/examples/trading/internal/moldudp64"
	"github.com/orrery-go/orrery/examples/trading/internal/ouch"
	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

// Prices in price units (four implied decimals).
const (
	p99_98  = 999_800
	p99_99  = 999_900
	p100_00 = 1_000_000
	p100_01 = 1_000_100
	p100_02 = 1_000_200
	p100_03 = 1_000_300
)

var testSession = mustSession("TEST")

func mustSession(s string) moldudp64.Session {
	sess, err := moldudp64.NewSession(s)
	if err != nil {
		panic(err)
	}
	return sess
}

// symbolOf names the test instrument with locate code loc.
func symbolOf(loc uint16) string {
	switch loc {
	case 1:
		return "AAPL"
	case 2:
		return "MSFT"
	}
	return fmt.Sprintf("S%d", loc)
}

func stockOf(loc uint16) itch.Stock {
	st, err := itch.NewStock(symbolOf(loc))
	if err != nil {
		panic(err)
	}
	return st
}

// ITCH message builders.

func addMsg(loc uint16, ref uint64, side byte, qty uint32, price uint32) []byte {
	return itch.AddOrder{Header: itch.Header{Locate: loc, Timestamp: 1}, Ref: ref, Side: side, Shares: qty, Stock: stockOf(loc), Price: price}.AppendTo(nil)
}

func execMsg(loc uint16, ref uint64, qty uint32, match uint64) []byte {
	return itch.OrderExecuted{Header: itch.Header{Locate: loc, Timestamp: 2}, Ref: ref, Shares: qty, Match: match}.AppendTo(nil)
}

func cancelMsg(loc uint16, ref uint64, qty uint32) []byte {
	return itch.OrderCancel{Header: itch.Header{Locate: loc, Timestamp: 3}, Ref: ref, Shares: qty}.AppendTo(nil)
}

func deleteMsg(loc uint16, ref uint64) []byte {
	return itch.OrderDelete{Header: itch.Header{Locate: loc, Timestamp: 4}, Ref: ref}.AppendTo(nil)
}

func replaceMsg(loc uint16, orig, ref uint64, qty, price uint32) []byte {
	return itch.OrderReplace{Header: itch.Header{Locate: loc, Timestamp: 5}, OrigRef: orig, NewRef: ref, Shares: qty, Price: price}.AppendTo(nil)
}

func tradeMsg(loc uint16, qty, price uint32) []byte {
	return itch.Trade{Header: itch.Header{Locate: loc, Timestamp: 6}, Ref: 0, Side: 'B', Shares: qty, Stock: stockOf(loc), Price: price, Match: 77}.AppendTo(nil)
}

func systemMsg(ev byte) []byte {
	return itch.SystemEvent{Header: itch.Header{Timestamp: 7}, Event: ev}.AppendTo(nil)
}

// MoldUDP64 packet builders.

func packetOf(sess moldudp64.Session, seq uint64, msgs ...[]byte) []byte {
	b, err := moldudp64.NewBuilder(sess, 1<<16)
	if err != nil {
		panic(err)
	}
	b.Reset(seq)
	for _, m := range msgs {
		if err := b.Add(m); err != nil {
			panic(err)
		}
	}
	return append([]byte(nil), b.Bytes()...)
}

func packet(seq uint64, msgs ...[]byte) []byte { return packetOf(testSession, seq, msgs...) }

func heartbeat(next uint64) []byte { return moldudp64.AppendHeartbeat(nil, testSession, next) }

func endOfSession(next uint64) []byte { return moldudp64.AppendEndOfSession(nil, testSession, next) }

// snapshot builds a snapshot of adds whose live feed continues at seq.
func snapshot(seq uint64, adds ...[]byte) []byte {
	var b []byte
	for _, a := range adds {
		b = AppendSnapshotBlock(b, a)
	}
	return AppendSnapshotBlock(b, itch.EndOfSnapshot{Seq: seq}.AppendTo(nil))
}

// feedFixture is a Feed on a fresh World, recording its callbacks.
type feedFixture struct {
	w        *world.World
	mk       *Market
	f        *Feed
	requests int      // snapshot requests
	changed  []uint16 // bookChanged calls, by locate
	t0s      []int64  // and their t0
}

func newFeedFixture(t testing.TB) *feedFixture {
	t.Helper()
	fx := &feedFixture{w: world.New()}
	fx.mk = NewMarket(fx.w)
	require.NoError(t, world.AddResource(fx.w, fx.mk))
	f, err := NewFeed(worldctx.New(fx.w), func() { fx.requests++ }, func(in *instrument, t0 int64) {
		fx.changed = append(fx.changed, in.info.Locate)
		fx.t0s = append(fx.t0s, t0)
	})
	require.NoError(t, err)
	fx.f = f
	return fx
}

// on feeds packets read at t0 = 1.
func (fx *feedFixture) on(pkts ...[]byte) {
	for _, p := range pkts {
		fx.f.OnPacket(p, 1)
	}
}

func (fx *feedFixture) book(t testing.TB, loc uint16) *Book {
	t.Helper()
	in := fx.mk.instrument(loc)
	require.NotNil(t, in, "no instrument %d", loc)
	return in.book
}

func (fx *feedFixture) resetChanged() { fx.changed, fx.t0s = nil, nil }

// lv is shorthand for a Level.
func lv(price, qty int64, orders int32) Level { return Level{Price: price, Qty: qty, Orders: orders} }

func requireLevels(t testing.TB, b *Book, bids, asks []Level) {
	t.Helper()
	if len(bids) == 0 {
		require.Empty(t, b.Bids, "bids")
	} else {
		require.Equal(t, bids, b.Bids, "bids (worst first)")
	}
	if len(asks) == 0 {
		require.Empty(t, b.Asks, "asks")
	} else {
		require.Equal(t, asks, b.Asks, "asks (worst first)")
	}
}

// runtime helpers.

var simStart = time.Date(2025, 1, 2, 9, 30, 0, 0, time.UTC)

func newRuntime(t testing.TB) *asyncrt.Runtime {
	t.Helper()
	rt, err := asyncrt.NewBuilder().Clock(asyncrt.NewSimClock(simStart)).Build()
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	return rt
}

// on runs fn as a task of rt.
func on(t testing.TB, rt *asyncrt.Runtime, fn func(task *asyncrt.Task)) {
	t.Helper()
	require.NoError(t, asyncrt.Run(rt, func(task *asyncrt.Task) error { fn(task); return nil }))
}

// fakeTransport captures what the gateway writes, and when.
type fakeTransport struct {
	buf   []byte
	calls int
	err   error
	// writes holds each successful send's bytes, at the time of the task
	// that sent them.
	writes []write
}

type write struct {
	at   time.Time
	data []byte
}

func (f *fakeTransport) send(t *asyncrt.Task, b []byte) error {
	f.calls++
	if f.err != nil {
		return f.err
	}
	f.buf = append(f.buf, b...)
	f.writes = append(f.writes, write{at: t.Now(), data: append([]byte(nil), b...)})
	return nil
}

// request is one decoded OUCH request.
type request struct {
	typ     byte
	enter   ouch.EnterOrder
	replace ouch.ReplaceOrder
	cancel  ouch.CancelOrder
}

// decodeRequests splits SoupBinTCP packets into OUCH requests; packets of
// other types are returned with their type only.
func decodeRequests(t testing.TB, b []byte) []request {
	t.Helper()
	var out []request
	for len(b) > 0 {
		typ, payload, n, err := soupbin.Next(b, 0)
		require.NoError(t, err)
		require.NotZero(t, n, "partial packet")
		b = b[n:]
		if typ != soupbin.TypeUnsequencedData {
			out = append(out, request{typ: typ})
			continue
		}
		mt, err := ouch.Type(payload)
		require.NoError(t, err)
		r := request{typ: mt}
		switch mt {
		case ouch.TypeEnterOrder:
			require.NoError(t, r.enter.Decode(payload))
		case ouch.TypeReplaceOrder:
			require.NoError(t, r.replace.Decode(payload))
		case ouch.TypeCancelOrder:
			require.NoError(t, r.cancel.Decode(payload))
		default:
			t.Fatalf("unexpected OUCH request type %q", mt)
		}
		out = append(out, r)
	}
	return out
}

// gwFixture is a connected Gateway on a Market with two-sided books.
type gwFixture struct {
	w       *world.World
	mk      *Market
	g       *Gateway
	tr      *fakeTransport
	in      *instrument // locate 1, book 99.99 x 100.01 (mid 100.00)
	now     time.Time
	clock   int64
	changed []uint16
	refs    []uint64 // ownRef calls
}

func newGwFixture(t testing.TB, limits RiskLimits) *gwFixture {
	t.Helper()
	fx := &gwFixture{w: world.New(), tr: &fakeTransport{}, now: simStart, clock: 1000}
	fx.mk = NewMarket(fx.w)
	require.NoError(t, world.AddResource(fx.w, fx.mk))
	h, err := hdr.New(1, int64(10*time.Second), 3)
	require.NoError(t, err)
	fx.g = newGateway(fx.mk, limits, h, func() int64 { return fx.clock })
	fx.g.changed = func(in *instrument) { fx.changed = append(fx.changed, in.info.Locate) }
	fx.g.ownRef = func(ref uint64) { fx.refs = append(fx.refs, ref) }
	fx.mk.addOrder(1, stockOf(1), 900_001, 'B', 500, p99_99)
	fx.mk.addOrder(1, stockOf(1), 900_002, 'S', 500, p100_01)
	fx.mk.touched = fx.mk.touched[:0]
	fx.in = fx.mk.instrument(1)
	fx.g.connected(fx.tr, 1, fx.now)
	return fx
}

// requests returns the requests queued since the last call, without a
// runtime: it decodes the gateway's output buffer and empties it.
func (fx *gwFixture) requests(t testing.TB) []request {
	t.Helper()
	rs := decodeRequests(t, fx.g.out)
	fx.g.out, fx.g.outT0 = fx.g.out[:0], fx.g.outT0[:0]
	return rs
}

// answer feeds one exchange message to the gateway.
func (fx *gwFixture) answer(msg []byte) { fx.g.onSequenced(msg) }

func (fx *gwFixture) enter(t testing.TB, side byte, price, qty int64) uint64 {
	t.Helper()
	tok, err := fx.g.Enter(fx.in, side, price, qty, 0, fx.now)
	require.NoError(t, err)
	require.NotZero(t, tok)
	return tok
}

// live enters an order and has the exchange accept it with reference ref.
func (fx *gwFixture) live(t testing.TB, side byte, price, qty int64, ref uint64) uint64 {
	t.Helper()
	tok := fx.enter(t, side, price, qty)
	fx.answer(accepted(tok, side, price, qty, ref, ouch.OrderStateLive))
	require.Equal(t, stLive, fx.g.orders[tok].state)
	return tok
}

func (fx *gwFixture) open(side byte) int64 {
	p := fx.g.open[1]
	if p == nil {
		return 0
	}
	return p[sideIndex(side)]
}

// checkOpen verifies the open quantities against the orders.
func (fx *gwFixture) checkOpen(t testing.TB) {
	t.Helper()
	want := map[uint16]*[2]int64{}
	for _, o := range fx.g.orders {
		p := want[o.locate]
		if p == nil {
			p = new([2]int64)
			want[o.locate] = p
		}
		p[sideIndex(o.side)] += o.qty
	}
	for loc, p := range fx.g.open {
		require.GreaterOrEqual(t, p[0], int64(0), "open buys of %d", loc)
		require.GreaterOrEqual(t, p[1], int64(0), "open sells of %d", loc)
		w := want[loc]
		if w == nil {
			w = new([2]int64)
		}
		require.Equal(t, *w, *p, "open quantity of %d (buy, sell) against the orders", loc)
	}
}

// OUCH answer builders.

func tokenOf(n uint64) ouch.Token { return ouch.TokenFromUint(n) }

func accepted(tok uint64, side byte, price, qty int64, ref uint64, state byte) []byte {
	return ouch.Accepted{
		Timestamp: 1, Token: tokenOf(tok), Side: side, Shares: uint32(qty), Stock: ouch.Stock(stockOf(1)),
		Price: uint32(price), TimeInForce: ouch.TIFMarketHours, Firm: firm, Display: 'Y', OrderRef: ref,
		Capacity: 'P', IntermarketSweep: 'N', CrossType: 'N', OrderState: state, BBOWeight: ' ',
	}.AppendTo(nil)
}

func replaced(tok, prev uint64, side byte, price, qty int64, ref uint64) []byte {
	return ouch.Replaced{
		Timestamp: 1, Token: tokenOf(tok), Side: side, Shares: uint32(qty), Stock: ouch.Stock(stockOf(1)),
		Price: uint32(price), TimeInForce: ouch.TIFMarketHours, Firm: firm, Display: 'Y', OrderRef: ref,
		Capacity: 'P', IntermarketSweep: 'N', CrossType: 'N', OrderState: ouch.OrderStateLive,
		Previous: tokenOf(prev), BBOWeight: ' ',
	}.AppendTo(nil)
}

func executed(tok uint64, qty, price int64, match uint64) []byte {
	return ouch.Executed{Timestamp: 1, Token: tokenOf(tok), Shares: uint32(qty), Price: uint32(price), Liquidity: ouch.LiquidityAdded, Match: match}.AppendTo(nil)
}

func canceled(tok uint64, dec int64) []byte {
	return ouch.Canceled{Timestamp: 1, Token: tokenOf(tok), Decrement: uint32(dec), Reason: ouch.CancelUser}.AppendTo(nil)
}

func rejected(tok uint64, reason byte) []byte {
	return ouch.Rejected{Timestamp: 1, Token: tokenOf(tok), Reason: reason}.AppendTo(nil)
}
