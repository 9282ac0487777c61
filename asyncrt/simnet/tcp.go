package simnet

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
)

// DefaultBacklog is a listener's queue unless package socket's Backlog
// option sets it: Linux's default somaxconn, fixed so that a simulated run
// does not depend on the machine it runs on.
const DefaultBacklog = 4096

// Buffer sizes of a connection unless set (socket.ReadBuffer,
// socket.WriteBuffer): what Linux starts a loopback connection with.
const (
	DefaultReadBuffer  = 128 << 10
	DefaultWriteBuffer = 64 << 10
	// mss is the largest segment a connection sends at once.
	mss = 64 << 10
	// The first retransmission timeouts of a lost segment and of a lost
	// connection request, as Linux's; they double while losses repeat.
	segmentRTO = 200 * time.Millisecond
	maxRTO     = 60 * time.Second
	synRTO     = time.Second
	synRetries = 6 // Linux's tcp_syn_retries: the attempt fails after 127 s
)

// Listener is a TCP listener on a simulated host. Package socket's
// TCPListener wraps one on a runtime with a simulated network; use that.
type Listener struct {
	host    *Host
	local   netip.AddrPort
	backlog int
	queue   []*Stream // established, not yet accepted
	aq      asyncrt.WaitQueue
	closed  bool
	opts    StreamOptions
}

// StreamOptions are the settings of a connection.
type StreamOptions struct {
	// ReadBuffer and WriteBuffer size the receive and send buffers; 0
	// means the default.
	ReadBuffer, WriteBuffer int
}

func (o StreamOptions) sizes() (rcv, snd int) {
	rcv, snd = o.ReadBuffer, o.WriteBuffer
	if rcv <= 0 {
		rcv = DefaultReadBuffer
	}
	if snd <= 0 {
		snd = DefaultWriteBuffer
	}
	return rcv, snd
}

// Listen listens for TCP connections on t's host at local (an unspecified
// address, the host's own or loopback; port 0 picks a free port). backlog
// bounds the connections waiting for Accept (at least 1); opts are given to
// the accepted connections.
func Listen(t *asyncrt.Task, local netip.AddrPort, backlog int, opts StreamOptions) (*Listener, error) {
	h, err := hostFor(t, "listen")
	if err != nil {
		return nil, err
	}
	a, err := h.localAddr(local.Addr(), "listen")
	if err != nil {
		return nil, err
	}
	if a.IsMulticast() {
		return nil, fmt.Errorf("simnet: listen %v on host %s: a TCP listener cannot bind a multicast group: %w", a, h, unix.EADDRNOTAVAIL)
	}
	port := local.Port()
	if port == 0 {
		if port, err = h.ephemeral(); err != nil {
			return nil, os.NewSyscallError("bind", err)
		}
	} else if h.listeners[port] != nil {
		return nil, os.NewSyscallError("bind", unix.EADDRINUSE)
	}
	l := &Listener{host: h, local: netip.AddrPortFrom(a, port), backlog: max(backlog, 1), opts: opts}
	h.listeners[port] = l
	h.net.opened()
	return l, nil
}

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() netip.AddrPort { return l.local }

// Accept waits for the next connection. It returns net.ErrClosed once the
// listener is closed (or its host crashed).
func (l *Listener) Accept(t *asyncrt.Task) (*Stream, error) {
	for {
		if s, err, ok := l.tryAccept(); ok {
			return s, err
		}
		wait(t, &l.aq, time.Time{})
	}
}

// tryAccept takes a connection if one waits, or the listener's error.
func (l *Listener) tryAccept() (s *Stream, err error, ok bool) {
	switch {
	case l.closed:
		return nil, net.ErrClosed, true
	case len(l.queue) > 0:
		s = l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		return s, nil, true
	}
	return nil, nil, false
}

// Close closes the listener: connections not yet accepted are reset, and
// tasks waiting in Accept wake with net.ErrClosed. Closing twice returns
// net.ErrClosed.
func (l *Listener) Close(t *asyncrt.Task) error {
	if l.closed {
		return net.ErrClosed
	}
	l.shut(t)
	return nil
}

