// Command loadgen is the benchmark's load generator: it opens -conns
// connections to a server of the benchmark's protocol, keeps -pipeline
// requests in flight on each for -warmup then -duration, checks every
// response, and prints requests/s and the p50, p99 and p99.9 latencies of
// the measured requests.
//
//	go run ./cmd/loadgen -addr 127.0.0.1:9000 -conns 50 -pipeline 16 -duration 3s -warmup 1s
package main

import (
	"os"

	"github.com/orrery-go/orrery/bench/internal/loadgen"
)

func main() { os.Exit(loadgen.Main(os.Args[1:], os.Stdout, os.Stderr)) }
