package exchange_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/trading/internal/exchange"
	"github.com/orrery-go/orrery/examples/trading/internal/itch"
	"github.com/orrery-go/orrery/examples/trading/internal/moldudp64"
	"github.com/orrery-go/orrery/examples/trading/internal/ouch"
	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
)

// running is an exchange serving on its own runtime, with a UDP socket in
// the test receiving its feed.
type running struct {
	x    *exchange.Exchange
	rt   *asyncrt.Runtime
	feed *net.UDPConn
	done chan error
}

func start(t *testing.T, mutate func(*exchange.Config)) *running {
	t.Helper()
	feed, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	cfg := exchange.Config{
		Instruments: 2, Seed: 1, Session: "TEST1",
		Feed:      feed.LocalAddr().(*net.UDPAddr).AddrPort(),
		OrderAddr: "127.0.0.1:0", SnapshotAddr: "127.0.0.1:0",
		Users:     map[string]string{"ALICE": "pw", "BOB": "pw2"},
		Heartbeat: 200 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	x, err := exchange.New(cfg)
	require.NoError(t, err)
	rt, err := asyncrt.New()
	require.NoError(t, err)
	require.NoError(t, asyncrt.Run(rt, x.Start))
	r := &running{x: x, rt: rt, feed: feed, done: make(chan error, 1)}
	go func() {
		r.done <- asyncrt.Run(rt, func(t *asyncrt.Task) error { return x.Serve(t, t.Runtime().ShutdownToken()) })
	}()
	t.Cleanup(func() { r.stop(t); feed.Close() })
	return r
}

// feedUntil reads the feed's packets and hands their messages, with their
// sequence numbers, to fn until fn returns true.
func (r *running) feedUntil(t *testing.T, fn func(seq uint64, msg []byte) bool) {
	t.Helper()
	buf := make([]byte, 65536)
	for {
		n, err := r.feed.Read(buf)
		require.NoError(t, err)
		var p moldudp64.Packet
		require.NoError(t, p.Parse(buf[:n]))
		seq := p.Seq
		for msg, ok := p.Next(); ok; msg, ok = p.Next() {
			if fn(seq, msg) {
				return
			}
			seq++
		}
	}
}

func (r *running) stop(t *testing.T) {
	if r.rt == nil {
		return
	}
	r.rt.ShutdownHandle().Trigger()
	require.NoError(t, <-r.done)
	r.rt.Close()
	r.rt = nil
}

// client is an order-entry or snapshot client speaking SoupBinTCP from the
// test goroutine.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *soupbin.Reader
}

func dial(t *testing.T, addr netip.AddrPort) *client {
	conn, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn, r: soupbin.NewReader(conn, 64<<10)}
}

func (c *client) login(user, password string, seq uint64) (byte, []byte) {
	pkt, err := soupbin.LoginRequest{Username: user, Password: password, Seq: seq}.AppendTo(nil)
	require.NoError(c.t, err)
	_, err = c.conn.Write(pkt)
	require.NoError(c.t, err)
	typ, payload, err := c.r.Next()
	require.NoError(c.t, err)
	return typ, append([]byte(nil), payload...)
}

func (c *client) send(msg []byte) {
	pkt, err := soupbin.AppendPacket(nil, soupbin.TypeUnsequencedData, msg)
	require.NoError(c.t, err)
	_, err = c.conn.Write(pkt)
	require.NoError(c.t, err)
}

// next returns the next sequenced message, skipping heartbeats.
func (c *client) next() []byte {
	for {
		typ, payload, err := c.r.Next()
		require.NoError(c.t, err)
		switch typ {
		case soupbin.TypeServerHeartbeat:
			continue
		case soupbin.TypeSequencedData:
			return append([]byte(nil), payload...)
		default:
			c.t.Fatalf("unexpected packet type %q", typ)
		}
	}
}

func stock(t *testing.T, s string) ouch.Stock {
	st, err := ouch.NewStock(s)
	require.NoError(t, err)
	return st
}

