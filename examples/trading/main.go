// Command trading runs a market maker against a simulated exchange, both
// built on Orrery, over loopback: order entry in OUCH 4.2 over SoupBinTCP,
// market data in ITCH 5.0 over MoldUDP64, gap recovery by snapshot.
//
// With no flags it runs both sides in this process for a few seconds and
// prints a summary every second and a final report, including the
// tick-to-trade latency histogram. --http serves a live dashboard in the
// browser, and /metrics. See the README for the flags, the report,
// backtests and running the two sides as separate processes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/orrery-go/orrery/examples/trading/internal/app"
)

func main() {
	cfg := app.Config{Out: os.Stdout}
	flag.DurationVar(&cfg.Duration, "duration", 5*time.Second, "how long to trade live (0: until interrupted)")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "seed of the synthetic order flow")
	flag.IntVar(&cfg.Instruments, "instruments", 8, "number of instruments")
	flag.IntVar(&cfg.Rate, "rate", 20000, "synthetic order events per second")
	flag.BoolVar(&cfg.Spin, "spin", false, "spin instead of parking when idle (lower latency, a busy core per runtime)")
	flag.DurationVar(&cfg.SpinBeforePark, "spin-before-park", 0, "when idle, poll this long before parking (lower latency for traffic that comes within it; at most 10ms)")
	flag.StringVar(&cfg.Record, "record", "", "record the feed to `FILE`")
	flag.StringVar(&cfg.Backtest, "backtest", "", "replay the recording `FILE` under the simulated clock instead of trading live")
	flag.StringVar(&cfg.Role, "role", app.RoleBoth, "run both sides, or only the exchange or the engine")
	flag.StringVar(&cfg.OrderAddr, "addr", "127.0.0.1:31000", "order-entry address, for --role exchange|engine")
	flag.StringVar(&cfg.SnapshotAddr, "snapshot-addr", "127.0.0.1:31002", "snapshot address, for --role exchange|engine")
	flag.StringVar(&cfg.FeedAddr, "feed-addr", "127.0.0.1:31001", "UDP feed address (loopback), for --role exchange|engine")
	flag.Float64Var(&cfg.DropRate, "drop-rate", 0, "fraction of feed packets the exchange drops")
	flag.DurationVar(&cfg.CutEvery, "cut-every", 0, "the exchange cuts the order session this often (0: never)")
	flag.BoolVar(&cfg.Sim, "sim", false, "run both sides as hosts of a simulated network under a simulated clock: --duration is simulated time, and the same command prints the same report and digest")
	flag.BoolVar(&cfg.Shuffle, "shuffle", false, "with --sim, run the tasks ready in each cycle in an order drawn from the seed (other interleavings, still reproducible)")
	flag.DurationVar(&cfg.Partition, "partition", 0, "cut the engine off from the exchange for this long at a time, at seeded times (0: never)")
	flag.StringVar(&cfg.HTTP, "http", "", "serve the engine's live dashboard, and /metrics, on `ADDR`, a loopback address such as 127.0.0.1:8080 (port 0 picks one)")
	flag.IntVar(&cfg.Cores, "cores", 1, "runtimes the engine runs on: 1, or 2 to read the feed on one and trade on the other, joined by a cross channel (both sides in one process, live)")
	flag.BoolVar(&cfg.Pin, "pin", false, "pin each runtime's thread to a CPU of its own: the engine's, then (--cores 2) the feed relay's, then the exchange's (both sides in one process, live; a CPU for each)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to `FILE`")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "trading: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	if cfg.Role == app.RoleBoth && cfg.Backtest == "" {
		cfg.FeedAddr = "" // one process: pick free ports
	}

	// Ctrl-C (or SIGTERM) ends the run gracefully: orders are cancelled and
	// the final report printed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Err = os.Stderr
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "trading:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "trading: cpu profile:", err)
			os.Exit(1)
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "trading: cpu profile:", err)
			}
		}()
	}
	res, err := app.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "trading:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	if res.Sim != nil {
		// Wall-clock figures vary from run to run: stderr, so that stdout
		// is the same for the same command.
		fmt.Fprintf(os.Stderr, "wall time  %.2fs  (%.1f simulated seconds per wall second)\n",
			res.Wall.Seconds(), res.Sim.Simulated.Seconds()/max(res.Wall.Seconds(), 1e-9))
		return
	}
	fmt.Printf("wall time  %.2fs\n", res.Wall.Seconds())
}
