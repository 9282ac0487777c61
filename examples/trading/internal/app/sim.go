package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
	"github.com/orrery-go/orrery/examples/trading/internal/engine"
	"github.com/orrery-go/orrery/examples/trading/internal/exchange"
	"github.com/orrery-go/orrery/world"
)

// The simulated hosts' addresses: loopback-range, so that nothing a
// simulation does could ever leave the machine, even by mistake.
var (
	simExchangeAddr = netip.MustParseAddr("127.0.1.1")
	simEngineAddr   = netip.MustParseAddr("127.0.1.2")
)

// settleWithin bounds a simulation's quiet phase.
const settleWithin = 30 * time.Second

// simStart is when a simulation's clock starts: fixed, so that runs are
// identical.
var simStart = time.Date(2026, 1, 5, 14, 30, 0, 0, time.UTC)

// SimLink is the link between the exchange's host and the engine's in a
// simulation: a co-located engine, some 20 µs away.
var SimLink = simnet.Link{Latency: 20 * time.Microsecond, Jitter: 5 * time.Microsecond}

// simChecks validates what a simulation cannot do.
func (c *Config) simChecks() error {
	switch {
	case c.Role != RoleBoth:
		return errors.New("app: --sim runs both sides on one simulated network; drop --role")
	case c.Backtest != "":
		return errors.New("app: --sim and --backtest are two kinds of replay; pick one")
	case c.Record != "":
		return errors.New("app: --sim runs are reproduced from their seed; --record is for live runs")
	case c.HTTP != "":
		return errors.New("app: --http serves a live run; a simulation is over in a moment")
	case c.Spin || c.SpinBeforePark > 0:
		return errors.New("app: --spin and --spin-before-park tune a live runtime; a simulated one never waits")
	case c.Duration <= 0:
		return errors.New("app: --sim needs a --duration of simulated time")
	}
	return nil
}

// shuffleChecks refuses --shuffle outside a simulation.
func (c *Config) shuffleChecks() error {
	if c.Shuffle && !c.Sim {
		return errors.New("app: --shuffle reorders a simulation's tasks; add --sim")
	}
	return nil
}

// SimResult is what a simulation adds to a Result.
type SimResult struct {
	// Digest is the run's digest (simnet.Network.Digest): equal for two
	// runs of the same command.
	Digest uint64
	// Simulated is the simulated time the run covered; Faulty the part of
	// it with faults on (the duration asked for), after which a quiet phase
	// lets the engine settle.
	Simulated, Faulty time.Duration
	// Settled reports whether the engine settled in the quiet phase: its
	// session up, every request answered, its feed not recovering.
	Settled bool
	// Net is what the simulated network carried.
	Net simnet.Stats
	// Partitions counts the partitions injected.
	Partitions int
	// LeftTasks counts the tasks still unfinished on the two hosts once
	// both sides stopped, OpenSockets the sockets still open: 0 unless
	// something leaked.
	LeftTasks, OpenSockets int
}