func enter(tok uint64, side byte, shares, price uint32, st ouch.Stock) []byte {
	return ouch.EnterOrder{
		Token: ouch.TokenFromUint(tok), Side: side, Shares: shares, Stock: st, Price: price,
		TimeInForce: ouch.TIFMarketHours, Firm: [4]byte{'T', 'E', 'S', 'T'}, Display: 'Y',
		Capacity: 'P', IntermarketSweep: 'N', CrossType: 'N', CustomerType: ' ',
	}.AppendTo(nil)
}

func TestConfigIsValidated(t *testing.T) {
	good := exchange.Config{
		Instruments: 1, Session: "S1", Feed: netip.MustParseAddrPort("127.0.0.1:9"),
		Users: map[string]string{"U": "p"},
	}
	_, err := exchange.New(good)
	require.NoError(t, err)
	for name, mutate := range map[string]func(*exchange.Config){
		"no instruments":   func(c *exchange.Config) { c.Instruments = 0 },
		"too many":         func(c *exchange.Config) { c.Instruments = exchange.MaxInstruments + 1 },
		"negative rate":    func(c *exchange.Config) { c.Rate = -1 },
		"drop rate":        func(c *exchange.Config) { c.DropRate = 1 },
		"not loopback":     func(c *exchange.Config) { c.Feed = netip.MustParseAddrPort("192.0.2.1:9") },
		"multicast":        func(c *exchange.Config) { c.Feed = netip.MustParseAddrPort("239.1.1.1:9") },
		"no port":          func(c *exchange.Config) { c.Feed = netip.MustParseAddrPort("127.0.0.1:0") },
		"no users":         func(c *exchange.Config) { c.Users = nil },
		"long username":    func(c *exchange.Config) { c.Users = map[string]string{"TOOLONGNAME": "p"} },
		"bad session":      func(c *exchange.Config) { c.Session = "much too long a name" },
		"negative cut":     func(c *exchange.Config) { c.CutEvery = -time.Second },
		"tiny packets":     func(c *exchange.Config) { c.MaxPacket = 10 },
		"negative beating": func(c *exchange.Config) { c.Heartbeat = -time.Second },
	} {
		cfg := good
		mutate(&cfg)
		_, err := exchange.New(cfg)
		assert.Error(t, err, name)
	}
}

func TestLoginChecksCredentialsAndOneSessionPerUser(t *testing.T) {
	r := start(t, nil)
	bad := dial(t, r.x.OrderAddr())
	typ, payload := bad.login("ALICE", "wrong", 0)
	assert.Equal(t, byte(soupbin.TypeLoginRejected), typ)
	assert.Equal(t, []byte{soupbin.RejectNotAuthorized}, payload)

	a := dial(t, r.x.OrderAddr())
	typ, payload = a.login("ALICE", "pw", 0)
	require.Equal(t, byte(soupbin.TypeLoginAccepted), typ)
	acc, err := soupbin.ParseLoginAccepted(payload)
	require.NoError(t, err)
	assert.Equal(t, "TEST1", acc.Session)
	assert.Equal(t, uint64(1), acc.Seq)

	again := dial(t, r.x.OrderAddr())
	typ, payload = again.login("ALICE", "pw", 0)
	assert.Equal(t, byte(soupbin.TypeLoginRejected), typ, "one connection per user")
	assert.Equal(t, []byte{soupbin.RejectSessionNotAvailable}, payload)
}