func (l *Listener) shut(t *asyncrt.Task) {
	l.closed = true
	if l.host.listeners[l.local.Port()] == l {
		delete(l.host.listeners, l.local.Port())
	}
	l.host.net.closed()
	for _, s := range l.queue {
		s.abort(t, nil)
	}
	l.queue = nil
	l.aq.WakeAll()
}

// AcceptCase is an asyncrt.Select case that accepts a connection.
type AcceptCase struct {
	l   *Listener
	s   *Stream
	err error
	w   asyncrt.Waiter
}

// OnAccept returns a Select case that accepts the next connection of l.
func OnAccept(l *Listener) *AcceptCase { return &AcceptCase{l: l} }

// Stream returns the connection the case accepted.
func (c *AcceptCase) Stream() *Stream { return c.s }

// Err returns why accepting failed (net.ErrClosed), or nil.
func (c *AcceptCase) Err() error { return c.err }

// Begin implements asyncrt.SelectCase.
func (c *AcceptCase) Begin(*asyncrt.Task) { c.s, c.err = nil, nil }

// Poll implements asyncrt.SelectCase.
func (c *AcceptCase) Poll(*asyncrt.Task) bool {
	s, err, ok := c.l.tryAccept()
	if ok {
		c.s, c.err = s, err
		c.w.Release()
	}
	return ok
}

// Register implements asyncrt.SelectCase.
func (c *AcceptCase) Register(t *asyncrt.Task) { c.w = t.Enqueue(&c.l.aq) }

// Unregister implements asyncrt.SelectCase.
func (c *AcceptCase) Unregister(*asyncrt.Task) { c.w.Cancel() }

// Stream is one end of a simulated TCP connection: ordered bytes, flow
// control (a writer waits while the peer's receive buffer is full), half
// close, resets. Package socket's TCPConn wraps one on a runtime with a
// simulated network; use that.
type Stream struct {
	host     *Host
	peerHost *Host
	id       uint64
	local    netip.AddrPort
	remote   netip.AddrPort
	in, out  *pipe
	rq, wq   asyncrt.WaitQueue
	rdl, wdl time.Time
	// closed: Close was called (or the host crashed); the stream takes
	// no more data, and data for it is answered with a reset.
	closed   bool
	readShut bool
	// err is the error that ended the connection (a reset), reported by
	// reads and writes.
	err error
}

// pipe is one direction of a connection: what the sender has not sent
// yet, what is on the wire, what the receiver has not read.
type pipe struct {
	net      *Network
	from, to *Stream
	r        route
	snd      byteQueue // written, not yet sent
	sndCap   int
	inflight int       // sent, not yet arrived
	rcv      byteQueue // arrived, not yet read
	rcvCap   int
	// last is when the latest segment arrives: later ones never overtake
	// it.
	last                           time.Time
	finQueued, finSent, finArrived bool
}

func (p *pipe) window() int { return p.rcvCap - p.rcv.len() - p.inflight }

// transmit sends what the window and the link allow.
func (p *pipe) transmit(t *asyncrt.Task) {
	if p.r.cut() || p.from.host.down {
		return // Heal or nothing sends it
	}
	n := p.net
	sent := false
	for p.snd.len() > 0 {
		size := min(p.snd.len(), p.window(), mss)
		if size <= 0 {
			break // the receiver reads, and sends it on
		}
		data := n.getBuf(size)
		copy(data, p.snd.bytes())
		p.snd.consume(size)
		p.inflight += size
		e := n.newEvent(p.arrival(t, size), evkSegment)
		e.pipe, e.data = p, data
		n.push(t, e)
		sent = true
	}
	if p.snd.len() == 0 && p.finQueued && !p.finSent {
		p.finSent = true
		at := p.arrival(t, 0)
		n.schedule(t, at, p.arriveFin)
		if p.from.closed {
			p.from.forget() // Close kept it for Heal until all was sent
		}
	}
	if sent {
		p.from.wq.WakeAll() // room in the send buffer
	}
}

