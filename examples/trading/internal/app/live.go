package app

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/metrics"
	"github.com/orrery-go/orrery/examples/internal/liveview"
	"github.com/orrery-go/orrery/examples/trading/internal/engine"
)

// LiveEvery is the dashboard's period: four snapshots a second, each
// adding a point to the latency chart.
const LiveEvery = 250 * time.Millisecond

// historyLen is how many latency points the chart shows: a minute's.
const historyLen = 240

//go:embed web
var web embed.FS

// dashboard is what the dashboard shows: a snapshot of the engine, copied
// on its runtime's thread and shared read-only with the HTTP goroutines.
// Prices and PnL are in dollars, latencies in microseconds.
type dashboard struct {
	Elapsed         float64   `json:"elapsed"` // seconds since the engine started
	Messages        uint64    `json:"messages"`
	MsgRate         float64   `json:"msgRate"` // feed messages a second, since the last snapshot
	Books           int       `json:"books"`
	Instruments     int       `json:"instruments"`
	Orders          uint64    `json:"orders"`
	Replaces        uint64    `json:"replaces"`
	Cancels         uint64    `json:"cancels"`
	Fills           uint64    `json:"fills"`
	Volume          int64     `json:"volume"`
	Position        int64     `json:"position"` // gross, in shares
	PnL             float64   `json:"pnl"`
	RiskRejects     uint64    `json:"riskRejects"`
	ExchangeRejects uint64    `json:"exchangeRejects"`
	Gaps            uint64    `json:"gaps"`
	Recoveries      uint64    `json:"recoveries"`
	Reconnects      uint64    `json:"reconnects"`
	Polls           uint64    `json:"polls"`
	Book            []bookRow `json:"book"`
	// Latency is the tick-to-trade of the whole run; History one point per
	// snapshot, each the orders written since the one before.
	Latency latencyPoint   `json:"latency"`
	History []latencyPoint `json:"history"`
	// latency is Latency in nanoseconds, for /metrics: seconds made from
	// microseconds would carry rounding errors.
	latency engine.LiveLatency
}

// bookRow is one instrument: the top of its book, the engine's quotes
// (0: none) and its position.
type bookRow struct {
	Symbol   string  `json:"symbol"`
	BidQty   int64   `json:"bidQty"`
	Bid      float64 `json:"bid"`
	Ask      float64 `json:"ask"`
	AskQty   int64   `json:"askQty"`
	Last     float64 `json:"last"`
	Stale    bool    `json:"stale"`
	QuoteBid float64 `json:"quoteBid"`
	QuoteAsk float64 `json:"quoteAsk"`
	Position int64   `json:"position"`
	Fills    int64   `json:"fills"`
	Volume   int64   `json:"volume"`
	PnL      float64 `json:"pnl"`
}