func TestOrdersMatchAndTheFeedTellsIt(t *testing.T) {
	r := start(t, nil)
	sym := stock(t, "SYM0001")
	alice, bob := dial(t, r.x.OrderAddr()), dial(t, r.x.OrderAddr())
	alice.login("ALICE", "pw", 0)
	bob.login("BOB", "pw2", 0)

	alice.send(enter(1, 'S', 300, 200000, sym))
	var acc ouch.Accepted
	require.NoError(t, acc.Decode(alice.next()))
	assert.Equal(t, ouch.TokenFromUint(1), acc.Token)
	assert.Equal(t, byte(ouch.OrderStateLive), acc.OrderState)

	bob.send(enter(1, 'B', 100, 200100, sym)) // crosses: trades at the resting price
	var bacc ouch.Accepted
	require.NoError(t, bacc.Decode(bob.next()))
	var bex, aex ouch.Executed
	require.NoError(t, bex.Decode(bob.next()))
	require.NoError(t, aex.Decode(alice.next()))
	assert.Equal(t, uint32(100), bex.Shares)
	assert.Equal(t, uint32(200000), bex.Price, "the maker's price")
	assert.Equal(t, byte(ouch.LiquidityRemoved), bex.Liquidity)
	assert.Equal(t, byte(ouch.LiquidityAdded), aex.Liquidity)
	assert.Equal(t, aex.Match, bex.Match)

	// Alice cancels down to 50 shares, then replaces at a new price.
	alice.send(ouch.CancelOrder{Token: ouch.TokenFromUint(1), Shares: 50}.AppendTo(nil))
	var can ouch.Canceled
	require.NoError(t, can.Decode(alice.next()))
	assert.Equal(t, uint32(150), can.Decrement)
	alice.send(ouch.ReplaceOrder{
		Existing: ouch.TokenFromUint(1), Replacement: ouch.TokenFromUint(2), Shares: 80, Price: 200500,
		TimeInForce: ouch.TIFMarketHours, Display: 'Y', IntermarketSweep: 'N',
	}.AppendTo(nil))
	var rep ouch.Replaced
	require.NoError(t, rep.Decode(alice.next()))
	assert.Equal(t, ouch.TokenFromUint(1), rep.Previous)
	assert.Equal(t, uint32(80), rep.Shares)

	// Refusals come with a reason of OUCH 4.2: a token used before gets
	// 'O' (Other), where OUCH would ignore the order.
	alice.send(enter(2, 'B', 100, 200000, sym))
	var rej ouch.Rejected
	require.NoError(t, rej.Decode(alice.next()))
	assert.Equal(t, byte(ouch.RejectOther), rej.Reason)
	alice.send(enter(3, 'B', 100, 200050, sym))
	require.NoError(t, rej.Decode(alice.next()))
	assert.Equal(t, byte(ouch.RejectInvalidPrice), rej.Reason, "off the cent grid")
	alice.send(enter(4, 'B', 100, 200000, stock(t, "NOPE")))
	require.NoError(t, rej.Decode(alice.next()))
	assert.Equal(t, byte(ouch.RejectInvalidStock), rej.Reason)
	alice.send(enter(5, 'B', 0, 200000, sym))
	require.NoError(t, rej.Decode(alice.next()))
	assert.Equal(t, byte(ouch.RejectInvalidShares), rej.Reason)

	// The feed carries the same story in ITCH.
	var types []byte
	r.feedUntil(t, func(_ uint64, msg []byte) bool {
		types = append(types, msg[0])
		return msg[0] == itch.TypeOrderReplace
	})
	assert.Equal(t, []byte{itch.TypeSystemEvent, itch.TypeSystemEvent, itch.TypeAddOrder, itch.TypeOrderExecuted, itch.TypeOrderCancel, itch.TypeOrderReplace}, types)

	r.stop(t)
	pos := r.x.Positions("BOB")
	require.Len(t, pos, 1)
	assert.Equal(t, int64(100), pos[0].Qty)
	assert.Equal(t, int64(-100*200000), pos[0].Cash)
	s := r.x.Stats()
	assert.Equal(t, uint64(4), s.Rejects)
	assert.Equal(t, uint64(1), s.Executions)
}

