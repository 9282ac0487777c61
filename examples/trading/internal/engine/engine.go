// Package engine is the trading engine of the trading example: a market
// maker built on Orrery.
//
// Its state lives in a World: each instrument is an entity with Book, Quote
// and Position components, and the feed's view of the exchange is the
// Market resource. On the engine's runtime,
//
//   - a feed handler task reads ITCH 5.0 in MoldUDP64 packets from UDP,
//     checks sequence numbers, recovers from gaps with a snapshot over
//     SoupBinTCP, and updates the books through pre-resolved handlers;
//   - the strategy reacts to every change at the top of a book, and a
//     system on a fixed-rate schedule reviews every instrument;
//   - an order gateway holds the OUCH 4.2 session over SoupBinTCP
//     (heartbeats, reconnects with backoff, replay of missed answers), runs
//     pre-trade risk checks, and books fills into positions;
//   - the tick-to-trade latency, from reading a feed packet to writing the
//     order it caused, goes into an HDR histogram.
//
// Or the feed handler's socket reads move to a second runtime, a FeedRelay
// that hands each packet over a cross channel to the engine's runtime (see
// Engine.SplitFeed); the rest stays as it is.
//
// The same code runs a backtest: a recording of the feed is replayed under
// the simulated clock, and the orders are matched in-process by the
// exchange's matching engine (see Venue).
package engine

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
	"github.com/orrery-go/orrery/asyncrt/tasksync"
	"github.com/orrery-go/orrery/examples/internal/hdr"
	"github.com/orrery-go/orrery/examples/trading/internal/recording"
	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

// Config describes an engine.
type Config struct {
	// FeedAddr is the UDP address the feed arrives at ("127.0.0.1:0" picks
	// a port; see Engine.FeedAddr).
	FeedAddr string
	// OrderAddr and SnapshotAddr are the exchange's order-entry and
	// snapshot addresses.
	OrderAddr, SnapshotAddr string
	// Username and Password log in to both.
	Username, Password string
	// Heartbeat is how long the order session may stay quiet: a Client
	// Heartbeat leaves once nothing was sent for that long (default 1 s,
	// SoupBinTCP's cadence); an exchange silent for three of them is taken
	// for gone.
	Heartbeat time.Duration
	// Record, if set, is a file to record the feed to, for backtests.
	Record string
	// Strategy and Risk tune the market maker (zero values: the defaults).
	Strategy StrategyConfig
	Risk     RiskLimits
	// Report, if set, receives a summary line every ReportEvery (default
	// 1 s of the runtime's clock).
	Report      io.Writer
	ReportEvery time.Duration
	// Seed seeds the reconnect backoff's jitter.
	Seed uint64
}

// Engine is a trading engine on one runtime and its World.
type Engine struct {
	cfg     Config
	w       *world.World
	market  *Market
	gw      *Gateway
	strat   *Strategy
	feed    *Feed
	latency *hdr.Histogram
	sched   *world.Schedule

	udp      *socket.UDPConn
	rec      *recording.Writer
	recStart time.Time
	start    time.Time
	ended    *tasksync.Watch[bool] // the exchange ended the session
	stopping bool
	lastErr  error
	ran      bool
	venue    *Venue
	relay    *FeedRelay // the feed is read on another runtime (SplitFeed)
}

var processStart = time.Now()

// monoNow is the latency clock: monotonic nanoseconds.
func monoNow() int64 { return int64(time.Since(processStart)) }

