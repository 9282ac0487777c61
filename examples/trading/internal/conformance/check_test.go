package conformance

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// heartbeatSlack is how much later than the heartbeat interval a side may
// send after it went quiet, measured between capture timestamps. Both
// sides arm a timer for exactly one interval after their last send, which
// the runtime fires within microseconds of its deadline; what remains is
// the machine: the process must be scheduled to run the timer, and a CI
// machine runs other tests alongside. 100 ms, a tenth of the interval,
// absorbs that, and stays far below what the old heartbeat logic allowed
// (client gaps up to 1.5 s, feed gaps up to 2 s).
const heartbeatSlack = 100 * time.Millisecond

// checker judges one run's capture and keeps what it measured.
type checker struct {
	p           ports
	instruments int
	interval    time.Duration // the heartbeat interval of both sides
	drops       bool          // the feed skips sequence numbers on purpose

	problems  []string
	nproblems int

	conns    map[[2]int]*conn // the current connection, by client and server port
	connList []*conn          // every connection
	stocks   map[uint16]string

	soup     map[string]int // SoupBinTCP packets, by direction and type
	ouch     map[string]int // OUCH messages, by name
	itchFeed map[byte]int
	itchSnap map[byte]int
	mold     map[string]int // MoldUDP64 packets: data, heartbeat, end of session
	lastFeed time.Time
	// The feed's longest silence between data packets: a heartbeat is due
	// only when it exceeds the interval.
	lastFeedData   time.Time
	maxFeedDataGap time.Duration
	nextSeq        uint64
	ended          bool // the feed's End of Session went by
	maxGap         map[string]time.Duration
	maxGapAt       map[string]int // the frame that ended the largest gap
	maxLogin       time.Duration
	maxReply       time.Duration
	unanswered     int
	orderConns     int
	snapConns      int
	tcpFrames      int
	feedPackets    int
	splits         int // segments split after a Login Accepted, see splitLoginAccepted
}

// conn is one SoupBinTCP connection, order entry or snapshot.
type conn struct {
	snapshot   bool
	clientPkts int
	serverPkts int
	loginReq   time.Time
	accepted   time.Time
	last       [2]time.Time // the last data each way: client, server
	pending    map[string]time.Time
}

func newChecker(p ports, instruments int, interval time.Duration, drops bool) *checker {
	return &checker{
		p: p, instruments: instruments, interval: interval, drops: drops,
		conns: map[[2]int]*conn{}, stocks: map[uint16]string{},
		soup: map[string]int{}, ouch: map[string]int{}, itchFeed: map[byte]int{}, itchSnap: map[byte]int{},
		mold: map[string]int{}, maxGap: map[string]time.Duration{}, maxGapAt: map[string]int{},
	}
}

// fail records a problem; the first ones are kept for the report.
func (c *checker) fail(frame int, format string, args ...any) {
	c.nproblems++
	if len(c.problems) < 40 {
		c.problems = append(c.problems, fmt.Sprintf("frame %d: ", frame)+fmt.Sprintf(format, args...))
	}
}

// gap records the quiet time before a packet sent by side at t.
func (c *checker) gap(frame int, side string, last *time.Time, t time.Time) {
	if !last.IsZero() {
		if g := t.Sub(*last); g > c.maxGap[side] {
			c.maxGap[side], c.maxGapAt[side] = g, frame
		}
	}
	*last = t
}