// The Accepted and Replaced messages carry every field of OUCH 4.2 with a
// value it allows: the order's own attributes as entered, and a blank BBO
// Weight Indicator. Replaced used to carry a firm of NUL bytes and 0x00 in
// Capacity, Cross Type and BBO Weight Indicator, and Accepted 0x00 in the
// BBO Weight Indicator.
func TestAcceptedAndReplacedCarryEveryField(t *testing.T) {
	r := start(t, nil)
	sym := stock(t, "SYM0001")
	c := dial(t, r.x.OrderAddr())
	c.login("ALICE", "pw", 0)
	c.send(ouch.EnterOrder{
		Token: ouch.TokenFromUint(1), Side: ouch.SideSellShort, Shares: 300, Stock: sym, Price: 250000,
		TimeInForce: ouch.TIFSystemHours, Firm: [4]byte{'G', 'S', 'C', 'O'}, Display: ouch.DisplayAttributable,
		Capacity: ouch.CapacityRiskless, IntermarketSweep: ouch.IntermarketSweepNotEligible, MinimumQuantity: 100,
		CrossType: ouch.CrossNone, CustomerType: ouch.CustomerNotRetail,
	}.AppendTo(nil))
	var acc ouch.Accepted
	require.NoError(t, acc.Decode(c.next()))
	assert.Equal(t, ouch.Accepted{
		Timestamp: acc.Timestamp, Token: ouch.TokenFromUint(1), Side: ouch.SideSellShort, Shares: 300,
		Stock: sym, Price: 250000, TimeInForce: ouch.TIFSystemHours, Firm: [4]byte{'G', 'S', 'C', 'O'},
		Display: ouch.DisplayAttributable, OrderRef: acc.OrderRef, Capacity: ouch.CapacityRiskless,
		IntermarketSweep: ouch.IntermarketSweepNotEligible, MinimumQuantity: 100, CrossType: ouch.CrossNone,
		OrderState: ouch.OrderStateLive, BBOWeight: ouch.BBOWeightUnspecified,
	}, acc)

	c.send(ouch.ReplaceOrder{
		Existing: ouch.TokenFromUint(1), Replacement: ouch.TokenFromUint(2), Shares: 200, Price: 250100,
		TimeInForce: ouch.TIFMarketHours, Display: ouch.DisplayVisible, IntermarketSweep: ouch.IntermarketSweepNotEligible,
	}.AppendTo(nil))
	var rep ouch.Replaced
	require.NoError(t, rep.Decode(c.next()))
	assert.Equal(t, ouch.Replaced{
		Timestamp: rep.Timestamp, Token: ouch.TokenFromUint(2), Side: ouch.SideSellShort, Shares: 200,
		Stock: sym, Price: 250100, TimeInForce: ouch.TIFMarketHours, Firm: [4]byte{'G', 'S', 'C', 'O'},
		Display: ouch.DisplayVisible, OrderRef: rep.OrderRef, Capacity: ouch.CapacityRiskless,
		IntermarketSweep: ouch.IntermarketSweepNotEligible, CrossType: ouch.CrossNone,
		OrderState: ouch.OrderStateLive, Previous: ouch.TokenFromUint(1), BBOWeight: ouch.BBOWeightUnspecified,
	}, rep, "the replacement keeps the side, firm, capacity and cross type it was entered with")
	assert.Greater(t, rep.OrderRef, acc.OrderRef)
}

// Every refusal carries a reason of the OUCH 4.2 table. 'D' is an invalid
// Display there (this exchange used it for a duplicate token), and a
// replace of an order that is no longer live gets 'O' (it used to get 'U',
// which OUCH 4.2 does not define).
func TestRejectReasonsAreOUCH42s(t *testing.T) {
	r := start(t, nil)
	sym := stock(t, "SYM0001")
	c := dial(t, r.x.OrderAddr())
	c.login("ALICE", "pw", 0)
	reject := func(msg []byte) byte {
		t.Helper()
		c.send(msg)
		var rej ouch.Rejected
		require.NoError(t, rej.Decode(c.next()))
		return rej.Reason
	}
	with := func(tok uint64, mutate func(*ouch.EnterOrder)) []byte {
		var m ouch.EnterOrder
		require.NoError(t, m.Decode(enter(tok, 'B', 100, 200000, sym)))
		mutate(&m)
		return m.AppendTo(nil)
	}
	assert.Equal(t, ouch.RejectInvalidDisplay, reject(with(1, func(m *ouch.EnterOrder) { m.Display = 'Z' })))
	assert.Equal(t, ouch.RejectInvalidMinimumQty, reject(with(2, func(m *ouch.EnterOrder) { m.MinimumQuantity = 101 })))
	assert.Equal(t, ouch.RejectInvalidShares, reject(with(3, func(m *ouch.EnterOrder) { m.Shares = exchange.MaxOrderShares + 1 })))
	for tok, mutate := range map[uint64]func(*ouch.EnterOrder){
		4: func(m *ouch.EnterOrder) { m.Capacity = 0 },
		5: func(m *ouch.EnterOrder) { m.IntermarketSweep = 0 },
		6: func(m *ouch.EnterOrder) { m.CrossType = 0 },
		7: func(m *ouch.EnterOrder) { m.CustomerType = 0 },
		8: func(m *ouch.EnterOrder) { m.Firm = ouch.Firm{} },
		9: func(m *ouch.EnterOrder) { m.TimeInForce = 86_401 },
	} {
		assert.Equal(t, ouch.RejectOther, reject(with(tok, mutate)), "order %d", tok)
	}
	// A replace of an order that never was live.
	assert.Equal(t, ouch.RejectOther, reject(ouch.ReplaceOrder{
		Existing: ouch.TokenFromUint(99), Replacement: ouch.TokenFromUint(100), Shares: 100, Price: 200000,
		TimeInForce: ouch.TIFMarketHours, Display: ouch.DisplayVisible, IntermarketSweep: ouch.IntermarketSweepNotEligible,
	}.AppendTo(nil)))
	// A replace with an invalid Display leaves the order as it was.
	c.send(enter(10, 'B', 100, 200000, sym))
	var acc ouch.Accepted
	require.NoError(t, acc.Decode(c.next()))
	assert.Equal(t, ouch.RejectInvalidDisplay, reject(ouch.ReplaceOrder{
		Existing: ouch.TokenFromUint(10), Replacement: ouch.TokenFromUint(11), Shares: 100, Price: 200000,
		TimeInForce: ouch.TIFMarketHours, Display: 'Z', IntermarketSweep: ouch.IntermarketSweepNotEligible,
	}.AppendTo(nil)))
	c.send(ouch.CancelOrder{Token: ouch.TokenFromUint(10)}.AppendTo(nil))
	var can ouch.Canceled
	require.NoError(t, can.Decode(c.next()))
	assert.Equal(t, uint32(100), can.Decrement, "the order stayed live")
}

