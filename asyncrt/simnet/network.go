package simnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
)

// Config configures a [Network].
type Config struct {
	// Seed seeds the network's one source of randomness: every jitter,
	// loss, duplicate and reorder draws from it, and so may the program
	// ([Network.Rand]).
	Seed uint64
	// Link is what a link between two hosts is like until [Network.SetLink]
	// says otherwise. The zero Link delivers at once, losing nothing.
	Link Link
}

// Link describes a link between two hosts, the same in both directions.
// Each direction has its own bandwidth queue.
type Link struct {
	// Latency is the one-way delay of every packet.
	Latency time.Duration
	// Jitter adds a delay drawn uniformly from [0, Jitter) to each packet.
	// A connection's bytes arrive in the order they were sent, and a
	// link's datagrams in the order they were given to it, as a switched
	// path delivers them: a late packet holds back those behind it. Only
	// Reorder lets datagrams overtake each other. Control packets
	// (connection requests, answers, resets) take the latency and jitter
	// but no place in that order.
	Jitter time.Duration
	// Bandwidth is in bytes per second; 0 means unlimited. A packet waits
	// for the ones before it to be sent.
	Bandwidth int64
	// Loss is the probability in [0, 1] that a packet is lost. A lost
	// datagram is gone; a lost TCP segment is sent again after a
	// retransmission timeout (200 ms, doubling while losses repeat), which
	// delays it and everything behind it.
	Loss float64
	// Duplicate is the probability in [0, 1] that a datagram arrives twice.
	// TCP discards duplicates, so it does not apply to connections.
	Duplicate float64
	// Reorder is the probability in [0, 1] that a datagram is held back by
	// an extra delay of up to ReorderDelay, so that later ones overtake it.
	Reorder float64
	// ReorderDelay bounds the extra delay of a reordered datagram; 0 means
	// 1 ms.
	ReorderDelay time.Duration
}

func (l Link) validate() error {
	var errs []error
	if l.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %v is negative", l.Latency))
	}
	if l.Jitter < 0 {
		errs = append(errs, fmt.Errorf("jitter %v is negative", l.Jitter))
	}
	if l.Bandwidth < 0 {
		errs = append(errs, fmt.Errorf("bandwidth %d is negative", l.Bandwidth))
	}
	if l.ReorderDelay < 0 {
		errs = append(errs, fmt.Errorf("reorder delay %v is negative", l.ReorderDelay))
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", l.Loss}, {"duplicate", l.Duplicate}, {"reorder", l.Reorder}} {
		if !(p.v >= 0 && p.v <= 1) { // NaN too
			errs = append(errs, fmt.Errorf("%s %v is not a probability in [0, 1]", p.name, p.v))
		}
	}
	if l.Loss == 1 {
		errs = append(errs, errors.New("loss 1 would lose every packet, TCP's retransmissions forever; use Network.Partition to cut a link"))
	}
	return errors.Join(errs...)
}

// Network is a simulated network of hosts and the links between them. It
// serves one runtime, given to it with asyncrt.Builder.Network; the TCP and
// UDP sockets of package socket that the runtime's tasks open then run on
// it, without a line of their code changed. Under an asyncrt.SimClock, time
// jumps to the next delivery (or timer) whenever nothing is ready, and a run
// is deterministic: the same seed and inputs deliver the same packets at the
// same simulated times, and [Network.Digest] proves it.
//
// Its methods must be called from the runtime's tasks, except Attach, which
// the runtime's builder calls, and the configuration made before the
// runtime runs any task ([Network.AddHost], [Network.SetLink]).
type Network struct {
	cfg  Config
	rng  *rand.Rand
	rt   *asyncrt.Runtime
	node *asyncrt.Node // the network's own task, the pump

	hosts  []*Host
	byAddr map[netip.Addr]*Host
	links  map[hostPair]*link

	events     []*event // a min-heap by time, then sequence
	eventSeq   uint64
	freeEvents []*event
	freeBufs   [][]byte
	open       int  // open sockets: the pump stays while there are any
	pumping    bool // a pump task is live
	pumpTask   asyncrt.JoinHandle[struct{}]
	pumpQ      asyncrt.WaitQueue // where the pump waits
	pumpAt     time.Time         // when the waiting pump wakes; zero: not waiting
	pumpIdle   bool              // the pump waits for an event, none being queued

	digest uint64
	stats  Stats
}