// arrival returns when a segment of size bytes sent now arrives, after any
// retransmissions and never before the segment ahead of it.
func (p *pipe) arrival(t *asyncrt.Task, size int) time.Time {
	n := p.net
	at := n.departure(p.r, t.Now(), size)
	if p.r.lk != nil {
		rto := segmentRTO
		for n.chance(p.r.lk.cfg.Loss) {
			at = at.Add(rto)
			rto = min(2*rto, maxRTO)
			n.stats.Retransmits++
		}
	}
	if at.Before(p.last) {
		at = p.last
	}
	p.last = at
	return at
}

// arrive delivers a segment to the receiving end.
func (p *pipe) arrive(t *asyncrt.Task, data []byte) {
	n := p.net
	p.inflight -= len(data)
	to := p.to
	if to.host.down || to.closed || to.err != nil {
		// Nobody is there to take it (or it was reset): a reset goes back.
		p.from.resetFrom(t, to)
		return
	}
	n.stats.Segments++
	n.stats.SegmentBytes += uint64(len(data))
	n.mixEvent(t.Now(), evSegment, to.id, len(data))
	n.mixBytes(data)
	if to.readShut {
		// Discarded, as Linux does after SHUT_RD: the window stays open,
		// and the sender sends on.
		p.transmit(t)
		return
	}
	p.rcv.append(data)
	to.rq.WakeAll()
}

func (p *pipe) arriveFin(t *asyncrt.Task) {
	to := p.to
	if to.host.down || to.err != nil {
		return
	}
	p.net.stats.Segments++
	p.net.mixEvent(t.Now(), evFin, to.id, 0)
	p.finArrived = true
	to.rq.WakeAll()
}

// resetFrom sends a reset from peer to s: it arrives after the link's
// delay.
func (s *Stream) resetFrom(t *asyncrt.Task, peer *Stream) {
	if s.err != nil {
		return
	}
	n := s.host.net
	r := n.route(peer.host, s.host)
	at := n.departure(r, t.Now(), 0)
	n.schedule(t, at, func(t *asyncrt.Task) { s.reset(t) })
}

// reset ends the connection with ECONNRESET.
func (s *Stream) reset(t *asyncrt.Task) {
	if s.err != nil || s.host.down {
		return
	}
	n := s.host.net
	n.stats.Resets++
	n.mixEvent(t.Now(), evReset, s.id, 0)
	s.err = unix.ECONNRESET
	s.in.rcv.reset()
	s.out.snd.reset()
	s.forget()
	s.rq.WakeAll()
	s.wq.WakeAll()
}

// abort closes the stream at once and resets its peer (Close with unread
// data, a listener closed before accepting, a crash). err, if not nil,
// is what the stream's own waiters read.
func (s *Stream) abort(t *asyncrt.Task, err error) {
	if !s.closed || !s.out.finSent {
		// The peer has not heard the end (a stream closed but still
		// sending has not sent its FIN): a reset tells it.
		s.closed = true
		if err != nil && s.err == nil {
			s.err = err
		}
		s.out.snd.reset()
		s.peer().resetFrom(t, s)
	}
	s.forget()
	s.rq.WakeAll()
	s.wq.WakeAll()
}

// forget drops the stream from its host's table.
func (s *Stream) forget() {
	h := s.host
	if h.live[s.id] == s {
		delete(h.live, s.id)
		h.net.closed()
		if h.ports[s.local.Port()]--; h.ports[s.local.Port()] <= 0 {
			delete(h.ports, s.local.Port())
		}
	}
}

func (s *Stream) peer() *Stream { return s.out.to }