func TestReloginReplaysAndDisconnectCancels(t *testing.T) {
	r := start(t, nil)
	sym := stock(t, "SYM0002")
	a := dial(t, r.x.OrderAddr())
	a.login("ALICE", "pw", 0)
	a.send(enter(10, 'B', 100, 300000, sym))
	var entered ouch.Accepted
	require.NoError(t, entered.Decode(a.next())) // message 1
	a.conn.Close()

	// The exchange notices the connection is gone and cancels the order,
	// which the feed reports: by then Alice may log in again.
	r.feedUntil(t, func(_ uint64, msg []byte) bool {
		var del itch.OrderDelete
		return msg[0] == itch.TypeOrderDelete && del.Decode(msg) == nil && del.Ref == entered.OrderRef
	})
	// Cancel-on-disconnect queued message 2 while Alice was away; asking
	// for message 2 replays it.
	b := dial(t, r.x.OrderAddr())
	typ, payload := b.login("ALICE", "pw", 2)
	require.Equal(t, byte(soupbin.TypeLoginAccepted), typ, "the exchange let go of the first connection")
	acc, err := soupbin.ParseLoginAccepted(payload)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), acc.Seq)
	var can ouch.Canceled
	require.NoError(t, can.Decode(b.next()))
	assert.Equal(t, ouch.TokenFromUint(10), can.Token)
	assert.Equal(t, byte(ouch.CancelSystem), can.Reason)
	assert.Equal(t, uint32(100), can.Decrement)
}

