package exchange

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
	"github.com/orrery-go/orrery/examples/trading/internal/book"
	"github.com/orrery-go/orrery/examples/trading/internal/ouch"
	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
)

// maxOutbound is how many bytes may wait for a slow client before the
// exchange gives up on it and disconnects.
const maxOutbound = 8 << 20

// user is an order-entry account: its sequenced message stream outlives
// connections, so a client that logs in again is replayed what it missed.
type user struct {
	name, password string
	id             uint32 // book owner id
	log            [][]byte
	sess           *session
	live           map[ouch.Token]book.OrderID
	seen           map[ouch.Token]struct{}
	pos            map[uint16]*Position
}

func newUser(name, password string, id uint32) *user {
	return &user{
		name: name, password: password, id: id,
		live: make(map[ouch.Token]book.OrderID),
		seen: make(map[ouch.Token]struct{}),
		pos:  make(map[uint16]*Position),
	}
}

// sequence appends an OUCH message to u's sequenced stream and sends it if u
// is connected.
func (u *user) sequence(msg []byte) {
	u.log = append(u.log, append([]byte(nil), msg...))
	if u.sess != nil {
		u.sess.queue(soupbin.TypeSequencedData, msg)
	}
}

func (u *user) position(in *instrument) *Position {
	p := u.pos[in.locate]
	if p == nil {
		p = &Position{Locate: in.locate, Stock: in.name}
		u.pos[in.locate] = p
	}
	return p
}

// session is one logged-in order-entry connection.
type session struct {
	x        *Exchange
	u        *user
	conn     *socket.TCPConn
	out      []byte
	spare    []byte
	wake     *asyncrt.Sender[struct{}]
	wakeRx   *asyncrt.Receiver[struct{}]
	lastSent time.Time
	closing  bool // the writer closes the connection once it has flushed
	gone     bool
}

func (s *session) queue(typ byte, payload []byte) {
	if s.gone {
		return
	}
	var err error
	if s.out, err = soupbin.AppendPacket(s.out, typ, payload); err != nil {
		panic("exchange: " + err.Error()) // our messages are far below the limit
	}
	if len(s.out) > maxOutbound {
		s.x.stats.Disconnects++
		s.drop()
		return
	}
	_ = s.wake.TrySend(struct{}{}) // a full channel already holds a wake-up
}

// drop closes the connection; the reader notices and cleans up.
func (s *session) drop() {
	if !s.gone {
		s.gone = true
		s.conn.Close()
		n, _ := s.x.open.Borrow()
		s.x.open.Send(n - 1)
	}
}

// endOfDay sends the end-of-day event and End of Session; the writer then
// closes the connection.
func (s *session) endOfDay() {
	msg := ouch.SystemEvent{Timestamp: s.x.timestamp(), Event: ouch.EventEndOfDay}.AppendTo(nil)
	s.u.sequence(msg)
	s.queue(soupbin.TypeEndOfSession, nil)
	s.closing = true
}

// flush writes what is queued and reports whether it wrote anything. Only
// the writer task calls it.
func (s *session) flush() (wrote bool) {
	for len(s.out) > 0 && !s.gone {
		buf := s.out
		s.out = s.spare[:0]
		if _, err := s.conn.Write(buf); err != nil {
			s.drop()
			return wrote
		}
		wrote = true
		s.spare = buf[:0]
	}
	return wrote
}

// writer sends what is queued as soon as it is queued (queue wakes it),
// and a Server Heartbeat whenever nothing was sent for a heartbeat
// interval, as SoupBinTCP asks. The quiet deadline is taken afresh from the
// last write at every turn: a timer reset by every send, so a heartbeat
// leaves one interval after the last packet, never later.
func (s *session) writer(t *asyncrt.Task) {
	hb := s.x.cfg.Heartbeat
	recv := asyncrt.OnRecv(s.wakeRx)
	for !s.gone {
		quiet := asyncrt.OnDeadline(s.lastSent.Add(hb))
		if i, _ := asyncrt.Select(t, recv, quiet); i == 1 {
			s.queue(soupbin.TypeServerHeartbeat, nil)
		}
		// Only a write restarts the quiet interval: the wake-up the
		// heartbeat's own queue call leaves behind writes nothing. A
		// played partition holds the bytes until the link heals.
		s.x.awaitLink(t)
		if s.flush() {
			s.lastSent = t.Now()
		}
		if s.closing {
			s.drop()
		}
	}
}

// readPacket reads one SoupBinTCP packet into buf (which keeps any bytes
// past it), waiting at most until deadline.
type packetReader struct {
	t    *asyncrt.Task
	x    *Exchange
	conn *socket.TCPConn
	buf  []byte
	off  int // start of unparsed bytes
	end  int
}

func newPacketReader(t *asyncrt.Task, x *Exchange, conn *socket.TCPConn) *packetReader {
	return &packetReader{t: t, x: x, conn: conn, buf: make([]byte, 64<<10)}
}

// next returns the next packet; its payload is valid until the next call.
func (r *packetReader) next() (typ byte, payload []byte, err error) {
	for {
		typ, payload, n, err := soupbin.Next(r.buf[r.off:r.end], 0)
		if err != nil {
			return 0, nil, err
		}
		if n > 0 {
			r.off += n
			return typ, payload, nil
		}
		if r.off > 0 { // move the partial packet to the front
			r.end = copy(r.buf, r.buf[r.off:r.end])
			r.off = 0
		}
		r.x.awaitLink(r.t) // a played partition: nothing arrives until it heals
		m, err := r.conn.Read(r.buf[r.end:])
		if err != nil {
			return 0, nil, err
		}
		r.end += m
	}
}

