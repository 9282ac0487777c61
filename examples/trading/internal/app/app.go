// Package app wires the trading example together: the exchange and the
// engine in one process (each on a runtime of its own), either side alone,
// or a backtest of a recorded feed.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/internal/liveview"
	"github.com/orrery-go/orrery/examples/trading/internal/engine"
	"github.com/orrery-go/orrery/examples/trading/internal/exchange"
	"github.com/orrery-go/orrery/examples/trading/internal/recording"
	"github.com/orrery-go/orrery/world"
)

// Roles a process can take.
const (
	RoleBoth     = "both"
	RoleExchange = "exchange"
	RoleEngine   = "engine"
)

// The order-entry account the engine uses.
const (
	Username = "MAKER1"
	Password = "orrery"
	Session  = "ORRERY1"
)

// Config is what the command line sets.
type Config struct {
	// Duration bounds a live run (0: until ctx is done).
	Duration time.Duration
	// Seed, Instruments, Rate, DropRate and CutEvery configure the
	// exchange (see exchange.Config).
	Seed        uint64
	Instruments int
	Rate        int
	DropRate    float64
	CutEvery    time.Duration
	// Spin makes the runtimes spin instead of parking when idle.
	Spin bool
	// SpinBeforePark makes the parking runtimes poll this long before they
	// sleep (asyncrt.Builder.SpinBeforePark; 0: they sleep at once).
	SpinBeforePark time.Duration
	// Record is a file to record the feed to; Backtest a recording to
	// replay instead of trading live.
	Record, Backtest string
	// Role is RoleBoth (default), RoleExchange or RoleEngine.
	Role string
	// OrderAddr, SnapshotAddr and FeedAddr are the addresses used when
	// the two sides run as separate processes.
	OrderAddr, SnapshotAddr, FeedAddr string
	// Out receives the live summaries and the final report.
	Out io.Writer
	// Strategy and Risk override the engine's defaults when set.
	Strategy engine.StrategyConfig
	Risk     engine.RiskLimits
	// HTTP, if set, is a loopback address ("127.0.0.1:8080"; port 0 picks
	// one) to serve the engine's live dashboard on, with /metrics. Live
	// runs of the engine only (both roles, or the engine's).
	HTTP string
	// OnHTTP, if set, is told the dashboard's URL once it is served.
	OnHTTP func(url string)
	// Sim runs both sides as hosts of a simulated network, on one runtime
	// under a simulated clock (see package simnet): Duration is then
	// simulated time, and the same command prints the same report.
	Sim bool
	// Shuffle makes a simulation run the tasks ready in each cycle in an
	// order drawn from the seed (asyncrt.Builder.ShuffleReady), exploring
	// other interleavings; the run is still reproducible.
	Shuffle bool
	// Partition, if set, cuts the engine off from the exchange for this
	// long at a time, at times drawn from the seed.
	Partition time.Duration
	// Err receives what a simulation reports on the wall clock (nil:
	// discarded).
	Err io.Writer
	// Cores is how many runtimes the engine runs on: 1 (the default; 0
	// means 1), or 2, where a feed relay reads the feed socket on a runtime
	// of its own and hands the packets over a cross channel to the
	// runtime of the World, the strategy and the gateway (see
	// engine.FeedRelay). Two need a live run of both sides in one process.
	// The exchange has a runtime of its own either way.
	Cores int
	// Pin pins each runtime's thread to a CPU of its own
	// (asyncrt.Builder.PinCPU), taking the CPUs the process may use in
	// order: the engine's runtime first, then the feed relay's (Cores 2),
	// then the exchange's. On one machine the order the engine writes wakes
	// the exchange's parked thread, and the kernel tends to run it on the
	// engine's CPU, ahead of the engine; pinned apart, it cannot. A live
	// run of both sides in one process only, with a CPU for each runtime.
	Pin  bool
	cpus []int // with Pin: the CPU of each runtime, engine's first
}

