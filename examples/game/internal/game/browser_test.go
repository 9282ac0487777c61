package game_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/examples/game/internal/game"
	"github.com/orrery-go/orrery/examples/internal/browsertest"
)

// pageNumber is a JavaScript expression: the number an element of the
// page shows ("1,234" is 1234).
func pageNumber(id string) string {
	return fmt.Sprintf(`Number((document.getElementById(%q).textContent || "").replace(/,/g, ""))`, id)
}

// canvasState is a JavaScript expression: a hash of the arena's pixels,
// and how many of them are lit (agents drawn on the dark background).
const canvasState = `(() => {
	const c = document.getElementById("arena");
	const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
	let h = 0, lit = 0;
	for (let i = 0; i < d.length; i += 4) {
		h = (Math.imul(h, 31) + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) >>> 0;
		if (d[i] + d[i + 1] + d[i + 2] > 200) lit++;
	}
	return [h, lit];
})()`

// TestBrowserSpectatorPage opens the spectator page of a live game in
// headless Chromium, with a player in the arena: the page fills in, the
// tick advances and the arena is redrawn, the player is listed, the page
// reports no error, and /metrics has the runtime's and the game's
// metrics. It saves a screenshot (game-live.png).
func TestBrowserSpectatorPage(t *testing.T) {
	browsertest.Chromium(t) // skips unless asked for
	urls := make(chan string, 1)
	addr, stop := live(t, withHTTP(urls), func(c *game.Config) { c.Agents, c.Seed = 300, 1 })
	url := <-urls
	t.Logf("live view at %s", url)

	p := join(t, addr)
	assert.Contains(t, p.do("spawn"), "spawned")
	assert.Equal(t, "ok", p.do("move 6 4"))
	assert.Equal(t, "fired", p.do("fire 1 0"))

	page := browsertest.Open(t, url)
	const patience = time.Minute // a failure's bound on a loaded machine, not a measure
	page.WaitFor(pageNumber("tick")+` > 0 && document.getElementById("status").textContent === "live"`, patience, "the first snapshot")
	tick := browsertest.Eval[float64](page, pageNumber("tick"))
	before := browsertest.Eval[[]float64](page, canvasState)
	assert.Positive(t, before[1], "agents are drawn on the canvas")
	page.WaitFor(fmt.Sprintf("%s >= %v", pageNumber("tick"), tick+30), patience, "the tick to advance half a second")
	after := browsertest.Eval[[]float64](page, canvasState)
	assert.NotEqual(t, before[0], after[0], "the arena was redrawn as the agents moved")
	assert.Positive(t, browsertest.Eval[float64](page, pageNumber("prey")), "prey are counted")

	// The player, listed; a second shot (the first has cooled down by
	// now: half a second of ticks passed) for the picture.
	page.WaitFor(`document.querySelector("#players tr") !== null && document.querySelector("#players tr").textContent.startsWith("#1")`, patience, "the player in the list")
	assert.Equal(t, "fired", p.do("fire 0 1"))
	page.WaitFor(pageNumber("shots")+" >= 2", patience, "the second shot")
	assert.Contains(t, browsertest.Eval[string](page, `document.getElementById("join").textContent`), fmt.Sprintf("nc 127.0.0.1 %d", addr.Port()))

	// Four seconds of hunting make a picture; a last shot to show in it.
	page.WaitFor(pageNumber("tick")+" >= 240", patience, "four seconds of play")
	assert.Equal(t, "fired", p.do("fire -1 -1"))
	page.WaitFor(pageNumber("shots")+" >= 3 && "+pageNumber("bullets")+" >= 1", patience, "the last shot in flight")
	page.Screenshot("game-live")
	assert.Empty(t, page.Errors(), "the page reported errors")
	page.Close() // before the game ends: its stream would then fail, as it should

	metrics := fetch(t, url+"metrics")
	for _, name := range []string{"orrery_polls_total", "orrery_poll_duration_seconds_bucket", "game_ticks_total", "game_kills_total", "liveview_events_sent_total"} {
		assert.Contains(t, metrics, name)
	}
	assert.Equal(t, "bye", p.do("quit"))
	res := stop()
	require.NotNil(t, res)
	assert.Zero(t, res.LiveTasks)
}
