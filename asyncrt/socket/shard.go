package socket

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
)

// GroupServer is one handler served on every runtime of an asyncrt.Group
// by [ServeGroup]: a listener per runtime, all bound to one address with
// SO_REUSEPORT, so that the kernel spreads the connections among the
// runtimes. Its methods are safe for concurrent use from any goroutine.
type GroupServer struct {
	g      *asyncrt.Group
	addr   netip.AddrPort
	shards []*shard
	closed atomic.Bool
}

// shard is one runtime's listener, accept loop and open connections.
type shard struct {
	l        *TCPListener
	loop     *asyncrt.RemoteHandle[error]
	accepted atomic.Uint64
	mu       sync.Mutex
	conns    map[*TCPConn]struct{} // open connections; nil once Close ran
}

// ServeGroup serves handler on every runtime of g: a task of runtime i
// opens a listener of its own on address for network ("tcp", "tcp4" or
// "tcp6"), with opts and [ReusePort](true), and runs an accept loop
// ([AcceptRetry]: running out of descriptors does not stop it) that spawns
// handler(t, c) on runtime i for each connection c. The kernel picks the
// listener, so the runtime, of each new connection (on Linux, by a hash of
// its addresses and ports). With port 0 the first listener picks a free
// port and the others bind it ([GroupServer.Addr]). If a listener cannot be
// opened, ServeGroup closes those it opened and returns the error.
//
// A runtime runs tasks only while it is driven: call ServeGroup while
// [asyncrt.Group.Run] runs roots that keep the runtimes going (waiting in
// [asyncrt.Task.ShutdownSignal], say). From a goroutine, ServeGroup blocks
// until every runtime has opened its listener: it may be called just
// before Run starts, but never returns if the runtimes are never driven.
// From a task of one of g's runtimes it suspends the task instead. It must
// not be called from a task of a runtime outside g, nor from a runtime's
// own goroutine (a system, a hook).
//
// The accept loops run until [GroupServer.Close], or until their runtime's
// shutdown signal fires ([asyncrt.Group.Shutdown] fires them all): then a
// loop closes its listener and ends, and the open connections are left to
// finish within the shutdown's timeout. A connection is closed when its
// handler returns. A panicking handler is a task nobody joins: its panic
// goes to the runtime's policy (asyncrt.Builder.UnhandledPanics).
//
// On a simulated network (package simnet) ServeGroup returns an error:
// each runtime's simulated network is its own, unreachable from the
// others, and a simulated port holds one listener (ReusePort has no effect
// there). Serve each runtime's listener with [ListenTCP] instead.
func ServeGroup(g *asyncrt.Group, network, address string, handler func(t *asyncrt.Task, c *TCPConn), opts ...Option) (*GroupServer, error) {
	if g == nil || handler == nil {
		return nil, errors.New("socket: ServeGroup called with a nil group or handler")
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("socket: ServeGroup: %w", net.UnknownNetworkError(network))
	}
	for i := range g.Len() {
		if _, sim := g.Runtime(i).Network().(*simnet.Network); sim {
			return nil, fmt.Errorf("socket: ServeGroup: runtime %d is on a simulated network, "+
				"which has no SO_REUSEPORT (a simulated port holds one listener, and each runtime's "+
				"network is its own): serve a listener per runtime with ListenTCP instead", i)
		}
	}
	caller := groupCaller(g, "ServeGroup")
	opts = append(opts[:len(opts):len(opts)], ReusePort(true))
	open := func(i int, addr string) (*asyncrt.RemoteHandle[listenResult], error) {
		return asyncrt.SpawnOn(g, i, func(t *asyncrt.Task) listenResult {
			l, err := ListenTCP(t, network, addr, opts...)
			return listenResult{l, err}
		})
	}
	s := &GroupServer{g: g, shards: make([]*shard, g.Len())}
	fail := func(i int, err error) (*GroupServer, error) {
		for _, sh := range s.shards {
			if sh != nil {
				sh.l.Close()
			}
		}
		return nil, fmt.Errorf("socket: ServeGroup: runtime %d: %w", i, err)
	}
	// The first listener picks the port (if address asks for port 0); the
	// others bind that one, all at once.
	h, err := open(0, address)
	if err != nil {
		return fail(0, err)
	}
	if err := s.collect(caller, 0, h); err != nil {
		return fail(0, err)
	}
	s.addr = s.shards[0].l.AddrPort()
	host, _, _ := net.SplitHostPort(address) // ListenTCP accepted it
	address = net.JoinHostPort(host, strconv.Itoa(int(s.addr.Port())))
	rest := make([]*asyncrt.RemoteHandle[listenResult], g.Len())
	var firstErr error
	failed := 0
	for i := 1; i < g.Len() && firstErr == nil; i++ {
		if rest[i], err = open(i, address); err != nil {
			firstErr, failed = err, i
		}
	}
	for i, h := range rest {
		if h == nil {
			continue
		}
		if err := s.collect(caller, i, h); err != nil && firstErr == nil {
			firstErr, failed = err, i
		}
	}
	if firstErr != nil {
		return fail(failed, firstErr)
	}
	for i, sh := range s.shards {
		sh.loop, err = asyncrt.SpawnOn(g, i, func(t *asyncrt.Task) error {
			return sh.serve(t, handler)
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("socket: ServeGroup: runtime %d: %w", i, err)
		}
	}
	return s, nil
}

type listenResult struct {
	l   *TCPListener
	err error
}

// collect waits for the listener of runtime i.
func (s *GroupServer) collect(caller *asyncrt.Task, i int, h *asyncrt.RemoteHandle[listenResult]) error {
	r, err := await(caller, h)
	if err == nil {
		err = r.err
	}
	if err == nil {
		s.shards[i] = &shard{l: r.l, conns: make(map[*TCPConn]struct{})}
	}
	return err
}

// groupCaller returns the task of g's runtimes that is calling, or nil if
// the caller is an ordinary goroutine; it panics on a runtime's own
// goroutine, which can neither suspend nor block.
func groupCaller(g *asyncrt.Group, op string) *asyncrt.Task {
	for i := range g.Len() {
		rt := g.Runtime(i)
		if t := rt.CurrentTask(); t != nil {
			return t
		}
		if rt.OnThread() {
			panic(fmt.Sprintf("socket: %s called on runtime %d's own goroutine (a system, a hook), "+
				"which must not wait: call it from a task or an ordinary goroutine", op, i))
		}
	}
	return nil
}

// await waits for h: suspending caller, or blocking the goroutine if nil.
func await[T any](caller *asyncrt.Task, h *asyncrt.RemoteHandle[T]) (T, error) {
	if caller != nil {
		return h.Await(caller)
	}
	return h.Wait()
}

// serve is the accept loop of one runtime.
func (sh *shard) serve(t *asyncrt.Task, handler func(*asyncrt.Task, *TCPConn)) error {
	defer sh.l.Close()
	var retry AcceptRetry
	stop, accept := asyncrt.OnShutdown(), retry.OnAccept(sh.l)
	for {
		if i, _ := asyncrt.Select(t, stop, accept); i == 0 {
			return nil // shutting down: stop accepting
		}
		if err := accept.Err(); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil // GroupServer.Close
			}
			return err
		}
		c := accept.Conn()
		sh.mu.Lock()
		open := sh.conns != nil
		if open {
			sh.conns[c] = struct{}{}
		}
		sh.mu.Unlock()
		if !open {
			c.Close()
			return nil // closed meanwhile
		}
		h := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
			defer sh.release(c)
			handler(t, c)
		})
		if h.IsFinished() { // refused: a bounded task pool is full
			sh.release(c)
			continue
		}
		h.Detach()
		sh.accepted.Add(1)
	}
}

