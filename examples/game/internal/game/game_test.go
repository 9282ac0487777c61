package game_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/examples/game/internal/game"
	"github.com/orrery-go/orrery/examples/internal/lowfd"
)

func headless(t *testing.T, seed uint64) *game.Result {
	res, err := game.Run(context.Background(), game.Config{Agents: 200, Seed: seed, Headless: true, Ticks: 400})
	require.NoError(t, err)
	require.Equal(t, uint64(400), res.Ticks)
	return res
}

func TestHeadlessRunsAreDeterministic(t *testing.T) {
	defer goleak.VerifyNone(t)
	a, b, c := headless(t, 7), headless(t, 7), headless(t, 8)
	assert.Equal(t, a.Checksum, b.Checksum, "the same seed, the same World")
	assert.Equal(t, a.Stats, b.Stats)
	assert.NotEqual(t, a.Checksum, c.Checksum, "another seed, another game")
	assert.Greater(t, a.Stats.Kills, uint64(0), "predators hunt")
	assert.Zero(t, a.LiveTasks, "every script ended with the game")
}

func TestConfigIsValidated(t *testing.T) {
	for name, cfg := range map[string]game.Config{
		"no agents":     {Agents: 0, Headless: true, Ticks: 1},
		"no ticks":      {Agents: 10, Headless: true},
		"negative tps":  {Agents: 10, TPS: -1, Headless: true, Ticks: 1},
		"tiny display":  {Agents: 10, Cols: 3, Duration: time.Second},
		"negative time": {Agents: 10, Duration: -time.Second},
	} {
		_, err := game.Run(context.Background(), cfg)
		assert.Error(t, err, name)
	}
}

// player is a test client speaking the line protocol.
type player struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func join(t *testing.T, addr netip.AddrPort) *player {
	conn, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	p := &player{t: t, conn: conn, r: bufio.NewReader(conn)}
	assert.Contains(t, p.line(), "welcome")
	return p
}

func (p *player) line() string {
	l, err := p.r.ReadString('\n')
	require.NoError(p.t, err)
	return strings.TrimSuffix(l, "\n")
}

// do sends a command and returns the first reply that is not a watch
// update.
func (p *player) do(cmd string) string {
	_, err := p.conn.Write([]byte(cmd + "\n"))
	require.NoError(p.t, err)
	for {
		if l := p.line(); !strings.HasPrefix(l, "tick ") || strings.HasPrefix(cmd, "stats") {
			return l
		}
	}
}

// live runs a game until the test calls the returned stop function.
func live(t *testing.T, opts ...func(*game.Config)) (netip.AddrPort, func() *game.Result) {
	addrs := make(chan netip.AddrPort, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *game.Result, 1)
	var out bytes.Buffer
	go func() {
		cfg := game.Config{Agents: 100, Seed: 3, Out: &out, OnListen: func(a netip.AddrPort) { addrs <- a }}
		for _, o := range opts {
			o(&cfg)
		}
		res, err := game.Run(ctx, cfg)
		assert.NoError(t, err)
		done <- res
	}()
	var addr netip.AddrPort
	select {
	case addr = <-addrs:
	case <-done:
		t.Fatal("the game ended before it listened")
	}
	return addr, func() *game.Result {
		cancel()
		res := <-done
		assert.Contains(t, out.String(), "players: nc 127.0.0.1", "the port is announced")
		assert.Contains(t, out.String(), "game over", "the final summary is printed")
		return res
	}
}

