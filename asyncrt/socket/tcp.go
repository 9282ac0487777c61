package socket

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
)

// TCPListener accepts TCP connections on a runtime. Accept (and OnAccept's
// Select case) must be called from a task of that runtime. Close, Addr and
// AddrPort are safe from any goroutine: a Close from another goroutine takes
// effect at once (Accept fails with net.ErrClosed), and a task waiting in
// Accept wakes with net.ErrClosed.
type TCPListener struct {
	sock
	acceptCfg socketConfig
}

// ListenTCP listens on address ("host:port"; an empty host means every
// local address, port 0 picks a free port) for network "tcp", "tcp4" or
// "tcp6". Options: [Backlog], [ReuseAddr] (on by default), [ReusePort],
// [ReadBuffer], [WriteBuffer], [Resolver], and [NoDelay], [KeepAlive] and
// [Linger] for the accepted connections.
func ListenTCP(t *asyncrt.Task, network, address string, opts ...Option) (*TCPListener, error) {
	cfg := defaultSocketConfig()
	if err := cfg.applyAll(kindListenTCP, opts); err != nil {
		return nil, err
	}
	if err := checkNetwork(network, "tcp"); err != nil {
		return nil, opError("listen", network, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	if simnet.For(t) != nil {
		return simListenTCP(t, network, address, &cfg)
	}
	addrs, err := resolve(t, network, address, true, cfg.resolver)
	if err != nil {
		return nil, opError("listen", network, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	ap := addrs[0]
	fd, family6, err := newSocket(ap.Addr(), unix.SOCK_STREAM)
	if err != nil {
		return nil, opError("listen", network, ap, netip.AddrPort{}, err)
	}
	fail := func(err error) (*TCPListener, error) {
		unix.Close(fd)
		return nil, opError("listen", network, ap, netip.AddrPort{}, err)
	}
	if cfg.reuseAddr {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail(os.NewSyscallError("setsockopt SO_REUSEADDR", err))
		}
	}
	if cfg.reusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail(os.NewSyscallError("setsockopt SO_REUSEPORT", err))
		}
	}
	if err := setSockopts(fd, &cfg, false); err != nil {
		return fail(err)
	}
	var sa unix.RawSockaddrAny
	salen := putSockaddr(&sa, ap, family6)
	if e := rawBind(fd, &sa, salen); e != 0 {
		return fail(os.NewSyscallError("bind", e))
	}
	if err := unix.Listen(fd, cfg.backlog); err != nil {
		return fail(os.NewSyscallError("listen", err))
	}
	l := &TCPListener{}
	if err := l.init(t, fd, network, family6); err != nil {
		return nil, opError("listen", network, ap, netip.AddrPort{}, err)
	}
	l.local = sockName(fd, false)
	l.acceptCfg = cfg
	return l, nil
}

// Accept waits for the next connection. Accepted connections get the
// listener's NoDelay, KeepAlive and Linger settings. t must be the calling
// task, of the listener's runtime.
//
// Accept returns every error, those that leave the listener usable (EMFILE
// when the process runs out of file descriptors...) included: an accept
// loop should not end on them. [AcceptRetry.Accept] rides them out.
func (l *TCPListener) Accept(t *asyncrt.Task) (*TCPConn, error) {
	l.checkTask(t, "TCPListener.Accept")
	if l.sim != nil {
		return l.simAccept(t)
	}
	for {
		c, again, err := l.tryAccept(t)
		if !again {
			return c, err
		}
		if err := l.wait(t, dirRead); err != nil {
			return nil, l.opErr("accept", err)
		}
	}
}

// tryAccept takes a connection from the queue if one is there; again says
// the queue was empty (and readiness is cleared for the next edge).
func (l *TCPListener) tryAccept(t *asyncrt.Task) (c *TCPConn, again bool, err error) {
	for {
		if l.closed.Load() {
			return nil, false, l.opErr("accept", net.ErrClosed)
		}
		var sa unix.RawSockaddrAny
		fd, e := rawAccept(l.fd, &sa)
		switch e {
		case 0:
			c, err := newTCPConn(t, fd, l.network, l.family6)
			if err != nil {
				return nil, false, l.opErr("accept", err)
			}
			if err := setTCPOpts(fd, &l.acceptCfg); err != nil {
				c.Close()
				return nil, false, l.opErr("accept", err)
			}
			return c, false, nil
		case unix.EAGAIN:
			l.notReady(dirRead)
			return nil, true, nil
		case unix.EINTR, unix.ECONNABORTED:
			// Interrupted, or the connection was reset while it waited in
			// the queue: take the next one.
		default:
			return nil, false, l.opErr("accept", os.NewSyscallError("accept4", e))
		}
	}
}

// AcceptCase is an asyncrt.Select case that accepts a connection: the
// "listener has a connection" case, next to a shutdown or a timeout.
type AcceptCase struct {
	l     *TCPListener
	ready *asyncrt.ReadyCase
	sim   *simnet.AcceptCase // instead of ready, on a simulated network
	c     *TCPConn
	err   error
}

// OnAccept returns a Select case that accepts the next connection of l.
// When it wins, Conn holds the connection and Err is nil, or Err says why
// accepting failed (net.ErrClosed once l is closed). It completes on every
// failure, those that leave the listener usable (EMFILE...) included; the
// case of [AcceptRetry.OnAccept] rides them out, for an accept loop that
// must survive them.
func OnAccept(l *TCPListener) *AcceptCase {
	if l.sim != nil {
		return &AcceptCase{l: l, sim: simnet.OnAccept(l.sim.l)}
	}
	return &AcceptCase{l: l, ready: asyncrt.OnReadable(l.reg)}
}

// Conn returns the connection the case accepted.
func (c *AcceptCase) Conn() *TCPConn { return c.c }

// Err returns the error of the case's last completion.
func (c *AcceptCase) Err() error { return c.err }

// Begin implements asyncrt.SelectCase.
func (c *AcceptCase) Begin(t *asyncrt.Task) {
	c.l.checkTask(t, "OnAccept")
	c.c, c.err = nil, nil
	if c.sim != nil {
		c.sim.Begin(t)
		return
	}
	c.ready.Begin(t)
}

// Poll implements asyncrt.SelectCase.
func (c *AcceptCase) Poll(t *asyncrt.Task) bool {
	if c.sim != nil {
		return c.simPoll(t)
	}
	conn, again, err := c.l.tryAccept(t)
	if again {
		return false
	}
	c.c, c.err = conn, err
	c.ready.Unregister(t)
	return true
}

// Register implements asyncrt.SelectCase.
func (c *AcceptCase) Register(t *asyncrt.Task) {
	if c.sim != nil {
		c.sim.Register(t)
		return
	}
	c.ready.Register(t)
}

// Unregister implements asyncrt.SelectCase.
func (c *AcceptCase) Unregister(t *asyncrt.Task) {
	if c.sim != nil {
		c.sim.Unregister(t)
		return
	}
	c.ready.Unregister(t)
}

// Addr returns the listener's address. It is safe from any goroutine.
func (l *TCPListener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.local) }

