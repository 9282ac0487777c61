package socket

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
)

// This file holds the simulated branches of the package's sockets: on a
// runtime built with a simulated network (asyncrt.Builder.Network with a
// *simnet.Network), the open functions make a simulated endpoint instead of
// a descriptor, and every method of sock, TCPListener, TCPConn and UDPConn
// tests s.sim once and comes here. simnet's methods run on the runtime's
// thread and take the calling task.

// simSock is a socket's simulated endpoint: exactly one of l, s and p is
// set, before the socket is handed to its user.
type simSock struct {
	l *simnet.Listener
	s *simnet.Stream
	p *simnet.PacketConn
	// opts holds the options that have no effect in simulation (NoDelay,
	// Broadcast, the multicast TTL...), as set, for their getters. The
	// runtime's thread only.
	opts map[simOpt]int

	// What other goroutines hand to the runtime's thread (Close, the
	// deadlines), for a task of the runtime to apply, under mu.
	mu         sync.Mutex
	posted     bool // the task that applies it is on its way
	closing    bool
	setR, setW bool
	rdl, wdl   time.Time
}

// simOpt names a socket option: its level and number.
type simOpt struct{ level, opt int }

// simUDPWriteBuffer is what a UDP socket's WriteBuffer reports unless set:
// Linux's default. UDP sends never wait in simulation.
const simUDPWriteBuffer = 208 << 10

// simInit makes s a simulated socket of rt.
func (s *sock) simInit(rt *asyncrt.Runtime, network string, family6 bool, m *simSock) {
	s.rt, s.fd, s.network, s.family6, s.sim = rt, -1, network, family6, m
}

