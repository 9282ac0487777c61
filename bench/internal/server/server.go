// Package server serves the benchmark's protocol (package proto) six ways:
// on an Orrery runtime, on an Orrery group of one or two runtimes (one
// SO_REUSEPORT listener each, socket.ServeGroup), with the standard library
// (a goroutine per connection), and with gnet v2 on one event loop or on one
// per CPU.
//
// All of them answer with the same handler (proto.AppendResponses), turn
// Nagle's algorithm off, read into 64 KiB buffers and answer every complete
// request found in one read with one write, so that a pipelining client
// gets its responses batched the same way from each: they differ only in
// how they wait for and move the bytes, which is what is being compared.
package server

import (
	"fmt"
	"slices"

	"github.com/orrery-go/orrery/bench/internal/loopback"
)

// The kinds of server.
const (
	KindOrrery    = "orrery"     // one asyncrt runtime, a task per connection
	KindStdlib    = "stdlib"     // net.Listen, a goroutine per connection, bufio
	KindGnet      = "gnet"       // gnet v2, one event loop
	KindGnetMulti = "gnet-multi" // gnet v2, Multicore: one event loop per CPU
	// asyncrt.NewGroup of 1 or 2 runtimes, socket.ServeGroup: a listener
	// per runtime (SO_REUSEPORT), a task per connection, Orrery's handler
	KindOrreryGroup1 = "orrery-group-1"
	KindOrreryGroup2 = "orrery-group-2"
)

// Kinds lists every kind of server, in the order the table runner uses:
// the Orrery groups come after gnet-multi, the other multi-loop server.
var Kinds = []string{KindOrrery, KindStdlib, KindGnet, KindGnetMulti, KindOrreryGroup1, KindOrreryGroup2}

// Config says which server to start and where.
type Config struct {
	// Kind is one of Kinds.
	Kind string
	// Addr is the address to listen on; it must be a loopback address
	// ("127.0.0.1:0" picks a free port), so that a benchmark can never put
	// load on a network.
	Addr string
	// Spin makes the Orrery runtime (every runtime of an Orrery group) spin
	// instead of parking in epoll when it has nothing to do (asyncrt.Spin).
	// Other kinds ignore it.
	Spin bool
}

// Server is a running server.
type Server struct {
	addr string
	stop func() error
}

// Start starts the server described by cfg and returns once it is
// listening.
func Start(cfg Config) (*Server, error) {
	if err := loopback.Check(cfg.Addr); err != nil {
		return nil, err
	}
	switch cfg.Kind {
	case KindOrrery:
		return startOrrery(cfg.Addr, cfg.Spin)
	case KindStdlib:
		return startStdlib(cfg.Addr)
	case KindGnet:
		return startGnet(cfg.Addr, false)
	case KindGnetMulti:
		return startGnet(cfg.Addr, true)
	case KindOrreryGroup1:
		return startOrreryGroup(cfg.Addr, 1, cfg.Spin)
	case KindOrreryGroup2:
		return startOrreryGroup(cfg.Addr, 2, cfg.Spin)
	}
	return nil, fmt.Errorf("server: unknown kind %q (want one of %v)", cfg.Kind, Kinds)
}

// Addr returns the address the server listens on, "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Close stops the server: it stops listening, closes every connection and
// returns once all its goroutines (and, for Orrery, its runtimes) are gone.
func (s *Server) Close() error { return s.stop() }

// ValidKind reports whether kind is one of Kinds.
func ValidKind(kind string) bool { return slices.Contains(Kinds, kind) }
