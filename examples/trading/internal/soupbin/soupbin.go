// Package soupbin frames and parses SoupBinTCP 3.0 packets.
//
// The layout follows the "SoupBinTCP Version 3.00" specification. A packet
// is a big-endian uint16 Packet Length, counting the bytes that follow it,
// then a one-byte Packet Type and the payload. Alpha fields in the login
// packets are padded with spaces; numeric fields are ASCII decimal digits,
// right-justified and padded on the left with spaces.
//
// [AppendPacket] frames a packet and [Next] parses one from a buffer;
// [Reader] parses packets from an [io.Reader]. Packets without a payload
// (heartbeats, End of Session, Logout Request) are written with
// AppendPacket(dst, typ, nil).
package soupbin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// HeartbeatInterval is SoupBinTCP's heartbeat cadence: the server sends a
// Server Heartbeat, and the client a Client Heartbeat, whenever it has sent
// nothing for this long.
const HeartbeatInterval = time.Second

// Errors returned by this package. Returned errors wrap one or more of
// these and can be tested with [errors.Is].
var (
	// ErrTruncated reports a payload shorter than its packet type requires.
	// Errors wrapping ErrTruncated also wrap ErrLength.
	ErrTruncated = errors.New("truncated payload")
	// ErrLength reports a payload whose length does not match its packet
	// type.
	ErrLength = errors.New("wrong payload length")
	// ErrInvalid reports a malformed packet or field.
	ErrInvalid = errors.New("invalid packet")
	// ErrTooLarge reports a packet longer than allowed.
	ErrTooLarge = errors.New("packet too large")
)

// Packet types sent by the server.
const (
	TypeDebug           byte = '+'
	TypeLoginAccepted   byte = 'A'
	TypeLoginRejected   byte = 'J'
	TypeSequencedData   byte = 'S'
	TypeServerHeartbeat byte = 'H'
	TypeEndOfSession    byte = 'Z'
)

// Packet types sent by the client. Debug packets may be sent both ways.
const (
	TypeLoginRequest    byte = 'L'
	TypeUnsequencedData byte = 'U'
	TypeClientHeartbeat byte = 'R'
	TypeLogoutRequest   byte = 'O'
)

// Login Rejected reason codes.
const (
	RejectNotAuthorized       byte = 'A' // invalid username or password
	RejectSessionNotAvailable byte = 'S' // the requested session is not available
)

const (
	// HeaderLen is the size of the Packet Length and Packet Type fields.
	HeaderLen = 3
	// MaxPacketLen is the largest Packet Length value: type plus payload.
	MaxPacketLen = math.MaxUint16
	// MaxPayload is the largest payload a packet can carry.
	MaxPayload = MaxPacketLen - 1
)

// Payload sizes of the login packets.
const (
	LoginRequestLen  = 46
	LoginAcceptedLen = 30
	LoginRejectedLen = 1
)

// Field widths of the login packets.
const (
	usernameWidth = 6
	passwordWidth = 10
	sessionWidth  = 10
	seqWidth      = 20
)

// AppendPacket appends a packet of type typ carrying payload to dst and
// returns the extended slice. It returns dst unchanged and an error
// wrapping [ErrTooLarge] if payload is longer than [MaxPayload].
func AppendPacket(dst []byte, typ byte, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return dst, fmt.Errorf("soupbin: packet type %q: payload of %d bytes exceeds %d: %w", typ, len(payload), MaxPayload, ErrTooLarge)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(1+len(payload)))
	dst = append(dst, typ)
	return append(dst, payload...), nil
}

// Next parses the packet at the front of buf. It returns the packet type,
// the payload and the number of bytes the packet occupies in buf. The
// payload aliases buf (with its capacity limited to its length) and is
// valid only as long as buf's contents are.
//
// If buf holds only part of a packet, Next returns n == 0 and a nil error:
// the caller should read more bytes and call Next again. maxLen limits the
// Packet Length field (type plus payload); a larger value gives an error
// wrapping [ErrTooLarge] as soon as the length field is read. maxLen <= 0
// means [MaxPacketLen]. A Packet Length of 0 gives an error wrapping
// [ErrInvalid]. Next does not interpret the packet type. After an error the
// stream cannot be resynchronized.
func Next(buf []byte, maxLen int) (typ byte, payload []byte, n int, err error) {
	if len(buf) < 2 {
		return 0, nil, 0, nil
	}
	l := int(binary.BigEndian.Uint16(buf))
	if l == 0 {
		return 0, nil, 0, fmt.Errorf("soupbin: packet length 0: %w", ErrInvalid)
	}
	if maxLen > 0 && l > maxLen {
		return 0, nil, 0, fmt.Errorf("soupbin: packet length %d exceeds limit %d: %w", l, maxLen, ErrTooLarge)
	}
	n = 2 + l
	if len(buf) < n {
		return 0, nil, 0, nil
	}
	return buf[2], buf[HeaderLen:n:n], n, nil
}