// tcpFrame checks one TCP frame on a SoupBinTCP port: a SYN that opens a
// connection, or data.
func (c *checker) tcpFrame(l node) error {
	frames, err := objects(l["frame"])
	if err != nil || len(frames) != 1 {
		return fmt.Errorf("frame layer: %v", err)
	}
	num, err := intField(frames[0], "frame.number")
	if err != nil {
		return err
	}
	ts, err := str(frames[0], "frame.time_epoch")
	if err != nil {
		return err
	}
	at, err := epoch(ts)
	if err != nil {
		return err
	}
	tcps, err := objects(l["tcp"])
	if err != nil || len(tcps) != 1 {
		return fmt.Errorf("frame %d: tcp layer: %v", num, err)
	}
	src, err := intField(tcps[0], "tcp.srcport")
	if err != nil {
		return err
	}
	dst, err := intField(tcps[0], "tcp.dstport")
	if err != nil {
		return err
	}
	flags, err := str(tcps[0], "tcp.flags")
	if err != nil {
		return err
	}
	fl, err := strconv.ParseUint(strings.TrimPrefix(flags, "0x"), 16, 16)
	if err != nil {
		return fmt.Errorf("frame %d: tcp.flags %q: %w", num, flags, err)
	}
	for k := range l {
		if strings.HasPrefix(k, "_ws.") {
			c.fail(num, "Wireshark marks the frame %s", k)
		}
	}
	fromServer := src == c.p.order || src == c.p.snapshot
	client, server := src, dst
	if fromServer {
		client, server = dst, src
	}
	// Connections are told apart by their ports, and a new one starts with
	// the client's SYN. (Not by tcp.stream: the SoupBinTCP dissector starts
	// a conversation of its own at the login, and tshark then numbers the
	// rest of the connection as another stream.)
	key := [2]int{client, server}
	if fl&0x012 == 0x002 { // SYN without ACK
		delete(c.conns, key)
		return nil
	}
	c.tcpFrames++
	cn := c.conns[key]
	if cn == nil {
		cn = &conn{snapshot: server == c.p.snapshot, pending: map[string]time.Time{}}
		c.conns[key] = cn
		c.connList = append(c.connList, cn)
		if cn.snapshot {
			c.snapConns++
		} else {
			c.orderConns++
		}
	}
	side := map[bool]string{false: "client", true: "server"}[fromServer]
	kind := "order"
	if cn.snapshot {
		kind = "snapshot"
	}
	dir := 0
	if fromServer {
		dir = 1
	}
	c.gap(num, kind+" "+side, &cn.last[dir], at)

	soups, err := objects(l["soupbintcp"])
	if err != nil {
		return fmt.Errorf("frame %d: soupbintcp: %w", num, err)
	}
	soupRaw, err := raws(l["soupbintcp_raw"])
	if err != nil {
		return fmt.Errorf("frame %d: soupbintcp_raw: %w", num, err)
	}
	if len(soups) != len(soupRaw) {
		return fmt.Errorf("frame %d: %d SoupBinTCP trees but %d raw packets", num, len(soups), len(soupRaw))
	}
	ouchs, err := objects(l["ouch"])
	if err != nil {
		return fmt.Errorf("frame %d: ouch: %w", num, err)
	}
	ouchRaw, err := raws(l["ouch_raw"])
	if err != nil {
		return fmt.Errorf("frame %d: ouch_raw: %w", num, err)
	}
	for _, k := range append(wsKeys(l["soupbintcp"]), wsKeys(l["ouch"])...) {
		c.fail(num, "Wireshark's dissector reports %s", k)
	}
	next := 0 // the next OUCH tree to pair with a data packet
	for i, s := range soups {
		payload, data := c.soupPacket(num, at, cn, s, soupRaw[i], fromServer)
		if !data {
			continue
		}
		if cn.snapshot {
			typ, err := itchMessage(payload, c.instruments, c.stocks, true)
			if err != nil {
				c.fail(num, "snapshot: %v", err)
			}
			c.itchSnap[typ]++
			continue
		}
		if next >= len(ouchs) || !bytes.Equal(ouchRaw[next], payload) {
			c.fail(num, "%s data packet %q not decoded as OUCH by the dissector", side, payload)
			continue
		}
		c.ouchMessage(num, at, cn, ouchs[next], payload, fromServer)
		next++
	}
	if next != len(ouchs) && !cn.snapshot {
		c.fail(num, "%d OUCH messages, %d in SoupBinTCP data packets", len(ouchs), next)
	}
	return nil
}