// latencyPoint is tick-to-trade percentiles of N orders, in microseconds;
// T is when, in seconds since the start.
type latencyPoint struct {
	T    float64 `json:"t"`
	N    int64   `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

func dollars(price int64) float64 { return float64(price) / 10_000 }

func latencyAt(at time.Duration, l engine.LiveLatency) latencyPoint {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return latencyPoint{T: at.Seconds(), N: l.Count, Mean: l.Mean / 1e3, P50: us(l.P50), P99: us(l.P99), P999: us(l.P999), Max: us(l.Max)}
}

// live is the trading example's live view: the cell the engine's runtime
// publishes to, the HTTP server that reads it, and what the publisher
// keeps between snapshots (on the runtime's thread).
type live struct {
	cell    *liveview.Cell[dashboard]
	srv     *liveview.Server
	prev    engine.Summary
	history []latencyPoint
}

// startLive serves the dashboard and /metrics — each runtime's collector,
// labelled with its name, and the engine's own metrics, read from the
// latest snapshot — on cfg.HTTP.
func startLive(cfg *Config, runtimes map[string]*asyncrt.Runtime) (*live, error) {
	reg := prometheus.NewRegistry()
	for name, rt := range runtimes {
		c, err := metrics.NewCollector(rt, metrics.WithConstLabels(prometheus.Labels{"runtime": name}))
		if err != nil {
			return nil, err
		}
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("app: metrics: %w", err)
		}
	}
	cell := liveview.NewCell[dashboard]()
	tc, err := liveview.NewCollector(cell, tradingMetrics...)
	if err != nil {
		return nil, err
	}
	if err := reg.Register(tc); err != nil {
		return nil, fmt.Errorf("app: metrics: %w", err)
	}
	page, err := fs.Sub(web, "web")
	if err != nil {
		return nil, err
	}
	srv, err := liveview.Start(liveview.Config{Addr: cfg.HTTP, Page: page, Feed: cell, Registry: reg})
	if err != nil {
		return nil, fmt.Errorf("app: --http: %w", err)
	}
	fmt.Fprintf(cfg.Out, "live view  %s\n", srv.URL())
	if cfg.OnHTTP != nil {
		cfg.OnHTTP(srv.URL())
	}
	return &live{cell: cell, srv: srv}, nil
}

// close stops the server; the page keeps the last snapshot it got.
func (l *live) close() error {
	l.cell.Close()
	return l.srv.Close()
}

// publish is the live view's task on the engine's runtime: a snapshot
// every LiveEvery until stop is cancelled.
func (l *live) publish(t *asyncrt.Task, e *engine.Engine, stop *asyncrt.CancellationToken) {
	liveview.Publish(t, l.cell, LiveEvery, stop, func(t *asyncrt.Task) dashboard { return l.build(e.Live(t)) })
}

// build makes a snapshot of what the engine showed.
func (l *live) build(lv engine.Live) dashboard {
	s := lv.Summary
	d := dashboard{
		Elapsed: s.Elapsed.Seconds(), Messages: s.Messages, Books: s.Books, Instruments: s.Instruments,
		Orders: s.Orders, Replaces: s.Replaces, Cancels: s.Cancels, Fills: s.Fills, Volume: s.Volume,
		Position: s.Position, PnL: s.PnL, RiskRejects: s.RiskRejects, ExchangeRejects: s.ExchangeRejects,
		Gaps: s.Gaps, Recoveries: s.Recoveries, Reconnects: s.Reconnects, Polls: s.Runtime.Polls,
		Book: make([]bookRow, 0, len(lv.Instruments)), Latency: latencyAt(s.Elapsed, lv.Latency), latency: lv.Latency,
	}
	if dt := (s.Elapsed - l.prev.Elapsed).Seconds(); dt > 0 {
		d.MsgRate = float64(s.Messages-l.prev.Messages) / dt
	}
	l.prev = s
	for _, in := range lv.Instruments {
		d.Book = append(d.Book, bookRow{
			Symbol: in.Symbol, BidQty: in.Bid.Qty, Bid: dollars(in.Bid.Price), Ask: dollars(in.Ask.Price), AskQty: in.Ask.Qty,
			Last: dollars(in.LastTrade), Stale: in.Stale,
			QuoteBid: dollars(in.Quote.Bid.Price), QuoteAsk: dollars(in.Quote.Ask.Price),
			Position: in.Position.Qty, Fills: in.Position.Fills, Volume: in.Position.Volume, PnL: dollars(in.PnL),
		})
	}
	if s.Elapsed > 0 { // the engine has started: a point for the chart
		l.history = append(l.history, latencyAt(s.Elapsed, lv.Window))
		if n := len(l.history); n > historyLen {
			l.history = l.history[n-historyLen:]
		}
	}
	// A copy: the next snapshot's appends must not show in this one.
	d.History = slices.Clone(l.history)
	if d.History == nil {
		d.History = []latencyPoint{}
	}
	return d
}

// tradingMetrics are the engine's own metrics on /metrics.
var tradingMetrics = []liveview.Metric[dashboard]{
	counter("trading_feed_messages_total", "Feed messages applied to the books.", func(d dashboard) float64 { return float64(d.Messages) }),
	gauge("trading_books_fresh", "Instruments with a fresh two-sided book.", func(d dashboard) float64 { return float64(d.Books) }),
	counter("trading_orders_total", "New orders sent to the exchange.", func(d dashboard) float64 { return float64(d.Orders) }),
	counter("trading_replaces_total", "Replace requests sent.", func(d dashboard) float64 { return float64(d.Replaces) }),
	counter("trading_cancels_total", "Cancel requests sent.", func(d dashboard) float64 { return float64(d.Cancels) }),
	counter("trading_fills_total", "Executions of the engine's orders.", func(d dashboard) float64 { return float64(d.Fills) }),
	counter("trading_volume_shares_total", "Shares the engine traded.", func(d dashboard) float64 { return float64(d.Volume) }),
	{Name: "trading_rejects_total", Help: "Orders refused, by the engine's risk checks or by the exchange.", Kind: liveview.Counter,
		Labels: []string{"by"}, Value: func(d dashboard, emit func(float64, ...string)) {
			emit(float64(d.RiskRejects), "risk")
			emit(float64(d.ExchangeRejects), "exchange")
		}},
	counter("trading_feed_gaps_total", "Gaps in the feed's sequence numbers.", func(d dashboard) float64 { return float64(d.Gaps) }),
	counter("trading_recoveries_total", "Snapshot recoveries.", func(d dashboard) float64 { return float64(d.Recoveries) }),
	counter("trading_reconnects_total", "Order sessions established after the first.", func(d dashboard) float64 { return float64(d.Reconnects) }),
	gauge("trading_gross_position_shares", "Sum of the absolute positions.", func(d dashboard) float64 { return float64(d.Position) }),
	gauge("trading_pnl_dollars", "Profit and loss, marked at the mids.", func(d dashboard) float64 { return d.PnL }),
	{Name: "trading_position_shares", Help: "Position by instrument.", Kind: liveview.Gauge, Labels: []string{"symbol"},
		Value: func(d dashboard, emit func(float64, ...string)) {
			for _, b := range d.Book {
				emit(float64(b.Position), b.Symbol)
			}
		}},
	{Name: "trading_instrument_pnl_dollars", Help: "Profit and loss by instrument, marked at the mid.", Kind: liveview.Gauge,
		Labels: []string{"symbol"}, Value: func(d dashboard, emit func(float64, ...string)) {
			for _, b := range d.Book {
				emit(b.PnL, b.Symbol)
			}
		}},
	{Name: "trading_tick_to_trade_seconds", Help: "From reading a feed packet to writing the order it caused, over the run.",
		Kind: liveview.Summary, Quantiles: func(d dashboard) (uint64, float64, map[float64]float64) {
			l := d.latency
			s := func(ns int64) float64 { return float64(ns) / 1e9 }
			return uint64(l.Count), l.Mean * float64(l.Count) / 1e9,
				map[float64]float64{0.5: s(l.P50), 0.99: s(l.P99), 0.999: s(l.P999)}
		}},
}

func counter(name, help string, value func(dashboard) float64) liveview.Metric[dashboard] {
	return liveview.Metric[dashboard]{Name: name, Help: help, Kind: liveview.Counter,
		Value: func(d dashboard, emit func(float64, ...string)) { emit(value(d)) }}
}

func gauge(name, help string, value func(dashboard) float64) liveview.Metric[dashboard] {
	m := counter(name, help, value)
	m.Kind = liveview.Gauge
	return m
}
