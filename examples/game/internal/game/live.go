package game

import (
	"cmp"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/metrics"
	"github.com/orrery-go/orrery/examples/game/internal/players"
	"github.com/orrery-go/orrery/examples/game/internal/sim"
	"github.com/orrery-go/orrery/examples/internal/liveview"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

// LiveEvery is the live view's period: twenty snapshots a second, twice
// the terminal's frame rate, enough for the canvas to look animated.
const LiveEvery = 50 * time.Millisecond

// hunters is how many of the best hunters the spectator page lists.
const hunters = 5

//go:embed web
var web embed.FS

// view is what the spectator page shows: a snapshot of the game, copied on
// the runtime's thread and shared read-only with the HTTP goroutines.
type view struct {
	Tick    uint64  `json:"tick"`
	Elapsed float64 `json:"elapsed"` // seconds since the game started
	TPS     int     `json:"tps"`
	// W and H are the arena's size in units.
	W float64 `json:"w"`
	H float64 `json:"h"`
	// Join is the players' address (nc HOST PORT).
	Join       string           `json:"join"`
	Population population       `json:"population"`
	Stats      stats            `json:"stats"`
	Hunters    []hunter         `json:"hunters"`
	Players    []players.Player `json:"players"`
	// Sessions and Commands count the player sessions and their commands
	// since the start.
	Sessions uint64 `json:"sessions"`
	Commands uint64 `json:"commands"`
	// TickCount, TickMean, TickP50 and TickP99 describe the wall time of a
	// tick's systems, in microseconds.
	TickCount int64   `json:"tickCount"`
	TickMean  float64 `json:"tickMeanUs"`
	TickP50   float64 `json:"tickP50Us"`
	TickP99   float64 `json:"tickP99Us"`
	// tickP50 and tickP99 are in nanoseconds, for /metrics: seconds made
	// from microseconds would carry rounding errors.
	tickP50, tickP99 int64
	// Tasks is the runtime's live tasks (a script each agent), Polls its
	// task polls so far.
	Tasks int    `json:"tasks"`
	Polls uint64 `json:"polls"`
	// Agents is every entity as a triplet: kind (sim.Kind), x and y in
	// tenths of a unit — compact, and finer than a canvas shows.
	Agents []int32 `json:"agents"`
}

type population struct {
	Prey      int `json:"prey"`
	Predators int `json:"predators"`
	Ships     int `json:"ships"`
	Bullets   int `json:"bullets"`
}

type stats struct {
	Spawned uint64 `json:"spawned"`
	Died    uint64 `json:"died"`
	Kills   uint64 `json:"kills"`
	Bites   uint64 `json:"bites"`
	Shots   uint64 `json:"shots"`
	Hits    uint64 `json:"hits"`
}

// hunter is a predator or a ship that has killed.
type hunter struct {
	Kind  string `json:"kind"`
	ID    uint32 `json:"id"`
	Kills int32  `json:"kills"`
}

// snapshot copies what the page shows. It reads the World: call it on the
// runtime's thread, inside a worldctx scope. srv is nil in tests without
// players.
func snapshot(s *sim.Sim, srv *players.Server, m *meter, rt asyncrt.Stats, elapsed time.Duration) view {
	a := s.Arena()
	pop := s.Population()
	v := view{
		Tick: a.Tick, Elapsed: elapsed.Seconds(), TPS: a.TPS, W: a.W, H: a.H,
		Population: population{Prey: pop.Prey, Predators: pop.Predators, Ships: pop.Ships, Bullets: pop.Bullets},
		Stats: stats{Spawned: a.Stats.Spawned, Died: a.Stats.Died, Kills: a.Stats.Kills,
			Bites: a.Stats.Bites, Shots: a.Stats.Shots, Hits: a.Stats.Hits},
		Hunters: []hunter{}, Players: []players.Player{},
		Tasks: rt.LiveTasks, Polls: rt.Polls,
		Agents: make([]int32, 0, 3*(pop.Prey+pop.Predators+pop.Ships+pop.Bullets)),
	}
	if m != nil && m.hist.Count() > 0 {
		v.TickCount = m.hist.Count()
		v.TickMean = m.hist.Mean() / 1e3
		v.tickP50, v.tickP99 = m.hist.ValueAtQuantile(50), m.hist.ValueAtQuantile(99)
		v.TickP50, v.TickP99 = float64(v.tickP50)/1e3, float64(v.tickP99)/1e3
	}
	s.Each(func(b sim.Body, p sim.Position) {
		v.Agents = append(v.Agents, int32(b.Kind), int32(p.X*10+0.5), int32(p.Y*10+0.5))
	})
	s.EachScore(func(b sim.Body, kills int32) {
		if kills > 0 {
			v.Hunters = append(v.Hunters, hunter{Kind: b.Kind.String(), ID: b.ID, Kills: kills})
		}
	})
	slices.SortFunc(v.Hunters, func(x, y hunter) int {
		return cmp.Or(cmp.Compare(y.Kills, x.Kills), cmp.Compare(x.ID, y.ID))
	})
	v.Hunters = v.Hunters[:min(len(v.Hunters), hunters)]
	if srv != nil {
		v.Join = srv.Addr().String()
		v.Players = srv.Players()
		st := srv.Stats()
		v.Sessions, v.Commands = st.Sessions, st.Commands
	}
	return v
}

// live is the game's live view: the cell the runtime publishes to and the
// HTTP server that reads it.
type live struct {
	cell *liveview.Cell[view]
	srv  *liveview.Server
}

// startLive serves the spectator page and /metrics (the runtime's
// collector and the game's own metrics, read from the latest snapshot) on
// cfg.HTTP.
func startLive(cfg *Config, rt *asyncrt.Runtime) (*live, error) {
	reg := prometheus.NewRegistry()
	rc, err := metrics.NewCollector(rt)
	if err != nil {
		return nil, err
	}
	cell := liveview.NewCell[view]()
	gc, err := liveview.NewCollector(cell, gameMetrics...)
	if err != nil {
		return nil, err
	}
	for _, c := range []prometheus.Collector{rc, gc} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("game: metrics: %w", err)
		}
	}
	page, err := fs.Sub(web, "web")
	if err != nil {
		return nil, err
	}
	srv, err := liveview.Start(liveview.Config{Addr: cfg.HTTP, Page: page, Feed: cell, Registry: reg})
	if err != nil {
		return nil, fmt.Errorf("game: --http: %w", err)
	}
	return &live{cell: cell, srv: srv}, nil
}

