// Command game runs an arena of prey and predators on Orrery: entities in a
// World stepped by systems at a fixed rate, each agent's behaviour a
// straight-line async script, and players joining over TCP with a line
// protocol (nc or telnet).
//
// On a terminal the arena is drawn in place, under the line that tells
// players how to join, fitted to the terminal's size; otherwise a summary is
// printed every second. Either way a final summary ends the game, Ctrl-C
// included. --headless runs a fixed number of ticks under the simulated
// clock and prints a checksum of the final World on its last line: the same
// seed gives the same checksum every time. --sim runs the same game with
// the player server on a simulated network, and --players scripted players
// each on a simulated host of their own, for --ticks ticks of simulated
// time: the report, down to the run's digest on its last line, is the same
// for the same command. --http serves a spectator page (the arena drawn
// live in a browser) and /metrics.
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

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/examples/game/internal/game"
)

func main() {
	var cfg game.Config
	flag.IntVar(&cfg.Agents, "agents", 300, "agents the spawner keeps alive (a fifth of them predators)")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "seed of the game")
	flag.IntVar(&cfg.TPS, "tps", 60, "physics ticks per second")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long a live game lasts (0: until interrupted)")
	flag.BoolVar(&cfg.Headless, "headless", false, "run --ticks ticks under the simulated clock and print the World's checksum")
	flag.Uint64Var(&cfg.Ticks, "ticks", 600, "ticks of a headless run or a simulation")
	flag.BoolVar(&cfg.Sim, "sim", false, "run --ticks ticks with the player server and --players scripted players on a simulated network, under the simulated clock, and print the report and the run's digest")
	flag.IntVar(&cfg.Players, "players", 0, fmt.Sprintf("scripted players of a simulation (0..%d)", game.MaxPlayers))
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:0", "where players connect")
	flag.StringVar(&cfg.HTTP, "http", "", "serve the live view — the arena in a browser, and /metrics — on `ADDR`, a loopback address such as 127.0.0.1:8080 (port 0 picks one)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to `FILE`")
	memProfile := flag.String("memprofile", "", "write an allocation profile to `FILE` at the end")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "game: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	if cfg.Sim {
		// A simulation has no duration and no address of its own; it
		// refuses those given on the command line.
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["duration"] {
			cfg.Duration = 0
		}
		if !set["addr"] {
			cfg.Addr = ""
		}
	} else {
		cfg.Out = os.Stdout
	}
	// Stdout is a terminal if it has a window size (ENOTTY otherwise; a
	// character device need not be a terminal: /dev/null is one). A
	// terminal that reports 0×0 gets the drawing's default size.
	if ws, err := unix.IoctlGetWinsize(int(os.Stdout.Fd()), unix.TIOCGWINSZ); err == nil {
		cfg.Terminal = true
		cfg.ScreenCols, cfg.ScreenRows = int(ws.Col), int(ws.Row)
	}
	// A write to a closed pipe fails with EPIPE rather than killing the
	// process: Ctrl-C on "game | less" ends the reader too, and the final
	// summary then goes to stderr instead of being lost.
	signal.Ignore(syscall.SIGPIPE)

	if *cpuProfile != "" {
		cfg.ProfileLabels = true // samples carry the task's name: pprof -tagfocus task=...
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "game:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "game:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := game.Run(ctx, cfg)
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "game:", err)
		if res != nil {
			// The game ended, but its output did not get through.
			fmt.Fprintln(os.Stderr, res.Summary())
		}
		os.Exit(1)
	}
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			fmt.Fprintln(os.Stderr, "game:", err)
			os.Exit(1)
		}
	}
	if cfg.Sim {
		// Wall-clock figures vary from run to run: stderr, so that stdout
		// is the same for the same command.
		fmt.Fprintln(os.Stderr, res.SimWall())
		if _, err := os.Stdout.WriteString(res.SimReport()); err != nil {
			pprof.StopCPUProfile()
			fmt.Fprintln(os.Stderr, "game:", err)
			os.Exit(1)
		}
	}
	if cfg.Headless {
		// SIGPIPE is ignored: a failed write must be reported here.
		if _, err := fmt.Printf("%d ticks of %d agents in %.2fs: prey %d predators %d | spawned %d died %d kills %d bites %d\n"+
			"tick time p50 %v p99 %v | allocations per tick %.1f (systems alone %.1f)\n"+
			"checksum %016x\n",
			res.Ticks, cfg.Agents, res.Wall.Seconds(), res.Population.Prey, res.Population.Predators,
			res.Stats.Spawned, res.Stats.Died, res.Stats.Kills, res.Stats.Bites,
			res.TickP50.Round(time.Microsecond), res.TickP99.Round(time.Microsecond), res.AllocsPerTick, res.SystemAllocsPerTick,
			res.Checksum); err != nil {
			pprof.StopCPUProfile()
			fmt.Fprintln(os.Stderr, "game:", err)
			os.Exit(1)
		}
	}
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
