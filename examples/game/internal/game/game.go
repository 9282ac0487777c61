// Package game wires the game example together: the simulation and its
// scripts on one runtime, the player server, and the display — or, in
// headless mode, a deterministic run under the simulated clock, or, in a
// simulation, the server and scripted players on a simulated network.
package game

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime/metrics"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/game/internal/players"
	"github.com/orrery-go/orrery/examples/game/internal/scripts"
	"github.com/orrery-go/orrery/examples/game/internal/sim"
	"github.com/orrery-go/orrery/examples/internal/hdr"
	"github.com/orrery-go/orrery/examples/internal/liveview"
	"github.com/orrery-go/orrery/world"
)

// Config is what the command line sets.
type Config struct {
	// Agents, Seed and TPS configure the simulation.
	Agents int
	Seed   uint64
	TPS    int
	// Duration bounds a live game (0: until ctx is done).
	Duration time.Duration
	// Headless runs Ticks ticks under the simulated clock, with no players
	// and no display, and reports a checksum of the final World.
	Headless bool
	Ticks    uint64
	// Sim runs Ticks ticks under the simulated clock with the player
	// server on a simulated network (package simnet): the server on a host
	// of its own with the World, and Players scripted players (package
	// bots), each on a host of its own, speaking the line protocol over
	// simulated TCP. The same Config gives the same Result, the run's
	// digest included (SimResult). Not with Headless, HTTP, Duration or
	// Addr.
	Sim bool
	// Players is the number of scripted players of a simulation, 0 to
	// MaxPlayers.
	Players int
	// Addr is where players connect ("127.0.0.1:0" picks a port).
	Addr string
	// Out receives the display and the summaries.
	Out io.Writer
	// Terminal draws the arena with ANSI escapes, redrawn in place; when
	// false a text summary is printed every second instead.
	Terminal bool
	// Cols and Rows size the drawing (default 78×22).
	Cols, Rows int
	// ScreenCols and ScreenRows are the terminal's size, if known (0:
	// unknown). A terminal drawing is then shrunk to fit the screen with
	// the final summary below it, so that no line wraps and the join line
	// at the top never scrolls away; a screen too small for it gets the
	// text summaries instead (Terminal is ignored).
	ScreenCols, ScreenRows int
	// OnListen, if set, is told the players' address once it is bound.
	OnListen func(netip.AddrPort)
	// OnAcceptError, if set, is told of each failed accept of a player
	// (the server goes on accepting); otherwise it is logged.
	OnAcceptError func(error)
	// ProfileLabels labels each task's goroutine with its name for CPU
	// profiles (asyncrt.Builder.ProfileLabels).
	ProfileLabels bool
	// HTTP, if set, is a loopback address ("127.0.0.1:8080"; port 0 picks
	// one) to serve the live view on: the spectator page, its stream of
	// snapshots and /metrics. Not with Headless.
	HTTP string
	// OnHTTP, if set, is told the live view's URL once it is served.
	OnHTTP func(url string)
}

// Result is what a game produced.
type Result struct {
	// Ticks is the number of physics ticks run.
	Ticks uint64
	// Checksum is the hash of the final World (headless runs).
	Checksum   uint64
	Population sim.Population
	Stats      sim.Stats
	Players    players.Stats
	// TickP50 and TickP99 are the wall time of a tick's systems.
	TickP50, TickP99 time.Duration
	// AllocsPerTick counts heap allocations per tick over the whole run
	// (scripts included); SystemAllocsPerTick those of the tick's systems
	// alone.
	AllocsPerTick, SystemAllocsPerTick float64
	// LiveTasks is the number of tasks left on the runtime when the game
	// ended (0: nothing leaked).
	LiveTasks int
	Wall      time.Duration
	// Sim is what a simulation adds (nil for other runs).
	Sim *SimResult
}

// fixedTicks reports whether the game runs a fixed number of ticks under
// the simulated clock (headless, or a simulation).
func (c *Config) fixedTicks() bool { return c.Headless || c.Sim }

// live reports whether the game is a live one, on the real clock and
// network, with a display.
func (c *Config) live() bool { return !c.fixedTicks() }