// pinChecks checks that Pin is asked of a live run of both sides, and
// picks a CPU for each of its runtimes.
func (c *Config) pinChecks() error {
	switch {
	case c.Sim:
		return errors.New("app: --pin places the threads of a live run; a simulation runs on one runtime (drop --sim or --pin)")
	case c.Backtest != "":
		return errors.New("app: --pin places the threads of a live run; a backtest replays on one runtime (drop --backtest or --pin)")
	case c.Role != RoleBoth:
		return fmt.Errorf("app: --pin places both sides' runtimes in one process, not --role %s (pin a process with taskset instead)", c.Role)
	}
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return fmt.Errorf("app: --pin: reading the process's CPUs: %w", err)
	}
	need := c.Cores + 1 // the engine's runtimes and the exchange's
	c.cpus = c.cpus[:0]
	for cpu := 0; cpu < len(allowed)*64 && len(c.cpus) < need; cpu++ {
		if allowed.IsSet(cpu) {
			c.cpus = append(c.cpus, cpu)
		}
	}
	if len(c.cpus) < need {
		return fmt.Errorf("app: --pin needs a CPU for each of %d runtimes; the process may use %d", need, allowed.Count())
	}
	return nil
}

// pin pins the runtime b builds to the CPU of runtime i (0: the engine's)
// when Pin is set.
func (c *Config) pin(b *asyncrt.Builder, i int) *asyncrt.Builder {
	if c.Pin {
		b.PinCPU(c.cpus[i])
	}
	return b
}

func (c *Config) errOut() io.Writer {
	if c.Err == nil {
		return io.Discard
	}
	return c.Err
}

// Result is what a run produced.
type Result struct {
	// Engine is the engine's final report (nil for the exchange role).
	Engine *engine.Report
	// Exchange is the exchange's counters and what it says the engine
	// holds (nil for the engine role and backtests).
	Exchange  *exchange.Stats
	Positions []exchange.Position
	// Reconciled reports whether the engine's positions and cash agree with
	// the exchange's executions, instrument by instrument (one process
	// only).
	Reconciled bool
	// Wall is how long the run took.
	Wall time.Duration
	// Sim is what a simulation adds (nil for live runs).
	Sim *SimResult
}