// release closes c and forgets it.
func (sh *shard) release(c *TCPConn) {
	sh.mu.Lock()
	delete(sh.conns, c)
	sh.mu.Unlock()
	c.Close()
}

// Addr returns the address every runtime listens on (with the port the
// first listener picked, if the address asked for port 0).
func (s *GroupServer) Addr() netip.AddrPort { return s.addr }

// Accepted returns the number of connections each runtime has accepted and
// handed to the handler, by runtime index: how the kernel spread them.
func (s *GroupServer) Accepted() []uint64 {
	n := make([]uint64, len(s.shards))
	for i, sh := range s.shards {
		n[i] = sh.accepted.Load()
	}
	return n
}

// Close stops serving at once: it closes every listener, which ends the
// accept loops, and every connection still open, whose handlers then see
// net.ErrClosed. The descriptors are closed by their runtimes' threads, as
// [TCPConn.Close] says. Close is safe from any goroutine; later calls do
// nothing and return nil. For a graceful stop, in which open connections
// finish, use [asyncrt.Group.Shutdown] instead (or first).
func (s *GroupServer) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	var errs []error
	for _, sh := range s.shards {
		if err := sh.l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
		sh.mu.Lock()
		conns := sh.conns
		sh.conns = nil
		sh.mu.Unlock()
		for c := range conns {
			c.Close()
		}
	}
	return errors.Join(errs...)
}

// Wait waits until every accept loop has ended (after Close, a shutdown, or
// an accept error that waiting will not clear) and returns the errors that
// ended them, joined, or nil if none failed. A loop that its runtime's
// Close aborted does not count as failed. Handlers may still be running.
// Like ServeGroup, Wait suspends a calling task of the group and blocks a
// goroutine, and returns only once the runtimes have run their loops to
// their end (or closed).
func (s *GroupServer) Wait() error {
	caller := groupCaller(s.g, "GroupServer.Wait")
	var errs []error
	for i, sh := range s.shards {
		err, werr := await(caller, sh.loop)
		if werr != nil && !errors.Is(werr, asyncrt.ErrAborted) && !errors.Is(werr, asyncrt.ErrClosed) {
			err = werr
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("socket: GroupServer: runtime %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}
