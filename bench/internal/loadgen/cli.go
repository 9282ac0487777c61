package loadgen

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"
)

// Marker lines printed with -json, each alone on a line, when measuring
// starts and ends; the table runner reads the server's CPU time on each.
const (
	MarkMeasure = "phase measure"
	MarkStop    = "phase stop"
)

// Main is the loadgen command. It returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.Addr, "addr", "", "server address (loopback ip:port)")
	fs.IntVar(&cfg.Conns, "conns", 1, "connections")
	fs.IntVar(&cfg.Pipeline, "pipeline", 1, "requests in flight per connection")
	fs.IntVar(&cfg.Payload, "payload", 32, "request payload bytes")
	fs.DurationVar(&cfg.Duration, "duration", 3*time.Second, "measured time")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "warm-up time, not measured")
	fs.DurationVar(&cfg.Drain, "drain", 5*time.Second, "longest wait for in-flight responses at the end")
	asJSON := fs.Bool("json", false, "print phase markers, then the result as one JSON line (for the table runner)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadgen: unexpected arguments %v\n", fs.Args())
		return 2
	}
	if *asJSON {
		cfg.OnPhase = func(p Phase) {
			if p == PhaseMeasure {
				fmt.Fprintln(stdout, MarkMeasure)
			} else {
				fmt.Fprintln(stdout, MarkStop)
			}
		}
	}
	res, err := Run(cfg)
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		fmt.Fprintf(stdout, "%d conns, pipeline %d, %d-byte payload, %v measured\n", res.Conns, res.Pipeline, res.Payload, res.Measured.Round(time.Millisecond))
		fmt.Fprintf(stdout, "requests/s %.0f  p50 %v  p99 %v  p99.9 %v  max %v  mean %v\n",
			res.RPS, res.P50, res.P99, res.P999, res.Max, res.Mean)
		fmt.Fprintf(stdout, "requests measured %d; sent %d, answered %d\n", res.Requests, res.Sent, res.Received)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
