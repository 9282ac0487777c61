package game

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
	"github.com/orrery-go/orrery/examples/game/internal/bots"
	"github.com/orrery-go/orrery/examples/game/internal/sim"
	"github.com/orrery-go/orrery/world"
)

// MaxPlayers is the most scripted players a simulation has: one host each,
// at 127.0.2.2 and on.
const MaxPlayers = 200

// SimPort is the port the arena server listens on in a simulation.
const SimPort = 7000

// SimLink is the link between any two hosts of a simulation: 1 to 3 ms
// one way, players on a good network near the server.
var SimLink = simnet.Link{Latency: time.Millisecond, Jitter: 2 * time.Millisecond}

// simServerAddr is the arena server's host in a simulation; the players'
// hosts follow it. Loopback-range, so that nothing a simulation does could
// ever leave the machine, even by mistake.
var simServerAddr = netip.MustParseAddr("127.0.2.1")

// SimResult is what a simulation adds to a Result.
type SimResult struct {
	// Digest is the run's digest (simnet.Network.Digest): every delivery
	// on the simulated network and every task poll, in order. Two runs of
	// the same Config print the same one.
	Digest uint64
	// Simulated is the simulated time the run covered, the players'
	// goodbyes included.
	Simulated time.Duration
	// Net is what the simulated network carried.
	Net simnet.Stats
	// Bots is what each scripted player did, in player order.
	Bots []bots.Stats
	// BotErrors are the errors the players met (none in a sound run).
	BotErrors []error
	// LeftTasks counts the tasks still unfinished on the hosts once the
	// game ended: 0 unless something leaked.
	LeftTasks int

	agents, tps int
}

// simChecks validates the simulation's settings, and that no other run
// asks for scripted players.
func (c *Config) simChecks() error {
	switch {
	case c.Players < 0:
		return fmt.Errorf("game: --players %d must not be negative", c.Players)
	case c.Players > MaxPlayers:
		return fmt.Errorf("game: --players %d: a simulation has room for %d players at most", c.Players, MaxPlayers)
	case !c.Sim && c.Players > 0:
		return errors.New("game: --players are the scripted players of a simulation; add --sim")
	case !c.Sim:
		return nil
	case c.Headless:
		return errors.New("game: --sim and --headless are two kinds of deterministic run; pick one (--headless has no players)")
	case c.HTTP != "":
		return errors.New("game: --http shows a live game; a simulation is over in a moment (drop --http)")
	case c.Duration != 0:
		return errors.New("game: a simulation lasts --ticks ticks of simulated time; drop --duration")
	case c.Addr != "":
		return fmt.Errorf("game: in a simulation the server listens on its simulated host, %v; drop --addr",
			netip.AddrPortFrom(simServerAddr, SimPort))
	}
	return nil
}

// simRun is a simulation's network, hosts and players.
type simRun struct {
	clock   *asyncrt.SimClock
	net     *simnet.Network
	server  *simnet.Host
	players []*simnet.Host
	cfg     *Config

	leave   *asyncrt.CancellationToken // the players leave
	handles []asyncrt.JoinHandle[struct{}]
	stats   []bots.Stats
	errs    []error

	// The World after the last tick, which the checksum hashes; lastTick
	// tells whether it was reached (not if Ctrl-C came first).
	pop      sim.Population
	arena    sim.Stats
	lastTick bool

	simulated time.Duration
	leftTasks int
}

// newSimRun makes the simulated network: the server's host with w, and a
// host per player.
func newSimRun(cfg *Config, w *world.World) (*simRun, error) {
	net, err := simnet.New(simnet.Config{Seed: cfg.Seed, Link: SimLink})
	if err != nil {
		return nil, err
	}
	sr := &simRun{clock: asyncrt.NewSimClock(headlessStart), net: net, cfg: cfg, leave: asyncrt.NewCancellationToken()}
	if sr.server, err = net.AddHost("server", simServerAddr, w); err != nil {
		return nil, err
	}
	addr := simServerAddr
	for i := range cfg.Players {
		addr = addr.Next()
		h, err := net.AddHost(fmt.Sprintf("player-%d", i+1), addr, nil)
		if err != nil {
			return nil, err
		}
		sr.players = append(sr.players, h)
	}
	sr.stats = make([]bots.Stats, cfg.Players)
	sr.errs = make([]error, cfg.Players)
	return sr, nil
}

// run is a simulation's root task: the game runs on the server's host.
func (sr *simRun) run(t *asyncrt.Task, s *sim.Sim, cfg *Config, res *Result, m *meter) error {
	err := asyncrt.Spawn(t, func(t *asyncrt.Task) error { return play(t, s, cfg, res, nil, m, nil, sr) },
		asyncrt.InNode(sr.server.Node()), asyncrt.Named("arena")).Wait(t)
	sr.simulated = sr.clock.Elapsed()
	for _, h := range sr.net.Hosts() {
		sr.leftTasks += h.Node().Tasks()
	}
	return err
}

// startBots starts each scripted player on its host; they connect to the
// server at addr.
func (sr *simRun) startBots(t *asyncrt.Task, addr netip.AddrPort) {
	for i, h := range sr.players {
		bc := bots.Config{Server: addr, Seed: sr.cfg.Seed, Index: i + 1}
		sr.handles = append(sr.handles, asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
			sr.stats[i], sr.errs[i] = bots.Play(t, bc, sr.leave)
		}, asyncrt.InNode(h.Node()), asyncrt.Named("bot")))
	}
}