// AddrPort returns the listener's address. It is safe from any goroutine.
func (l *TCPListener) AddrPort() netip.AddrPort { return l.local }

// Close stops listening. A task waiting in Accept gets net.ErrClosed. It is
// safe from any goroutine (see [TCPConn.Close]); closing twice returns
// net.ErrClosed.
func (l *TCPListener) Close() error { return l.closeSock() }

// TCPConn is a TCP connection on a runtime. Inside a task of that runtime it
// is an io.Reader, io.Writer, io.Closer and net.Conn, so bufio, io.ReadFull,
// encoding/binary and crypto/tls work on it unchanged. One task may read
// while another writes; several tasks may wait to read (or to write) at
// once, each served by its own system calls, so their data may interleave.
//
// Which goroutines may call what:
//
//   - Close, SetDeadline, SetReadDeadline, SetWriteDeadline, LocalAddr,
//     RemoteAddr, LocalAddrPort and RemoteAddrPort are safe from any
//     goroutine, as net.Conn promises (crypto/tls, for one, closes the
//     connection from wherever its Close is called). From another goroutine,
//     Close takes effect at once — later reads and writes fail with
//     net.ErrClosed — and the runtime's thread closes the descriptor at the
//     start of its next cycle, waking tasks waiting on it with
//     net.ErrClosed; deadlines take effect there too, for tasks already
//     waiting as well.
//   - Every other method — Read, Write, CloseRead, CloseWrite and the
//     socket options — must be called from a task of the runtime that made
//     the connection (the options also from its systems), and panics
//     otherwise. To use a connection's data elsewhere, hand it across: from
//     a task, asyncrt.Go runs blocking code on a goroutine; channels
//     (asyncrt.NewCrossChan) and asyncrt.SpawnRemote carry work the other
//     way.
//
// Errors are those of package net: io.EOF on orderly close, net.ErrClosed
// after Close, os.ErrDeadlineExceeded when a deadline passes, and wrapped
// syscall.Errno values (syscall.ECONNRESET...) otherwise; test them with
// errors.Is.
type TCPConn struct{ sock }

