// Package exchange is the simulated equities exchange of the trading
// example, itself an Orrery program. It keeps a price-time-priority book per
// instrument and speaks the field's wire formats over loopback:
//
//   - order entry: OUCH 4.2 messages framed by SoupBinTCP 3.0 (login,
//     heartbeats both ways, sequenced replies replayed on re-login, logout),
//     with cancel-on-disconnect. Every field of every message holds a value
//     OUCH 4.2 allows; one behaviour is this project's own: requests OUCH
//     4.2 silently ignores (a token used before, a replace of an order no
//     longer live) are answered with Rejected, reason 'O' (Other), so a
//     client learns the outcome of every request;
//   - market data: ITCH 5.0 messages packed into MoldUDP64 packets, sent by
//     unicast UDP to one loopback address;
//   - recovery: a GLIMPSE-style snapshot over SoupBinTCP (an Add Order per
//     resting order, then End of Snapshot with the feed sequence number the
//     live feed continues from);
//   - a seeded synthetic order flow: a random-walk fair price per
//     instrument, passive orders around it, cancels and aggressive orders.
//
// Faults can be switched on: a feed drop rate (packets that take sequence
// numbers but are never sent) and periodic cuts of the order sessions.
//
// An Exchange lives on one asyncrt runtime: call Start and Serve from one of
// its tasks.
package exchange

import (
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/netip"
	"sort"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
	"github.com/orrery-go/orrery/asyncrt/tasksync"
	"github.com/orrery-go/orrery/examples/trading/internal/book"
	"github.com/orrery-go/orrery/examples/trading/internal/itch"
	"github.com/orrery-go/orrery/examples/trading/internal/moldudp64"
	"github.com/orrery-go/orrery/examples/trading/internal/ouch"
	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
)

// Tick is the price increment of every instrument: one cent, in ITCH and
// OUCH price units (four implied decimals).
const Tick = 100

// MaxInstruments bounds Config.Instruments.
const MaxInstruments = 9999

// MaxOrderShares is the largest order the exchange accepts: OUCH 4.2 wants
// fewer than 1,000,000 shares, and refuses more with reject reason 'Z'.
const MaxOrderShares = 999_999

// Config describes an exchange.
type Config struct {
	// Instruments is the number of instruments, 1 to MaxInstruments. They
	// get stock locate codes 1..n and symbols SYM0001, SYM0002, ...
	Instruments int
	// Rate is the synthetic order flow in order events per second, spread
	// over the instruments (0: no synthetic flow).
	Rate int
	// Seed makes the synthetic flow and the drops reproducible.
	Seed uint64
	// DropRate is the fraction of feed packets the exchange "loses": they
	// take sequence numbers but are never sent, as on a lossy network.
	DropRate float64
	// CutEvery cuts every logged-in order session this often (0: never).
	CutEvery time.Duration
	// Partition, if set, plays a network partition between the exchange
	// and its users for this long at a time, at times drawn from Seed (see
	// PartitionGap): feed packets are lost, and the order and snapshot
	// connections carry nothing either way (what is sent waits, as TCP's
	// retransmissions would make it) until the link heals. A simulation
	// (package simnet) partitions its network instead and leaves this 0.
	Partition time.Duration
	// Feed is where market-data packets go. It must be a loopback address:
	// a real exchange multicasts, this one only ever talks to this machine.
	Feed netip.AddrPort
	// OrderAddr and SnapshotAddr are the TCP listen addresses for order
	// entry and snapshots ("127.0.0.1:0" picks free ports).
	OrderAddr, SnapshotAddr string
	// Session names the trading session on the feed and the order port
	// (1 to 10 letters or digits).
	Session string
	// Users maps order-entry usernames to passwords.
	Users map[string]string
	// Heartbeat is how long an order connection or the feed may stay
	// quiet: a heartbeat leaves once nothing was sent for that long
	// (default 1 s, the cadence of SoupBinTCP and MoldUDP64). A client
	// silent for three heartbeats is disconnected.
	Heartbeat time.Duration
	// MaxPacket is the largest feed packet in bytes (default 1400).
	MaxPacket int
	// OnAcceptError, if set, is told of every failed accept on the order
	// and snapshot ports that is retried (EMFILE when descriptors run out,
	// and the like), in place of the log, which gets the first failure of
	// each burst and the accept that ends it. It runs on the exchange's
	// runtime and must not block.
	OnAcceptError func(error)
}

