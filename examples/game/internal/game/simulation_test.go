package game_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/examples/game/internal/game"
)

// simulate runs a simulation of 120 ticks with 100 agents.
func simulate(t *testing.T, seed uint64, players int) *game.Result {
	t.Helper()
	res, err := game.Run(context.Background(), game.Config{Agents: 100, Seed: seed, Sim: true, Ticks: 120, Players: players})
	require.NoError(t, err)
	require.NotNil(t, res.Sim)
	return res
}

var digestLine = regexp.MustCompile(`\ndigest: ([0-9a-f]{16})\n$`)

// TestSimulationsAreDeterministic runs the same simulation twice, server
// and players on the simulated network: the same report, word for word,
// digest included. Another seed is another run, and players change the
// game.
func TestSimulationsAreDeterministic(t *testing.T) {
	defer goleak.VerifyNone(t)
	const players = 5
	a, b := simulate(t, 7, players), simulate(t, 7, players)
	report := a.SimReport()
	assert.Equal(t, report, b.SimReport(), "the same seed, the same run")
	m := digestLine.FindStringSubmatch(report)
	require.NotNil(t, m, "the digest is the last line: %q", report)
	assert.Contains(t, report, "\nchecksum ")
	assert.Equal(t, a.Sim.Digest, b.Sim.Digest)
	assert.Equal(t, a.Checksum, b.Checksum)
	assert.Equal(t, a.Players, b.Players)
	assert.Equal(t, a.Sim.Bots, b.Sim.Bots)
	assert.Equal(t, a.Sim.Net, b.Sim.Net)

	c := simulate(t, 8, players)
	assert.NotEqual(t, a.Sim.Digest, c.Sim.Digest, "another seed, another run")
	assert.NotEqual(t, a.Checksum, c.Checksum)

	// The players connected, played and left.
	assert.Equal(t, uint64(players), a.Players.Sessions, "every player connected")
	assert.Positive(t, a.Players.Commands, "and typed commands")
	assert.Positive(t, a.Players.Updates, "and watched")
	assert.Zero(t, a.Players.Active, "and left before the server stopped")
	assert.Equal(t, uint64(players), a.Sim.Net.Connects)
	assert.Positive(t, a.Sim.Net.Segments)
	assert.Empty(t, a.Sim.BotErrors)
	require.Len(t, a.Sim.Bots, players)
	var commands uint64
	for i, s := range a.Sim.Bots {
		assert.Equal(t, i+1, s.Index)
		assert.True(t, s.Connected, "player %d", s.Index)
		assert.True(t, s.Goodbye, "player %d quit and was told bye", s.Index)
		assert.Positive(t, s.Spawns, "player %d spawned a ship", s.Index)
		assert.Positive(t, s.Updates, "player %d got state lines", s.Index)
		commands += s.Commands
	}
	assert.Equal(t, a.Players.Commands, commands, "the server took every command the players typed")
	assert.Positive(t, a.Stats.Shots, "the players fired")
	assert.Equal(t, uint64(120), a.Ticks)
	assert.Zero(t, a.Sim.LeftTasks, "no task left on a host")
	assert.Positive(t, a.Sim.Simulated, "the simulated time covers the ticks and the goodbyes")
	assert.GreaterOrEqual(t, a.Sim.Simulated, 2*time.Second, "120 ticks at 60 Hz")

	// Without players, the same seed plays another game.
	none := simulate(t, 7, 0)
	assert.NotEqual(t, a.Checksum, none.Checksum, "the players' ships change the World")
	assert.Zero(t, none.Players.Sessions)
	assert.Contains(t, none.SimReport(), " and 0 players: ")
}

// TestSimulationReport checks the report's lines, and that the wall-clock
// figures are left out of it.
func TestSimulationReport(t *testing.T) {
	defer goleak.VerifyNone(t)
	res := simulate(t, 1, 3)
	lines := strings.Split(strings.TrimSuffix(res.SimReport(), "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 8, "%q", lines)
	assert.Regexp(t, `^120 ticks \(2\.0s simulated\) of 100 agents and 3 players: prey \d+ predators \d+ ships \d+ bullets \d+ \| spawned \d+ died \d+ kills \d+ bites \d+ shots \d+ hits \d+$`, lines[0])
	assert.Regexp(t, `^server: sessions 3 commands [1-9]\d* errors \d+ state lines \d+ accept errors 0$`, lines[1])
	assert.Regexp(t, `^players: connected 3/3 commands \d+ \(errors \d+\) lines read \d+ \| ships \d+ destroyed \d+ \| moves \d+ shots \d+ kills \d+$`, lines[2])
	for _, l := range lines[3:6] {
		assert.Regexp(t, `^  player-\d +kills \d+ destroyed \d+ ships \d+ shots \d+ moves \d+ commands \d+$`, l)
	}
	assert.Regexp(t, `^simnet: [\d.]+s simulated, 4 hosts \| segments \d+ \(\d+ bytes\) retransmits 0 \| connects 3 refused 0 resets 0$`, lines[6])
	assert.Regexp(t, `^checksum [0-9a-f]{16}$`, lines[7])
	assert.Regexp(t, `^digest: [0-9a-f]{16}$`, lines[len(lines)-1])
	assert.NotContains(t, res.SimReport(), "wall")
	assert.Regexp(t, `^wall time [\d.]+s \([\d.]+x real time\) \| tick time p50 `, res.SimWall())
}

func TestSimulationConfigIsValidated(t *testing.T) {
	for _, c := range []struct {
		cfg  game.Config
		want string
	}{
		{game.Config{Agents: 10, Sim: true, Ticks: 1, Headless: true}, "--sim and --headless"},
		{game.Config{Agents: 10, Sim: true, Ticks: 1, HTTP: "127.0.0.1:0"}, "--http"},
		{game.Config{Agents: 10, Sim: true, Ticks: 1, Duration: time.Second}, "drop --duration"},
		{game.Config{Agents: 10, Sim: true, Ticks: 1, Addr: "127.0.0.1:0"}, "drop --addr"},
		{game.Config{Agents: 10, Sim: true}, "needs a tick count"},
		{game.Config{Agents: 10, Sim: true, Ticks: 1, Players: -1}, "must not be negative"},
		{game.Config{Agents: 10, Sim: true, Ticks: 1, Players: game.MaxPlayers + 1}, "200 players at most"},
		{game.Config{Agents: 10, Headless: true, Ticks: 1, Players: 2}, "add --sim"},
		{game.Config{Agents: 10, Duration: time.Second, Players: 2}, "add --sim"},
	} {
		_, err := game.Run(context.Background(), c.cfg)
		if assert.Error(t, err, c.want) {
			assert.Contains(t, err.Error(), c.want)
		}
	}
}

// TestSimulationTakesMaxPlayers runs a short simulation with the most
// players: every one of them gets a host and connects.
func TestSimulationTakesMaxPlayers(t *testing.T) {
	defer goleak.VerifyNone(t)
	res, err := game.Run(context.Background(), game.Config{Agents: 50, Seed: 2, Sim: true, Ticks: 60, Players: game.MaxPlayers})
	require.NoError(t, err)
	assert.Equal(t, uint64(game.MaxPlayers), res.Players.Sessions)
	assert.Empty(t, res.Sim.BotErrors)
	assert.Zero(t, res.Sim.LeftTasks)
}