// login waits for a login request and checks it. It returns the user, or
// nil after refusing the client.
func (x *Exchange) login(t *asyncrt.Task, conn *socket.TCPConn, r *packetReader, snapshot bool) (*user, soupbin.LoginRequest) {
	_ = conn.SetReadDeadline(t.Now().Add(3 * x.cfg.Heartbeat))
	typ, payload, err := r.next()
	_ = conn.SetReadDeadline(time.Time{})
	var req soupbin.LoginRequest
	if err == nil && typ != soupbin.TypeLoginRequest {
		err = errors.New("first packet is not a login request")
	}
	if err == nil {
		req, err = soupbin.ParseLoginRequest(payload)
	}
	if err != nil {
		x.stats.Malformed++
		return nil, req
	}
	reject := func(reason byte) (*user, soupbin.LoginRequest) {
		x.stats.LoginRejects++
		pkt, _ := soupbin.AppendPacket(nil, soupbin.TypeLoginRejected, []byte{reason})
		_, _ = conn.Write(pkt)
		return nil, req
	}
	u := x.users[req.Username]
	if u == nil || u.password != req.Password {
		return reject(soupbin.RejectNotAuthorized)
	}
	if req.Session != "" && req.Session != x.cfg.Session {
		return reject(soupbin.RejectSessionNotAvailable)
	}
	if !snapshot && u.sess != nil {
		return reject(soupbin.RejectSessionNotAvailable) // one connection per user
	}
	return u, req
}

func (x *Exchange) serveOrders(t *asyncrt.Task, conn *socket.TCPConn) {
	defer conn.Close()
	r := newPacketReader(t, x, conn)
	u, req := x.login(t, conn, r, false)
	if u == nil {
		return
	}
	x.stats.Logins++
	// Replay from the requested sequence number (0: from now on).
	next := uint64(len(u.log)) + 1
	if req.Seq > 0 && req.Seq < next {
		next = req.Seq
	}
	s := &session{x: x, u: u, conn: conn, lastSent: t.Now()}
	var err error
	if s.wake, s.wakeRx, err = asyncrt.NewChan[struct{}](t.Runtime(), 1); err != nil {
		panic(err)
	}
	accepted, err := soupbin.LoginAccepted{Session: x.cfg.Session, Seq: next}.AppendTo(nil)
	if err != nil {
		panic(err)
	}
	s.out = append(s.out, accepted...)
	_ = s.wake.TrySend(struct{}{}) // the reply leaves now, not at the next heartbeat
	for _, msg := range u.log[next-1:] {
		s.queue(soupbin.TypeSequencedData, msg)
	}
	u.sess = s
	n, _ := x.open.Borrow()
	x.open.Send(n + 1)
	w := asyncrt.SpawnFunc(t, s.writer)
	defer func() { // also when the exchange shuts down and aborts this task
		s.drop()
		w.Abort()
		if u.sess == s {
			u.sess = nil
		}
	}()
	x.readOrders(t, s, r)
	// The client left or was cut off: cancel its orders. (Not on shutdown:
	// the session then ends for the day, see Serve.)
	s.drop()
	u.sess = nil
	x.stats.Disconnects++
	x.setNow(t)
	x.cancelOnDisconnect(t, u)
}

func (x *Exchange) readOrders(t *asyncrt.Task, s *session, r *packetReader) {
	idle := 3 * x.cfg.Heartbeat
	for !s.gone {
		_ = s.conn.SetReadDeadline(t.Now().Add(idle))
		typ, payload, err := r.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !s.gone {
				x.stats.Malformed++ // a bad frame, a timeout or a reset
			}
			return
		}
		switch typ {
		case soupbin.TypeUnsequencedData:
			x.setNow(t)
			x.handleOrderMessage(t, s.u, payload)
			x.feed.flush(t)
		case soupbin.TypeClientHeartbeat:
		case soupbin.TypeLogoutRequest:
			return
		default:
			x.stats.Malformed++
		}
	}
}

// cancelOnDisconnect cancels every live order of u, in the order they were
// entered, as exchanges do for market makers' sessions.
func (x *Exchange) cancelOnDisconnect(t *asyncrt.Task, u *user) {
	ids := make([]book.OrderID, 0, len(u.live))
	for _, id := range u.live {
		ids = append(ids, id)
	}
	sortIDs(ids)
	for _, id := range ids {
		o := x.owners[id]
		x.cancelOrder(t, o.inst, id, 0, ouch.CancelSystem)
		x.stats.DisconnectCancels++
	}
	x.feed.flush(t)
}

// cutSessions closes every order session now and then, as a flaky network
// or a failing gateway would.
func (x *Exchange) cutSessions(t *asyncrt.Task) {
	for {
		t.Sleep(x.cfg.CutEvery)
		if x.quiet {
			return
		}
		for _, u := range x.userIDs {
			if u.sess != nil && !u.sess.gone {
				x.stats.Cuts++
				u.sess.drop()
			}
		}
	}
}