func (c *Config) validate() error {
	switch {
	case c.Instruments < 1 || c.Instruments > MaxInstruments:
		return fmt.Errorf("exchange: Instruments = %d, want 1..%d", c.Instruments, MaxInstruments)
	case c.Rate < 0 || c.Rate > 10_000_000:
		return fmt.Errorf("exchange: Rate = %d, want 0..10000000 events/s", c.Rate)
	case !(c.DropRate >= 0 && c.DropRate < 1):
		return fmt.Errorf("exchange: DropRate = %v, want [0, 1)", c.DropRate)
	case c.CutEvery < 0:
		return fmt.Errorf("exchange: CutEvery = %v must not be negative", c.CutEvery)
	case c.Partition < 0:
		return fmt.Errorf("exchange: Partition = %v must not be negative", c.Partition)
	case !c.Feed.IsValid() || !c.Feed.Addr().IsLoopback() || c.Feed.Port() == 0:
		return fmt.Errorf("exchange: Feed = %v: want a loopback address with a port", c.Feed)
	case len(c.Users) == 0:
		return errors.New("exchange: no order-entry users configured")
	case c.Heartbeat < 0:
		return fmt.Errorf("exchange: Heartbeat = %v must not be negative", c.Heartbeat)
	}
	if _, err := moldudp64.NewSession(c.Session); err != nil {
		return fmt.Errorf("exchange: Session: %w", err)
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = soupbin.HeartbeatInterval // MoldUDP64 feeds beat once a second too
	}
	if c.MaxPacket == 0 {
		c.MaxPacket = 1400
	}
	if c.MaxPacket < 64 || c.MaxPacket > 65507 {
		return fmt.Errorf("exchange: MaxPacket = %d, want 64..65507", c.MaxPacket)
	}
	return nil
}

// Position is one user's position in one instrument, from the exchange's
// executions: what the user's own books must agree with.
type Position struct {
	Locate uint16
	Stock  string
	// Qty is the net position in shares (bought minus sold).
	Qty int64
	// Cash is the cash flow in price units (four implied decimals): minus
	// the cost of buys, plus the proceeds of sells.
	Cash int64
	// Fills and Volume count the user's executions and shares traded.
	Fills, Volume int64
}

// Stats counts what an exchange did.
type Stats struct {
	FeedMessages, FeedPackets, FeedDropped, FeedHeartbeats uint64
	// SyntheticOrders counts the orders of the synthetic flow.
	SyntheticOrders uint64
	// Orders, Replaces and Cancels count what order-entry users sent;
	// Rejects the orders and replaces refused.
	Orders, Replaces, Cancels, Rejects uint64
	// Executions counts matches on every book; UserFills the executions
	// reported to order-entry users (a match between two users counts
	// twice).
	Executions, UserFills                              uint64
	Logins, LoginRejects, Disconnects, Cuts, Snapshots uint64
	// Partitions counts the partitions played (Config.Partition), and
	// FeedPartitioned the feed packets they lost.
	Partitions, FeedPartitioned uint64
	// DisconnectCancels counts orders cancelled by cancel-on-disconnect.
	DisconnectCancels uint64
	// Malformed counts packets and messages that could not be decoded;
	// they are skipped.
	Malformed uint64
	// AcceptErrors counts failed accepts on the order and snapshot ports
	// that were retried (see Config.OnAcceptError).
	AcceptErrors uint64
}

type instrument struct {
	locate uint16
	name   string
	stock  itch.Stock
	ostock ouch.Stock
	book   *book.Book
	fair   int64          // the synthetic flow's fair price
	synth  []book.OrderID // resting synthetic orders, oldest first
}

// owned is an order entered by an order-entry user.
type owned struct {
	u     *user
	token ouch.Token
	inst  *instrument
	attrs
}