// LoginRequest is the payload of a Login Request packet ('L').
type LoginRequest struct {
	// Username is 1 to 6 printable ASCII characters other than space.
	Username string
	// Password is up to 10 printable ASCII characters other than space.
	Password string
	// Session is the session to log into, up to 10 printable ASCII
	// characters other than space; empty means the current session.
	Session string
	// Seq is the sequence number of the next sequenced message the client
	// wants; 0 asks for the most recently generated one.
	Seq uint64
}

// AppendTo appends a complete Login Request packet, header included, to
// dst and returns the extended slice. It returns dst unchanged and an error
// wrapping [ErrInvalid] if a field is too long or holds characters other
// than printable ASCII, or if Username is empty.
func (r LoginRequest) AppendTo(dst []byte) ([]byte, error) {
	if err := checkText("login request: username", r.Username, 1, usernameWidth); err != nil {
		return dst, err
	}
	if err := checkText("login request: password", r.Password, 0, passwordWidth); err != nil {
		return dst, err
	}
	if err := checkText("login request: session", r.Session, 0, sessionWidth); err != nil {
		return dst, err
	}
	dst = binary.BigEndian.AppendUint16(dst, 1+LoginRequestLen)
	dst = append(dst, TypeLoginRequest)
	dst = appendLeft(dst, r.Username, usernameWidth)
	dst = appendLeft(dst, r.Password, passwordWidth)
	dst = appendRight(dst, r.Session, sessionWidth)
	return appendUint(dst, r.Seq), nil
}

// ParseLoginRequest parses the payload of a Login Request packet. Fields
// must hold printable ASCII without embedded spaces, padded as the
// specification requires; the sequence number must have at least one digit
// (leading zeros are accepted).
func ParseLoginRequest(payload []byte) (LoginRequest, error) {
	if err := checkLen("login request", payload, LoginRequestLen); err != nil {
		return LoginRequest{}, err
	}
	var r LoginRequest
	var err error
	if r.Username, err = parseLeft("login request: username", payload[:6]); err != nil {
		return LoginRequest{}, err
	}
	if r.Username == "" {
		return LoginRequest{}, fmt.Errorf("soupbin: login request: blank username: %w", ErrInvalid)
	}
	if r.Password, err = parseLeft("login request: password", payload[6:16]); err != nil {
		return LoginRequest{}, err
	}
	if r.Session, err = parseRight("login request: session", payload[16:26]); err != nil {
		return LoginRequest{}, err
	}
	if r.Seq, err = parseUint("login request: sequence number", payload[26:46]); err != nil {
		return LoginRequest{}, err
	}
	return r, nil
}

// LoginAccepted is the payload of a Login Accepted packet ('A').
type LoginAccepted struct {
	// Session is the session the client is logged into, 1 to 10 printable
	// ASCII characters other than space.
	Session string
	// Seq is the sequence number of the next sequenced message the server
	// will send.
	Seq uint64
}

// AppendTo appends a complete Login Accepted packet, header included, to
// dst and returns the extended slice. It returns dst unchanged and an error
// wrapping [ErrInvalid] if Session is empty, too long or holds characters
// other than printable ASCII.
func (a LoginAccepted) AppendTo(dst []byte) ([]byte, error) {
	if err := checkText("login accepted: session", a.Session, 1, sessionWidth); err != nil {
		return dst, err
	}
	dst = binary.BigEndian.AppendUint16(dst, 1+LoginAcceptedLen)
	dst = append(dst, TypeLoginAccepted)
	dst = appendRight(dst, a.Session, sessionWidth)
	return appendUint(dst, a.Seq), nil
}

// ParseLoginAccepted parses the payload of a Login Accepted packet.
func ParseLoginAccepted(payload []byte) (LoginAccepted, error) {
	if err := checkLen("login accepted", payload, LoginAcceptedLen); err != nil {
		return LoginAccepted{}, err
	}
	var a LoginAccepted
	var err error
	if a.Session, err = parseRight("login accepted: session", payload[:10]); err != nil {
		return LoginAccepted{}, err
	}
	if a.Session == "" {
		return LoginAccepted{}, fmt.Errorf("soupbin: login accepted: blank session: %w", ErrInvalid)
	}
	if a.Seq, err = parseUint("login accepted: sequence number", payload[10:30]); err != nil {
		return LoginAccepted{}, err
	}
	return a, nil
}

// LoginRejected is the payload of a Login Rejected packet ('J').
type LoginRejected struct {
	// Reason is RejectNotAuthorized or RejectSessionNotAvailable.
	Reason byte
}

