package server

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// Main is the server command: it parses args, starts the server, prints its
// address as the first line of stdout, and serves until SIGINT or SIGTERM.
// It returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", KindOrrery, fmt.Sprintf("server kind: one of %v", Kinds))
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on (port 0 picks one)")
	spin := fs.Bool("spin", false, "orrery: spin instead of parking when idle (asyncrt.Spin)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "server: unexpected arguments %v\n", fs.Args())
		return 2
	}
	// Signals are caught before the server starts, so that one sent as soon
	// as the address is printed still stops it cleanly (and ends the profile).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "server: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "server: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	s, err := Start(Config{Kind: *kind, Addr: *addr, Spin: *spin})
	if err != nil {
		fmt.Fprintf(stderr, "server: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, s.Addr())
	<-ctx.Done()
	if err := s.Close(); err != nil {
		fmt.Fprintf(stderr, "server: close: %v\n", err)
		return 1
	}
	return 0
}