// Exchange is a simulated exchange. Its methods must be called from the
// tasks of one runtime, except Stats and Positions after that runtime has
// stopped serving.
type Exchange struct {
	cfg     Config
	session moldudp64.Session
	insts   []*instrument
	bySym   map[ouch.Stock]*instrument
	users   map[string]*user
	userIDs []*user // by book owner id - 1
	owners  map[book.OrderID]owned

	nextRef   uint64
	nextMatch uint64
	flowRng   *rand.Rand
	dropRng   *rand.Rand
	partRng   *rand.Rand
	// down is whether a played partition (Config.Partition) cuts the
	// exchange off from its users; its watchers wait for the link.
	down *tasksync.Watch[bool]
	// quiet: Quiesce stopped the faults.
	quiet    bool
	midnight time.Time
	now      time.Time // the current step's time
	fills    []book.Fill
	msg      []byte
	feed     feedPublisher

	orderLn, snapLn *socket.TCPListener
	// Each listener's pacing through failed accepts (EMFILE and its like).
	orderRetry, snapRetry socket.AcceptRetry
	stats                 Stats
	started               bool
	failed                error // why a listener stopped early
	// open counts the order sessions that are up: the end of the day waits
	// on it for the sessions to close, instead of polling.
	open *tasksync.Watch[int]
}

// New validates cfg and returns an exchange ready to Start.
func New(cfg Config) (*Exchange, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	session, _ := moldudp64.NewSession(cfg.Session)
	x := &Exchange{
		cfg:     cfg,
		session: session,
		bySym:   make(map[ouch.Stock]*instrument, cfg.Instruments),
		users:   make(map[string]*user, len(cfg.Users)),
		owners:  make(map[book.OrderID]owned),
		nextRef: 1,
		msg:     make([]byte, 0, 128), // room for any message: encoding never allocates
		flowRng: rand.New(rand.NewPCG(cfg.Seed, 0x6f72646572)),
		dropRng: rand.New(rand.NewPCG(cfg.Seed, 0x64726f70)),
		partRng: rand.New(rand.NewPCG(cfg.Seed, 0x70617274)),
		open:    tasksync.NewWatch(0),
		down:    tasksync.NewWatch(false),
	}
	for i := range cfg.Instruments {
		name := fmt.Sprintf("SYM%04d", i+1)
		stock, err := itch.NewStock(name)
		if err != nil {
			return nil, err
		}
		ostock, err := ouch.NewStock(name)
		if err != nil {
			return nil, err
		}
		in := &instrument{
			locate: uint16(i + 1),
			name:   name,
			stock:  stock,
			ostock: ostock,
			book:   book.New(),
			fair:   int64(20+10*(i%10)) * 10_000, // $20.00, $30.00, ... in price units
		}
		x.insts = append(x.insts, in)
		x.bySym[ostock] = in
	}
	names := make([]string, 0, len(cfg.Users))
	for name := range cfg.Users {
		names = append(names, name)
	}
	sort.Strings(names) // owner ids independent of map order
	for _, name := range names {
		if len(name) == 0 || len(name) > 6 {
			return nil, fmt.Errorf("exchange: username %q: want 1 to 6 characters", name)
		}
		u := newUser(name, cfg.Users[name], uint32(len(x.userIDs)+1))
		x.users[name] = u
		x.userIDs = append(x.userIDs, u)
	}
	return x, nil
}