// Stats counts what the network carried.
type Stats struct {
	// Segments and SegmentBytes count TCP segments delivered (data and
	// FIN), Retransmits those sent again after a loss.
	Segments, SegmentBytes, Retransmits uint64
	// Datagrams and DatagramBytes count UDP datagrams delivered (a
	// duplicate counts twice); DatagramsLost those the links lost or a
	// partition cut; DatagramsDropped those no socket took (no socket on
	// the port, or its receive buffer full).
	Datagrams, DatagramBytes, DatagramsLost, DatagramsDropped uint64
	// Connects counts connections established, Refused those refused (no
	// listener, or a reset), Resets connections reset.
	Connects, Refused, Resets uint64
	// Partitions and Crashes count the faults injected.
	Partitions, Crashes uint64
}

// New returns a network with no hosts.
func New(cfg Config) (*Network, error) {
	if err := cfg.Link.validate(); err != nil {
		return nil, fmt.Errorf("simnet: Config.Link: %w", err)
	}
	n := &Network{
		cfg:    cfg,
		rng:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d)),
		byAddr: make(map[netip.Addr]*Host),
		links:  make(map[hostPair]*link),
		digest: 0xcbf29ce484222325,
	}
	n.node = asyncrt.NewNode("simnet", nil, nil)
	return n, nil
}

// Attach implements asyncrt.Network: the runtime's builder calls it.
func (n *Network) Attach(rt *asyncrt.Runtime) error {
	if n.rt != nil {
		return errors.New("simnet: the network is attached to a runtime already; a network serves one runtime")
	}
	n.rt = rt
	return nil
}

// Runtime returns the runtime the network is attached to, or nil.
func (n *Network) Runtime() *asyncrt.Runtime { return n.rt }

// Rand returns the network's seeded source of randomness, for a simulation
// that wants its own choices (when to cut a link, which host to crash) to
// follow from the same seed. Use it only from the runtime's tasks.
func (n *Network) Rand() *rand.Rand { return n.rng }

// Stats returns the network's counters.
func (n *Network) Stats() Stats { return n.stats }

// OpenSockets returns the number of the network's sockets that are open:
// listeners, connections (until their last byte and FIN are sent) and UDP
// sockets. A program that closed everything it opened leaves 0.
func (n *Network) OpenSockets() int { return n.open }

// InFlight returns the number of deliveries on their way.
func (n *Network) InFlight() int { return len(n.events) }

// Digest returns a running hash of everything the network delivered, in
// order (when, from where, to where, how much, and the bytes themselves),
// combined with the runtime's own digest of task polls and timers
// (asyncrt.Stats.Digest). Two runs that print the same digest took the same
// path, event for event.
func (n *Network) Digest() uint64 {
	d := n.digest
	if n.rt != nil {
		d = mix(d, n.rt.Stats().Digest)
	}
	return d
}

// Hosts returns the network's hosts, in the order they were added.
func (n *Network) Hosts() []*Host { return append([]*Host(nil), n.hosts...) }

// Host returns the host with address addr, or nil.
func (n *Network) Host(addr netip.Addr) *Host { return n.byAddr[addr] }

// AddHost adds a host named name with address addr, which must be in the
// loopback range 127.0.0.0/8 (so that a mistake can never send traffic off
// the machine) and not 127.0.0.1, which is every host's own loopback. The
// host's tasks work on w, which may be nil; a non-nil w must be attached to
// the runtime with asyncrt.Builder.World.
func (n *Network) AddHost(name string, addr netip.Addr, w asyncrt.World) (*Host, error) {
	switch {
	case name == "":
		return nil, errors.New("simnet: AddHost: the host needs a name")
	case !addr.Is4() || !netip.MustParsePrefix("127.0.0.0/8").Contains(addr):
		return nil, fmt.Errorf("simnet: AddHost(%q, %v): a simulated host's address must be in 127.0.0.0/8", name, addr)
	case addr == netip.MustParseAddr("127.0.0.1"):
		return nil, fmt.Errorf("simnet: AddHost(%q, %v): 127.0.0.1 is every host's own loopback; pick another address in 127.0.0.0/8", name, addr)
	case n.byAddr[addr] != nil:
		return nil, fmt.Errorf("simnet: AddHost(%q, %v): the address belongs to host %q", name, addr, n.byAddr[addr].name)
	}
	for _, h := range n.hosts {
		if h.name == name {
			return nil, fmt.Errorf("simnet: AddHost(%q): a host of that name exists", name)
		}
	}
	h := newHost(n, len(n.hosts), name, addr, w)
	n.hosts = append(n.hosts, h)
	n.byAddr[addr] = h
	return h, nil
}