// New sets up an engine on w: the Market resource and the strategy's
// schedule.
func New(w *world.World, cfg Config) (*Engine, error) {
	if w == nil {
		return nil, errors.New("engine: nil World")
	}
	if cfg.Strategy == (StrategyConfig{}) {
		cfg.Strategy = DefaultStrategy
	}
	if cfg.Risk == (RiskLimits{}) {
		cfg.Risk = DefaultRiskLimits
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = soupbin.HeartbeatInterval
	}
	if cfg.ReportEvery == 0 {
		cfg.ReportEvery = time.Second
	}
	switch {
	case cfg.Heartbeat < 0:
		return nil, fmt.Errorf("engine: Heartbeat = %v must be positive", cfg.Heartbeat)
	case cfg.ReportEvery < 0:
		return nil, fmt.Errorf("engine: ReportEvery = %v must be positive", cfg.ReportEvery)
	}
	if err := cfg.Strategy.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Risk.validate(); err != nil {
		return nil, err
	}
	latency, err := hdr.New(1, int64(10*time.Second), 3)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, w: w, latency: latency, market: NewMarket(w), ended: tasksync.NewWatch(false)}
	if err := world.AddResource(w, e.market); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e.gw = newGateway(e.market, cfg.Risk, latency, monoNow)
	e.strat = newStrategy(cfg.Strategy, e.market, e.gw)
	e.gw.changed = func(in *instrument) { e.strat.requote(in, 0) }
	if e.sched, err = w.AddSchedule("strategy", world.FixedRate(cfg.Strategy.ReviewHz)); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if err := e.sched.Add(e.strat); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return e, nil
}

// Listen binds the feed socket. Call it before the exchange starts sending,
// from a task of the engine's runtime. An engine whose feed is split off
// (SplitFeed) listens through its FeedRelay instead.
func (e *Engine) Listen(t *asyncrt.Task) error {
	if e.relay != nil {
		return errors.New("engine: the feed is split off: call the FeedRelay's Listen")
	}
	if e.udp != nil {
		return errors.New("engine: Listen called twice")
	}
	udp, err := socket.ListenUDP(t, "udp", e.cfg.FeedAddr, socket.ReadBuffer(8<<20))
	if err != nil {
		return fmt.Errorf("engine: feed: %w", err)
	}
	e.udp = udp
	return nil
}

// SetExchange sets the exchange's order-entry and snapshot addresses, for
// an exchange that bound its ports after the engine was made.
func (e *Engine) SetExchange(orderAddr, snapshotAddr string) {
	e.cfg.OrderAddr, e.cfg.SnapshotAddr = orderAddr, snapshotAddr
}

// Settled reports whether the engine has nothing in flight: its order
// session is up, every request it sent has been answered, and its feed is
// not recovering from a gap. A simulation waits for it after its faults
// stop, so that the books it checks are final.
func (e *Engine) Settled() bool {
	return e.gw.Ready() && e.gw.Unanswered() == 0 && e.feed != nil && !e.feed.Recovering()
}

// FeedAddr is the bound feed address.
func (e *Engine) FeedAddr() netip.AddrPort {
	if e.relay != nil {
		return e.relay.udp.LocalAddrPort()
	}
	return e.udp.LocalAddrPort()
}

// setup makes the feed handler and links it to the strategy.
func (e *Engine) setup(t *asyncrt.Task) error {
	if e.ran {
		return errors.New("engine: an engine runs once")
	}
	e.ran = true
	e.start = t.Now()
	feed, err := NewFeed(worldctx.Of(t), func() {}, func(in *instrument, t0 int64) {
		e.strat.requote(in, t0)
	})
	if err != nil {
		return err
	}
	e.feed = feed
	return nil
}

type tcpTransport struct{ conn *socket.TCPConn }

func (c tcpTransport) send(_ *asyncrt.Task, b []byte) error {
	_, err := c.conn.Write(b)
	return err
}