// Start binds the order-entry and snapshot listeners and the feed socket.
// After it returns, OrderAddr and SnapshotAddr give the bound addresses.
func (x *Exchange) Start(t *asyncrt.Task) error {
	if x.started {
		return errors.New("exchange: Start called twice")
	}
	var err error
	if x.orderLn, err = socket.ListenTCP(t, "tcp", x.cfg.OrderAddr, socket.ReuseAddr(true)); err != nil {
		return fmt.Errorf("exchange: order entry: %w", err)
	}
	if x.snapLn, err = socket.ListenTCP(t, "tcp", x.cfg.SnapshotAddr, socket.ReuseAddr(true)); err != nil {
		x.orderLn.Close()
		return fmt.Errorf("exchange: snapshots: %w", err)
	}
	// The feed socket only sends, and only to Feed, a loopback address
	// (validate checks it); the kernel, or a simulated network, picks the
	// source address the route to it needs.
	network, any := "udp4", netip.IPv4Unspecified()
	if x.cfg.Feed.Addr().Is6() {
		network, any = "udp6", netip.IPv6Unspecified()
	}
	udp, err := socket.ListenUDP(t, network, netip.AddrPortFrom(any, 0).String(), socket.WriteBuffer(4<<20))
	if err != nil {
		x.orderLn.Close()
		x.snapLn.Close()
		return fmt.Errorf("exchange: feed socket: %w", err)
	}
	if err := x.feed.init(x, udp); err != nil {
		udp.Close()
		x.orderLn.Close()
		x.snapLn.Close()
		return err
	}
	x.started = true
	x.setNow(t)
	x.midnight = x.now.UTC().Truncate(24 * time.Hour)
	return nil
}

// OrderAddr is the order-entry listener's address.
func (x *Exchange) OrderAddr() netip.AddrPort { return x.orderLn.AddrPort() }

// SnapshotAddr is the snapshot listener's address.
func (x *Exchange) SnapshotAddr() netip.AddrPort { return x.snapLn.AddrPort() }

// Serve runs the exchange until stop is cancelled, then ends the session:
// an end-of-day event to every logged-in user, End of Messages and a
// MoldUDP64 end-of-session on the feed, and every socket closed.
func (x *Exchange) Serve(t *asyncrt.Task, stop *asyncrt.CancellationToken) error {
	if !x.started {
		return errors.New("exchange: Serve called before Start")
	}
	// The feed's quiet interval starts with the session.
	x.feed.lastSend = t.Now()
	tasks := asyncrt.NewJoinSet[struct{}]() // results unused: Shutdown ends them
	tasks.SpawnFunc(t, func(t *asyncrt.Task) {
		x.acceptLoop(t, x.orderLn, &x.orderRetry, tasks, "order", x.serveOrders)
	}, asyncrt.Named("order accept"))
	tasks.SpawnFunc(t, func(t *asyncrt.Task) {
		x.acceptLoop(t, x.snapLn, &x.snapRetry, tasks, "snapshot", x.serveSnapshot)
	}, asyncrt.Named("snapshot accept"))
	tasks.SpawnFunc(t, x.feedHeartbeats)
	if x.cfg.Rate > 0 {
		tasks.SpawnFunc(t, x.runFlow)
	}
	if x.cfg.CutEvery > 0 {
		tasks.SpawnFunc(t, x.cutSessions)
	}
	if x.cfg.Partition > 0 {
		tasks.SpawnFunc(t, x.playPartitions)
	}
	x.setNow(t)
	x.feed.add(t, x.systemEvent(itch.EventStartOfMessages))
	x.feed.add(t, x.systemEvent(itch.EventStartOfMarketHours))
	x.feed.flush(t)

	stop.Cancelled(t)
	x.down.Send(false) // the day ends on a working link
	x.orderLn.Close()
	x.snapLn.Close()
	// End the day on every order session and give the writers a moment to
	// deliver it before the remaining tasks are aborted.
	x.setNow(t)
	for _, u := range x.userIDs {
		if u.sess != nil {
			u.sess.endOfDay()
		}
	}
	open := x.open.Subscribe()
	deadline := asyncrt.OnDeadline(t.Now().Add(time.Second))
	for {
		if n, _ := open.BorrowAndUpdate(); n == 0 {
			break
		}
		if i, _ := asyncrt.Select(t, tasksync.OnChanged(open), deadline); i == 1 {
			break
		}
	}
	tasks.Shutdown(t)
	x.setNow(t)
	x.feed.add(t, x.systemEvent(itch.EventEndOfMarketHours))
	x.feed.add(t, x.systemEvent(itch.EventEndOfMessages))
	x.feed.flush(t)
	x.feed.endOfSession(t)
	x.feed.conn.Close()
	return x.failed
}