// soupPacket checks one SoupBinTCP packet (raw: length field included) and
// returns its payload, and whether it carries a message (Sequenced or
// Unsequenced Data).
func (c *checker) soupPacket(num int, at time.Time, cn *conn, s node, raw []byte, fromServer bool) ([]byte, bool) {
	side := map[bool]string{false: "client", true: "server"}[fromServer]
	if len(raw) < 3 {
		c.fail(num, "%s SoupBinTCP packet of %d bytes", side, len(raw))
		return nil, false
	}
	if n := int(binary.BigEndian.Uint16(raw)); n != len(raw)-2 {
		c.fail(num, "%s SoupBinTCP Packet Length %d for %d bytes", side, n, len(raw)-2)
	}
	for name, want := range map[string][]byte{"soupbintcp.packet_length": raw[:2], "soupbintcp.packet_type": raw[2:3]} {
		if b, err := field(s, name); err != nil || !bytes.Equal(b, want) {
			c.fail(num, "%s SoupBinTCP %s = %x (%v), want %x", side, name, b, err, want)
		}
	}
	typ, payload := raw[2], raw[3:]
	c.soup[fmt.Sprintf("%s %c", side, typ)]++
	table := soupFromClient
	if fromServer {
		table = soupFromServer
	}
	size, ok := table[typ]
	switch {
	case !ok:
		c.fail(num, "%s SoupBinTCP packet type %q: not one a %s sends", side, typ, side)
		return nil, false
	case size >= 0 && len(payload) != size:
		c.fail(num, "%s SoupBinTCP packet type %q with a payload of %d bytes, want %d", side, typ, len(payload), size)
		return nil, false
	}
	// The login comes first both ways, and answers at once.
	if fromServer {
		first := cn.serverPkts == 0
		cn.serverPkts++
		switch {
		case first && typ != 'A' && typ != 'J':
			c.fail(num, "the server's first packet is %q, not Login Accepted or Rejected", typ)
		case !first && (typ == 'A' || typ == 'J'):
			c.fail(num, "a second login answer %q", typ)
		case first && cn.loginReq.IsZero():
			c.fail(num, "a login answer before the Login Request")
		case first:
			d := at.Sub(cn.loginReq)
			c.maxLogin = max(c.maxLogin, d)
			if d >= c.interval {
				c.fail(num, "Login Accepted %v after the Login Request: held for a heartbeat, not sent at once", d)
			}
			cn.accepted = at
		}
	} else {
		first := cn.clientPkts == 0
		cn.clientPkts++
		switch {
		case first && typ != 'L':
			c.fail(num, "the client's first packet is %q, not a Login Request", typ)
		case !first && typ == 'L':
			c.fail(num, "a second Login Request")
		case first:
			cn.loginReq = at
		case typ != 'O' && cn.accepted.IsZero(): // a Logout Request may come at any time
			c.fail(num, "client packet %q before the Login Accepted", typ)
		}
	}
	fieldCheck := func(name string, off, width int, check func([]byte) error) {
		b, err := field(s, name)
		switch {
		case err != nil:
			c.fail(num, "SoupBinTCP %q: %v", typ, err)
		case !bytes.Equal(b, payload[off:off+width]):
			c.fail(num, "SoupBinTCP %q: the dissector's %s is not at offset %d, width %d", typ, name, off, width)
		default:
			if err := check(b); err != nil {
				c.fail(num, "SoupBinTCP %q: %s: %v", typ, name, err)
			}
		}
	}
	seq := func(b []byte) error { return rightJustified(b, isDigit, false) }
	switch typ {
	case 'L':
		fieldCheck("soupbintcp.username", 0, 6, func(b []byte) error { return alpha(b, false) })
		fieldCheck("soupbintcp.password", 6, 10, func(b []byte) error { return alpha(b, true) })
		fieldCheck("soupbintcp.session", 16, 10, func(b []byte) error {
			// Blank asks for the current session.
			if alpha(b, true) == nil || rightJustified(b, isAlnum, true) == nil {
				return nil
			}
			return fmt.Errorf("%q is neither blank nor a session name", b)
		})
		fieldCheck("soupbintcp.req_seq_num", 26, 20, seq)
	case 'A':
		fieldCheck("soupbintcp.session", 0, 10, func(b []byte) error { return rightJustified(b, isAlnum, false) })
		fieldCheck("soupbintcp.next_seq_num", 10, 20, func(b []byte) error {
			if err := seq(b); err != nil {
				return err
			}
			if n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); n < 1 {
				return fmt.Errorf("sequence number %d: they start at 1", n)
			}
			return nil
		})
	case 'J':
		fieldCheck("soupbintcp.reject_code", 0, 1, func(b []byte) error { return oneOf(b, soupRejectReasons) })
	case '+':
		if err := alpha(bytes.TrimRight(payload, " "), true); err != nil {
			c.fail(num, "Debug packet: %v", err)
		}
	case 'S', 'U':
		if len(payload) == 0 {
			c.fail(num, "SoupBinTCP %q without a message", typ)
			return nil, false
		}
		return payload, true
	}
	return nil, false
}