// SetLink sets what the link between hosts a and b is like, in both
// directions, from now on. Packets already on their way keep their times.
func (n *Network) SetLink(a, b *Host, l Link) error {
	if err := n.checkPair("SetLink", a, b); err != nil {
		return err
	}
	if err := l.validate(); err != nil {
		return fmt.Errorf("simnet: SetLink(%s, %s): %w", a.name, b.name, err)
	}
	lk := n.link(a, b)
	lk.cfg = l
	return nil
}

// Partition cuts the link between a and b: from now on nothing crosses it
// in either direction. Datagrams are lost; TCP segments wait to be sent
// again once the link heals, and connection attempts are retried (and time
// out, as TCP's do, if the partition lasts). Packets already on their way
// arrive. Partitioning a cut link does nothing. t is the calling task, of
// the network's runtime.
func (n *Network) Partition(t *asyncrt.Task, a, b *Host) error {
	if err := n.checkPair("Partition", a, b); err != nil {
		return err
	}
	n.checkTask(t, "Partition")
	lk := n.link(a, b)
	if !lk.cut {
		lk.cut = true
		n.stats.Partitions++
		n.mixEvent(t.Now(), evPartition, uint64(a.index)<<32|uint64(b.index), 0)
	}
	return nil
}

// Heal restores the link between a and b that Partition cut: what waited
// is sent. t is the calling task, of the network's runtime.
func (n *Network) Heal(t *asyncrt.Task, a, b *Host) error {
	if err := n.checkPair("Heal", a, b); err != nil {
		return err
	}
	n.checkTask(t, "Heal")
	lk := n.link(a, b)
	if !lk.cut {
		return nil
	}
	lk.cut = false
	n.mixEvent(t.Now(), evHeal, uint64(a.index)<<32|uint64(b.index), 0)
	// What waited is sent: the connections between the two, in the order
	// they were made.
	for _, s := range a.streams() {
		if s.peerHost == b {
			s.out.transmit(t)
		}
	}
	for _, s := range b.streams() {
		if s.peerHost == a {
			s.out.transmit(t)
		}
	}
	return nil
}

// Partitioned reports whether the link between a and b is cut.
func (n *Network) Partitioned(a, b *Host) bool {
	if a == b || a == nil || b == nil {
		return false
	}
	lk, ok := n.links[pairOf(a, b)]
	return ok && lk.cut
}

func (n *Network) checkPair(op string, a, b *Host) error {
	switch {
	case a == nil || b == nil:
		return fmt.Errorf("simnet: %s: a nil host", op)
	case a.net != n || b.net != n:
		return fmt.Errorf("simnet: %s(%s, %s): a host of another network", op, a.name, b.name)
	case a == b:
		return fmt.Errorf("simnet: %s(%s, %s): a host has no link to itself", op, a.name, b.name)
	}
	return nil
}

// checkTask panics unless t is a task of the network's runtime.
func (n *Network) checkTask(t *asyncrt.Task, op string) {
	t.Check("simnet: " + op)
	if n.rt == nil {
		panic("simnet: " + op + " on a network attached to no runtime: build the runtime with asyncrt.Builder.Network first")
	}
	if t.Runtime() != n.rt {
		panic("simnet: " + op + " called by a task of another runtime than the network's")
	}
}

// hostPair names a link: the two hosts' indexes, lower first.
type hostPair struct{ lo, hi int }

func pairOf(a, b *Host) hostPair {
	if a.index > b.index {
		a, b = b, a
	}
	return hostPair{a.index, b.index}
}

// link is the state of the link between two hosts.
type link struct {
	cfg Link
	cut bool
	// busy is when each direction's queue (0: from the lower index) has
	// sent what it was given, last when its latest datagram arrives (later
	// ones do not overtake it unless reordered).
	busy, last [2]time.Time
}

