package simnet

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
)

// Host is a simulated machine on a [Network]: an address, its ports, and
// the tasks that run on it. Start its work with asyncrt.InNode(h.Node()):
//
//	asyncrt.SpawnFunc(t, serve, asyncrt.InNode(exchange.Node()))
//
// Every task a host's task spawns runs on the host too. A socket a host's
// task opens (socket.ListenTCP, DialTCP, ListenUDP...) belongs to the host:
// it binds the host's ports, and its packets leave from the host's address.
// Each host has its own loopback: 127.0.0.1 (and ::1) is the host itself.
type Host struct {
	net   *Network
	index int
	name  string
	addr  netip.Addr
	node  *asyncrt.Node
	down  bool // crashed, not restarted

	listeners map[uint16]*Listener
	udp       map[uint16]*PacketConn
	ports     map[uint16]int // TCP ports in use by connections, counted
	nextPort  uint16
	live      map[uint64]*Stream // open connections, by ID
	nextID    uint64
	restarts  int
}

func newHost(n *Network, index int, name string, addr netip.Addr, w asyncrt.World) *Host {
	h := &Host{
		net: n, index: index, name: name, addr: addr,
		listeners: make(map[uint16]*Listener),
		udp:       make(map[uint16]*PacketConn),
		ports:     make(map[uint16]int),
		live:      make(map[uint64]*Stream),
		nextPort:  firstEphemeral,
	}
	h.node = asyncrt.NewNode(name, w, h)
	return h
}

// The ephemeral port range, as Linux's default.
const (
	firstEphemeral = 32768
	lastEphemeral  = 60999
)

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// Addr returns the host's address.
func (h *Host) Addr() netip.Addr { return h.addr }

// Node returns the node the host's tasks run on: spawn them with
// asyncrt.InNode(h.Node()).
func (h *Host) Node() *asyncrt.Node { return h.node }

// Network returns the network the host is on.
func (h *Host) Network() *Network { return h.net }

// Up reports whether the host runs: false after Crash, until Restart.
func (h *Host) Up() bool { return !h.down }

// String returns the host's name and address.
func (h *Host) String() string { return fmt.Sprintf("%s(%v)", h.name, h.addr) }

// HostOf returns the simulated host the task t runs on, or nil if t is on
// no host (it runs on no node, or on one that is not a host).
func HostOf(t *asyncrt.Task) *Host {
	nd := t.Node()
	if nd == nil {
		return nil
	}
	h, _ := nd.Value().(*Host)
	return h
}

// For returns the simulated network of t's runtime, or nil if the runtime
// uses the operating system's.
func For(t *asyncrt.Task) *Network {
	n, _ := t.Runtime().Network().(*Network)
	return n
}

// hostFor returns the host of t, which must be a task of a runtime on a
// simulated network, for operation op; a task on no host is an error.
func hostFor(t *asyncrt.Task, op string) (*Host, error) {
	h := HostOf(t)
	if h == nil {
		return nil, fmt.Errorf("simnet: %s from a task on no simulated host: the runtime uses a simulated network, "+
			"so every socket belongs to a host; spawn the task on one with asyncrt.InNode(host.Node())", op)
	}
	if h.net.rt != t.Runtime() {
		panic("simnet: " + op + " by a task of another runtime than its host's network")
	}
	if h.down {
		return nil, fmt.Errorf("simnet: %s: host %s is down", op, h.name)
	}
	return h, nil
}

// Crash takes the host down at once, as a power cut would: its
// connections are reset (their peers read ECONNRESET once the reset
// reaches them), its listeners and UDP sockets are gone, its tasks are
// aborted (they unwind at their next suspension point), and packets sent to
// it are lost until Restart. Crashing a host that is down does nothing. t is
// the calling task, of the network's runtime; it may be one of the host's
// own, which then unwinds too.
func (h *Host) Crash(t *asyncrt.Task) {
	h.net.checkTask(t, "Host.Crash")
	if h.down {
		return
	}
	h.down = true
	h.net.stats.Crashes++
	now := t.Now()
	h.net.mixEvent(now, evCrash, uint64(h.index), 0)
	for _, s := range h.streams() {
		s.abort(t, errors.New("simnet: host crashed"))
	}
	for _, port := range sortedKeys(h.listeners) {
		h.listeners[port].shut(t)
	}
	for _, port := range sortedKeys(h.udp) {
		h.udp[port].shut()
	}
	h.node.Abort()
}