// Run trades live until stop is cancelled or the exchange ends the session,
// then cancels every order, logs out and returns the final report.
func (e *Engine) Run(t *asyncrt.Task, stop *asyncrt.CancellationToken) (*Report, error) {
	readFeed := e.readFeed
	switch {
	case e.relay != nil && e.relay.udp == nil:
		return nil, errors.New("engine: Run called before the FeedRelay's Listen")
	case e.relay != nil && t.Runtime() == e.relay.rt:
		return nil, errors.New("engine: Run called on the FeedRelay's runtime")
	case e.relay != nil:
		readFeed = e.readRelay
		defer e.closeRelay()
	case e.udp == nil:
		return nil, errors.New("engine: Run called before Listen")
	default:
		defer e.udp.Close()
	}
	if err := e.setup(t); err != nil {
		return nil, err
	}
	rt := t.Runtime()
	if e.cfg.Record != "" {
		rec, err := recording.Create(e.cfg.Record)
		if err != nil {
			return nil, err
		}
		e.rec, e.recStart = rec, t.Now()
		e.gw.ownRef = func(ref uint64) {
			e.market.markOwn(ref)
			e.record(recording.KindOwnOrder, recording.OwnOrderData(ref))
		}
	} else {
		e.gw.ownRef = e.market.markOwn
	}
	snapReq, snapRx, err := asyncrt.NewChan[struct{}](rt, 1)
	if err != nil {
		return nil, err
	}
	e.feed.requestSnapshot = func() { _ = snapReq.TrySend(struct{}{}) }
	wake, wakeRx, err := asyncrt.NewChan[struct{}](rt, 1)
	if err != nil {
		return nil, err
	}
	e.gw.wake = wake

	tasks := asyncrt.NewJoinSet[struct{}]() // results unused: Shutdown ends them
	tasks.SpawnFunc(t, readFeed)
	tasks.SpawnFunc(t, func(t *asyncrt.Task) { e.fetchSnapshots(t, snapRx) }, asyncrt.Named("snapshots"))
	tasks.SpawnFunc(t, e.holdSession)
	tasks.SpawnFunc(t, func(t *asyncrt.Task) { e.write(t, wakeRx) }, asyncrt.Named("order writer"))
	if e.cfg.Report != nil {
		tasks.SpawnFunc(t, e.reportLoop)
	}
	// Run until told to stop, or until the exchange ends the day.
	ended := e.ended.Subscribe()
	for !stop.IsCancelled() {
		if v, _ := ended.BorrowAndUpdate(); v {
			break
		}
		_, _ = asyncrt.Select(t, asyncrt.OnCancel(stop), tasksync.OnChanged(ended))
	}
	e.windDown(t)
	tasks.Shutdown(t)
	if e.rec != nil {
		if err := asyncrt.GoFunc(t, e.rec.Close); err != nil && e.lastErr == nil {
			e.lastErr = err
		}
	}
	return e.report(t), nil
}

// windDown stops quoting, cancels every order and waits (a little) for the
// exchange to confirm, then logs out.
func (e *Engine) windDown(t *asyncrt.Task) {
	e.strat.enabled = false
	e.stopping = true
	deadline := t.Now().Add(2 * time.Second)
	for e.gw.OpenOrders() > 0 && e.gw.Ready() && t.Now().Before(deadline) {
		e.gw.CancelAll()
		e.gw.Flush(t)
		t.Sleep(5 * time.Millisecond)
	}
	e.gw.logout()
	e.gw.Flush(t)
}

func (e *Engine) record(kind byte, data []byte) {
	if e.rec != nil {
		at := max(e.strat.now.Sub(e.recStart), 0)
		if err := e.rec.Add(kind, at, data); err != nil && e.lastErr == nil {
			e.lastErr = err
		}
	}
}

// readFeed is the feed handler task.
func (e *Engine) readFeed(t *asyncrt.Task) {
	buf := make([]byte, 64<<10)
	for {
		n, err := e.udp.Recv(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient receive error: the sequence check covers loss
		}
		e.onPacket(t, buf[:n], monoNow())
	}
}

// onPacket handles a feed packet read at t0 (on the latency clock): it
// updates the books, which runs the strategy, and writes the orders.
func (e *Engine) onPacket(t *asyncrt.Task, pkt []byte, t0 int64) {
	e.strat.now = t.Now()
	e.record(recording.KindPacket, pkt)
	e.feed.OnPacket(pkt, t0)
	e.gw.Flush(t)
}