// publish is the live view's task: a snapshot every LiveEvery until the
// game ends.
func (l *live) publish(t *asyncrt.Task, s *sim.Sim, srv *players.Server, m *meter, game *asyncrt.CancellationToken) {
	began := t.Now()
	liveview.Publish(t, l.cell, LiveEvery, game, func(t *asyncrt.Task) view {
		var v view
		worldctx.Of(t).With(func(*world.World) {
			v = snapshot(s, srv, m, t.Runtime().Stats(), t.Now().Sub(began))
		})
		return v
	})
}

// close stops the server; the page keeps the last snapshot it got.
func (l *live) close() error {
	l.cell.Close()
	return l.srv.Close()
}

// gameMetrics are the game's own metrics on /metrics.
var gameMetrics = []liveview.Metric[view]{
	counter("game_ticks_total", "Physics ticks run.", func(v view) uint64 { return v.Tick }),
	{Name: "game_entities", Help: "Entities in the arena, by kind.", Kind: liveview.Gauge, Labels: []string{"kind"},
		Value: func(v view, emit func(float64, ...string)) {
			emit(float64(v.Population.Prey), "prey")
			emit(float64(v.Population.Predators), "predator")
			emit(float64(v.Population.Ships), "ship")
			emit(float64(v.Population.Bullets), "bullet")
		}},
	counter("game_spawned_total", "Entities spawned.", func(v view) uint64 { return v.Stats.Spawned }),
	counter("game_deaths_total", "Agents and ships that died.", func(v view) uint64 { return v.Stats.Died }),
	counter("game_kills_total", "Kills by predators and ships.", func(v view) uint64 { return v.Stats.Kills }),
	counter("game_bites_total", "Bites predators landed.", func(v view) uint64 { return v.Stats.Bites }),
	counter("game_shots_total", "Bullets fired.", func(v view) uint64 { return v.Stats.Shots }),
	counter("game_hits_total", "Bullets that hit.", func(v view) uint64 { return v.Stats.Hits }),
	{Name: "game_players", Help: "Players connected.", Kind: liveview.Gauge,
		Value: func(v view, emit func(float64, ...string)) { emit(float64(len(v.Players))) }},
	counter("game_player_sessions_total", "Player sessions opened.", func(v view) uint64 { return v.Sessions }),
	counter("game_player_commands_total", "Commands players typed.", func(v view) uint64 { return v.Commands }),
	{Name: "game_tick_duration_seconds", Help: "Wall time of a tick's systems.", Kind: liveview.Summary,
		Quantiles: func(v view) (uint64, float64, map[float64]float64) {
			return uint64(v.TickCount), v.TickMean * float64(v.TickCount) / 1e6,
				map[float64]float64{0.5: float64(v.tickP50) / 1e9, 0.99: float64(v.tickP99) / 1e9}
		}},
}

func counter(name, help string, value func(view) uint64) liveview.Metric[view] {
	return liveview.Metric[view]{Name: name, Help: help, Kind: liveview.Counter,
		Value: func(v view, emit func(float64, ...string)) { emit(float64(value(v))) }}
}