// Restart brings a crashed host back up, with no sockets and no tasks:
// spawn its work again with asyncrt.InNode(h.Node()). Packets reach it
// again; a connection made before the crash is unknown to it, and data for
// one is answered with a reset. Restarting a host that is up is an error.
func (h *Host) Restart(t *asyncrt.Task) error {
	h.net.checkTask(t, "Host.Restart")
	if !h.down {
		return fmt.Errorf("simnet: Restart(%s): the host is up", h.name)
	}
	h.down = false
	h.restarts++
	h.net.mixEvent(t.Now(), evRestart, uint64(h.index), 0)
	return nil
}

// streams returns the host's open connections in the order they were made.
func (h *Host) streams() []*Stream {
	out := make([]*Stream, 0, len(h.live))
	for _, id := range sortedKeys(h.live) {
		out = append(out, h.live[id])
	}
	return out
}

func sortedKeys[K uint16 | uint64, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// resolve returns the host an address names from h: h itself for its own
// address, the unspecified address and loopback; another host by its
// address; nil for an address no host has.
func (h *Host) resolve(a netip.Addr) *Host {
	a = a.Unmap()
	if a == h.addr || isLoopback(a) || a.IsUnspecified() {
		return h
	}
	return h.net.byAddr[a]
}

// isLoopback reports whether a is a host's own loopback address, 127.0.0.1
// or ::1. (netip.Addr.IsLoopback is true for all of 127.0.0.0/8, where the
// hosts' own addresses are.)
func isLoopback(a netip.Addr) bool {
	a = a.Unmap()
	return a == loopback4 || a == netip.IPv6Loopback()
}

var loopback4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// localAddr checks an address a socket of h binds to: unspecified, h's own
// or loopback. It returns the address the socket reports.
func (h *Host) localAddr(a netip.Addr, op string) (netip.Addr, error) {
	a = a.Unmap()
	switch {
	case a.IsUnspecified(), a == h.addr, isLoopback(a):
		return a, nil
	case a.IsMulticast():
		return a, nil // a receiver of a group binds the group's address
	}
	return netip.Addr{}, fmt.Errorf("simnet: %s %v on host %s: %w", op, a, h, unix.EADDRNOTAVAIL)
}

// ephemeral returns a free TCP port for an outgoing connection.
func (h *Host) ephemeral() (uint16, error) {
	for range lastEphemeral - firstEphemeral + 1 {
		p := h.nextPort
		h.nextPort++
		if h.nextPort > lastEphemeral {
			h.nextPort = firstEphemeral
		}
		if h.ports[p] == 0 && h.listeners[p] == nil {
			return p, nil
		}
	}
	return 0, unix.EADDRNOTAVAIL
}

// useUDPPort picks (for port 0) or checks a UDP port.
func (h *Host) useUDPPort(port uint16) (uint16, error) {
	if port != 0 {
		if h.udp[port] != nil {
			return 0, unix.EADDRINUSE
		}
		return port, nil
	}
	for p := uint16(firstEphemeral); p <= lastEphemeral; p++ {
		if h.udp[p] == nil {
			return p, nil
		}
	}
	return 0, unix.EADDRNOTAVAIL
}

// wait suspends t on q until woken or until deadline (if not zero).
func wait(t *asyncrt.Task, q *asyncrt.WaitQueue, deadline time.Time) {
	w := t.Enqueue(q)
	if !deadline.IsZero() {
		w.WakeAt(deadline)
	}
	t.Wait()
	w.Release()
}

// expired reports whether a deadline has passed.
func expired(t *asyncrt.Task, deadline time.Time) bool {
	return !deadline.IsZero() && !t.Now().Before(deadline)
}
