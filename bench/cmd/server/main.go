// Command server serves the benchmark's protocol (see bench/README.md) with
// one of the servers compared: orrery, stdlib, gnet or gnet-multi. It prints
// the address it listens on as the first line of its output and runs until
// SIGINT or SIGTERM.
//
//	go run ./cmd/server -kind orrery -addr 127.0.0.1:0
package main

import (
	"os"

	"github.com/orrery-go/orrery/bench/internal/server"
)

func main() { os.Exit(server.Main(os.Args[1:], os.Stdout, os.Stderr)) }