// newTCPConn registers fd, which is closed on failure.
func newTCPConn(t *asyncrt.Task, fd int, network string, family6 bool) (*TCPConn, error) {
	c := &TCPConn{}
	if err := c.init(t, fd, network, family6); err != nil {
		return nil, err
	}
	c.local, c.remote = sockName(fd, false), sockName(fd, true)
	return c, nil
}

// DialTCP connects to address ("host:port") over network "tcp", "tcp4" or
// "tcp6". Host names are resolved off the runtime's thread; with several
// addresses each is tried in turn. Options: [ConnectTimeout], [NoDelay] (on
// by default), [KeepAlive], [Linger], [ReadBuffer], [WriteBuffer],
// [Resolver]. A refused or unreachable connection is an error
// (errors.Is(err, syscall.ECONNREFUSED)...); a connection not made within
// the timeout fails with os.ErrDeadlineExceeded.
//
// Every wait of DialTCP, the name lookup included, ends when t is aborted or
// an asyncrt.Timeout around the call expires: t unwinds at once, and the
// lookup's context is cancelled (see [Resolver]). ConnectTimeout bounds the
// connection only, not the lookup.
func DialTCP(t *asyncrt.Task, network, address string, opts ...Option) (*TCPConn, error) {
	cfg := defaultSocketConfig()
	if err := cfg.applyAll(kindDialTCP, opts); err != nil {
		return nil, err
	}
	if err := checkNetwork(network, "tcp"); err != nil {
		return nil, opError("dial", network, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	if simnet.For(t) != nil {
		return simDialTCP(t, network, address, &cfg)
	}
	addrs, err := resolve(t, network, address, false, cfg.resolver)
	if err != nil {
		return nil, opError("dial", network, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	var deadline time.Time
	if cfg.connectTimeout > 0 {
		deadline = t.Now().Add(cfg.connectTimeout)
	}
	var firstErr error
	for _, ap := range addrs {
		c, err := dialOne(t, network, ap, &cfg, deadline)
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
	}
	return nil, firstErr
}

func dialOne(t *asyncrt.Task, network string, ap netip.AddrPort, cfg *socketConfig, deadline time.Time) (*TCPConn, error) {
	fd, family6, err := newSocket(ap.Addr(), unix.SOCK_STREAM)
	if err != nil {
		return nil, opError("dial", network, netip.AddrPort{}, ap, err)
	}
	if err := setSockopts(fd, cfg, true); err != nil {
		unix.Close(fd)
		return nil, opError("dial", network, netip.AddrPort{}, ap, err)
	}
	c, err := newTCPConn(t, fd, network, family6)
	if err != nil {
		return nil, opError("dial", network, netip.AddrPort{}, ap, err)
	}
	c.remote = ap
	fail := func(err error) (*TCPConn, error) {
		c.Close()
		return nil, opError("dial", network, c.local, ap, err)
	}
	var sa unix.RawSockaddrAny
	salen := putSockaddr(&sa, ap, family6)
	switch e := rawConnect(fd, &sa, salen); e {
	case 0:
	case unix.EINPROGRESS, unix.EINTR, unix.EALREADY:
		if !deadline.IsZero() {
			if err := c.reg.SetWriteDeadline(deadline); err != nil {
				return fail(netErr(err))
			}
		}
		for {
			if err := c.wait(t, dirWrite); err != nil {
				return fail(err)
			}
			soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if err != nil {
				return fail(os.NewSyscallError("getsockopt", err))
			}
			if soerr != 0 {
				return fail(os.NewSyscallError("connect", unix.Errno(soerr)))
			}
			// Writable with no error: connected, unless the wake-up was
			// spurious, which getpeername tells.
			if peer := sockName(fd, true); peer.IsValid() {
				break
			}
		}
		if err := c.reg.SetWriteDeadline(time.Time{}); err != nil {
			return fail(netErr(err))
		}
	default:
		return fail(os.NewSyscallError("connect", e))
	}
	c.local, c.remote = sockName(fd, false), sockName(fd, true)
	return c, nil
}

// Read reads into b, waiting for data if there is none. It returns io.EOF
// once the peer has closed its end and everything sent was read. It must be
// called from a task of the connection's runtime.
func (c *TCPConn) Read(b []byte) (int, error) {
	if c.sim != nil {
		return c.simRead(b)
	}
	t := callerTask(c.rt, "TCPConn.Read")
	if len(b) == 0 {
		if c.closed.Load() {
			return 0, c.opErr("read", net.ErrClosed)
		}
		return 0, nil
	}
	if c.drained && !c.reg.HungUp() {
		// The last read emptied the receive queue: wait for the poller's
		// next edge (at once if one came meanwhile) instead of a system
		// call that would say EAGAIN. A server answering a request per read
		// makes one read per request instead of two. Not after a hangup or
		// an error: its edge may have come before that read, and the end of
		// file or the error it left is read at once.
		c.drained = false
		if c.closed.Load() {
			return 0, c.opErr("read", net.ErrClosed)
		}
		if err := netErr(c.reg.WaitReadable(t)); err != nil {
			return 0, c.opErr("read", err)
		}
	}
	for {
		if c.closed.Load() {
			return 0, c.opErr("read", net.ErrClosed)
		}
		n, e := rawRead(c.fd, b)
		switch e {
		case 0:
			if n == 0 {
				return 0, io.EOF
			}
			if n < len(b) {
				// A short read emptied the receive queue: data that comes
				// now makes a new edge.
				c.notReady(dirRead)
				c.drained = true
			}
			return n, nil
		case unix.EAGAIN:
			if err := c.wait(t, dirRead); err != nil {
				return 0, c.opErr("read", err)
			}
		case unix.EINTR:
		default:
			return 0, c.opErr("read", os.NewSyscallError("read", e))
		}
	}
}

// Write writes all of b, waiting for room in the send buffer as needed. It
// returns an error (and how much was written) only if it could not write it
// all. It must be called from a task of the connection's runtime.
func (c *TCPConn) Write(b []byte) (int, error) {
	if c.sim != nil {
		return c.simWrite(b)
	}
	t := callerTask(c.rt, "TCPConn.Write")
	written := 0
	for {
		if c.closed.Load() {
			return written, c.opErr("write", net.ErrClosed)
		}
		if written == len(b) {
			return written, nil
		}
		n, e := rawSendto(c.fd, b[written:], nil, 0)
		switch e {
		case 0:
			written += n
		case unix.EAGAIN:
			if err := c.wait(t, dirWrite); err != nil {
				return written, c.opErr("write", err)
			}
		case unix.EINTR:
		default:
			return written, c.opErr("write", os.NewSyscallError("write", e))
		}
	}
}

// Close closes the connection. Tasks waiting to read or write it get
// net.ErrClosed, and so does every later operation; closing twice returns
// net.ErrClosed.
//
// Close is safe from any goroutine. From one that is not the runtime's, the
// connection counts as closed as soon as Close returns, and the runtime's
// thread closes the descriptor at the start of its next cycle (a parked
// runtime is woken for it), waking the tasks that wait on it; Close returns
// nil without waiting for that. While no BlockOn drives the runtime, the
// descriptor is closed by the next BlockOn or by Runtime.Close; once the
// runtime is closed, Close closes it at once.
func (c *TCPConn) Close() error { return c.closeSock() }

// CloseRead shuts down the reading side.
func (c *TCPConn) CloseRead() error { return c.shutdown(unix.SHUT_RD, "TCPConn.CloseRead") }

// CloseWrite shuts down the writing side: the peer reads io.EOF once it has
// read everything sent.
func (c *TCPConn) CloseWrite() error { return c.shutdown(unix.SHUT_WR, "TCPConn.CloseWrite") }

func (c *TCPConn) shutdown(how int, op string) error {
	if c.sim != nil {
		return c.simShutdown(how, op)
	}
	c.mustBeOnThread(op)
	if c.closed.Load() {
		return c.opErr("shutdown", net.ErrClosed)
	}
	if err := unix.Shutdown(c.fd, how); err != nil {
		return c.opErr("shutdown", os.NewSyscallError("shutdown", err))
	}
	if how != unix.SHUT_WR {
		c.drained = false // a read now returns end of file at once
	}
	return nil
}

// LocalAddr returns the local address. It is safe from any goroutine.
func (c *TCPConn) LocalAddr() net.Addr { return net.TCPAddrFromAddrPort(c.local) }

// RemoteAddr returns the peer's address. It is safe from any goroutine.
func (c *TCPConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.remote) }

// LocalAddrPort returns the local address. It is safe from any goroutine.
func (c *TCPConn) LocalAddrPort() netip.AddrPort { return c.local }

// RemoteAddrPort returns the peer's address. It is safe from any goroutine.
func (c *TCPConn) RemoteAddrPort() netip.AddrPort { return c.remote }

// SetDeadline sets the read and write deadlines, on the runtime's timer
// wheel. A zero time clears them. Waiting operations fail with
// os.ErrDeadlineExceeded once a deadline passes, and so do later ones until
// the deadline is moved.
//
// The deadline setters are safe from any goroutine. From one that is not
// the runtime's, the deadline takes effect when the runtime's thread takes
// it, at the start of its next cycle, for tasks already waiting too; the
// latest deadline set wins, whichever goroutine set it. Times are read on
// the runtime's clock: tasks pass t.Now() plus a duration, other goroutines
// time.Now() plus one (or, under an asyncrt.SimClock, its Now).
func (c *TCPConn) SetDeadline(t time.Time) error {
	return c.setDeadlines(t, dirRead, dirWrite)
}

// SetReadDeadline sets the deadline for reads (see SetDeadline).
func (c *TCPConn) SetReadDeadline(t time.Time) error {
	return c.setDeadlines(t, dirRead)
}

// SetWriteDeadline sets the deadline for writes (see SetDeadline).
func (c *TCPConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadlines(t, dirWrite)
}

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *TCPConn) SetNoDelay(on bool) error {
	return c.setInt(unix.IPPROTO_TCP, unix.TCP_NODELAY, boolInt(on), "TCP_NODELAY")
}

// SetKeepAlive turns keep-alive probes on, every period (at least a second),
// or off.
func (c *TCPConn) SetKeepAlive(on bool, period time.Duration) error {
	c.mustBeOnThread("TCPConn.SetKeepAlive")
	if c.closed.Load() {
		return c.opErr("set keepalive", net.ErrClosed)
	}
	if on && period < time.Second {
		return c.opErr("set keepalive", errors.New("period must be at least 1s"))
	}
	if c.sim != nil {
		return nil // no effect in simulation
	}
	return c.opErr("set keepalive", setKeepAlive(c.fd, on, period))
}

// SetLinger sets SO_LINGER: a negative sec restores the default (Close
// returns at once, the kernel sends what is left in the background); 0 makes
// Close reset the connection, discarding unsent data; a positive sec makes
// Close wait up to that long.
func (c *TCPConn) SetLinger(sec int) error {
	c.mustBeOnThread("TCPConn.SetLinger")
	if c.closed.Load() {
		return c.opErr("set linger", net.ErrClosed)
	}
	if c.sim != nil {
		return nil // no effect in simulation
	}
	l := unix.Linger{Onoff: 1, Linger: int32(sec)}
	if sec < 0 {
		l = unix.Linger{}
	}
	if err := unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &l); err != nil {
		return c.opErr("set linger", os.NewSyscallError("setsockopt", err))
	}
	return nil
}

// SetReadBuffer sets the receive buffer size.
func (c *TCPConn) SetReadBuffer(bytes int) error {
	return c.setInt(unix.SOL_SOCKET, unix.SO_RCVBUF, bytes, "SO_RCVBUF")
}

// SetWriteBuffer sets the send buffer size.
func (c *TCPConn) SetWriteBuffer(bytes int) error {
	return c.setInt(unix.SOL_SOCKET, unix.SO_SNDBUF, bytes, "SO_SNDBUF")
}

// ReadBuffer returns the receive buffer size the kernel uses (Linux doubles
// what was set, for its bookkeeping).
func (c *TCPConn) ReadBuffer() (int, error) {
	return c.getInt(unix.SOL_SOCKET, unix.SO_RCVBUF, "SO_RCVBUF")
}

// WriteBuffer returns the send buffer size the kernel uses.
func (c *TCPConn) WriteBuffer() (int, error) {
	return c.getInt(unix.SOL_SOCKET, unix.SO_SNDBUF, "SO_SNDBUF")
}

// NoDelay reports whether Nagle's algorithm is off.
func (c *TCPConn) NoDelay() (bool, error) {
	v, err := c.getInt(unix.IPPROTO_TCP, unix.TCP_NODELAY, "TCP_NODELAY")
	return v != 0, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

var _ net.Conn = (*TCPConn)(nil)