// fetchSnapshots answers the feed's snapshot requests.
func (e *Engine) fetchSnapshots(t *asyncrt.Task, requests *asyncrt.Receiver[struct{}]) {
	bo, _ := asyncrt.NewBackoff(asyncrt.BackoffConfig{Initial: 20 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: 0.2, Seed: e.cfg.Seed + 1})
	for {
		if _, err := requests.Recv(t); err != nil {
			return
		}
		bo.Reset()
		for e.feed.Recovering() && !e.stopping {
			snap, err := e.fetchSnapshot(t)
			if err == nil {
				e.strat.now = t.Now()
				e.record(recording.KindSnapshot, snap)
				err = e.feed.ApplySnapshot(snap)
				e.gw.Flush(t)
			}
			if err != nil {
				e.lastErr = err
				_ = bo.Wait(t, err)
			}
		}
	}
}

// fetchSnapshot logs in to the snapshot port and reads a snapshot.
func (e *Engine) fetchSnapshot(t *asyncrt.Task) ([]byte, error) {
	conn, err := socket.DialTCP(t, "tcp", e.cfg.SnapshotAddr, socket.ConnectTimeout(time.Second))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(t.Now().Add(5 * time.Second)); err != nil {
		return nil, err
	}
	login, err := soupbin.LoginRequest{Username: e.cfg.Username, Password: e.cfg.Password}.AppendTo(nil)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(login); err != nil {
		return nil, err
	}
	r := soupbin.NewReader(conn, 64<<10)
	var snap []byte
	for {
		typ, payload, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("engine: snapshot: %w", err)
		}
		switch typ {
		case soupbin.TypeLoginRejected:
			return nil, fmt.Errorf("engine: snapshot login rejected (%q)", payload)
		case soupbin.TypeSequencedData:
			snap = AppendSnapshotBlock(snap, payload)
		case soupbin.TypeEndOfSession:
			return snap, nil
		}
	}
}

var errSessionEnded = errors.New("engine: the exchange ended the session")

// holdSession keeps the order session up: log in, read the exchange's
// messages, and on any failure reconnect with backoff, asking for the
// messages missed meanwhile.
func (e *Engine) holdSession(t *asyncrt.Task) {
	bo, _ := asyncrt.NewBackoff(asyncrt.BackoffConfig{Initial: 20 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: 0.2, Seed: e.cfg.Seed})
	for !e.stopping {
		err := e.session(t, bo)
		if errors.Is(err, errSessionEnded) {
			e.ended.Send(true)
			return
		}
		if e.stopping {
			return
		}
		e.lastErr = err
		_ = bo.Wait(t, err)
	}
}

func (e *Engine) session(t *asyncrt.Task, bo *asyncrt.Backoff) error {
	conn, err := socket.DialTCP(t, "tcp", e.cfg.OrderAddr, socket.ConnectTimeout(time.Second), socket.NoDelay(true))
	if err != nil {
		return err
	}
	defer conn.Close()
	login, err := soupbin.LoginRequest{Username: e.cfg.Username, Password: e.cfg.Password, Seq: e.gw.nextSeq}.AppendTo(nil)
	if err != nil {
		return err
	}
	if _, err := conn.Write(login); err != nil {
		return err
	}
	loggedIn := t.Now()
	r := soupbin.NewReader(conn, 64<<10)
	idle := 3 * e.cfg.Heartbeat
	_ = conn.SetReadDeadline(t.Now().Add(idle))
	typ, payload, err := r.Next()
	if err != nil {
		return err
	}
	switch typ {
	case soupbin.TypeLoginAccepted:
	case soupbin.TypeLoginRejected:
		e.gw.stats.LoginRejects++
		return fmt.Errorf("engine: login rejected (%q)", payload)
	default:
		return fmt.Errorf("engine: login answered with packet type %q", typ)
	}
	acc, err := soupbin.ParseLoginAccepted(payload)
	if err != nil {
		return err
	}
	bo.Reset()
	e.gw.connected(tcpTransport{conn}, acc.Seq, loggedIn)
	defer e.gw.disconnected()
	// Heartbeats belong to the connection: they start with the login and
	// stop with it.
	beats := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { e.gw.beat(t, e.cfg.Heartbeat) }, asyncrt.Named("heartbeats"))
	defer beats.Abort()
	for {
		_ = conn.SetReadDeadline(t.Now().Add(idle))
		typ, payload, err := r.Next()
		if err != nil {
			return err
		}
		switch typ {
		case soupbin.TypeSequencedData:
			e.strat.now = t.Now()
			e.gw.onSequenced(payload)
		case soupbin.TypeServerHeartbeat:
			e.gw.serverHeartbeat()
		case soupbin.TypeDebug:
		case soupbin.TypeEndOfSession:
			return errSessionEnded
		default:
			e.gw.stats.Malformed++
		}
		if r.Buffered() == 0 {
			e.gw.Flush(t) // what the answers made the strategy do
		}
	}
}

