package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/examples/internal/browsertest"
	"github.com/orrery-go/orrery/examples/trading/internal/app"
)

// pageNumber is a JavaScript expression: the number an element of the
// page shows ("1,234" is 1234, "+5.00" is 5).
func pageNumber(id string) string {
	return fmt.Sprintf(`Number((document.getElementById(%q).textContent || "").replace(/[,+]/g, ""))`, id)
}

// chartPixels is a JavaScript expression: how many pixels of the chart
// are drawn in the colour of each percentile's line.
const chartPixels = `(() => {
	const c = document.getElementById("chart");
	const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
	const colours = [[0x58, 0xa6, 0xff], [0xe3, 0xb3, 0x41], [0xf8, 0x51, 0x49]];
	const n = [0, 0, 0];
	for (let i = 0; i < d.length; i += 4) {
		colours.forEach((c, j) => {
			if (Math.abs(d[i] - c[0]) + Math.abs(d[i + 1] - c[1]) + Math.abs(d[i + 2] - c[2]) < 40) n[j]++;
		});
	}
	return n;
})()`

// TestBrowserDashboard opens the trading dashboard in headless Chromium
// while the engine trades against the exchange: the page fills in, the
// order and fill counts and the clock advance, the book lists every
// instrument, the latency chart draws its three lines, the page reports no
// error, and /metrics has both runtimes' and the engine's metrics. It
// saves a screenshot (trading-dashboard.png).
func TestBrowserDashboard(t *testing.T) {
	browsertest.Chromium(t) // skips unless asked for
	url, stop := liveRun(t, app.Config{Seed: 1, Instruments: 8, Rate: 20000})
	t.Logf("dashboard at %s", url)

	page := browsertest.Open(t, url)
	const patience = time.Minute // a failure's bound on a loaded machine, not a measure
	page.WaitFor(pageNumber("orders")+` > 0 && document.getElementById("status").textContent === "live"`, patience, "the first orders")
	orders := browsertest.Eval[float64](page, pageNumber("orders"))
	fills := browsertest.Eval[float64](page, pageNumber("fills"))
	elapsed := browsertest.Eval[float64](page, pageNumber("elapsed"))
	page.WaitFor(fmt.Sprintf("%s > %v && %s > %v && %s >= %v", pageNumber("orders"), orders, pageNumber("fills"), fills,
		pageNumber("elapsed"), elapsed+1), patience, "orders, fills and time to advance")
	assert.Equal(t, 8, browsertest.Eval[int](page, `document.querySelectorAll("#book tr").length`), "a row per instrument")
	assert.Contains(t, browsertest.Eval[string](page, `document.querySelector("#book tr").textContent`), "SYM0001")
	assert.Positive(t, browsertest.Eval[float64](page, pageNumber("p50")), "tick-to-trade measured")

	// Six seconds of trading make a chart worth a picture.
	page.WaitFor(pageNumber("elapsed")+" >= 6", patience, "six seconds of trading")
	page.WaitFor(`(`+chartPixels+`).every((n) => n > 20)`, patience, "the chart's three lines")

	page.Screenshot("trading-dashboard")
	assert.Empty(t, page.Errors(), "the page reported errors")
	page.Close() // before the run ends: its stream would then fail, as it should

	metrics := fetch(t, url+"metrics")
	for _, name := range []string{`orrery_polls_total{runtime="engine"}`, `orrery_polls_total{runtime="exchange"}`, "trading_fills_total", "trading_tick_to_trade_seconds", "liveview_events_sent_total"} {
		assert.Contains(t, metrics, name)
	}
	res := stop()
	require.NotNil(t, res)
	assert.True(t, res.Reconciled)
}