func (c *Config) defaults() error {
	if c.Role == "" {
		c.Role = RoleBoth
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	switch c.Role {
	case RoleBoth, RoleExchange, RoleEngine:
	default:
		return fmt.Errorf("app: unknown role %q (want %s, %s or %s)", c.Role, RoleBoth, RoleExchange, RoleEngine)
	}
	if c.Duration < 0 {
		return fmt.Errorf("app: duration %v must not be negative", c.Duration)
	}
	if c.SpinBeforePark < 0 || c.SpinBeforePark > 10*time.Millisecond {
		return fmt.Errorf("app: spin before park %v must be within [0, 10ms]", c.SpinBeforePark)
	}
	if c.Backtest != "" && c.Role != RoleBoth {
		return errors.New("app: a backtest runs the engine alone; drop the role")
	}
	if c.Backtest != "" && c.Record != "" {
		return errors.New("app: record a live run or replay a recording, not both")
	}
	if c.Cores == 0 {
		c.Cores = 1
	}
	switch {
	case c.Cores != 1 && c.Cores != 2:
		return fmt.Errorf("app: --cores %d: the engine runs on 1 runtime or 2 (feed handler | strategy and gateway)", c.Cores)
	case c.Cores == 2 && c.Sim:
		return errors.New("app: --cores 2 splits a live engine over two threads; a simulation runs on one runtime (drop --sim or --cores)")
	case c.Cores == 2 && c.Backtest != "":
		return errors.New("app: --cores 2 splits a live engine over two threads; a backtest replays on one runtime (drop --backtest or --cores)")
	case c.Cores == 2 && c.Role != RoleBoth:
		return fmt.Errorf("app: --cores 2 runs with both sides in one process, not --role %s (drop --role or --cores)", c.Role)
	}
	if c.Partition < 0 {
		return fmt.Errorf("app: partition %v must not be negative", c.Partition)
	}
	if c.Pin {
		if err := c.pinChecks(); err != nil {
			return err
		}
	}
	if err := c.shuffleChecks(); err != nil {
		return err
	}
	if c.Sim {
		if err := c.simChecks(); err != nil {
			return err
		}
	}
	if c.HTTP != "" {
		switch {
		case c.Backtest != "":
			return errors.New("app: --http shows live trading; a backtest is over in a moment (drop --backtest or --http)")
		case c.Role == RoleExchange:
			return errors.New("app: --http shows the engine's dashboard; the exchange alone has none (run the engine too, or drop --http)")
		}
		if _, err := liveview.CheckAddr(c.HTTP); err != nil {
			return fmt.Errorf("app: --http: %w", err)
		}
	}
	return nil
}

func (c *Config) idle() asyncrt.IdleStrategy {
	if c.Spin {
		return asyncrt.Spin
	}
	return asyncrt.Park
}

func (c *Config) engineConfig() engine.Config {
	return engine.Config{
		FeedAddr: c.FeedAddr, OrderAddr: c.OrderAddr, SnapshotAddr: c.SnapshotAddr,
		Username: Username, Password: Password, Record: c.Record,
		Strategy: c.Strategy, Risk: c.Risk, Report: c.Out, Seed: c.Seed,
	}
}

func (c *Config) exchangeConfig(feed netip.AddrPort) exchange.Config {
	return exchange.Config{
		Instruments: c.Instruments, Rate: c.Rate, Seed: c.Seed, DropRate: c.DropRate,
		CutEvery: c.CutEvery, Partition: c.Partition, Feed: feed, OrderAddr: c.OrderAddr, SnapshotAddr: c.SnapshotAddr,
		Session: Session, Users: map[string]string{Username: Password},
	}
}

// Run runs what cfg asks for until it is done, the duration passes or ctx
// is cancelled (Ctrl-C), and returns the result; the final report is
// printed to cfg.Out.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	began := time.Now()
	if cfg.Duration > 0 && cfg.Backtest == "" && !cfg.Sim {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	var res *Result
	var err error
	switch {
	case cfg.Sim:
		res, err = runSim(ctx, &cfg)
	case cfg.Backtest != "":
		res, err = runBacktest(ctx, &cfg)
	case cfg.Role == RoleExchange:
		res, err = runExchange(ctx, &cfg)
	case cfg.Role == RoleEngine:
		res, err = runEngine(ctx, &cfg)
	default:
		res, err = runBoth(ctx, &cfg)
	}
	if err != nil {
		return nil, err
	}
	res.Wall = time.Since(began)
	return res, nil
}

type exchangeRun struct {
	rt *asyncrt.Runtime
	x  *exchange.Exchange
}

// startExchange makes the exchange on a runtime whose shutdown signal
// fires when stopOn is done, and starts it.
func startExchange(stopOn context.Context, cfg *Config, feed netip.AddrPort) (*exchangeRun, error) {
	x, err := exchange.New(cfg.exchangeConfig(feed))
	if err != nil {
		return nil, err
	}
	b := asyncrt.NewBuilder().Idle(cfg.idle()).SpinBeforePark(cfg.SpinBeforePark).ShutdownOn(stopOn).MeasurePolls(cfg.HTTP != "")
	rt, err := cfg.pin(b, cfg.Cores).Build() // after the engine's runtimes
	if err != nil {
		return nil, err
	}
	if err := asyncrt.Run(rt, x.Start); err != nil {
		rt.Close()
		return nil, err
	}
	return &exchangeRun{rt: rt, x: x}, nil
}

// serve runs the exchange until its shutdown signal fires.
func (r *exchangeRun) serve() error {
	return asyncrt.Run(r.rt, func(t *asyncrt.Task) error { return r.x.Serve(t, t.Runtime().ShutdownToken()) })
}

type engineRun struct {
	rt *asyncrt.Runtime // the engine's: World, strategy, gateway
	e  *engine.Engine
	// With --cores 2: the group of the engine's runtime (0) and the feed
	// relay's (1), and the relay.
	group *asyncrt.Group
	relay *engine.FeedRelay
}

// newEngine makes the engine on a runtime whose shutdown signal fires when
// stopOn is done; with cfg.Cores 2, it splits the feed handler off onto a
// second runtime, stopped once the engine is done.
func newEngine(stopOn context.Context, cfg *Config, clock asyncrt.Clock) (*engineRun, error) {
	w := world.New()
	e, err := engine.New(w, cfg.engineConfig())
	if err != nil {
		return nil, err
	}
	// With --http, /metrics has the poll-duration histogram: two clock
	// reads a poll, so only then.
	configure := func(b *asyncrt.Builder) *asyncrt.Builder {
		return b.Idle(cfg.idle()).SpinBeforePark(cfg.SpinBeforePark).MeasurePolls(cfg.HTTP != "")
	}
	if cfg.Cores == 2 {
		g, err := asyncrt.NewGroup(2, func(i int, b *asyncrt.Builder) {
			cfg.pin(configure(b), i)
			if i == 0 {
				b.World(w).ShutdownOn(stopOn)
			}
		})
		if err != nil {
			return nil, err
		}
		relay, err := e.SplitFeed(g.Runtime(0), g.Runtime(1))
		if err != nil {
			g.Close()
			return nil, err
		}
		return &engineRun{rt: g.Runtime(0), e: e, group: g, relay: relay}, nil
	}
	b := cfg.pin(configure(asyncrt.NewBuilder().World(w).ShutdownOn(stopOn)), 0)
	if clock != nil {
		b = b.Clock(clock)
	}
	rt, err := b.Build()
	if err != nil {
		return nil, err
	}
	return &engineRun{rt: rt, e: e}, nil
}

// close closes the engine's runtimes.
func (r *engineRun) close() {
	if r.group != nil {
		r.group.Close()
		return
	}
	r.rt.Close()
}

// runtimes names the engine's runtimes, for the live view.
func (r *engineRun) runtimes() map[string]*asyncrt.Runtime {
	if r.group != nil {
		return map[string]*asyncrt.Runtime{"engine": r.rt, "feed": r.group.Runtime(1)}
	}
	return map[string]*asyncrt.Runtime{"engine": r.rt}
}

// startEngine makes an engine on the real clock and binds its feed socket
// (on the relay's runtime, with two).
func startEngine(stopOn context.Context, cfg *Config) (*engineRun, error) {
	r, err := newEngine(stopOn, cfg, nil)
	if err != nil {
		return nil, err
	}
	if r.relay != nil {
		err = asyncrt.Run(r.group.Runtime(1), r.relay.Listen)
	} else {
		err = asyncrt.Run(r.rt, r.e.Listen)
	}
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// run trades until the engine runtime's shutdown signal fires, publishing
// to the live view if there is one. With two runtimes, the relay runs on
// the other until the engine is done.
func (r *engineRun) run(lv *live) (*engine.Report, error) {
	if r.group == nil {
		return r.runEngine(lv)
	}
	var rep *engine.Report
	err := r.group.Run(func(t *asyncrt.Task, i int) error {
		if i == 1 {
			return r.relay.Run(t, t.Runtime().ShutdownToken())
		}
		// Whatever becomes of the engine, the relay stops with it.
		defer r.group.Runtime(1).ShutdownHandle().Trigger()
		var err error
		rep, err = r.engineRoot(t, lv)
		return err
	})
	return rep, err
}

// runEngine runs the engine on its one runtime.
func (r *engineRun) runEngine(lv *live) (*engine.Report, error) {
	var rep *engine.Report
	err := asyncrt.Run(r.rt, func(t *asyncrt.Task) error {
		var err error
		rep, err = r.engineRoot(t, lv)
		return err
	})
	return rep, err
}

// engineRoot is the engine runtime's root task.
func (r *engineRun) engineRoot(t *asyncrt.Task, lv *live) (*engine.Report, error) {
	var publisher asyncrt.JoinHandle[struct{}]
	stop := asyncrt.NewCancellationToken()
	if lv != nil {
		publisher = asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { lv.publish(t, r.e, stop) }, asyncrt.Named("live view"))
	}
	rep, err := r.e.Run(t, t.Runtime().ShutdownToken())
	if lv != nil {
		stop.Cancel()
		err = errors.Join(err, publisher.Wait(t))
	}
	return rep, err
}

// serveLive starts the live view if cfg asks for one; done stops it and
// adds its error, if any, to *err.
func serveLive(cfg *Config, runtimes map[string]*asyncrt.Runtime) (lv *live, done func(err *error), err error) {
	if cfg.HTTP == "" {
		return nil, func(*error) {}, nil
	}
	if lv, err = startLive(cfg, runtimes); err != nil {
		return nil, nil, err
	}
	return lv, func(err *error) {
		if cerr := lv.close(); cerr != nil {
			*err = errors.Join(*err, fmt.Errorf("app: the live view: %w", cerr))
		}
	}, nil
}

func runBoth(ctx context.Context, cfg *Config) (_ *Result, err error) {
	if cfg.FeedAddr == "" {
		cfg.FeedAddr = "127.0.0.1:0"
	}
	cfg.OrderAddr, cfg.SnapshotAddr = "127.0.0.1:0", "127.0.0.1:0"
	// The engine stops first, when ctx is done (its runtime's shutdown
	// signal fires on ctx): it cancels its orders and logs out while the
	// exchange still runs, so both sides end with the same fills. The
	// exchange is not tied to ctx: it is stopped once the engine is done.
	er, err := startEngine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer er.close()
	xr, err := startExchange(context.Background(), cfg, er.e.FeedAddr())
	if err != nil {
		return nil, err
	}
	defer xr.rt.Close()
	cfg.OrderAddr, cfg.SnapshotAddr = xr.x.OrderAddr().String(), xr.x.SnapshotAddr().String()
	er.e.SetExchange(cfg.OrderAddr, cfg.SnapshotAddr)
	runtimes := er.runtimes()
	runtimes["exchange"] = xr.rt
	lv, liveDone, err := serveLive(cfg, runtimes)
	if err != nil {
		return nil, err
	}
	defer liveDone(&err) // before the runtimes close: a scrape reads them

	xdone := make(chan error, 1)
	go func() { xdone <- xr.serve() }()
	rep, err := er.run(lv)
	xr.rt.ShutdownHandle().Trigger() // the engine is done: now the exchange
	xerr := <-xdone
	if err = errors.Join(err, xerr); err != nil {
		return nil, err
	}
	stats := xr.x.Stats()
	res := &Result{Engine: rep, Exchange: &stats, Positions: xr.x.Positions(Username)}
	res.Reconciled = reconcile(rep, res.Positions)
	rep.Print(cfg.Out)
	printExchange(cfg.Out, &stats)
	printReconciled(cfg.Out, res)
	return res, nil
}

// printReconciled says whether the two sides agree, and where not.
func printReconciled(w io.Writer, res *Result) {
	if res.Reconciled {
		fmt.Fprintf(w, "reconciled engine and exchange agree on every position and cash balance (%d instruments, %d fills)\n", len(res.Positions), res.Engine.Summary.Fills)
		return
	}
	fmt.Fprintf(w, "reconciled NO: engine and exchange disagree\n")
	for _, p := range res.Positions {
		fmt.Fprintf(w, "           exchange %s pos %+d cash %d fills %d\n", p.Stock, p.Qty, p.Cash, p.Fills)
	}
}

// reconcile compares the engine's positions with the exchange's.
func reconcile(rep *engine.Report, xpos []exchange.Position) bool {
	mine := make(map[uint16]engine.PositionReport, len(rep.Positions))
	for _, p := range rep.Positions {
		mine[p.Locate] = p
	}
	if len(mine) != len(xpos) {
		return false
	}
	for _, x := range xpos {
		p, ok := mine[x.Locate]
		if !ok || p.Qty != x.Qty || p.Cash != x.Cash || p.Fills != x.Fills || p.Volume != x.Volume {
			return false
		}
	}
	return true
}

func printExchange(w io.Writer, s *exchange.Stats) {
	fmt.Fprintf(w, "exchange   feed %d messages in %d packets (%d dropped)  synthetic orders %d  executions %d  user fills %d\n",
		s.FeedMessages, s.FeedPackets, s.FeedDropped, s.SyntheticOrders, s.Executions, s.UserFills)
	fmt.Fprintf(w, "           orders %d  replaces %d  cancels %d  rejects %d  logins %d  cuts %d  disconnects %d  snapshots %d  malformed %d  accept errors %d\n",
		s.Orders, s.Replaces, s.Cancels, s.Rejects, s.Logins, s.Cuts, s.Disconnects, s.Snapshots, s.Malformed, s.AcceptErrors)
	if s.Partitions > 0 {
		fmt.Fprintf(w, "           partitions %d  feed packets lost to them %d\n", s.Partitions, s.FeedPartitioned)
	}
}

func runExchange(ctx context.Context, cfg *Config) (*Result, error) {
	feed, err := netip.ParseAddrPort(cfg.FeedAddr)
	if err != nil {
		return nil, fmt.Errorf("app: feed address: %w", err)
	}
	xr, err := startExchange(ctx, cfg, feed)
	if err != nil {
		return nil, err
	}
	defer xr.rt.Close()
	fmt.Fprintf(cfg.Out, "exchange   order entry %v  snapshots %v  feed to %v\n", xr.x.OrderAddr(), xr.x.SnapshotAddr(), feed)
	if err := xr.serve(); err != nil {
		return nil, err
	}
	stats := xr.x.Stats()
	printExchange(cfg.Out, &stats)
	return &Result{Exchange: &stats, Positions: xr.x.Positions(Username)}, nil
}

func runEngine(ctx context.Context, cfg *Config) (_ *Result, err error) {
	er, err := startEngine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer er.close()
	fmt.Fprintf(cfg.Out, "engine     feed on %v  orders to %s  snapshots from %s\n", er.e.FeedAddr(), cfg.OrderAddr, cfg.SnapshotAddr)
	lv, liveDone, err := serveLive(cfg, er.runtimes())
	if err != nil {
		return nil, err
	}
	defer liveDone(&err)
	rep, err := er.run(lv)
	if err != nil {
		return nil, err
	}
	rep.Print(cfg.Out)
	return &Result{Engine: rep}, nil
}

// backtestStart is when a backtest's simulated clock starts: fixed, so runs
// are identical.
var backtestStart = time.Date(2026, 1, 5, 14, 30, 0, 0, time.UTC)

func runBacktest(ctx context.Context, cfg *Config) (*Result, error) {
	rec, err := recording.Open(cfg.Backtest)
	if err != nil {
		return nil, err
	}
	er, err := newEngine(ctx, cfg, asyncrt.NewSimClock(backtestStart))
	if err != nil {
		return nil, err
	}
	defer er.close()
	var rep *engine.Report
	err = asyncrt.Run(er.rt, func(t *asyncrt.Task) error {
		var err error
		rep, err = er.e.Backtest(t, rec, t.Runtime().ShutdownToken())
		return err
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Out, "backtest   %d records covering %.1fs of feed\n", rec.Len(), rec.Span().Seconds())
	rep.Print(cfg.Out)
	return &Result{Engine: rep}, nil
}