// write flushes the gateway when orders were queued outside a task that
// flushes by itself (the strategy's system, say).
func (e *Engine) write(t *asyncrt.Task, wake *asyncrt.Receiver[struct{}]) {
	for {
		if _, err := wake.Recv(t); err != nil {
			return
		}
		e.gw.Flush(t)
	}
}

func (e *Engine) reportLoop(t *asyncrt.Task) {
	iv, err := t.Interval(e.cfg.ReportEvery)
	if err != nil {
		panic(err)
	}
	var last Summary
	for {
		iv.Tick(t)
		s := e.summary(t)
		fmt.Fprintln(e.cfg.Report, s.Line(last))
		last = s
	}
}

// Backtest replays rec through the engine under the runtime's clock (a
// simulated one, for a deterministic run that takes less time than it
// covers), matching orders in-process, and returns the final report.
func (e *Engine) Backtest(t *asyncrt.Task, rec *recording.Recording, stop *asyncrt.CancellationToken) (*Report, error) {
	if rec == nil {
		return nil, errors.New("engine: Backtest with a nil recording")
	}
	if err := e.setup(t); err != nil {
		return nil, err
	}
	rt := t.Runtime()
	venue, err := newVenue(rt, e.gw)
	if err != nil {
		return nil, err
	}
	e.venue = venue
	e.feed.tap, e.feed.tapReset = venue.onMarket, venue.reset
	wake, wakeRx, err := asyncrt.NewChan[struct{}](rt, 1)
	if err != nil {
		return nil, err
	}
	e.gw.wake = wake
	e.gw.connected(venue, 1, t.Now())

	tasks := asyncrt.NewJoinSet[struct{}]() // results unused: Shutdown ends them
	tasks.SpawnFunc(t, func(t *asyncrt.Task) {
		venue.deliver(t, func() { e.strat.now = t.Now(); e.gw.Flush(t) })
	})
	tasks.SpawnFunc(t, func(t *asyncrt.Task) { e.write(t, wakeRx) }, asyncrt.Named("order writer"))
	if e.cfg.Report != nil {
		tasks.SpawnFunc(t, e.reportLoop)
	}
	start := t.Now()
	for r := range rec.Records() {
		if stop != nil && stop.IsCancelled() {
			break
		}
		t.SleepUntil(start.Add(r.At))
		e.strat.now = t.Now()
		switch r.Kind {
		case recording.KindPacket:
			e.feed.OnPacket(r.Data, monoNow())
		case recording.KindSnapshot:
			if err := e.feed.ApplySnapshot(r.Data); err != nil {
				e.lastErr = err
			}
		case recording.KindOwnOrder:
			ref := recording.OwnOrderRef(r.Data)
			venue.forget(ref)
			e.market.markOwn(ref)
		}
		e.gw.Flush(t)
	}
	e.windDown(t)
	tasks.Shutdown(t)
	return e.report(t), nil
}