// ouchMessage checks one OUCH message against its layout and tables, and
// times the answers to requests.
func (c *checker) ouchMessage(num int, at time.Time, cn *conn, m node, msg []byte, fromServer bool) {
	typ := msg[0]
	layouts := ouchInbound
	if fromServer {
		layouts = ouchOutbound
	}
	lay, ok := layouts[typ]
	if !ok {
		c.fail(num, "OUCH message type %q (%d bytes) is not one the example should send this way", typ, len(msg))
		return
	}
	c.ouch[lay.name]++
	if len(msg) != lay.size {
		c.fail(num, "OUCH %s of %d bytes, want %d", lay.name, len(msg), lay.size)
		return
	}
	if b, err := field(m, "ouch.packet_type"); err != nil || !bytes.Equal(b, msg[:1]) {
		c.fail(num, "OUCH %s: the dissector's packet type %x (%v)", lay.name, b, err)
	}
	vals := map[string][]byte{}
	off := 1
	for _, f := range lay.fields {
		b, err := field(m, f.name)
		switch {
		case err != nil:
			c.fail(num, "OUCH %s: %v", lay.name, err)
		case !bytes.Equal(b, msg[off:off+f.width]):
			c.fail(num, "OUCH %s: the dissector's %s %x is not the %d bytes at offset %d", lay.name, f.name, b, f.width, off)
		default:
			if err := ouchValue(f.name, b, typ, !fromServer); err != nil {
				c.fail(num, "OUCH %s: %s: %v", lay.name, f.name, err)
			}
			vals[f.name] = b
		}
		off += f.width
	}
	if off != lay.size {
		panic(fmt.Sprintf("layout of %s covers %d bytes, not %d", lay.name, off, lay.size))
	}
	if mq, ok := vals[fMinQty.name]; ok && uintOf(mq) > uintOf(vals[fShares.name]) {
		c.fail(num, "OUCH %s: Minimum Quantity %d above the %d shares", lay.name, uintOf(mq), uintOf(vals[fShares.name]))
	}
	// Every reply leaves at once: requests are answered on the same
	// connection well within a heartbeat interval.
	key := func(name string) string { return string(vals[name]) }
	switch {
	case !fromServer && typ == 'O':
		cn.pending[key(fToken.name)] = at
	case !fromServer && typ == 'U':
		cn.pending[key(fReplacement.name)] = at
	case fromServer && (typ == 'A' || typ == 'J' || typ == 'U'):
		tok := key(fToken.name)
		if typ == 'U' {
			tok = key(fReplacement.name)
		}
		if t0, ok := cn.pending[tok]; ok {
			delete(cn.pending, tok)
			d := at.Sub(t0)
			c.maxReply = max(c.maxReply, d)
			if d >= c.interval {
				c.fail(num, "OUCH %s %v after its request: not sent at once", lay.name, d)
			}
		}
	}
}

// finish runs the checks that need the whole capture.
func (c *checker) finish() {
	for _, cn := range c.connList {
		c.unanswered += len(cn.pending)
	}
	if !c.ended {
		c.fail(0, "the feed never sent its End of Session")
	}
	limit := c.interval + heartbeatSlack
	for side, g := range c.maxGap {
		if g > limit {
			c.fail(c.maxGapAt[side], "the %s was quiet for %v, more than the heartbeat interval %v (+%v slack)", side, g, c.interval, heartbeatSlack)
		}
	}
}

