// Package moldudp64 builds and parses MoldUDP64 packets.
//
// The layout follows the "MoldUDP64 Protocol Specification" version 1.00.
// A downstream packet is a 20-byte header (Session, 10 alphanumeric bytes
// padded with spaces; Sequence Number, uint64; Message Count, uint16)
// followed by Message Count message blocks, each a uint16 Message Length and
// the message bytes. All integers are big-endian. A Message Count of 0 marks
// a heartbeat and 0xFFFF the end of the session; neither carries messages.
// A re-request packet sent to the retransmission server has the same
// 20-byte layout as the header, see [Request].
//
// [Packet.Parse] and [Packet.Next] do not allocate; the messages they
// return alias the packet. [Builder] fills a packet in place and does not
// allocate after [NewBuilder].
package moldudp64

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Errors returned by this package. Returned errors wrap one or more of
// these and can be tested with [errors.Is].
var (
	// ErrTruncated reports a packet that ends before its header or one of
	// its message blocks does. Errors wrapping ErrTruncated also wrap
	// ErrLength.
	ErrTruncated = errors.New("truncated packet")
	// ErrLength reports a packet whose length does not match its contents.
	ErrLength = errors.New("wrong packet length")
	// ErrInvalid reports an invalid field or argument.
	ErrInvalid = errors.New("invalid value")
	// ErrFull reports that a message does not fit in the packet being
	// built. [Builder.Add] returns it unwrapped, without allocating.
	ErrFull = errors.New("moldudp64: packet full")
)

const (
	// HeaderLen is the size of the downstream packet header.
	HeaderLen = 20
	// RequestLen is the size of a re-request packet.
	RequestLen = 20
	// EndOfSession is the Message Count of an end-of-session packet.
	EndOfSession = 0xFFFF
	// MaxMessageLen is the largest message a block can hold.
	MaxMessageLen = math.MaxUint16
	// MaxCount is the largest number of messages a packet can hold.
	MaxCount = EndOfSession - 1
)

// Session is a 10-byte session name, left-justified and padded with spaces.
type Session [10]byte

// NewSession returns the Session for s, which must be 1 to 10 ASCII letters
// or digits.
func NewSession(s string) (Session, error) {
	var sess Session
	if len(s) == 0 || len(s) > len(sess) {
		return Session{}, fmt.Errorf("moldudp64: session %q: length %d, want 1 to %d: %w", s, len(s), len(sess), ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return Session{}, fmt.Errorf("moldudp64: session %q: invalid character at offset %d: %w", s, i, ErrInvalid)
		}
	}
	n := copy(sess[:], s)
	for ; n < len(sess); n++ {
		sess[n] = ' '
	}
	return sess, nil
}

// String returns the session name without its trailing space padding.
func (s Session) String() string {
	n := len(s)
	for n > 0 && s[n-1] == ' ' {
		n--
	}
	return string(s[:n])
}

// Header is the header of a downstream packet.
type Header struct {
	Session Session
	// Seq is the sequence number of the first message in the packet, or,
	// for heartbeats and end-of-session packets, of the next message.
	Seq uint64
	// Count is the number of messages in the packet, 0 for a heartbeat or
	// EndOfSession.
	Count uint16
}

// NextSeq returns the sequence number of the message following the
// packet's messages: Seq+Count, or Seq for a heartbeat or end-of-session
// packet.
func (h Header) NextSeq() uint64 {
	if h.Count == EndOfSession {
		return h.Seq
	}
	return h.Seq + uint64(h.Count)
}

// Packet is a parsed downstream packet and an iterator over its messages.
type Packet struct {
	Header
	rest []byte // message blocks not yet returned by Next
	left int    // number of messages not yet returned by Next
}

// Parse parses pkt, which must be exactly one downstream packet, into p
// and positions p before its first message. It checks the whole packet:
// every block must fit, the number of blocks must equal the Message Count,
// no bytes may follow the last block, heartbeats and end-of-session packets
// must carry no blocks, and the sequence numbers of the messages must not
// overflow. Parse does not check the Session field. p keeps a reference to
// pkt; the messages returned by Next alias it. On error p is reset to hold
// no messages.
func (p *Packet) Parse(pkt []byte) error {
	*p = Packet{}
	if len(pkt) < HeaderLen {
		return fmt.Errorf("moldudp64: packet of %d bytes, header needs %d: %w: %w", len(pkt), HeaderLen, ErrLength, ErrTruncated)
	}
	var h Header
	copy(h.Session[:], pkt[:10])
	h.Seq = binary.BigEndian.Uint64(pkt[10:])
	h.Count = binary.BigEndian.Uint16(pkt[18:])
	body := pkt[HeaderLen:]
	if h.Count == 0 || h.Count == EndOfSession {
		if len(body) != 0 {
			return fmt.Errorf("moldudp64: message count %d with %d bytes of blocks: %w", h.Count, len(body), ErrLength)
		}
		p.Header = h
		return nil
	}
	if h.Seq > math.MaxUint64-uint64(h.Count) {
		return fmt.Errorf("moldudp64: sequence number %d with %d messages overflows: %w", h.Seq, h.Count, ErrInvalid)
	}
	off := 0
	for i := range int(h.Count) {
		if len(body)-off < 2 {
			return fmt.Errorf("moldudp64: packet of %d bytes ends in the length of block %d of %d: %w: %w", len(pkt), i+1, h.Count, ErrLength, ErrTruncated)
		}
		n := int(binary.BigEndian.Uint16(body[off:]))
		off += 2
		if len(body)-off < n {
			return fmt.Errorf("moldudp64: packet of %d bytes ends in block %d of %d (%d bytes): %w: %w", len(pkt), i+1, h.Count, n, ErrLength, ErrTruncated)
		}
		off += n
	}
	if off != len(body) {
		return fmt.Errorf("moldudp64: %d bytes after %d message blocks: %w", len(body)-off, h.Count, ErrLength)
	}
	p.Header = h
	p.rest = body
	p.left = int(h.Count)
	return nil
}