// Dial connects t's host to remote: it sends a connection request and
// waits for the answer, retrying a lost request after 1, 2, 4... seconds
// as TCP does, until deadline (if not zero; os.ErrDeadlineExceeded) or the
// sixth retry (ETIMEDOUT). A port nobody listens on refuses (ECONNREFUSED).
func Dial(t *asyncrt.Task, remote netip.AddrPort, deadline time.Time, opts StreamOptions) (*Stream, error) {
	h, err := hostFor(t, "dial")
	if err != nil {
		return nil, err
	}
	n := h.net
	to := h.resolve(remote.Addr())
	if to == nil {
		return nil, os.NewSyscallError("connect", unix.ECONNREFUSED)
	}
	port, err := h.ephemeral()
	if err != nil {
		return nil, os.NewSyscallError("connect", err)
	}
	localIP := h.addr
	if to == h && isLoopback(remote.Addr()) {
		localIP = remote.Addr().Unmap()
	}
	h.ports[port]++ // held while connecting
	a := &attempt{host: h, to: to, local: netip.AddrPortFrom(localIP, port), remote: remote, opts: opts}
	var conn *Stream // handed to the caller
	defer func() {
		if conn != nil {
			return
		}
		// Refused, timed out, or given up because t was aborted (a
		// Timeout, a crash): an answer still on its way is reset, and so
		// is a connection the server took but the dialer will not.
		a.abandoned = true
		switch {
		case a.s != nil: // answered in the cycle t was aborted in
			a.s.abort(t, nil)
		case a.server != nil && !a.server.closed && a.server.err == nil:
			a.server.resetFrom(t, a.server.peer())
			fallthrough
		default:
			if h.ports[port]--; h.ports[port] <= 0 {
				delete(h.ports, port)
			}
		}
	}()
	for try := 0; ; try++ {
		a.send(t)
		retry := t.Now().Add(synRTO << try)
		for !a.done && !expired(t, deadline) && t.Now().Before(retry) {
			w := t.Enqueue(&a.q)
			switch {
			case deadline.IsZero() || retry.Before(deadline):
				w.WakeAt(retry)
			default:
				w.WakeAt(deadline)
			}
			t.Wait()
			w.Release()
		}
		switch {
		case a.done && a.err != nil:
			return nil, os.NewSyscallError("connect", a.err)
		case a.done:
			n.stats.Connects++
			conn = a.s
			return conn, nil
		case expired(t, deadline):
			return nil, os.ErrDeadlineExceeded
		case try == synRetries:
			return nil, os.NewSyscallError("connect", unix.ETIMEDOUT)
		}
	}
}

// attempt is a connection being made.
type attempt struct {
	host, to      *Host
	local, remote netip.AddrPort
	opts          StreamOptions
	q             asyncrt.WaitQueue
	server        *Stream // made when the first request arrived
	s             *Stream // the dialer's end, once established
	err           error
	done          bool
	abandoned     bool // the dialer gave up: a late answer is reset
}

// send sends a connection request, unless the link is cut, the peer is
// down or the request is lost: then the dialer's retry sends another.
func (a *attempt) send(t *asyncrt.Task) {
	n := a.host.net
	r := n.route(a.host, a.to)
	if r.cut() || r.lk != nil && n.chance(r.lk.cfg.Loss) {
		return
	}
	at := n.departure(r, t.Now(), 0)
	n.schedule(t, at, a.arrive)
}

// arrive handles the request at the listening host and sends the answer.
func (a *attempt) arrive(t *asyncrt.Task) {
	n := a.host.net
	if a.to.down {
		return // lost: the dialer retries
	}
	n.mixEvent(t.Now(), evSyn, uint64(a.to.index)<<16|uint64(a.remote.Port()), 0)
	back := n.route(a.to, a.host)
	if a.server != nil && (a.server.closed || a.server.err != nil || a.server.host.down) {
		a.server = nil // gone before the dialer heard of it: the retry starts afresh
	}
	if a.server == nil {
		l := a.to.listeners[a.remote.Port()]
		if l == nil || l.closed || !accepts(l, a.remote.Addr(), a.host) {
			n.stats.Refused++
			n.schedule(t, n.departure(back, t.Now(), 0), func(*asyncrt.Task) { a.answer(nil, unix.ECONNREFUSED) })
			return
		}
		if len(l.queue) >= l.backlog {
			return // a full queue drops the request, as Linux does; the dialer retries
		}
		a.server = a.connect(l)
		l.queue = append(l.queue, a.server)
		l.aq.WakeOne()
	}
	if back.cut() || back.lk != nil && n.chance(back.lk.cfg.Loss) {
		return // the answer is lost; the next request gets another
	}
	n.schedule(t, n.departure(back, t.Now(), 0), func(t *asyncrt.Task) {
		n.mixEvent(t.Now(), evSynAck, uint64(a.host.index)<<16|uint64(a.local.Port()), 0)
		if a.abandoned || a.host.down {
			a.server.resetFrom(t, a.server.peer())
			return
		}
		a.answer(a.server.peer(), nil)
	})
}