// link returns the link between a and b, made with the network's default
// on first use.
func (n *Network) link(a, b *Host) *link {
	p := pairOf(a, b)
	lk := n.links[p]
	if lk == nil {
		lk = &link{cfg: n.cfg.Link}
		n.links[p] = lk
	}
	return lk
}

// route is what a packet from one host to another meets: the link's
// settings and whether it is cut. A host's packets to itself (loopback)
// arrive at once.
type route struct {
	lk  *link
	dir int
}

func (n *Network) route(from, to *Host) route {
	if from == to {
		return route{}
	}
	r := route{lk: n.link(from, to)}
	if from.index > to.index {
		r.dir = 1
	}
	return r
}

func (r route) cut() bool { return r.lk != nil && r.lk.cut }

// departure returns when a packet of size bytes handed to the link at now
// arrives, before any loss: after the packets ahead of it are sent, its own
// transmission, the latency and the jitter.
func (n *Network) departure(r route, now time.Time, size int) time.Time {
	if r.lk == nil {
		return now
	}
	c := r.lk.cfg
	at := now
	if c.Bandwidth > 0 {
		if b := r.lk.busy[r.dir]; b.After(at) {
			at = b
		}
		at = at.Add(time.Duration(int64(size) * int64(time.Second) / c.Bandwidth))
		r.lk.busy[r.dir] = at
	}
	at = at.Add(c.Latency)
	if c.Jitter > 0 {
		at = at.Add(time.Duration(n.rng.Int64N(int64(c.Jitter))))
	}
	return at
}

// chance draws whether an event of probability p happens. A zero p draws
// nothing, so that a link without faults consumes no randomness.
func (n *Network) chance(p float64) bool {
	return p > 0 && n.rng.Float64() < p
}

// The kinds of events mixed into the digest.
const (
	evSegment = iota + 1
	evFin
	evReset
	evSyn
	evSynAck
	evDatagram
	evPartition
	evHeal
	evCrash
	evRestart
)

func mix(h, v uint64) uint64 {
	h ^= v
	h *= 0x100000001b3
	h ^= h >> 29
	return h
}

// mixEvent adds an event to the digest.
func (n *Network) mixEvent(now time.Time, kind int, who uint64, size int) {
	d := mix(n.digest, uint64(kind))
	d = mix(d, uint64(now.UnixNano()))
	d = mix(d, who)
	n.digest = mix(d, uint64(size))
}

// mixBytes adds the bytes of a delivery to the digest.
func (n *Network) mixBytes(p []byte) {
	d := n.digest
	for len(p) >= 8 {
		d = mix(d, uint64(p[0])|uint64(p[1])<<8|uint64(p[2])<<16|uint64(p[3])<<24|
			uint64(p[4])<<32|uint64(p[5])<<40|uint64(p[6])<<48|uint64(p[7])<<56)
		p = p[8:]
	}
	var last uint64
	for i, b := range p {
		last |= uint64(b) << (8 * i)
	}
	n.digest = mix(d, last)
}

// event is something the network does at a set time: a delivery. Events
// are recycled, and the common ones (a segment, a datagram) carry their
// data in fields rather than in a closure, in pooled buffers up to
// bufSize, so that a busy network of small packets does not allocate per
// packet.
type event struct {
	at   time.Time
	seq  uint64 // ties broken in the order events were made
	kind eventKind
	fn   func(t *asyncrt.Task) // evkFunc
	pipe *pipe                 // evkSegment
	conn *PacketConn           // evkDatagram
	from netip.AddrPort        // evkDatagram
	data []byte                // evkSegment, evkDatagram: from the buffer pool
}

type eventKind uint8

const (
	evkFunc eventKind = iota
	evkSegment
	evkDatagram
)

func (a *event) before(b *event) bool {
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	return a.seq < b.seq
}

// newEvent returns a blank event of kind at time at.
func (n *Network) newEvent(at time.Time, kind eventKind) *event {
	var e *event
	if k := len(n.freeEvents); k > 0 {
		e = n.freeEvents[k-1]
		n.freeEvents = n.freeEvents[:k-1]
	} else {
		e = new(event)
	}
	n.eventSeq++
	e.at, e.seq, e.kind = at, n.eventSeq, kind
	return e
}

