package socket

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
)

// UDPConn is a UDP socket on a runtime, bound and optionally connected.
// Inside a task of that runtime it is a net.PacketConn and, when connected,
// a net.Conn. RecvFrom and SendTo work on netip.AddrPort and allocate
// nothing.
//
// Close, SetDeadline, SetReadDeadline, SetWriteDeadline, LocalAddr,
// RemoteAddr and LocalAddrPort are safe from any goroutine, as for a
// [TCPConn] (see there). Every other method — the receives and sends
// (RecvFrom, Recv, Read, ReadFrom, SendTo, Send, Write, WriteTo), the socket
// options and multicast membership — must be called from a task of the
// runtime that made the socket, and panics otherwise.
type UDPConn struct{ sock }

// ListenUDP binds a UDP socket to address ("host:port"; an empty host means
// every local address) for network "udp", "udp4" or "udp6". Options:
// [ReuseAddr] (on by default), [ReusePort], [Broadcast], [ReadBuffer],
// [WriteBuffer], [Resolver]. A host name is looked up as for [DialTCP]: an
// abort or a Timeout of t cancels the lookup.
func ListenUDP(t *asyncrt.Task, network, address string, opts ...Option) (*UDPConn, error) {
	return openUDP(t, network, address, true, opts)
}

// DialUDP makes a UDP socket connected to address: Send and Recv exchange
// datagrams with that peer only. Options as for [ListenUDP].
func DialUDP(t *asyncrt.Task, network, address string, opts ...Option) (*UDPConn, error) {
	return openUDP(t, network, address, false, opts)
}