// stopBots tells the players to leave and waits until they have. Their
// errors are reported with the result, not as the game's failure: the
// server rode them out.
func (sr *simRun) stopBots(t *asyncrt.Task) {
	sr.leave.Cancel()
	var errs []error
	for i, h := range sr.handles {
		if err := h.Wait(t); err != nil && sr.errs[i] == nil {
			sr.errs[i] = fmt.Errorf("bot %d: %w", i+1, err) // it panicked
		}
		if sr.errs[i] != nil {
			errs = append(errs, sr.errs[i])
		}
	}
	sr.errs = errs
}

// finish completes the result once the runtime has stopped.
func (sr *simRun) finish(res *Result) {
	if sr.lastTick {
		res.Ticks = sr.cfg.Ticks
		res.Population, res.Stats = sr.pop, sr.arena
	}
	res.Sim = &SimResult{
		Digest: sr.net.Digest(), Simulated: sr.simulated, Net: sr.net.Stats(),
		Bots: sr.stats, BotErrors: sr.errs, LeftTasks: sr.leftTasks,
		agents: sr.cfg.Agents, tps: sr.cfg.TPS,
	}
}

// bestPlayers is how many players the report lists by name.
const bestPlayers = 5

// SimReport is a simulation's report: what happened in the arena, what the
// server and the players did, what the network carried, the World's
// checksum and, last, the run's digest. Nothing in it depends on the wall
// clock: the same Config gives the same report (see SimWall for the rest).
func (r *Result) SimReport() string {
	var b strings.Builder
	sr := r.Sim
	pop, st, pl := r.Population, r.Stats, r.Players
	fmt.Fprintf(&b, "%d ticks (%.1fs simulated) of %d agents and %d players: prey %d predators %d ships %d bullets %d | spawned %d died %d kills %d bites %d shots %d hits %d\n",
		r.Ticks, float64(r.Ticks)/float64(sr.tps), sr.agents, len(sr.Bots),
		pop.Prey, pop.Predators, pop.Ships, pop.Bullets, st.Spawned, st.Died, st.Kills, st.Bites, st.Shots, st.Hits)
	fmt.Fprintf(&b, "server: sessions %d commands %d errors %d state lines %d accept errors %d\n",
		pl.Sessions, pl.Commands, pl.Errors, pl.Updates, pl.AcceptErrors)
	var sum bots.Stats
	connected := 0
	for _, s := range sr.Bots {
		if s.Connected {
			connected++
		}
		sum.Commands += s.Commands
		sum.Lines += s.Lines
		sum.Errors += s.Errors
		sum.Spawns += s.Spawns
		sum.Deaths += s.Deaths
		sum.Moves += s.Moves
		sum.Shots += s.Shots
		sum.Kills += s.Kills
	}
	fmt.Fprintf(&b, "players: connected %d/%d commands %d (errors %d) lines read %d | ships %d destroyed %d | moves %d shots %d kills %d\n",
		connected, len(sr.Bots), sum.Commands, sum.Errors, sum.Lines, sum.Spawns, sum.Deaths, sum.Moves, sum.Shots, sum.Kills)
	best := slices.Clone(sr.Bots)
	slices.SortStableFunc(best, func(x, y bots.Stats) int {
		return cmp.Or(cmp.Compare(y.Kills, x.Kills), cmp.Compare(x.Deaths, y.Deaths), cmp.Compare(x.Index, y.Index))
	})
	for _, s := range best[:min(len(best), bestPlayers)] {
		fmt.Fprintf(&b, "  player-%-3d kills %d destroyed %d ships %d shots %d moves %d commands %d\n",
			s.Index, s.Kills, s.Deaths, s.Spawns, s.Shots, s.Moves, s.Commands)
	}
	for _, err := range sr.BotErrors {
		fmt.Fprintf(&b, "player error: %v\n", err)
	}
	n := sr.Net
	fmt.Fprintf(&b, "simnet: %.3fs simulated, %d hosts | segments %d (%d bytes) retransmits %d | connects %d refused %d resets %d\n",
		sr.Simulated.Seconds(), len(sr.Bots)+1, n.Segments, n.SegmentBytes, n.Retransmits, n.Connects, n.Refused, n.Resets)
	if sr.LeftTasks > 0 {
		fmt.Fprintf(&b, "leaked: %d tasks still on the hosts after the game ended\n", sr.LeftTasks)
	}
	fmt.Fprintf(&b, "checksum %016x\n", r.Checksum)
	fmt.Fprintf(&b, "digest: %016x\n", sr.Digest)
	return b.String()
}

// SimWall is what a simulation measured on the wall clock, which varies
// from run to run: how long it took, how much faster than real time, and
// the time and allocations of the ticks.
func (r *Result) SimWall() string {
	speed := r.Sim.Simulated.Seconds() / max(r.Wall.Seconds(), 1e-9)
	return fmt.Sprintf("wall time %.2fs (%.1fx real time) | tick time p50 %v p99 %v | allocations per tick %.1f (systems alone %.1f)",
		r.Wall.Seconds(), speed, r.TickP50.Round(time.Microsecond), r.TickP99.Round(time.Microsecond),
		r.AllocsPerTick, r.SystemAllocsPerTick)
}