// Next returns the next message of the packet, or false when none is
// left. The message aliases the parsed packet. The message with index i
// (counting from 0) has sequence number p.Seq+i.
func (p *Packet) Next() (msg []byte, ok bool) {
	if p.left == 0 {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(p.rest)) + 2
	msg = p.rest[2:n:n]
	p.rest = p.rest[n:]
	p.left--
	return msg, true
}

// Builder builds downstream packets carrying messages in a buffer it
// reuses.
type Builder struct {
	buf     []byte
	session Session
	seq     uint64
	count   int
}

// NewBuilder returns a Builder for packets of at most maxSize bytes,
// positioned at an empty packet whose first message has sequence number 1.
// maxSize must be at least HeaderLen+3, room for one 1-byte message; 1400
// keeps packets within a typical Ethernet MTU.
func NewBuilder(session Session, maxSize int) (*Builder, error) {
	if maxSize < HeaderLen+3 {
		return nil, fmt.Errorf("moldudp64: packet size %d is less than %d: %w", maxSize, HeaderLen+3, ErrInvalid)
	}
	b := &Builder{buf: make([]byte, 0, maxSize), session: session}
	b.Reset(1)
	return b, nil
}

// Reset discards the packet being built and starts an empty one whose
// first message has sequence number seq.
func (b *Builder) Reset(seq uint64) {
	b.seq = seq
	b.count = 0
	b.buf = appendHeader(b.buf[:0], b.session, seq, 0)
}

// Add appends msg to the packet as one message block. It returns an error
// wrapping [ErrInvalid] if msg is empty, longer than [MaxMessageLen] or too
// long for even an empty packet of the Builder's maximum size. It
// returns [ErrFull] itself if the block would make the packet longer than
// the Builder's maximum size, if the packet already holds [MaxCount]
// messages, or if the message's sequence number would overflow; the caller
// then sends the packet and starts the next one with Reset(b.NextSeq()).
// On error the packet is unchanged.
func (b *Builder) Add(msg []byte) error {
	if limit := min(MaxMessageLen, cap(b.buf)-HeaderLen-2); len(msg) == 0 || len(msg) > limit {
		return fmt.Errorf("moldudp64: message of %d bytes, want 1 to %d: %w", len(msg), limit, ErrInvalid)
	}
	if len(b.buf)+2+len(msg) > cap(b.buf) || b.count == MaxCount || b.seq+uint64(b.count) == math.MaxUint64 {
		return ErrFull
	}
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(len(msg)))
	b.buf = append(b.buf, msg...)
	b.count++
	binary.BigEndian.PutUint16(b.buf[18:], uint16(b.count))
	return nil
}

// Count returns the number of messages in the packet.
func (b *Builder) Count() int { return b.count }

// Len returns the size of the packet in bytes.
func (b *Builder) Len() int { return len(b.buf) }

// Seq returns the sequence number of the packet's first message.
func (b *Builder) Seq() uint64 { return b.seq }

// NextSeq returns the sequence number the next message added will have.
func (b *Builder) NextSeq() uint64 { return b.seq + uint64(b.count) }

// Bytes returns the packet, header included. The slice aliases the
// Builder's buffer and is valid until the next call to Add or Reset.
func (b *Builder) Bytes() []byte { return b.buf }

// AppendHeartbeat appends a heartbeat packet for session s to dst and
// returns the extended slice. nextSeq is the sequence number of the next
// message the sender will send.
func AppendHeartbeat(dst []byte, s Session, nextSeq uint64) []byte {
	return appendHeader(dst, s, nextSeq, 0)
}

// AppendEndOfSession appends an end-of-session packet for session s to
// dst and returns the extended slice. nextSeq is the sequence number
// following the session's last message.
func AppendEndOfSession(dst []byte, s Session, nextSeq uint64) []byte {
	return appendHeader(dst, s, nextSeq, EndOfSession)
}

func appendHeader(dst []byte, s Session, seq uint64, count uint16) []byte {
	dst = append(dst, s[:]...)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	return binary.BigEndian.AppendUint16(dst, count)
}

// Request is a re-request packet asking the retransmission server to
// resend messages.
type Request struct {
	Session Session
	// Seq is the sequence number of the first message requested.
	Seq uint64
	// Count is the number of messages requested.
	Count uint16
}

// AppendTo appends the encoded request to dst and returns the extended
// slice.
func (r Request) AppendTo(dst []byte) []byte {
	return appendHeader(dst, r.Session, r.Seq, r.Count)
}

// Decode decodes b, which must be exactly one re-request packet, into r.
// It does not check the field values; the server decides which requests it
// serves. On error r is unchanged.
func (r *Request) Decode(b []byte) error {
	if len(b) < RequestLen {
		return fmt.Errorf("moldudp64: request of %d bytes, want %d: %w: %w", len(b), RequestLen, ErrLength, ErrTruncated)
	}
	if len(b) > RequestLen {
		return fmt.Errorf("moldudp64: request of %d bytes, want %d: %w", len(b), RequestLen, ErrLength)
	}
	copy(r.Session[:], b[:10])
	r.Seq = binary.BigEndian.Uint64(b[10:])
	r.Count = binary.BigEndian.Uint16(b[18:])
	return nil
}