// accepts reports whether l, bound to a loopback address, takes a request
// from host from: only its own host reaches a loopback address.
func accepts(l *Listener, dst netip.Addr, from *Host) bool {
	if isLoopback(l.local.Addr()) || isLoopback(dst) {
		return from == l.host
	}
	return true
}

func (a *attempt) answer(s *Stream, err error) {
	if a.done || a.abandoned {
		return
	}
	a.done, a.s, a.err = true, s, err
	if s != nil {
		a.host.live[s.id] = s
		a.host.net.opened()
	}
	a.q.WakeAll()
}

// connect makes both ends of the connection a requests, the server's in
// l's host's table at once and the dialer's once the answer arrives, and
// returns the server's, for l's queue.
func (a *attempt) connect(l *Listener) *Stream {
	n := a.host.net
	cl, sv := a.host, l.host
	serverLocal := a.remote
	if serverLocal.Addr().IsUnspecified() {
		serverLocal = netip.AddrPortFrom(sv.addr, serverLocal.Port())
	}
	// One after the other: over loopback both ends are on one host, and
	// its table needs an ID for each.
	cl.nextID++
	c := &Stream{host: cl, peerHost: sv, id: cl.nextID, local: a.local, remote: serverLocal}
	sv.nextID++
	s := &Stream{host: sv, peerHost: cl, id: sv.nextID, local: serverLocal, remote: a.local}
	crcv, csnd := a.opts.sizes()
	srcv, ssnd := l.opts.sizes()
	c.out = &pipe{net: n, from: c, to: s, r: n.route(cl, sv), sndCap: csnd, rcvCap: srcv}
	s.out = &pipe{net: n, from: s, to: c, r: n.route(sv, cl), sndCap: ssnd, rcvCap: crcv}
	c.in, s.in = s.out, c.out
	sv.live[s.id] = s
	sv.ports[s.local.Port()]++
	n.opened()
	return s
}

// LocalAddr returns the stream's local address.
func (s *Stream) LocalAddr() netip.AddrPort { return s.local }

// RemoteAddr returns the peer's address.
func (s *Stream) RemoteAddr() netip.AddrPort { return s.remote }

// Read reads what has arrived into b, waiting for data if none has. It
// returns io.EOF once the peer closed its end and everything was read,
// ECONNRESET after a reset, os.ErrDeadlineExceeded once the read deadline
// passed, net.ErrClosed after Close.
func (s *Stream) Read(t *asyncrt.Task, b []byte) (int, error) {
	for {
		switch {
		case s.closed:
			return 0, net.ErrClosed
		case s.err != nil:
			return 0, s.opErr("read")
		case len(b) == 0:
			return 0, nil
		case s.in.rcv.len() > 0:
			k := copy(b, s.in.rcv.bytes())
			s.in.rcv.consume(k)
			s.in.transmit(t) // the window opened: the peer sends on
			return k, nil
		case s.in.finArrived || s.readShut:
			return 0, io.EOF
		case expired(t, s.rdl):
			return 0, os.ErrDeadlineExceeded
		}
		wait(t, &s.rq, s.rdl)
	}
}

// Readable reports whether a Read would not wait.
func (s *Stream) Readable() bool {
	return s.closed || s.err != nil || s.in.rcv.len() > 0 || s.in.finArrived || s.readShut
}

// Write writes all of b, waiting for room in the send buffer as needed.
// It returns how much it wrote and, if not all, why.
func (s *Stream) Write(t *asyncrt.Task, b []byte) (int, error) {
	written := 0
	for {
		switch {
		case s.closed:
			return written, net.ErrClosed
		case s.err != nil:
			return written, s.opErr("write")
		case s.out.finQueued:
			return written, os.NewSyscallError("write", unix.EPIPE)
		case written == len(b):
			return written, nil
		}
		if room := s.out.sndCap - s.out.snd.len(); room > 0 {
			k := min(room, len(b)-written)
			s.out.snd.append(b[written : written+k])
			written += k
			s.out.transmit(t)
			continue
		}
		if expired(t, s.wdl) {
			return written, os.ErrDeadlineExceeded
		}
		wait(t, &s.wq, s.wdl)
	}
}