// schedule runs fn at time at on the network's pump task. t is the task
// scheduling it, which starts the pump if none is live.
func (n *Network) schedule(t *asyncrt.Task, at time.Time, fn func(t *asyncrt.Task)) {
	e := n.newEvent(at, evkFunc)
	e.fn = fn
	n.push(t, e)
}

// push queues e, starting the pump or waking it early as needed.
func (n *Network) push(t *asyncrt.Task, e *event) {
	h := append(n.events, e)
	for i := len(h) - 1; i > 0; { // sift up
		parent := (i - 1) / 2
		if !h[i].before(h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
	n.events = h
	switch {
	case !n.pumping || n.pumpTask.IsFinished():
		// No pump, or one that never ran: a full bounded task pool or a
		// runtime shutting down refused it. The next event tries again.
		n.pumping = true
		n.pumpTask = asyncrt.SpawnFunc(t, n.pump, asyncrt.InNode(n.node), asyncrt.Named("simnet pump"))
		n.pumpTask.Detach()
	case n.pumpIdle || !n.pumpAt.IsZero() && e.at.Before(n.pumpAt):
		n.pumpQ.WakeAll() // the pump sleeps past the new event
	}
}

// pop removes the earliest event.
func (n *Network) pop() *event {
	h := n.events
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = nil
	h = h[:last]
	for i := 0; ; { // sift down
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r].before(h[l]) {
			m = r
		}
		if !h[m].before(h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	n.events = h
	return top
}

// run carries out an event and recycles it.
func (n *Network) run(t *asyncrt.Task, e *event) {
	switch e.kind {
	case evkSegment:
		e.pipe.arrive(t, e.data)
		n.putBuf(e.data)
	case evkDatagram:
		e.conn.arrive(t, e.from, e.data) // keeps data if queued
	default:
		e.fn(t)
	}
	*e = event{}
	if len(n.freeEvents) < maxFree {
		n.freeEvents = append(n.freeEvents, e)
	}
}

// maxFree bounds the free lists, so that a burst does not pin its peak
// memory.
const maxFree = 4096

// bufSize is the size of the pooled packet buffers: a datagram of a
// usual MTU, or a small segment, fits.
const bufSize = 2048

// getBuf returns a buffer of size bytes, pooled if it is small.
func (n *Network) getBuf(size int) []byte {
	if size <= bufSize {
		if k := len(n.freeBufs); k > 0 {
			b := n.freeBufs[k-1]
			n.freeBufs = n.freeBufs[:k-1]
			return b[:size]
		}
		return make([]byte, size, bufSize)
	}
	return make([]byte, size)
}

// putBuf returns a buffer from getBuf that nothing refers to any more.
func (n *Network) putBuf(b []byte) {
	if cap(b) == bufSize && len(n.freeBufs) < maxFree {
		n.freeBufs = append(n.freeBufs, b)
	}
}

// pump delivers the network's events at their times. It stays while the
// network has open sockets, and ends when nothing is open and nothing is
// in flight: a network left idle leaves no task behind.
func (n *Network) pump(t *asyncrt.Task) {
	defer func() { n.pumping, n.pumpAt, n.pumpIdle = false, time.Time{}, false }()
	for {
		if len(n.events) == 0 {
			if n.open == 0 {
				return
			}
			// Nothing in flight: wait for the next packet. A simulation
			// whose tasks all wait on sockets with nothing in flight is
			// stuck, and the runtime reports it as a deadlock.
			w := t.Enqueue(&n.pumpQ)
			n.pumpIdle = true
			t.Wait()
			n.pumpIdle = false
			w.Release()
			continue
		}
		next := n.events[0].at
		if now := t.Now(); next.After(now) {
			w := t.Enqueue(&n.pumpQ)
			w.WakeAt(next)
			n.pumpAt = next
			t.Wait()
			n.pumpAt = time.Time{}
			w.Release()
			continue
		}
		n.run(t, n.pop())
	}
}

// opened and closed count the network's open sockets, which keep its pump.
func (n *Network) opened() { n.open++ }

func (n *Network) closed() {
	n.open--
	if n.open == 0 && n.pumpIdle {
		n.pumpQ.WakeAll() // let an idle pump end
	}
}