// summary describes what was checked and measured.
func (c *checker) summary() string {
	var b strings.Builder
	count := func(m map[string]int) string {
		keys := make([]string, 0, len(m))
		total := 0
		for k, n := range m {
			keys = append(keys, fmt.Sprintf("%s %d", k, n))
			total += n
		}
		sort.Strings(keys)
		return fmt.Sprintf("%d (%s)", total, strings.Join(keys, ", "))
	}
	bytype := func(m map[byte]int) string {
		s := map[string]int{}
		for k, n := range m {
			s[string(k)] = n
		}
		return count(s)
	}
	fmt.Fprintf(&b, "TCP frames %d on %d order and %d snapshot connections (%d segments split after Login Accepted for the dissector)\n",
		c.tcpFrames, c.orderConns, c.snapConns, c.splits)
	fmt.Fprintf(&b, "SoupBinTCP packets %s\n", count(c.soup))
	fmt.Fprintf(&b, "OUCH messages %s\n", count(c.ouch))
	fmt.Fprintf(&b, "MoldUDP64 packets %s\n", count(c.mold))
	fmt.Fprintf(&b, "ITCH messages on the feed %s\n", bytype(c.itchFeed))
	fmt.Fprintf(&b, "ITCH messages in snapshots %s\n", bytype(c.itchSnap))
	sides := make([]string, 0, len(c.maxGap))
	for side, g := range c.maxGap {
		sides = append(sides, fmt.Sprintf("%s %v", side, g.Round(time.Microsecond)))
	}
	sort.Strings(sides)
	fmt.Fprintf(&b, "max gaps: %s (limit %v)\n", strings.Join(sides, ", "), c.interval+heartbeatSlack)
	fmt.Fprintf(&b, "max login answer %v, max reply %v (%d requests unanswered on their connection)",
		c.maxLogin.Round(time.Microsecond), c.maxReply.Round(time.Microsecond), c.unanswered)
	return b.String()
}

// check decodes the capture at path with tshark and checks it.
func (c *checker) check(ctx context.Context, tshark, path string) error {
	split := strings.TrimSuffix(path, ".pcap") + ".split.pcap"
	n, err := splitLoginAccepted(path, split, c.p.order, c.p.snapshot)
	if err != nil {
		return fmt.Errorf("split the Login Accepted segments of %s: %w", path, err)
	}
	c.splits = n
	decode := []string{"-r", split, "-n",
		"-d", fmt.Sprintf("tcp.port==%d,soupbintcp", c.p.order),
		"-d", fmt.Sprintf("tcp.port==%d,soupbintcp", c.p.snapshot),
		"-d", fmt.Sprintf("udp.port==%d,moldudp64", c.p.feed),
	}
	args := append(append([]string{}, decode...),
		"-Y", fmt.Sprintf("udp.dstport==%d", c.p.feed),
		"-T", "fields", "-E", "header=n", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=;")
	for _, f := range feedFields {
		args = append(args, "-e", f)
	}
	if err := tsharkFields(ctx, tshark, args, c.feedPacket); err != nil {
		return err
	}
	// A segment missing from the capture would leave the rest of its
	// connection undecodable: the run cannot be judged.
	args = append(append([]string{}, decode...), "-Y", "tcp.analysis.lost_segment", "-T", "fields", "-e", "frame.number")
	var lost []string
	if err := tsharkFields(ctx, tshark, args, func(cols []string) error { lost = append(lost, cols[0]); return nil }); err != nil {
		return err
	}
	if len(lost) > 0 {
		return fmt.Errorf("the capture misses TCP segments (before frames %v): it cannot be checked", lost)
	}
	// Every TCP frame with data on a SoupBinTCP port, and every client's
	// SYN: the timing of each side, and the packets (-x adds every field's
	// bytes).
	args = append(append([]string{}, decode...),
		"-Y", fmt.Sprintf("(tcp.len > 0 || tcp.flags.syn==1 && tcp.flags.ack==0) && (tcp.port==%d || tcp.port==%d)", c.p.order, c.p.snapshot),
		"-T", "json", "-x", "--no-duplicate-keys", "-j", "frame tcp soupbintcp ouch")
	if err := tsharkJSON(ctx, tshark, args, c.tcpFrame); err != nil {
		return err
	}
	c.finish()
	return nil
}