func TestPlayerSession(t *testing.T) {
	defer goleak.VerifyNone(t)
	addr, stop := live(t)
	p := join(t, addr)
	assert.Contains(t, p.do("help"), "spawn")
	assert.Equal(t, `error: unknown command "dance" (try help)`, p.do("dance"))
	assert.Contains(t, p.do("move 1 1"), "error: no ship")
	assert.Contains(t, p.do("spawn"), "spawned ship at ")
	assert.Contains(t, p.do("spawn"), "error: you already have a ship")
	assert.Equal(t, "ok", p.do("move 3 -4"))
	assert.Contains(t, p.do("move 1"), "error: usage: move")
	assert.Contains(t, p.do("move x 1"), `"x" is not a number`)
	assert.Equal(t, "fired", p.do("fire 1 0"))
	assert.Equal(t, "error: cooling down", p.do("fire 1 0"))
	assert.Contains(t, p.do("fire 0 0"), "error:")
	assert.Contains(t, p.do("stats"), "ships 1")
	assert.Equal(t, "watching", p.do("watch"))
	update := p.line()
	assert.Regexp(t, `^tick \d+ \| ship at [\d.]+,[\d.]+ hp \d+ kills \d+`, update, "watchers get state updates")
	assert.Equal(t, "stopped watching", p.do("watch off"))
	assert.Contains(t, p.do("watch maybe"), "error: usage: watch")
	long := strings.Repeat("x", 400)
	assert.Contains(t, p.do(long), "error: line longer than")
	assert.Equal(t, "ok", p.do("move 0 0"), "the session goes on after errors")
	assert.Equal(t, "bye", p.do("quit"))
	_, err := p.r.ReadString('\n')
	assert.Error(t, err, "the server closes the connection after quit")

	// A second player sees that the first one's ship is gone.
	q := join(t, addr)
	assert.Contains(t, q.do("stats"), "ships 0")
	res := stop()
	assert.Equal(t, uint64(2), res.Players.Sessions)
	assert.GreaterOrEqual(t, res.Players.Errors, uint64(8))
	assert.Zero(t, res.Players.Active)
	assert.Zero(t, res.LiveTasks, "no task left after the game")
}

func TestVanishedClientLeavesNothingBehind(t *testing.T) {
	defer goleak.VerifyNone(t)
	addr, stop := live(t)
	gone := join(t, addr)
	assert.Contains(t, gone.do("spawn"), "spawned")
	assert.Equal(t, "watching", gone.do("watch"))
	gone.conn.Close() // no quit: the client just vanishes

	p := join(t, addr)
	// The server notices the vanished client when it next reads from it;
	// watch the arena's state lines until the ship is gone.
	assert.Equal(t, "watching", p.do("watch"))
	for l := p.line(); !strings.Contains(l, " ships 0 "); l = p.line() {
		assert.Regexp(t, `^tick \d+ \| prey`, l)
	}
	assert.Equal(t, "stopped watching", p.do("watch off"))
	assert.Contains(t, p.do("stats"), "ships 0 ", "the vanished player's ship was removed")
	assert.Contains(t, p.do("stats"), "players 1", "and its session")
	res := stop()
	assert.Zero(t, res.Population.Ships)
	assert.Zero(t, res.Players.Active)
	assert.Zero(t, res.LiveTasks)
}

// TestAcceptSurvivesRunningOutOfDescriptors takes every file descriptor of
// the process while players connect, so that the server cannot accept them
// (EMFILE): it counts the failures and retries, and once descriptors are
// free again it welcomes the players who queued in the backlog meanwhile —
// with no new connection arriving, which under the edge-triggered poller is
// what could leave them stranded — and then the next player. (That the log
// says one line per burst, not one per failure, is tested with
// socket.AcceptRetry, which the server uses.)
func TestAcceptSurvivesRunningOutOfDescriptors(t *testing.T) {
	defer goleak.VerifyNone(t)
	acceptErrs := make(chan error, 64)
	addr, stop := live(t, func(c *game.Config) {
		c.OnAcceptError = func(err error) {
			select {
			case acceptErrs <- err:
			default: // enough to go on: the test needs the first three
			}
		}
	})
	// The players' sockets are made while descriptors are free.
	const queued = 3
	clients := lowfd.NewClients(t, queued)
	release := lowfd.Exhaust(t)
	clients.Connect(addr)
	for range 3 { // the server failed, paused, and tried again
		select {
		case err := <-acceptErrs:
			assert.ErrorIs(t, err, unix.EMFILE, "the server could not take the connection")
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not try to accept three times in 10 s")
		}
	}
	release()

	// No new connection: the server's next try takes the queued players.
	var players []*player
	for _, conn := range clients.Adopt() {
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
		p := &player{t: t, conn: conn, r: bufio.NewReader(conn)}
		assert.Contains(t, p.line(), "welcome", "a player who queued is welcomed")
		players = append(players, p)
	}
	players = append(players, join(t, addr)) // and so is the next one
	for _, p := range players {
		assert.Equal(t, "bye", p.do("quit"))
	}
	res := stop()
	assert.Equal(t, uint64(queued+1), res.Players.Sessions)
	assert.GreaterOrEqual(t, res.Players.AcceptErrors, uint64(3))
}
