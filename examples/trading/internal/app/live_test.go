package app_test

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

	"github.com/orrery-go/orrery/examples/trading/internal/app"
)

// liveRun trades with the dashboard on a free port until the test calls
// the returned stop function.
func liveRun(t *testing.T, cfg app.Config) (url string, stop func() *app.Result) {
	urls := make(chan string, 1)
	cfg.HTTP = "127.0.0.1:0"
	cfg.OnHTTP = func(u string) { urls <- u }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *app.Result, 1)
	go func() {
		res, err := app.Run(ctx, cfg)
		assert.NoError(t, err)
		done <- res
	}()
	select {
	case url = <-urls:
	case <-done:
		t.Fatal("the run ended before it served the dashboard")
	}
	return url, func() *app.Result {
		cancel()
		return <-done
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

// dashboard is what the test reads of the page's data.
type dashboard struct {
	Elapsed float64 `json:"elapsed"`
	Fills   uint64  `json:"fills"`
	Book    []struct {
		Symbol string  `json:"symbol"`
		Bid    float64 `json:"bid"`
		Ask    float64 `json:"ask"`
	} `json:"book"`
	Latency struct{ N int64 } `json:"latency"`
	History []struct {
		T float64 `json:"t"`
		N int64   `json:"n"`
	} `json:"history"`
}

// TestDashboardServesTheEngine trades with --http: the page, a stream of
// snapshots in which the engine trades and the latency chart fills, and
// /metrics with both runtimes' and the engine's metrics; the run still
// reconciles.
func TestDashboardServesTheEngine(t *testing.T) {
	defer goleak.VerifyNone(t)
	url, stop := liveRun(t, app.Config{Seed: 2, Instruments: 3, Rate: 5000})
	assert.Contains(t, fetch(t, url), `<canvas id="chart"`)
	assert.Contains(t, fetch(t, url+"dashboard.js"), "drawChart")

	resp, err := http.Get(url + "events")
	require.NoError(t, err)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	var d dashboard
	var seen []float64
	for d.Fills == 0 || len(d.History) < 2 {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			d = dashboard{}
			require.NoError(t, json.Unmarshal([]byte(data), &d))
			seen = append(seen, d.Elapsed)
		}
	}
	resp.Body.Close()
	for i := 1; i < len(seen); i++ {
		assert.Less(t, seen[i-1], seen[i], "each snapshot is newer")
	}
	assert.Len(t, d.Book, 3, "a row per instrument")
	assert.Positive(t, d.Latency.N, "orders went out: tick-to-trade measured")
	assert.Less(t, d.History[0].T, d.History[len(d.History)-1].T)

	metrics := fetch(t, url+"metrics")
	for _, name := range []string{
		`orrery_polls_total{runtime="engine"}`, `orrery_polls_total{runtime="exchange"}`,
		`orrery_poll_duration_seconds_count{runtime="engine"}`,
		"trading_fills_total", "trading_orders_total", `trading_rejects_total{by="risk"}`, "trading_pnl_dollars",
		`trading_position_shares{symbol="SYM0001"}`, `trading_tick_to_trade_seconds{quantile="0.99"}`,
		"liveview_events_sent_total",
	} {
		assert.Contains(t, metrics, name)
	}
	res := stop()
	require.NotNil(t, res)
	assert.True(t, res.Reconciled, "the live view changes nothing of the trading")
}

func TestHTTPFlagIsValidated(t *testing.T) {
	for _, c := range []struct {
		cfg  app.Config
		want string
	}{
		{app.Config{HTTP: "0.0.0.0:8080"}, "not a loopback address"},
		{app.Config{HTTP: "10.1.2.3:80"}, "not a loopback address"},
		{app.Config{HTTP: ":8080"}, "the host must be"},
		{app.Config{HTTP: "127.0.0.1:0", Backtest: "feed.rec"}, "a backtest is over in a moment"},
		{app.Config{HTTP: "127.0.0.1:0", Role: app.RoleExchange}, "the exchange alone has none"},
	} {
		_, err := app.Run(context.Background(), c.cfg)
		if assert.Error(t, err, c.cfg.HTTP) {
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "--http")
		}
	}
}
