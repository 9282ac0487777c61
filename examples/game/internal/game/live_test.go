package game_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/examples/game/internal/game"
)

// withHTTP serves the live view on a free port, and tells its URL.
func withHTTP(urls chan<- string) func(*game.Config) {
	return func(c *game.Config) {
		c.HTTP = "127.0.0.1:0"
		c.OnHTTP = func(url string) { urls <- url }
	}
}

func fetch(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// snapshot is what the test reads of the page's data.
type snapshot struct {
	Tick       uint64 `json:"tick"`
	Join       string `json:"join"`
	Population struct {
		Prey, Ships int
	} `json:"population"`
	Players []struct {
		ID       uint64 `json:"id"`
		Ship     bool   `json:"ship"`
		Commands uint64 `json:"commands"`
	} `json:"players"`
	Agents []int32 `json:"agents"`
}

// TestLiveViewServesTheGame plays a live game with --http: the page, the
// latest snapshot with the player who joined, a stream of snapshots whose
// ticks advance, and /metrics with the runtime's and the game's metrics.
func TestLiveViewServesTheGame(t *testing.T) {
	defer goleak.VerifyNone(t)
	urls := make(chan string, 1)
	addr, stop := live(t, withHTTP(urls))
	url := <-urls
	assert.Contains(t, fetch(t, url), "<canvas id=\"arena\"")
	assert.Contains(t, fetch(t, url+"arena.js"), "lv.connect(update)")

	first := fetch(t, url+"snapshot") // the latest snapshot, at once
	var s snapshot
	require.NoError(t, json.Unmarshal([]byte(first), &s))
	assert.Equal(t, addr.String(), s.Join)

	p := join(t, addr)
	assert.Contains(t, p.do("spawn"), "spawned")
	// The stream: each snapshot newer than the one before; one of them
	// soon shows the player and the ship.
	resp, err := http.Get(url + "events")
	require.NoError(t, err)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	var ticks []uint64
	for len(ticks) < 3 || s.Population.Ships == 0 {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			s = snapshot{}
			require.NoError(t, json.Unmarshal([]byte(data), &s))
			ticks = append(ticks, s.Tick)
		}
	}
	resp.Body.Close()
	for i := 1; i < len(ticks); i++ {
		assert.LessOrEqual(t, ticks[i-1], ticks[i], "the game moves on: %v", ticks)
	}
	assert.Less(t, ticks[0], ticks[len(ticks)-1], "the game moves on: %v", ticks)
	require.Len(t, s.Players, 1)
	assert.Equal(t, uint64(1), s.Players[0].ID)
	assert.True(t, s.Players[0].Ship)
	assert.NotZero(t, s.Players[0].Commands)
	assert.Len(t, s.Agents, 3*(s.Population.Prey+s.Population.Ships+countKind(s.Agents, 2)+countKind(s.Agents, 4)))

	metrics := fetch(t, url+"metrics")
	for _, name := range []string{
		"orrery_polls_total", "orrery_live_tasks", "orrery_poll_duration_seconds_count",
		"game_ticks_total", `game_entities{kind="prey"}`, `game_entities{kind="ship"} 1`, "game_kills_total",
		"game_players 1", `game_tick_duration_seconds{quantile="0.99"}`, "liveview_events_sent_total",
	} {
		assert.Contains(t, metrics, name)
	}
	assert.NotContains(t, metrics, "orrery_poll_duration_seconds_count 0", "--http measures the polls")
	assert.Equal(t, "bye", p.do("quit"))
	res := stop()
	assert.Zero(t, res.LiveTasks, "the live view's task ended with the game")
}

func countKind(agents []int32, kind int32) int {
	n := 0
	for i := 0; i < len(agents); i += 3 {
		if agents[i] == kind {
			n++
		}
	}
	return n
}

func TestHTTPFlagIsValidated(t *testing.T) {
	for _, c := range []struct {
		cfg  game.Config
		want string
	}{
		{game.Config{Agents: 10, HTTP: "0.0.0.0:8080"}, "not a loopback address"},
		{game.Config{Agents: 10, HTTP: "192.168.0.1:80"}, "not a loopback address"},
		{game.Config{Agents: 10, HTTP: "127.0.0.1"}, "want a loopback address and a port"},
		{game.Config{Agents: 10, HTTP: "127.0.0.1:0", Headless: true, Ticks: 1}, "a headless run has nothing to watch"},
	} {
		_, err := game.Run(context.Background(), c.cfg)
		if assert.Error(t, err, c.cfg.HTTP) {
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "--http")
		}
	}
}
