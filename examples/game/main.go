// Command game runs an arena of prey and predators on Orrery: entities in a
// World stepped by systems at a fixed rate, each agent's behaviour a
// straight-line async script, and players joining over TCP with a line
// protocol (nc or telnet).
//
// On a terminal the arena is drawn in place; otherwise a summary is printed
// every second. --headless runs a fixed number of ticks under the simulated
// clock and prints a checksum of the final World on its last line: the same
// seed gives the same checksum every time.
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

	"github.com/orrery-go/orrery/examples/game/internal/game"
)

func main() {
	var cfg game.Config
	flag.IntVar(&cfg.Agents, "agents", 300, "agents the spawner keeps alive (a fifth of them predators)")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "seed of the game")
	flag.IntVar(&cfg.TPS, "tps", 60, "physics ticks per second")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long a live game lasts (0: until interrupted)")
	flag.BoolVar(&cfg.Headless, "headless", false, "run --ticks ticks under the simulated clock and print the World's checksum")
	flag.Uint64Var(&cfg.Ticks, "ticks", 600, "ticks of a headless run")
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:0", "where players connect")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to `FILE`")
	memProfile := flag.String("memprofile", "", "write an allocation profile to `FILE` at the end")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "game: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	cfg.Out = os.Stdout
	if fi, err := os.Stdout.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		cfg.Terminal = true
	}

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
		os.Exit(1)
	}
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			fmt.Fprintln(os.Stderr, "game:", err)
			os.Exit(1)
		}
	}
	if cfg.Headless {
		fmt.Printf("%d ticks of %d agents in %.2fs: prey %d predators %d | spawned %d died %d kills %d bites %d\n",
			res.Ticks, cfg.Agents, res.Wall.Seconds(), res.Population.Prey, res.Population.Predators,
			res.Stats.Spawned, res.Stats.Died, res.Stats.Kills, res.Stats.Bites)
		fmt.Printf("tick time p50 %v p99 %v | allocations per tick %.1f (systems alone %.1f)\n",
			res.TickP50.Round(time.Microsecond), res.TickP99.Round(time.Microsecond), res.AllocsPerTick, res.SystemAllocsPerTick)
		fmt.Printf("checksum %016x\n", res.Checksum)
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