func (s *Stream) opErr(op string) error {
	if errno, ok := s.err.(unix.Errno); ok {
		return os.NewSyscallError(op, errno)
	}
	return s.err
}

// CloseWrite shuts the writing side: the peer reads io.EOF once it has
// read everything written before.
func (s *Stream) CloseWrite(t *asyncrt.Task) error {
	switch {
	case s.closed:
		return net.ErrClosed
	case s.err != nil:
		return s.opErr("shutdown")
	}
	s.out.finQueued = true
	s.out.transmit(t)
	s.wq.WakeAll()
	return nil
}

// CloseRead shuts the reading side: reads return io.EOF, and data that
// arrives is discarded.
func (s *Stream) CloseRead(t *asyncrt.Task) error {
	if s.closed {
		return net.ErrClosed
	}
	s.readShut = true
	s.in.rcv.reset()
	s.in.transmit(t) // the window opened: what arrives now is discarded
	s.rq.WakeAll()
	return nil
}

// Close closes the stream. What was written is still delivered, then the
// peer reads io.EOF; but if data arrived that was never read, the peer is
// reset instead, as TCP does. Tasks waiting on the stream wake with
// net.ErrClosed. Closing twice returns net.ErrClosed.
func (s *Stream) Close(t *asyncrt.Task) error {
	if s.closed {
		return net.ErrClosed
	}
	if s.in.rcv.len() > 0 && s.err == nil {
		s.abort(t, nil)
		return nil
	}
	s.closed = true
	if s.err == nil && !s.out.finQueued {
		s.out.finQueued = true
		s.out.transmit(t)
	}
	if s.err != nil || s.out.finSent {
		// Otherwise what is left to send waits for the window or a cut
		// link, and the host keeps the stream, for Heal to find, until its
		// FIN is sent.
		s.forget()
	}
	s.rq.WakeAll()
	s.wq.WakeAll()
	return nil
}

// SetReadDeadline sets (zero: clears) the time after which reads fail
// with os.ErrDeadlineExceeded, waking a waiting reader to see it.
func (s *Stream) SetReadDeadline(at time.Time) {
	s.rdl = at
	s.rq.WakeAll()
}

// SetWriteDeadline is SetReadDeadline for writes.
func (s *Stream) SetWriteDeadline(at time.Time) {
	s.wdl = at
	s.wq.WakeAll()
}

// SetReadBuffer sets the receive buffer's size, for the data that arrives
// from now on.
func (s *Stream) SetReadBuffer(bytes int) {
	if bytes > 0 {
		s.in.rcvCap = bytes
	}
}

// SetWriteBuffer sets the send buffer's size.
func (s *Stream) SetWriteBuffer(bytes int) {
	if bytes > 0 {
		s.out.sndCap = bytes
		s.wq.WakeAll()
	}
}

// ReadBuffer and WriteBuffer return the buffers' sizes.
func (s *Stream) ReadBuffer() int { return s.in.rcvCap }

// WriteBuffer returns the send buffer's size.
func (s *Stream) WriteBuffer() int { return s.out.sndCap }

// byteQueue is a buffer of bytes taken from the front: its memory is kept
// and reused once emptied, so that a busy connection does not allocate.
type byteQueue struct {
	buf  []byte
	head int
}

func (q *byteQueue) len() int      { return len(q.buf) - q.head }
func (q *byteQueue) bytes() []byte { return q.buf[q.head:] }

func (q *byteQueue) append(b []byte) {
	if q.head > 0 && q.head >= len(q.buf)/2 {
		// Move what is left to the front rather than grow.
		q.buf = q.buf[:copy(q.buf, q.buf[q.head:])]
		q.head = 0
	}
	q.buf = append(q.buf, b...)
}

func (q *byteQueue) consume(k int) {
	q.head += k
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
}

func (q *byteQueue) reset() { q.buf, q.head = nil, 0 }
