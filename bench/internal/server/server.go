// Package server serves the benchmark's protocol (package proto) four ways:
// on an Orrery runtime, with the standard library (a goroutine per
// connection), and with gnet v2 on one event loop or on one per CPU.
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
)

// Kinds lists every kind of server, in the order the table runner uses.
var Kinds = []string{KindOrrery, KindStdlib, KindGnet, KindGnetMulti}

// Config says which server to start and where.
type Config struct {
	// Kind is one of Kinds.
	Kind string
	// Addr is the address to listen on; it must be a loopback address
	// ("127.0.0.1:0" picks a free port), so that a benchmark can never put
	// load on a network.
	Addr string
	// Spin makes the Orrery runtime spin instead of parking in epoll when
	// it has nothing to do (asyncrt.Spin). Other kinds ignore it.
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
	}
	return nil, fmt.Errorf("server: unknown kind %q (want one of %v)", cfg.Kind, Kinds)
}

// Addr returns the address the server listens on, "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Close stops the server: it stops listening, closes every connection and
// returns once all its goroutines (and, for Orrery, its runtime) are gone.
func (s *Server) Close() error { return s.stop() }

// ValidKind reports whether kind is one of Kinds.
func ValidKind(kind string) bool { return slices.Contains(Kinds, kind) }