func TestSnapshotMatchesTheBooks(t *testing.T) {
	r := start(t, func(c *exchange.Config) { c.Rate = 2000 })
	// Alice bids one cent. The synthetic flow never trades with that order
	// (its fair price never falls below ten ticks and its sells go at most two
	// ticks under it) and only cancels its own: the books hold it whatever
	// the flow does.
	alice := dial(t, r.x.OrderAddr())
	alice.login("ALICE", "pw", 0)
	alice.send(enter(1, 'B', 100, exchange.Tick, stock(t, "SYM0001")))
	var bid ouch.Accepted
	require.NoError(t, bid.Decode(alice.next()))
	// Let the synthetic flow build books: read the feed until it has
	// carried some of its orders.
	var seen uint64 // the sequence number of the last message read
	synthetic := 0
	r.feedUntil(t, func(seq uint64, msg []byte) bool {
		seen = seq
		var a itch.AddOrder
		if msg[0] == itch.TypeAddOrder && a.Decode(msg) == nil && a.Ref != bid.OrderRef {
			synthetic++
		}
		return synthetic >= 20
	})

	c := dial(t, r.x.SnapshotAddr())
	typ, _ := c.login("BOB", "pw2", 0)
	require.Equal(t, byte(soupbin.TypeLoginAccepted), typ)
	adds := 0
	var alicesBid *itch.AddOrder
	var end itch.EndOfSnapshot
	for {
		typ, payload, err := c.r.Next()
		require.NoError(t, err)
		if typ == soupbin.TypeEndOfSession {
			break
		}
		require.Equal(t, byte(soupbin.TypeSequencedData), typ)
		switch payload[0] {
		case itch.TypeAddOrder:
			var a itch.AddOrder
			require.NoError(t, a.Decode(payload))
			adds++
			if a.Ref == bid.OrderRef {
				alicesBid = &a
			}
		case itch.TypeEndOfSnapshot:
			require.NoError(t, end.Decode(payload))
		default:
			t.Fatalf("unexpected message %q in a snapshot", payload[0])
		}
	}
	assert.Greater(t, adds, 0, "the books are not empty")
	require.NotNil(t, alicesBid, "the snapshot holds every resting order")
	assert.Equal(t, uint32(100), alicesBid.Shares)
	assert.Equal(t, uint32(exchange.Tick), alicesBid.Price)
	assert.Equal(t, itch.SideBuy, alicesBid.Side)
	assert.Greater(t, end.Seq, seen, "End of Snapshot names where the feed continues: after what it already carried")
}

func TestMalformedInputIsCountedAndSkipped(t *testing.T) {
	r := start(t, nil)
	c := dial(t, r.x.OrderAddr())
	c.login("ALICE", "pw", 0)
	c.send([]byte{ouch.TypeEnterOrder, 1, 2, 3})          // truncated
	c.send([]byte("?garbage"))                            // unknown type
	pkt, _ := soupbin.AppendPacket(nil, '!', []byte("x")) // unknown packet type
	_, err := c.conn.Write(pkt)
	require.NoError(t, err)
	// The session is still up: an order after the junk is accepted.
	c.send(enter(1, 'B', 100, 100000, stock(t, "SYM0001")))
	var acc ouch.Accepted
	require.NoError(t, acc.Decode(c.next()))

	// A garbage login closes the connection without a crash.
	g := dial(t, r.x.OrderAddr())
	_, err = g.conn.Write([]byte{0, 0, 0})
	require.NoError(t, err)
	_, _, err = g.r.Next()
	assert.Error(t, err)

	r.stop(t)
	assert.GreaterOrEqual(t, r.x.Stats().Malformed, uint64(4))
}

func TestEndOfSessionOnShutdown(t *testing.T) {
	r := start(t, nil)
	c := dial(t, r.x.OrderAddr())
	c.login("ALICE", "pw", 0)
	r.stop(t)
	var ev ouch.SystemEvent
	require.NoError(t, ev.Decode(c.next()))
	assert.Equal(t, byte(ouch.EventEndOfDay), ev.Event)
	typ, _, err := c.r.Next()
	require.NoError(t, err)
	assert.Equal(t, byte(soupbin.TypeEndOfSession), typ)

	// The feed ends with a MoldUDP64 end-of-session packet.
	buf := make([]byte, 65536)
	var last moldudp64.Packet
	for { // every packet was sent before Serve returned
		n, err := r.feed.Read(buf)
		require.NoError(t, err)
		require.NoError(t, last.Parse(buf[:n]))
		if last.Count == moldudp64.EndOfSession {
			break
		}
	}
	assert.Equal(t, binary.BigEndian.Uint64(buf[10:18]), last.Seq)
}

// Login Accepted leaves as soon as the login is checked, not with the next
// heartbeat: with heartbeats an hour apart, the login still completes (it
// used to wait the hour).
func TestLoginAcceptedIsNotHeldForAHeartbeat(t *testing.T) {
	r := start(t, func(c *exchange.Config) { c.Heartbeat = time.Hour })
	c := dial(t, r.x.OrderAddr())
	typ, _ := c.login("ALICE", "pw", 0)
	assert.Equal(t, byte(soupbin.TypeLoginAccepted), typ)
}