// simResolve is resolve on a simulated network, where nothing is looked
// up: it takes IP literals, an empty host (every local address to listen
// on, localhost to dial) and "localhost". The simulation is IPv4, plus ::1
// (each host's own loopback).
func simResolve(network, address string, listen bool) (netip.AddrPort, error) {
	want4 := true
	switch network {
	case "tcp", "udp", "tcp4", "udp4":
	case "tcp6", "udp6":
		want4 = false
	default:
		return netip.AddrPort{}, net.UnknownNetworkError(network)
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("socket: port %q on a simulated network: give the port as a number; "+
			"service names are not looked up in simulation", portStr)
	}
	var ip netip.Addr
	switch {
	case host == "" && listen:
		ip = netip.IPv4Unspecified()
		if !want4 {
			ip = netip.IPv6Unspecified()
		}
	case host == "" || strings.EqualFold(host, "localhost"):
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		if !want4 {
			ip = netip.IPv6Loopback()
		}
	default:
		if ip, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, fmt.Errorf("socket: host %q on a simulated network: simulated hosts have no "+
				"names to look up (no DNS); give an IP address (simnet.Host.Addr) or localhost", host)
		}
		ip = ip.Unmap().WithZone("")
	}
	switch {
	case ip.Is6() && ip != netip.IPv6Loopback() && !ip.IsUnspecified():
		return netip.AddrPort{}, &net.AddrError{Addr: host,
			Err: "a simulated network is IPv4, plus ::1 (each host's own loopback)"}
	case ip.Is4() && !want4:
		return netip.AddrPort{}, &net.AddrError{Addr: host,
			Err: "a simulated network's hosts have IPv4 addresses, so network " + network +
				" reaches ::1 (each host's own loopback) only"}
	case ip.Is6() && strings.HasSuffix(network, "4"):
		return netip.AddrPort{}, &net.AddrError{Err: "address does not match network " + network, Addr: host}
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// simClose is closeSock on a simulated socket. Off the runtime's thread,
// or on it but not from a task (a system), a task of the runtime closes
// the endpoint (see handOver).
func (s *sock) simClose() error {
	if !s.closed.CompareAndSwap(false, true) {
		return s.opErr("close", net.ErrClosed)
	}
	if t := s.rt.CurrentTask(); t != nil {
		s.sim.close(t)
		return nil
	}
	s.sim.mu.Lock()
	s.sim.closing = true
	s.sim.mu.Unlock()
	s.handOver()
	return nil
}

// close closes the endpoint. A crash of its host may have closed it
// already, which is no error.
func (m *simSock) close(t *asyncrt.Task) {
	switch {
	case m.l != nil:
		_ = m.l.Close(t)
	case m.s != nil:
		_ = m.s.Close(t)
	default:
		_ = m.p.Close()
	}
}

// simSetDeadlines is setDeadlines on a simulated socket. Off the runtime's
// thread, a task of the runtime sets them (see handOver); the latest set
// wins, whichever goroutine set it.
func (s *sock) simSetDeadlines(at time.Time, dirs []int) error {
	if s.closed.Load() {
		return s.opErr("set deadline", net.ErrClosed)
	}
	m, onThread := s.sim, s.rt.OnThread()
	m.mu.Lock()
	for _, d := range dirs {
		if d == dirRead {
			m.setR, m.rdl = !onThread, at
		} else {
			m.setW, m.wdl = !onThread, at
		}
	}
	m.mu.Unlock()
	if !onThread {
		s.handOver()
		return nil
	}
	for _, d := range dirs {
		m.deadline(d, at)
	}
	return nil
}

// deadline sets the endpoint's deadline for direction dir. UDP sends never
// wait, so a UDP socket's write deadline has nothing to bound.
func (m *simSock) deadline(dir int, at time.Time) {
	switch {
	case m.s != nil && dir == dirRead:
		m.s.SetReadDeadline(at)
	case m.s != nil:
		m.s.SetWriteDeadline(at)
	case m.p != nil && dir == dirRead:
		m.p.SetReadDeadline(at)
	}
}

// handOver makes a task of the socket's runtime apply what other goroutines
// handed it (a Close, deadlines): simnet's state belongs to the runtime's
// thread. One task at a time is on its way per socket. It runs when the
// runtime next takes remote spawns, at a point of the simulation that
// depends on the other goroutine's timing: the run is no longer
// reproducible.
func (s *sock) handOver() {
	m := s.sim
	m.mu.Lock()
	if m.posted {
		m.mu.Unlock()
		return
	}
	m.posted = true
	m.mu.Unlock()
	h := s.rt.Handle()
	if _, err := asyncrt.TrySpawnRemote(h, m.applyHanded); errors.Is(err, asyncrt.ErrFull) {
		// The runtime has many spawns pending: wait for room on a
		// goroutine of its own, so as not to block the caller, which may
		// be a task of another runtime. ErrClosed needs nothing: the
		// simulated network went with the runtime.
		go func() { _, _ = asyncrt.SpawnRemote(h, m.applyHanded) }()
	}
}

// applyHanded applies, on a task of the runtime, what handOver handed.
func (m *simSock) applyHanded(t *asyncrt.Task) struct{} {
	m.mu.Lock()
	closing, setR, rdl, setW, wdl := m.closing, m.setR, m.rdl, m.setW, m.wdl
	m.posted, m.closing, m.setR, m.setW = false, false, false, false
	m.mu.Unlock()
	if setR {
		m.deadline(dirRead, rdl)
	}
	if setW {
		m.deadline(dirWrite, wdl)
	}
	if closing {
		m.close(t)
	}
	return struct{}{}
}

// setOpt sets a socket option: the buffers and multicast loopback apply to
// the simulation; the others are only kept, for getOpt.
func (m *simSock) setOpt(level, opt, v int) {
	key := simOpt{level, opt}
	switch key {
	case simOpt{unix.SOL_SOCKET, unix.SO_RCVBUF}:
		if m.s != nil {
			m.s.SetReadBuffer(v)
			return
		}
		if m.p != nil {
			m.p.SetReadBuffer(v)
			return
		}
	case simOpt{unix.SOL_SOCKET, unix.SO_SNDBUF}:
		if m.s != nil {
			m.s.SetWriteBuffer(v)
			return
		}
	case simOpt{unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP}, simOpt{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP}:
		if m.p != nil {
			m.p.SetMulticastLoopback(v != 0)
			return
		}
	}
	if m.opts == nil {
		m.opts = make(map[simOpt]int)
	}
	m.opts[key] = v
}

// getOpt returns a socket option: the simulation's buffer sizes (not
// doubled, as Linux reports them) and multicast loopback, what setOpt kept,
// or the default.
func (m *simSock) getOpt(level, opt int) int {
	key := simOpt{level, opt}
	switch key {
	case simOpt{unix.SOL_SOCKET, unix.SO_RCVBUF}:
		if m.s != nil {
			return m.s.ReadBuffer()
		}
		if m.p != nil {
			return m.p.ReadBuffer()
		}
	case simOpt{unix.SOL_SOCKET, unix.SO_SNDBUF}:
		if m.s != nil {
			return m.s.WriteBuffer()
		}
	case simOpt{unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP}, simOpt{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP}:
		if m.p != nil {
			return boolInt(m.p.MulticastLoopback())
		}
	}
	if v, ok := m.opts[key]; ok {
		return v
	}
	switch key {
	case simOpt{unix.IPPROTO_IP, unix.IP_MULTICAST_TTL}, simOpt{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS}:
		return 1
	case simOpt{unix.SOL_SOCKET, unix.SO_SNDBUF}:
		return simUDPWriteBuffer
	}
	return 0
}

// TCP.

func simStreamOptions(cfg *socketConfig) simnet.StreamOptions {
	return simnet.StreamOptions{ReadBuffer: cfg.readBuffer, WriteBuffer: cfg.writeBuffer}
}

// simListenTCP is ListenTCP on a simulated network.
func simListenTCP(t *asyncrt.Task, network, address string, cfg *socketConfig) (*TCPListener, error) {
	ap, err := simResolve(network, address, true)
	if err != nil {
		return nil, opError("listen", network, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	backlog := simnet.DefaultBacklog
	if cfg.backlogSet {
		backlog = cfg.backlog
	}
	sl, err := simnet.Listen(t, ap, backlog, simStreamOptions(cfg))
	if err != nil {
		return nil, opError("listen", network, ap, netip.AddrPort{}, err)
	}
	l := &TCPListener{acceptCfg: *cfg}
	l.simInit(t.Runtime(), network, ap.Addr().Is6(), &simSock{l: sl})
	l.local = sl.Addr()
	return l, nil
}

// simDialTCP is DialTCP on a simulated network: ConnectTimeout is the
// connection request's deadline.
func simDialTCP(t *asyncrt.Task, network, address string, cfg *socketConfig) (*TCPConn, error) {
	ap, err := simResolve(network, address, false)
	if err != nil {
		return nil, opError("dial", network, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	var deadline time.Time
	if cfg.connectTimeout > 0 {
		deadline = t.Now().Add(cfg.connectTimeout)
	}
	st, err := simnet.Dial(t, ap, deadline, simStreamOptions(cfg))
	if err != nil {
		return nil, opError("dial", network, netip.AddrPort{}, ap, err)
	}
	return newSimTCPConn(t.Runtime(), network, ap.Addr().Is6(), st, cfg.noDelay), nil
}

func newSimTCPConn(rt *asyncrt.Runtime, network string, family6 bool, st *simnet.Stream, noDelay bool) *TCPConn {
	m := &simSock{s: st}
	m.setOpt(unix.IPPROTO_TCP, unix.TCP_NODELAY, boolInt(noDelay))
	c := &TCPConn{}
	c.simInit(rt, network, family6, m)
	c.local, c.remote = st.LocalAddr(), st.RemoteAddr()
	return c
}

func (l *TCPListener) simConn(st *simnet.Stream) *TCPConn {
	return newSimTCPConn(l.rt, l.network, l.family6, st, l.acceptCfg.noDelay)
}

// simAccept is Accept on a simulated network.
func (l *TCPListener) simAccept(t *asyncrt.Task) (*TCPConn, error) {
	if l.closed.Load() {
		return nil, l.opErr("accept", net.ErrClosed)
	}
	st, err := l.sim.l.Accept(t)
	if err != nil {
		return nil, l.opErr("accept", err)
	}
	return l.simConn(st), nil
}

// simPoll is AcceptCase.Poll on a simulated network.
func (c *AcceptCase) simPoll(t *asyncrt.Task) bool {
	if c.l.closed.Load() {
		// Closed from another goroutine: the runtime has yet to close the
		// endpoint.
		c.sim.Unregister(t)
		c.err = c.l.opErr("accept", net.ErrClosed)
		return true
	}
	if !c.sim.Poll(t) {
		return false
	}
	if err := c.sim.Err(); err != nil {
		c.err = c.l.opErr("accept", err)
		return true
	}
	c.c = c.l.simConn(c.sim.Stream())
	return true
}

// simRead is TCPConn.Read on a simulated network.
func (c *TCPConn) simRead(b []byte) (int, error) {
	t := callerTask(c.rt, "TCPConn.Read")
	if c.closed.Load() {
		return 0, c.opErr("read", net.ErrClosed)
	}
	n, err := c.sim.s.Read(t, b)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		return 0, io.EOF
	}
	return n, c.opErr("read", err)
}

// simWrite is TCPConn.Write on a simulated network.
func (c *TCPConn) simWrite(b []byte) (int, error) {
	t := callerTask(c.rt, "TCPConn.Write")
	if c.closed.Load() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	n, err := c.sim.s.Write(t, b)
	if err != nil {
		return n, c.opErr("write", err)
	}
	return n, nil
}

// simShutdown is CloseRead and CloseWrite on a simulated network, which
// need the calling task.
func (c *TCPConn) simShutdown(how int, op string) error {
	t := callerTask(c.rt, op)
	if c.closed.Load() {
		return c.opErr("shutdown", net.ErrClosed)
	}
	var err error
	if how == unix.SHUT_WR {
		err = c.sim.s.CloseWrite(t)
	} else {
		err = c.sim.s.CloseRead(t)
	}
	if err != nil {
		return c.opErr("shutdown", err)
	}
	return nil
}

// UDP.

// simOpenUDP is ListenUDP and DialUDP on a simulated network.
func simOpenUDP(t *asyncrt.Task, network, address string, bind bool, op string, cfg *socketConfig) (*UDPConn, error) {
	ap, err := simResolve(network, address, bind)
	if err != nil {
		return nil, opError(op, network, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	local, remote := ap, netip.AddrPort{}
	if !bind {
		local, remote = netip.AddrPortFrom(netip.IPv4Unspecified(), 0), ap
		if ap.Addr().Is6() {
			local = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
		}
	}
	pc, err := simnet.ListenPacket(t, local, remote, cfg.readBuffer)
	if err != nil {
		return nil, opError(op, network, netip.AddrPort{}, ap, err)
	}
	m := &simSock{p: pc}
	m.setOpt(unix.SOL_SOCKET, unix.SO_BROADCAST, boolInt(cfg.broadcast))
	if cfg.writeBuffer > 0 {
		m.setOpt(unix.SOL_SOCKET, unix.SO_SNDBUF, cfg.writeBuffer)
	}
	c := &UDPConn{}
	c.simInit(t.Runtime(), network, ap.Addr().Is6(), m)
	c.local, c.remote = pc.LocalAddr(), pc.RemoteAddr()
	return c, nil
}

// simRecvFrom is the receives on a simulated network.
func (c *UDPConn) simRecvFrom(t *asyncrt.Task, b []byte) (int, netip.AddrPort, error) {
	if c.closed.Load() {
		return 0, netip.AddrPort{}, c.opErr("read", net.ErrClosed)
	}
	n, from, err := c.sim.p.RecvFrom(t, b)
	if err != nil {
		return 0, netip.AddrPort{}, c.opErr("read", err)
	}
	return n, from, nil
}

// errSimBroadcast is the error of a send to a broadcast address.
var errSimBroadcast = errors.New("socket: a simulated network has no broadcast; send to a multicast group " +
	"(JoinGroup) or to each host")

// simSendTo is SendTo on a simulated network; multicast goes to the
// sockets that joined the group on addr's port.
func (c *UDPConn) simSendTo(t *asyncrt.Task, b []byte, addr netip.AddrPort) (int, error) {
	if c.closed.Load() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	if a := addr.Addr().Unmap(); a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || a == netip.AddrFrom4([4]byte{127, 255, 255, 255}) {
		return 0, c.opErr("write", errSimBroadcast) // the limited broadcast, or 127.0.0.0/8's
	}
	n, err := c.sim.p.SendTo(t, b, addr)
	if err != nil {
		return 0, c.opErr("write", err)
	}
	return n, nil
}

// simSend is Send and Write on a simulated network.
func (c *UDPConn) simSend(t *asyncrt.Task, b []byte) (int, error) {
	if !c.remote.IsValid() {
		if c.closed.Load() {
			return 0, c.opErr("write", net.ErrClosed)
		}
		return 0, c.opErr("write", os.NewSyscallError("sendto", unix.EDESTADDRREQ))
	}
	return c.simSendTo(t, b, c.remote)
}

// simMembership is JoinGroup and LeaveGroup on a simulated network, where
// the interface plays no part.
func (c *UDPConn) simMembership(op string, group netip.Addr, join bool) error {
	if !(group.Is4() && !c.family6 || group.Is6() && c.family6) {
		return c.opErr(op, &net.AddrError{Err: "group family does not match the socket", Addr: group.String()})
	}
	var err error
	if join {
		err = c.sim.p.JoinGroup(group)
	} else {
		err = c.sim.p.LeaveGroup(group)
	}
	if err != nil {
		return c.opErr(op, err)
	}
	return nil
}