// AppendTo appends a complete Login Rejected packet, header included, to
// dst and returns the extended slice. It returns dst unchanged and an error
// wrapping [ErrInvalid] if the reason code is unknown.
func (j LoginRejected) AppendTo(dst []byte) ([]byte, error) {
	if err := checkReason(j.Reason); err != nil {
		return dst, err
	}
	dst = binary.BigEndian.AppendUint16(dst, 1+LoginRejectedLen)
	return append(dst, TypeLoginRejected, j.Reason), nil
}

// ParseLoginRejected parses the payload of a Login Rejected packet.
func ParseLoginRejected(payload []byte) (LoginRejected, error) {
	if err := checkLen("login rejected", payload, LoginRejectedLen); err != nil {
		return LoginRejected{}, err
	}
	if err := checkReason(payload[0]); err != nil {
		return LoginRejected{}, err
	}
	return LoginRejected{Reason: payload[0]}, nil
}

func checkReason(r byte) error {
	if r != RejectNotAuthorized && r != RejectSessionNotAvailable {
		return fmt.Errorf("soupbin: login rejected: reason %q: %w", r, ErrInvalid)
	}
	return nil
}

func checkLen(what string, payload []byte, want int) error {
	if len(payload) < want {
		return fmt.Errorf("soupbin: %s: payload of %d bytes, want %d: %w: %w", what, len(payload), want, ErrLength, ErrTruncated)
	}
	if len(payload) > want {
		return fmt.Errorf("soupbin: %s: payload of %d bytes, want %d: %w", what, len(payload), want, ErrLength)
	}
	return nil
}

// checkText checks that s has minLen to maxLen printable ASCII characters
// other than space.
func checkText(what, s string, minLen, maxLen int) error {
	if len(s) < minLen || len(s) > maxLen {
		return fmt.Errorf("soupbin: %s %q: length %d, want %d to %d: %w", what, s, len(s), minLen, maxLen, ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		if !graphic(s[i]) {
			return fmt.Errorf("soupbin: %s %q: invalid character at offset %d: %w", what, s, i, ErrInvalid)
		}
	}
	return nil
}

// graphic reports whether c is printable ASCII other than space.
func graphic(c byte) bool { return c > ' ' && c <= '~' }

// appendLeft appends s left-justified in a field of width bytes.
func appendLeft(dst []byte, s string, width int) []byte {
	dst = append(dst, s...)
	for i := len(s); i < width; i++ {
		dst = append(dst, ' ')
	}
	return dst
}

// appendRight appends s right-justified in a field of width bytes.
func appendRight(dst []byte, s string, width int) []byte {
	for i := len(s); i < width; i++ {
		dst = append(dst, ' ')
	}
	return append(dst, s...)
}

// appendUint appends v in decimal, right-justified in a 20-byte field.
func appendUint(dst []byte, v uint64) []byte {
	var f [seqWidth]byte
	i := len(f)
	for ; ; v /= 10 {
		i--
		f[i] = '0' + byte(v%10)
		if v < 10 {
			break
		}
	}
	for j := range i {
		f[j] = ' '
	}
	return append(dst, f[:]...)
}

// parseLeft returns the left-justified text in f: graphic characters
// followed only by spaces.
func parseLeft(what string, f []byte) (string, error) {
	n := 0
	for n < len(f) && graphic(f[n]) {
		n++
	}
	for i := n; i < len(f); i++ {
		if f[i] != ' ' {
			return "", fmt.Errorf("soupbin: %s: invalid byte %q at offset %d: %w", what, f[i], i, ErrInvalid)
		}
	}
	return string(f[:n]), nil
}

// parseRight returns the right-justified text in f: spaces followed only
// by graphic characters.
func parseRight(what string, f []byte) (string, error) {
	i := 0
	for i < len(f) && f[i] == ' ' {
		i++
	}
	for j := i; j < len(f); j++ {
		if !graphic(f[j]) {
			return "", fmt.Errorf("soupbin: %s: invalid byte %q at offset %d: %w", what, f[j], j, ErrInvalid)
		}
	}
	return string(f[i:]), nil
}

// parseUint parses a right-justified decimal field: spaces followed by one
// or more digits.
func parseUint(what string, f []byte) (uint64, error) {
	i := 0
	for i < len(f) && f[i] == ' ' {
		i++
	}
	if i == len(f) {
		return 0, fmt.Errorf("soupbin: %s: blank: %w", what, ErrInvalid)
	}
	var v uint64
	for ; i < len(f); i++ {
		d := f[i] - '0'
		if d > 9 {
			return 0, fmt.Errorf("soupbin: %s: invalid byte %q at offset %d: %w", what, f[i], i, ErrInvalid)
		}
		if v > (math.MaxUint64-uint64(d))/10 {
			return 0, fmt.Errorf("soupbin: %s: overflows uint64: %w", what, ErrInvalid)
		}
		v = v*10 + uint64(d)
	}
	return v, nil
}