func openUDP(t *asyncrt.Task, network, address string, bind bool, opts []Option) (*UDPConn, error) {
	op := "dial"
	if bind {
		op = "listen"
	}
	cfg := defaultSocketConfig()
	if err := cfg.applyAll(kindUDP, opts); err != nil {
		return nil, err
	}
	if err := checkNetwork(network, "udp"); err != nil {
		return nil, opError(op, network, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	if simnet.For(t) != nil {
		return simOpenUDP(t, network, address, bind, op, &cfg)
	}
	addrs, err := resolve(t, network, address, bind, cfg.resolver)
	if err != nil {
		return nil, opError(op, network, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	ap := addrs[0]
	fd, family6, err := newSocket(ap.Addr(), unix.SOCK_DGRAM)
	if err != nil {
		return nil, opError(op, network, netip.AddrPort{}, ap, err)
	}
	fail := func(err error) (*UDPConn, error) {
		unix.Close(fd)
		return nil, opError(op, network, netip.AddrPort{}, ap, err)
	}
	sets := []struct {
		on   bool
		opt  int
		name string
	}{
		{bind && cfg.reuseAddr, unix.SO_REUSEADDR, "SO_REUSEADDR"},
		{cfg.reusePort, unix.SO_REUSEPORT, "SO_REUSEPORT"},
		{cfg.broadcast, unix.SO_BROADCAST, "SO_BROADCAST"},
	}
	for _, s := range sets {
		if s.on {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, s.opt, 1); err != nil {
				return fail(os.NewSyscallError("setsockopt "+s.name, err))
			}
		}
	}
	if err := setSockopts(fd, &cfg, false); err != nil {
		return fail(err)
	}
	var sa unix.RawSockaddrAny
	salen := putSockaddr(&sa, ap, family6)
	if bind {
		if e := rawBind(fd, &sa, salen); e != 0 {
			return fail(os.NewSyscallError("bind", e))
		}
	} else if e := rawConnect(fd, &sa, salen); e != 0 {
		return fail(os.NewSyscallError("connect", e))
	}
	c := &UDPConn{}
	if err := c.init(t, fd, network, family6); err != nil {
		return nil, opError(op, network, netip.AddrPort{}, ap, err)
	}
	c.local = sockName(fd, false)
	if !bind {
		c.remote = sockName(fd, true)
	}
	return c, nil
}

// RecvFrom receives one datagram into b, waiting for one if none is queued,
// and returns its length and sender. A datagram longer than b is truncated.
func (c *UDPConn) RecvFrom(b []byte) (int, netip.AddrPort, error) {
	return c.recvFrom(callerTask(c.rt, "UDPConn.RecvFrom"), b)
}

func (c *UDPConn) recvFrom(t *asyncrt.Task, b []byte) (int, netip.AddrPort, error) {
	if c.sim != nil {
		return c.simRecvFrom(t, b)
	}
	var sa unix.RawSockaddrAny
	n, err := c.recv(t, b, &sa)
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	return n, getSockaddr(&sa), nil
}

// Recv receives one datagram from the connected peer.
func (c *UDPConn) Recv(b []byte) (int, error) {
	t := callerTask(c.rt, "UDPConn.Recv")
	return c.recv(t, b, nil)
}

func (c *UDPConn) recv(t *asyncrt.Task, b []byte, sa *unix.RawSockaddrAny) (int, error) {
	if c.sim != nil {
		n, _, err := c.simRecvFrom(t, b)
		return n, err
	}
	for {
		if c.closed.Load() {
			return 0, c.opErr("read", net.ErrClosed)
		}
		n, e := rawRecvfrom(c.fd, b, sa)
		switch e {
		case 0:
			return n, nil
		case unix.EAGAIN:
			if err := c.wait(t, dirRead); err != nil {
				return 0, c.opErr("read", err)
			}
		case unix.EINTR:
		default:
			return 0, c.opErr("read", os.NewSyscallError("recvfrom", e))
		}
	}
}

// SendTo sends b as one datagram to addr.
func (c *UDPConn) SendTo(b []byte, addr netip.AddrPort) (int, error) {
	return c.sendTo(callerTask(c.rt, "UDPConn.SendTo"), b, addr)
}

func (c *UDPConn) sendTo(t *asyncrt.Task, b []byte, addr netip.AddrPort) (int, error) {
	if !addr.IsValid() {
		return 0, c.opErr("write", errors.New("invalid destination address"))
	}
	if c.sim != nil {
		return c.simSendTo(t, b, addr)
	}
	var sa unix.RawSockaddrAny
	salen := putSockaddr(&sa, addr, c.family6)
	return c.send(t, b, &sa, salen)
}

// Send sends b as one datagram to the connected peer.
func (c *UDPConn) Send(b []byte) (int, error) {
	t := callerTask(c.rt, "UDPConn.Send")
	return c.send(t, b, nil, 0)
}

func (c *UDPConn) send(t *asyncrt.Task, b []byte, sa *unix.RawSockaddrAny, salen uint32) (int, error) {
	if c.sim != nil {
		return c.simSend(t, b)
	}
	for {
		if c.closed.Load() {
			return 0, c.opErr("write", net.ErrClosed)
		}
		n, e := rawSendto(c.fd, b, sa, salen)
		switch e {
		case 0:
			return n, nil
		case unix.EAGAIN:
			if err := c.wait(t, dirWrite); err != nil {
				return 0, c.opErr("write", err)
			}
		case unix.EINTR:
		default:
			return 0, c.opErr("write", os.NewSyscallError("sendto", e))
		}
	}
}

// Read is Recv, for net.Conn.
func (c *UDPConn) Read(b []byte) (int, error) {
	return c.recv(callerTask(c.rt, "UDPConn.Read"), b, nil)
}

// Write is Send, for net.Conn.
func (c *UDPConn) Write(b []byte) (int, error) {
	return c.send(callerTask(c.rt, "UDPConn.Write"), b, nil, 0)
}

// ReadFrom is RecvFrom, for net.PacketConn.
func (c *UDPConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.recvFrom(callerTask(c.rt, "UDPConn.ReadFrom"), b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// WriteTo is SendTo, for net.PacketConn. addr must be a *net.UDPAddr.
func (c *UDPConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	t := callerTask(c.rt, "UDPConn.WriteTo")
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, c.opErr("write", &net.AddrError{Err: "not a UDP address", Addr: addr.String()})
	}
	return c.sendTo(t, b, ua.AddrPort())
}

// Close closes the socket: waiting and later receives and sends fail with
// net.ErrClosed; closing twice returns net.ErrClosed. It is safe from any
// goroutine (see [TCPConn.Close]).
func (c *UDPConn) Close() error { return c.closeSock() }

// LocalAddr returns the bound address. It is safe from any goroutine.
func (c *UDPConn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.local) }

// RemoteAddr returns the connected peer's address, or nil. It is safe from
// any goroutine.
func (c *UDPConn) RemoteAddr() net.Addr {
	if !c.remote.IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(c.remote)
}

// LocalAddrPort returns the bound address. It is safe from any goroutine.
func (c *UDPConn) LocalAddrPort() netip.AddrPort { return c.local }

// SetDeadline sets the read and write deadlines. Like every deadline setter
// it is safe from any goroutine (see [TCPConn.SetDeadline]).
func (c *UDPConn) SetDeadline(t time.Time) error {
	return c.setDeadlines(t, dirRead, dirWrite)
}

// SetReadDeadline sets the deadline for receives.
func (c *UDPConn) SetReadDeadline(t time.Time) error {
	return c.setDeadlines(t, dirRead)
}

// SetWriteDeadline sets the deadline for sends.
func (c *UDPConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadlines(t, dirWrite)
}

// SetReadBuffer sets the receive buffer size: market-data receivers want it
// large, to ride out bursts.
func (c *UDPConn) SetReadBuffer(bytes int) error {
	return c.setInt(unix.SOL_SOCKET, unix.SO_RCVBUF, bytes, "SO_RCVBUF")
}

// SetWriteBuffer sets the send buffer size.
func (c *UDPConn) SetWriteBuffer(bytes int) error {
	return c.setInt(unix.SOL_SOCKET, unix.SO_SNDBUF, bytes, "SO_SNDBUF")
}

// ReadBuffer returns the receive buffer size the kernel uses.
func (c *UDPConn) ReadBuffer() (int, error) {
	return c.getInt(unix.SOL_SOCKET, unix.SO_RCVBUF, "SO_RCVBUF")
}

// SetBroadcast allows or forbids sending to broadcast addresses.
func (c *UDPConn) SetBroadcast(on bool) error {
	return c.setInt(unix.SOL_SOCKET, unix.SO_BROADCAST, boolInt(on), "SO_BROADCAST")
}

// Broadcast reports whether sending to broadcast addresses is allowed.
func (c *UDPConn) Broadcast() (bool, error) {
	v, err := c.getInt(unix.SOL_SOCKET, unix.SO_BROADCAST, "SO_BROADCAST")
	return v != 0, err
}

// JoinGroup joins the multicast group on interface ifi (nil: the kernel's
// choice). The group's family must match the socket's.
func (c *UDPConn) JoinGroup(ifi *net.Interface, group netip.Addr) error {
	return c.membership(ifi, group, true)
}

// LeaveGroup leaves a group joined with JoinGroup.
func (c *UDPConn) LeaveGroup(ifi *net.Interface, group netip.Addr) error {
	return c.membership(ifi, group, false)
}

func (c *UDPConn) membership(ifi *net.Interface, group netip.Addr, join bool) error {
	op := "leave group"
	if join {
		op = "join group"
	}
	c.mustBeOnThread("UDPConn." + op)
	if c.closed.Load() {
		return c.opErr(op, net.ErrClosed)
	}
	if !group.IsMulticast() {
		return c.opErr(op, &net.AddrError{Err: "not a multicast address", Addr: group.String()})
	}
	if c.sim != nil {
		return c.simMembership(op, group, join)
	}
	index := 0
	if ifi != nil {
		index = ifi.Index
	}
	var err error
	if group.Is4() && !c.family6 {
		mreq := &unix.IPMreqn{Multiaddr: group.As4(), Ifindex: int32(index)}
		opt := unix.IP_DROP_MEMBERSHIP
		if join {
			opt = unix.IP_ADD_MEMBERSHIP
		}
		err = unix.SetsockoptIPMreqn(c.fd, unix.IPPROTO_IP, opt, mreq)
	} else if group.Is6() && c.family6 {
		mreq := &unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(index)}
		opt := unix.IPV6_DROP_MEMBERSHIP
		if join {
			opt = unix.IPV6_ADD_MEMBERSHIP
		}
		err = unix.SetsockoptIPv6Mreq(c.fd, unix.IPPROTO_IPV6, opt, mreq)
	} else {
		return c.opErr(op, &net.AddrError{Err: "group family does not match the socket", Addr: group.String()})
	}
	if err != nil {
		return c.opErr(op, os.NewSyscallError("setsockopt", err))
	}
	return nil
}

// SetMulticastLoopback sets whether multicast sent from this host is looped
// back to its own sockets.
func (c *UDPConn) SetMulticastLoopback(on bool) error {
	if c.family6 {
		return c.setInt(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, boolInt(on), "IPV6_MULTICAST_LOOP")
	}
	return c.setInt(unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, boolInt(on), "IP_MULTICAST_LOOP")
}

// MulticastLoopback reports the multicast loopback setting.
func (c *UDPConn) MulticastLoopback() (bool, error) {
	var v int
	var err error
	if c.family6 {
		v, err = c.getInt(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, "IPV6_MULTICAST_LOOP")
	} else {
		v, err = c.getInt(unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP")
	}
	return v != 0, err
}

// SetMulticastTTL sets the TTL (IPv4) or hop limit (IPv6) of multicast sent
// from this socket, 0 to 255.
func (c *UDPConn) SetMulticastTTL(ttl int) error {
	if ttl < 0 || ttl > 255 {
		return c.opErr("set multicast ttl", errors.New("TTL must be within [0, 255]"))
	}
	if c.family6 {
		return c.setInt(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, ttl, "IPV6_MULTICAST_HOPS")
	}
	return c.setInt(unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL")
}

// MulticastTTL returns the multicast TTL or hop limit.
func (c *UDPConn) MulticastTTL() (int, error) {
	if c.family6 {
		return c.getInt(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, "IPV6_MULTICAST_HOPS")
	}
	return c.getInt(unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, "IP_MULTICAST_TTL")
}

// SetMulticastInterface sets the interface multicast is sent on.
func (c *UDPConn) SetMulticastInterface(ifi *net.Interface) error {
	if ifi == nil {
		return c.opErr("set multicast interface", errors.New("nil interface"))
	}
	if c.family6 {
		return c.setInt(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifi.Index, "IPV6_MULTICAST_IF")
	}
	c.mustBeOnThread("UDPConn.SetMulticastInterface")
	if c.closed.Load() {
		return c.opErr("set multicast interface", net.ErrClosed)
	}
	if c.sim != nil {
		return nil // no effect in simulation
	}
	mreq := &unix.IPMreqn{Ifindex: int32(ifi.Index)}
	if err := unix.SetsockoptIPMreqn(c.fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, mreq); err != nil {
		return c.opErr("set multicast interface", os.NewSyscallError("setsockopt", err))
	}
	return nil
}

var (
	_ net.PacketConn = (*UDPConn)(nil)
	_ net.Conn       = (*UDPConn)(nil)
)