func (c *Config) defaults() error {
	if err := c.simChecks(); err != nil {
		return err
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.TPS == 0 {
		c.TPS = 60
	}
	if c.Cols == 0 {
		c.Cols = 78
	}
	if c.Rows == 0 {
		c.Rows = 22
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
		if c.Sim {
			c.Addr = netip.AddrPortFrom(simServerAddr, SimPort).String()
		}
	}
	if c.Terminal && c.ScreenCols > 0 && c.ScreenRows > 0 {
		if cols, rows, ok := fit(c.Cols, c.Rows, c.ScreenCols, c.ScreenRows); ok {
			c.Cols, c.Rows = cols, rows
		} else {
			c.Terminal = false
		}
	}
	if c.HTTP != "" {
		if c.Headless {
			return errors.New("game: --http shows a live game; a headless run has nothing to watch (drop --headless or --http)")
		}
		if _, err := liveview.CheckAddr(c.HTTP); err != nil {
			return fmt.Errorf("game: --http: %w", err)
		}
	}
	switch {
	case c.Headless && c.Ticks == 0:
		return errors.New("game: a headless run needs a tick count")
	case c.Sim && c.Ticks == 0:
		return errors.New("game: a simulation needs a tick count")
	case c.Duration < 0:
		return fmt.Errorf("game: duration %v must not be negative", c.Duration)
	case c.Cols < 10 || c.Rows < 5 || c.Cols > 1000 || c.Rows > 1000:
		return fmt.Errorf("game: a %dx%d display is out of range", c.Cols, c.Rows)
	}
	return nil
}

// headlessStart is when a headless game's simulated clock starts.
var headlessStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Run plays a game as cfg says and returns its result. If writing to
// cfg.Out fails, the game plays on without a display, and Run returns
// its result with the write error: the caller can still show the
// summary (Result.Summary) elsewhere. So it does if the live view's
// server failed.
func Run(ctx context.Context, cfg Config) (_ *Result, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	began := time.Now()
	w := world.New()
	s, err := sim.New(w, sim.Config{Agents: cfg.Agents, Seed: cfg.Seed, TPS: cfg.TPS})
	if err != nil {
		return nil, err
	}
	if cfg.Duration > 0 && !cfg.fixedTicks() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	// The end of ctx (the duration, Ctrl-C) fires the shutdown signal.
	// The live view's /metrics has the poll-duration histogram: it costs
	// two clock reads a poll, so only then.
	b := asyncrt.NewBuilder().World(w).ShutdownOn(ctx).ProfileLabels(cfg.ProfileLabels).MeasurePolls(cfg.HTTP != "")
	var sr *simRun
	switch {
	case cfg.Sim:
		if sr, err = newSimRun(&cfg, w); err != nil {
			return nil, err
		}
		// No stall watchdog: it measures wall time, which a simulation
		// must not depend on.
		b = b.Clock(sr.clock).Network(sr.net).StallThreshold(0)
	case cfg.Headless:
		b = b.Clock(asyncrt.NewSimClock(headlessStart))
	}
	rt, err := b.Build()
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	var lv *live
	if cfg.HTTP != "" {
		if lv, err = startLive(&cfg, rt); err != nil {
			return nil, err
		}
		// Before the runtime closes (deferred earlier): a scrape may still
		// read its counters until the server is down.
		defer func() {
			if cerr := lv.close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("game: the live view: %w", cerr))
			}
		}()
		if cfg.OnHTTP != nil {
			cfg.OnHTTP(lv.srv.URL())
		}
	}

	m := newMeter()
	s.OnTickStart(func(uint64) { m.start() })
	s.OnTick(func(uint64) { m.end() })
	res := &Result{}
	if cfg.fixedTicks() {
		s.OnTick(func(tick uint64) {
			if tick == cfg.Ticks {
				res.Checksum = s.Checksum() // the World exactly after the last tick
				if sr != nil {
					// The players leave after it, while the World ticks on:
					// the summary is of the World the checksum hashes.
					sr.pop, sr.arena, sr.lastTick = s.Population(), s.Arena().Stats, true
				}
			}
		})
	}
	var d *display
	if cfg.live() {
		d = newDisplay(cfg.Out, cfg.Terminal, cfg.Cols, cfg.Rows)
		// Only for a panic, so that the terminal still gets its cursor
		// back: every other way out closes the display below and reports
		// its error (closing again does nothing).
		defer func() { _ = d.close() }()
	}
	allocsBefore := m.allocs()
	root := func(t *asyncrt.Task) error { return play(t, s, &cfg, res, d, m, lv, nil) }
	if sr != nil {
		root = func(t *asyncrt.Task) error { return sr.run(t, s, &cfg, res, m) }
	}
	if err := asyncrt.Run(rt, root); err != nil {
		if d != nil {
			if werr := d.close(); werr != nil {
				err = errors.Join(err, fmt.Errorf("writing the display: %w", werr))
			}
		}
		return nil, err
	}
	allocs := m.allocs() - allocsBefore
	res.Ticks = s.Arena().Tick
	res.Population, res.Stats = s.Population(), s.Arena().Stats
	res.LiveTasks = rt.Stats().LiveTasks
	if res.Ticks > 0 {
		res.AllocsPerTick = float64(allocs) / float64(res.Ticks)
		res.SystemAllocsPerTick = float64(m.systemAllocs) / float64(m.hist.Count())
	}
	res.TickP50 = time.Duration(m.hist.ValueAtQuantile(50))
	res.TickP99 = time.Duration(m.hist.ValueAtQuantile(99))
	if sr != nil {
		sr.finish(res)
	}
	if d != nil {
		d.final(s, res, m)
		if err := d.close(); err != nil {
			res.Wall = time.Since(began)
			return res, fmt.Errorf("writing the display: %w", err)
		}
	}
	res.Wall = time.Since(began)
	return res, nil
}