// runSim runs the exchange and the engine as two hosts of a simulated
// network, on one runtime under a simulated clock, with their real wire
// protocols. The report on cfg.Out is identical for identical commands;
// wall-clock figures go to cfg.Err.
func runSim(ctx context.Context, cfg *Config) (*Result, error) {
	net, err := simnet.New(simnet.Config{Seed: cfg.Seed, Link: SimLink})
	if err != nil {
		return nil, err
	}
	w := world.New()
	xh, err := net.AddHost("exchange", simExchangeAddr, nil)
	if err != nil {
		return nil, err
	}
	eh, err := net.AddHost("engine", simEngineAddr, w)
	if err != nil {
		return nil, err
	}
	cfg.FeedAddr = netip.AddrPortFrom(simEngineAddr, 0).String()
	cfg.OrderAddr = netip.AddrPortFrom(simExchangeAddr, 0).String()
	cfg.SnapshotAddr = cfg.OrderAddr
	e, err := engine.New(w, cfg.engineConfig())
	if err != nil {
		return nil, err
	}
	clock := asyncrt.NewSimClock(simStart)
	// No stall watchdog: it measures wall time, which a simulation's
	// report must not depend on.
	b := asyncrt.NewBuilder().World(w).Clock(clock).Network(net).StallThreshold(0).ShutdownOn(ctx)
	if cfg.Shuffle {
		b = b.ShuffleReady(cfg.Seed)
	}
	rt, err := b.Build()
	if err != nil {
		return nil, err
	}
	defer rt.Close()

	res := &Result{Sim: &SimResult{}}
	var x *exchange.Exchange
	var rep *engine.Report
	err = asyncrt.Run(rt, func(t *asyncrt.Task) error {
		onExchange, onEngine := asyncrt.InNode(xh.Node()), asyncrt.InNode(eh.Node())
		if err := asyncrt.Spawn(t, e.Listen, onEngine).Wait(t); err != nil {
			return err
		}
		var err error
		xcfg := cfg.exchangeConfig(e.FeedAddr())
		xcfg.Partition = 0 // the simulated network partitions itself
		if x, err = exchange.New(xcfg); err != nil {
			return err
		}
		if err := asyncrt.Spawn(t, x.Start, onExchange).Wait(t); err != nil {
			return err
		}
		e.SetExchange(x.OrderAddr().String(), x.SnapshotAddr().String())

		stopEngine, stopExchange := asyncrt.NewCancellationToken(), asyncrt.NewCancellationToken()
		xj := asyncrt.Spawn(t, func(t *asyncrt.Task) error { return x.Serve(t, stopExchange) }, onExchange, asyncrt.Named("exchange"))
		ej := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			var err error
			rep, err = e.Run(t, stopEngine)
			return err
		}, onEngine, asyncrt.Named("engine"))
		var faults asyncrt.JoinHandle[struct{}]
		if cfg.Partition > 0 {
			faults = asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
				partitions(t, net, xh, eh, cfg.Partition, &res.Sim.Partitions)
			}, asyncrt.Named("partitions"))
		}

		// The run lasts the duration of simulated time, or until Ctrl-C.
		stop := t.Runtime().ShutdownToken()
		_, _ = asyncrt.Select(t, asyncrt.OnTimeout(cfg.Duration), asyncrt.OnCancel(stop))
		res.Sim.Faulty = clock.Elapsed()
		// Then a quiet phase: the faults stop, and the engine gets up to
		// settleWithin to resolve what they left (reconnect, hear every
		// answer, finish a recovery), so that the final books are final.
		if cfg.Partition > 0 {
			faults.Abort()
			_ = faults.Wait(t)
			if net.Partitioned(xh, eh) {
				if err := net.Heal(t, xh, eh); err != nil {
					return err
				}
			}
		}
		x.Quiesce()
		// A heartbeat interval first, so that what the faults did just
		// before they stopped (a packet dropped, a request lost) shows.
		t.Sleep(time.Second)
		for deadline := t.Now().Add(settleWithin); !e.Settled() && t.Now().Before(deadline) && !stop.IsCancelled(); {
			t.Sleep(10 * time.Millisecond)
		}
		res.Sim.Settled = e.Settled()
		// The engine stops first (it cancels its orders and logs out while
		// the exchange still runs), then the exchange.
		stopEngine.Cancel()
		eerr := ej.Wait(t)
		stopExchange.Cancel()
		xerr := xj.Wait(t)
		res.Sim.Simulated = clock.Elapsed()
		res.Sim.LeftTasks = xh.Node().Tasks() + eh.Node().Tasks()
		res.Sim.OpenSockets = net.OpenSockets()
		return errors.Join(eerr, xerr)
	})
	if err != nil {
		return nil, err
	}
	res.Sim.Digest = net.Digest()
	res.Sim.Net = net.Stats()
	stats := x.Stats()
	res.Engine, res.Exchange, res.Positions = rep, &stats, x.Positions(Username)
	res.Reconciled = reconcile(rep, res.Positions)
	rep.Simulated = true
	rep.Print(cfg.Out)
	printExchange(cfg.Out, &stats)
	printReconciled(cfg.Out, res)
	printSim(cfg.Out, res.Sim)
	rep.PrintLatency(cfg.errOut())
	return res, nil
}

// partitions cuts the link between the exchange's host and the engine's
// for d at a time, at seeded times: each cut begins after a quiet spell
// drawn from [d, 3d), until the task is aborted.
func partitions(t *asyncrt.Task, net *simnet.Network, a, b *simnet.Host, d time.Duration, count *int) {
	for {
		t.Sleep(exchange.PartitionGap(net.Rand(), d))
		if err := net.Partition(t, a, b); err != nil {
			panic(err) // two hosts of one network: cannot fail
		}
		*count++
		t.Sleep(d)
		if err := net.Heal(t, a, b); err != nil {
			panic(err)
		}
	}
}

// printSim writes what only a simulation has: the network's counters and
// the digest, the run's fingerprint.
func printSim(w io.Writer, s *SimResult) {
	n := s.Net
	settled := "settled"
	if !s.Settled {
		settled = "NOT settled"
	}
	fmt.Fprintf(w, "quiet      faults stopped at %.1fs; the engine %s by %.3fs\n", s.Faulty.Seconds(), settled, s.Simulated.Seconds())
	fmt.Fprintf(w, "simnet     %.1fs simulated  segments %d (%d bytes, %d retransmits)  datagrams %d (%d lost, %d dropped)  connects %d  resets %d  partitions %d\n",
		s.Simulated.Seconds(), n.Segments, n.SegmentBytes, n.Retransmits, n.Datagrams, n.DatagramsLost, n.DatagramsDropped, n.Connects, n.Resets, s.Partitions)
	if s.LeftTasks > 0 || s.OpenSockets > 0 {
		fmt.Fprintf(w, "leaked     %d tasks still on the hosts and %d sockets open after both sides stopped\n", s.LeftTasks, s.OpenSockets)
	}
	fmt.Fprintf(w, "digest: %016x\n", s.Digest)
}