// Stats returns the exchange's counters. Call it from the exchange's
// runtime, or after Serve has returned.
func (x *Exchange) Stats() Stats {
	st := x.stats
	st.AcceptErrors = x.orderRetry.Failures() + x.snapRetry.Failures()
	return st
}

// acceptLoop accepts connections on ln, paced by retry through failures
// that clear by waiting, and serves each on a task of tasks until ln is
// closed. Any other failure ends it: it is logged at once, since the
// exchange goes on without the port, and Serve returns it.
func (x *Exchange) acceptLoop(t *asyncrt.Task, ln *socket.TCPListener, retry *socket.AcceptRetry,
	tasks *asyncrt.JoinSet[struct{}], name string, serve func(*asyncrt.Task, *socket.TCPConn)) {
	retry.Log = func(format string, args ...any) { log.Printf("exchange: "+format, args...) }
	retry.OnError = x.cfg.OnAcceptError
	if retry.OnError != nil {
		retry.Log = func(string, ...any) {} // the hook is told instead
	}
	for {
		conn, err := retry.Accept(t, ln)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			log.Printf("exchange: the %s port stops accepting: %v", name, err)
			x.failed = err
			return
		}
		tasks.SpawnFunc(t, func(t *asyncrt.Task) { serve(t, conn) }, asyncrt.Named(name+" session"))
	}
}

// Positions returns user's positions by instrument, in locate order: what
// the exchange's executions say the user holds.
func (x *Exchange) Positions(username string) []Position {
	u := x.users[username]
	if u == nil {
		return nil
	}
	var out []Position
	for _, in := range x.insts {
		if p, ok := u.pos[in.locate]; ok {
			out = append(out, *p)
		}
	}
	return out
}

// PartitionGap draws how long the link stays up before the next partition
// of length d: uniformly from [d, 3d), so that cuts come at seeded times,
// never back to back.
func PartitionGap(rng *rand.Rand, d time.Duration) time.Duration {
	return d + time.Duration(rng.Int64N(int64(2*d)))
}

// playPartitions plays Config.Partition's partitions until aborted or
// quiesced.
func (x *Exchange) playPartitions(t *asyncrt.Task) {
	d := x.cfg.Partition
	for {
		t.Sleep(PartitionGap(x.partRng, d))
		if x.quiet {
			return
		}
		x.stats.Partitions++
		x.down.Send(true)
		t.Sleep(d)
		x.down.Send(false)
	}
}

// Quiesce stops the faults the exchange plays (drops, cuts, partitions)
// from now on, and heals a partition under way: a simulation's quiet phase,
// after which whatever the faults left unresolved must resolve. Call it
// from the exchange's runtime.
func (x *Exchange) Quiesce() {
	x.quiet = true
	x.down.Send(false)
}

// awaitLink returns once no played partition cuts the exchange off.
func (x *Exchange) awaitLink(t *asyncrt.Task) {
	if !x.linkDown() {
		return // the common case, with no subscription to make
	}
	sub := x.down.Subscribe()
	for {
		if down, _ := sub.BorrowAndUpdate(); !down {
			return
		}
		_, _ = asyncrt.Select(t, tasksync.OnChanged(sub))
	}
}

// linkDown reports whether a played partition cuts the exchange off.
func (x *Exchange) linkDown() bool {
	down, _ := x.down.Borrow()
	return down
}

// setNow fixes the time stamped on the messages of the current step.
func (x *Exchange) setNow(t *asyncrt.Task) { x.now = t.Now() }

// timestamp is the current step's time in nanoseconds since midnight.
func (x *Exchange) timestamp() uint64 {
	return uint64(x.now.Sub(x.midnight)) % uint64(24*time.Hour)
}

func (x *Exchange) header(in *instrument) itch.Header {
	return itch.Header{Locate: in.locate, Timestamp: x.timestamp()}
}

func (x *Exchange) systemEvent(code byte) []byte {
	x.msg = itch.SystemEvent{Header: itch.Header{Timestamp: x.timestamp()}, Event: code}.AppendTo(x.msg[:0])
	return x.msg
}