// play is the root task (in a simulation, the server host's): it starts
// the spawner, the player server and the display (in a simulation, the
// scripted players), and ends the game when told to (or after the
// headless or simulated ticks).
func play(t *asyncrt.Task, s *sim.Sim, cfg *Config, res *Result, d *display, m *meter, lv *live, sr *simRun) error {
	game := asyncrt.NewCancellationToken()
	tasks := asyncrt.NewJoinSet[error]()
	tasks.Spawn(t, func(t *asyncrt.Task) error { return scripts.Spawner(t, s, game) }, asyncrt.Named("spawner"))

	var srv *players.Server
	if !cfg.Headless {
		var err error
		if srv, err = players.Listen(t, s, cfg.Addr); err != nil {
			return err
		}
		srv.OnAcceptError = cfg.OnAcceptError
		if cfg.OnListen != nil {
			cfg.OnListen(srv.Addr())
		}
		url := ""
		if lv != nil {
			url = lv.srv.URL()
			tasks.SpawnFunc(t, func(t *asyncrt.Task) { lv.publish(t, s, srv, m, game) }, asyncrt.Named("live view"))
		}
		tasks.Spawn(t, func(t *asyncrt.Task) error { return srv.Serve(t, game) }, asyncrt.Named("players"))
		if d != nil {
			d.announce(srv.Addr(), url)
			tasks.SpawnFunc(t, func(t *asyncrt.Task) { d.run(t, s, srv, m, game) }, asyncrt.Named("display"))
		}
	}
	if sr != nil {
		sr.startBots(t, srv.Addr())
	}

	// Wait for the end: the shutdown signal (the duration, Ctrl-C), or
	// the last headless or simulated tick.
	done, doneRx, err := asyncrt.NewChan[struct{}](t.Runtime(), 1)
	if err != nil {
		return err
	}
	if cfg.fixedTicks() {
		s.OnTick(func(tick uint64) {
			if tick >= cfg.Ticks {
				_ = done.TrySend(struct{}{})
			}
		})
	}
	if _, err := asyncrt.Select(t, asyncrt.OnRecv(doneRx), asyncrt.OnShutdown()); err != nil {
		return err
	}
	// End it: the scripted players leave first, as people would; then
	// every script, the spawner, the player server, the display.
	if sr != nil {
		sr.stopBots(t)
	}
	game.Cancel()
	var failed error
	for tasks.Len() > 0 {
		r, _ := tasks.Next(t)
		if r.Err == nil && r.Value != nil && failed == nil {
			failed = r.Value
		}
	}
	if srv != nil {
		res.Players = srv.Stats()
	}
	// The scripts see their tokens cancelled and return; let them. (In a
	// simulation this task is one of its host's, the root another.)
	others := func() bool { return t.Runtime().Stats().LiveTasks > 1 }
	if n := t.Node(); n != nil {
		others = func() bool { return n.Tasks() > 1 }
	}
	for i := 0; i < 1000 && others(); i++ {
		t.Yield()
	}
	return failed
}

// meter times the ticks and counts their allocations.
type meter struct {
	hist         *hdr.Histogram
	began        time.Time
	sample       []metrics.Sample
	startAllocs  uint64
	systemAllocs uint64
}

func newMeter() *meter {
	h, err := hdr.New(1, int64(10*time.Second), 3)
	if err != nil {
		panic(err)
	}
	return &meter{hist: h, sample: []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}}
}

func (m *meter) allocs() uint64 {
	metrics.Read(m.sample)
	return m.sample[0].Value.Uint64()
}

func (m *meter) start() {
	m.startAllocs = m.allocs()
	m.began = time.Now()
}

func (m *meter) end() {
	_ = m.hist.Record(int64(time.Since(m.began)))
	m.systemAllocs += m.allocs() - m.startAllocs
}
