package simnet

import (
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
)

// DefaultUDPReadBuffer is a UDP socket's receive buffer unless set: what
// Linux gives one. Datagrams that find it full are dropped.
const DefaultUDPReadBuffer = 208 << 10

// maxDatagram is the largest UDP payload.
const maxDatagram = 65507

// PacketConn is a UDP socket on a simulated host. Package socket's UDPConn
// wraps one on a runtime with a simulated network; use that.
type PacketConn struct {
	host   *Host
	local  netip.AddrPort
	remote netip.AddrPort // the connected peer; invalid if none
	queue  []datagram     // from head on
	head   int
	queued int // bytes in queue
	rcvCap int
	rq     asyncrt.WaitQueue
	rdl    time.Time
	groups map[netip.Addr]bool
	noLoop bool // multicast is not looped back to the host's own sockets
	closed bool
}

type datagram struct {
	from netip.AddrPort
	data []byte
}

// ListenPacket opens a UDP socket on t's host bound to local (an
// unspecified address, the host's own, loopback or a multicast group to
// receive; port 0 picks a free port) and, if remote is valid, connected to
// it: it then sends there by default and receives from there only.
// readBuffer sizes the receive buffer (0: the default).
func ListenPacket(t *asyncrt.Task, local, remote netip.AddrPort, readBuffer int) (*PacketConn, error) {
	h, err := hostFor(t, "listen udp")
	if err != nil {
		return nil, err
	}
	if !local.IsValid() {
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	a, err := h.localAddr(local.Addr(), "bind")
	if err != nil {
		return nil, err
	}
	port, err := h.useUDPPort(local.Port())
	if err != nil {
		return nil, os.NewSyscallError("bind", err)
	}
	if remote.IsValid() {
		if a.IsUnspecified() {
			a = h.addr
			if isLoopback(remote.Addr()) {
				a = loopback4
			}
		}
		if remote.Port() == 0 {
			return nil, os.NewSyscallError("connect", unix.EINVAL)
		}
	}
	if readBuffer <= 0 {
		readBuffer = DefaultUDPReadBuffer
	}
	c := &PacketConn{host: h, local: netip.AddrPortFrom(a, port), remote: remote, rcvCap: readBuffer}
	h.udp[port] = c
	h.net.opened()
	return c, nil
}

// LocalAddr returns the address the socket is bound to.
func (c *PacketConn) LocalAddr() netip.AddrPort { return c.local }

// RemoteAddr returns the connected peer, or an invalid address.
func (c *PacketConn) RemoteAddr() netip.AddrPort { return c.remote }

// RecvFrom receives one datagram into b (truncating it if b is short),
// waiting for one if none is queued, and returns its length and sender.
func (c *PacketConn) RecvFrom(t *asyncrt.Task, b []byte) (int, netip.AddrPort, error) {
	for {
		switch {
		case c.closed:
			return 0, netip.AddrPort{}, net.ErrClosed
		case c.head < len(c.queue):
			d := c.queue[c.head]
			c.queue[c.head] = datagram{}
			if c.head++; c.head == len(c.queue) {
				c.queue, c.head = c.queue[:0], 0
			}
			c.queued -= len(d.data)
			k := copy(b, d.data)
			c.host.net.putBuf(d.data)
			return k, d.from, nil
		case expired(t, c.rdl):
			return 0, netip.AddrPort{}, os.ErrDeadlineExceeded
		}
		wait(t, &c.rq, c.rdl)
	}
}

// SendTo sends b as one datagram to addr: a host's address, loopback (the
// sender's own host) or a multicast group (every socket of every host that
// joined it on addr's port). It never waits; the links decide whether and
// when it arrives.
func (c *PacketConn) SendTo(t *asyncrt.Task, b []byte, addr netip.AddrPort) (int, error) {
	switch {
	case c.closed:
		return 0, net.ErrClosed
	case len(b) > maxDatagram:
		return 0, os.NewSyscallError("sendto", unix.EMSGSIZE)
	case !addr.IsValid() || addr.Port() == 0:
		return 0, os.NewSyscallError("sendto", unix.EINVAL)
	case c.host.down:
		return 0, net.ErrClosed
	}
	dst := addr.Addr().Unmap()
	from := c.local
	if from.Addr().IsUnspecified() || from.Addr().IsMulticast() {
		from = netip.AddrPortFrom(c.host.addr, from.Port())
	}
	if dst.IsMulticast() {
		for _, h := range c.host.net.hosts {
			if h == c.host && c.noLoop {
				continue
			}
			if r := h.udp[addr.Port()]; r != nil && r.groups[dst] {
				c.host.net.sendDatagram(t, c.host, r, from, b)
			}
		}
		return len(b), nil
	}
	if isLoopback(dst) {
		from = netip.AddrPortFrom(dst, from.Port())
	}
	to := c.host.resolve(dst)
	if to == nil {
		c.host.net.stats.DatagramsDropped++
		return len(b), nil // nobody has the address: lost, as on a real network
	}
	r := to.udp[addr.Port()]
	if r == nil {
		c.host.net.stats.DatagramsDropped++
		return len(b), nil
	}
	c.host.net.sendDatagram(t, c.host, r, from, b)
	return len(b), nil
}

// sendDatagram puts one datagram from host src on its way to socket r.
func (n *Network) sendDatagram(t *asyncrt.Task, src *Host, r *PacketConn, from netip.AddrPort, b []byte) {
	rt := n.route(src, r.host)
	if rt.cut() {
		n.stats.DatagramsLost++
		return
	}
	copies := 1
	if rt.lk != nil {
		c := rt.lk.cfg
		if n.chance(c.Loss) {
			n.stats.DatagramsLost++
			return
		}
		if n.chance(c.Duplicate) {
			copies = 2
		}
	}
	for range copies {
		data := n.getBuf(len(b))
		copy(data, b)
		at := n.departure(rt, t.Now(), len(b))
		if lk := rt.lk; lk != nil {
			if n.chance(lk.cfg.Reorder) {
				d := lk.cfg.ReorderDelay
				if d <= 0 {
					d = time.Millisecond
				}
				at = at.Add(time.Duration(1 + n.rng.Int64N(int64(d))))
			} else {
				if at.Before(lk.last[rt.dir]) {
					at = lk.last[rt.dir] // in order behind a late one
				}
				lk.last[rt.dir] = at
			}
		}
		e := n.newEvent(at, evkDatagram)
		e.conn, e.from, e.data = r, from, data
		n.push(t, e)
	}
}

// arrive queues a datagram, or drops it if the socket is gone or full;
// data, from the network's buffer pool, goes back to it then.
func (c *PacketConn) arrive(t *asyncrt.Task, from netip.AddrPort, data []byte) {
	n := c.host.net
	if c.closed || c.host.down || c.remote.IsValid() && !c.connectedTo(from) || c.queued+len(data) > c.rcvCap {
		n.stats.DatagramsDropped++
		n.putBuf(data)
		return
	}
	n.stats.Datagrams++
	n.stats.DatagramBytes += uint64(len(data))
	n.mixEvent(t.Now(), evDatagram, uint64(c.host.index)<<16|uint64(c.local.Port()), len(data))
	n.mixBytes(data)
	c.queue = append(c.queue, datagram{from: from, data: data})
	c.queued += len(data)
	c.rq.WakeOne()
}

// connectedTo reports whether a datagram from from is from the connected
// peer.
func (c *PacketConn) connectedTo(from netip.AddrPort) bool {
	if from.Port() != c.remote.Port() {
		return false
	}
	want := c.host.resolve(c.remote.Addr())
	got := c.host.resolve(from.Addr())
	return want != nil && want == got
}

// JoinGroup makes the socket receive what is sent to group on its port.
func (c *PacketConn) JoinGroup(group netip.Addr) error {
	if c.closed {
		return net.ErrClosed
	}
	if !group.IsMulticast() {
		return &net.AddrError{Err: "not a multicast address", Addr: group.String()}
	}
	if c.groups == nil {
		c.groups = make(map[netip.Addr]bool)
	}
	c.groups[group.Unmap()] = true
	return nil
}

// LeaveGroup stops receiving a group's datagrams.
func (c *PacketConn) LeaveGroup(group netip.Addr) error {
	if c.closed {
		return net.ErrClosed
	}
	if !c.groups[group.Unmap()] {
		return os.NewSyscallError("setsockopt", unix.EADDRNOTAVAIL)
	}
	delete(c.groups, group.Unmap())
	return nil
}

// SetMulticastLoopback sets whether multicast the socket sends reaches
// the sockets of its own host (on by default).
func (c *PacketConn) SetMulticastLoopback(on bool) { c.noLoop = !on }

// MulticastLoopback reports the multicast loopback setting.
func (c *PacketConn) MulticastLoopback() bool { return !c.noLoop }

// SetReadDeadline sets (zero: clears) the time after which receives fail
// with os.ErrDeadlineExceeded.
func (c *PacketConn) SetReadDeadline(at time.Time) {
	c.rdl = at
	c.rq.WakeAll()
}

// SetReadBuffer sets the receive buffer's size.
func (c *PacketConn) SetReadBuffer(bytes int) {
	if bytes > 0 {
		c.rcvCap = bytes
	}
}

// ReadBuffer returns the receive buffer's size.
func (c *PacketConn) ReadBuffer() int { return c.rcvCap }

// Close closes the socket; waiting receivers wake with net.ErrClosed.
// Closing twice returns net.ErrClosed.
func (c *PacketConn) Close() error {
	if c.closed {
		return net.ErrClosed
	}
	c.shut()
	return nil
}

func (c *PacketConn) shut() {
	c.closed = true
	if c.host.udp[c.local.Port()] == c {
		delete(c.host.udp, c.local.Port())
	}
	c.host.net.closed()
	c.queue, c.head, c.queued = nil, 0, 0
	c.rq.WakeAll()
}
