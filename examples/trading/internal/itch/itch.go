package itch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Errors returned by the decoders and validators. Returned errors wrap one
// or more of these and can be tested with [errors.Is].
var (
	// ErrTruncated reports a message shorter than its type requires.
	// Errors wrapping ErrTruncated also wrap ErrLength.
	ErrTruncated = errors.New("truncated message")
	// ErrLength reports a message whose length does not match its type.
	ErrLength = errors.New("wrong message length")
	// ErrType reports a message of a different type than the decoder expects.
	ErrType = errors.New("unexpected message type")
	// ErrInvalid reports a field holding a value the format does not allow.
	ErrInvalid = errors.New("invalid field value")
)

// Message types.
const (
	TypeSystemEvent   byte = 'S'
	TypeAddOrder      byte = 'A'
	TypeOrderExecuted byte = 'E'
	TypeOrderCancel   byte = 'X'
	TypeOrderDelete   byte = 'D'
	TypeOrderReplace  byte = 'U'
	TypeTrade         byte = 'P'
	TypeEndOfSnapshot byte = 'G'
)

// Encoded message sizes in bytes, including the type byte.
const (
	HeaderLen        = 11
	SystemEventLen   = 12
	AddOrderLen      = 36
	OrderExecutedLen = 31
	OrderCancelLen   = 23
	OrderDeleteLen   = 19
	OrderReplaceLen  = 35
	TradeLen         = 44
	EndOfSnapshotLen = 21
)

// System event codes carried by [SystemEvent].
const (
	EventStartOfMessages    byte = 'O'
	EventStartOfSystemHours byte = 'S'
	EventStartOfMarketHours byte = 'Q'
	EventEndOfMarketHours   byte = 'M'
	EventEndOfSystemHours   byte = 'E'
	EventEndOfMessages      byte = 'C'
)

// Buy/Sell indicator values.
const (
	SideBuy  byte = 'B'
	SideSell byte = 'S'
)

// MaxTimestamp is the largest timestamp the 6-byte Timestamp field can hold.
const MaxTimestamp = 1<<48 - 1

// seqWidth is the width of the ASCII sequence number in EndOfSnapshot.
const seqWidth = 20

// Type returns the type of msg, its first byte.
func Type(msg []byte) (byte, error) {
	if len(msg) == 0 {
		return 0, fmt.Errorf("itch: empty message: %w: %w", ErrLength, ErrTruncated)
	}
	return msg[0], nil
}

// Len returns the encoded size of messages of type typ, including the type
// byte. It reports false if the package does not know typ.
func Len(typ byte) (int, bool) {
	switch typ {
	case TypeSystemEvent:
		return SystemEventLen, true
	case TypeAddOrder:
		return AddOrderLen, true
	case TypeOrderExecuted:
		return OrderExecutedLen, true
	case TypeOrderCancel:
		return OrderCancelLen, true
	case TypeOrderDelete:
		return OrderDeleteLen, true
	case TypeOrderReplace:
		return OrderReplaceLen, true
	case TypeTrade:
		return TradeLen, true
	case TypeEndOfSnapshot:
		return EndOfSnapshotLen, true
	}
	return 0, false
}

// Stock is an 8-byte alpha stock symbol, left-justified and padded with
// spaces.
type Stock [8]byte

// NewStock returns the Stock for s, which must be 1 to 8 printable ASCII
// characters other than space.
func NewStock(s string) (Stock, error) {
	var st Stock
	if len(s) == 0 || len(s) > len(st) {
		return Stock{}, fmt.Errorf("itch: stock %q: length %d, want 1 to %d: %w", s, len(s), len(st), ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return Stock{}, fmt.Errorf("itch: stock %q: invalid character at offset %d: %w", s, i, ErrInvalid)
		}
	}
	n := copy(st[:], s)
	for i := n; i < len(st); i++ {
		st[i] = ' '
	}
	return st, nil
}

// String returns the symbol without its trailing space padding.
func (s Stock) String() string {
	n := len(s)
	for n > 0 && s[n-1] == ' ' {
		n--
	}
	return string(s[:n])
}

// Header holds the fields common to all ITCH messages after the type byte.
type Header struct {
	// Locate is the Stock Locate code identifying the security.
	Locate uint16
	// Tracking is the Nasdaq internal tracking number.
	Tracking uint16
	// Timestamp is the number of nanoseconds since midnight. Encoders write
	// its low 48 bits; see [MaxTimestamp].
	Timestamp uint64
}

// Validate reports an error wrapping [ErrInvalid] if the timestamp does not
// fit in 48 bits.
func (h Header) Validate() error {
	if h.Timestamp > MaxTimestamp {
		return fmt.Errorf("itch: timestamp %d exceeds %d: %w", h.Timestamp, uint64(MaxTimestamp), ErrInvalid)
	}
	return nil
}

// SystemEvent is a System Event message ('S') signalling a market or data
// feed handler event.
type SystemEvent struct {
	Header
	// Event is one of the EventXxx codes.
	Event byte
}

// AddOrder is an Add Order (No MPID Attribution) message ('A') announcing
// a new order on the book.
type AddOrder struct {
	Header
	// Ref is the Order Reference Number, unique for the trading day.
	Ref uint64
	// Side is SideBuy or SideSell.
	Side   byte
	Shares uint32
	Stock  Stock
	// Price has four implied decimal places.
	Price uint32
}

// OrderExecuted is an Order Executed message ('E') reporting that shares of
// a resting order were executed.
type OrderExecuted struct {
	Header
	// Ref is the reference number of the executed resting order.
	Ref uint64
	// Shares is the number of shares executed.
	Shares uint32
	// Match is the Match Number identifying the execution.
	Match uint64
}

// OrderCancel is an Order Cancel message ('X') reporting that a resting
// order was partially canceled.
type OrderCancel struct {
	Header
	// Ref is the reference number of the reduced order.
	Ref uint64
	// Shares is the number of shares removed from the order.
	Shares uint32
}

// OrderDelete is an Order Delete message ('D') reporting that a resting
// order was removed from the book.
type OrderDelete struct {
	Header
	// Ref is the reference number of the removed order.
	Ref uint64
}

// OrderReplace is an Order Replace message ('U') reporting that an order
// was canceled and replaced by a new order with a new reference number.
type OrderReplace struct {
	Header
	// OrigRef is the reference number of the replaced order.
	OrigRef uint64
	// NewRef is the reference number of the replacing order.
	NewRef uint64
	Shares uint32
	// Price has four implied decimal places.
	Price uint32
}

// Trade is a Trade (Non-Cross) message ('P') reporting an execution
// against a non-displayed order.
type Trade struct {
	Header
	// Ref is the reference number of the non-displayed order executed.
	Ref uint64
	// Side is SideBuy or SideSell.
	Side   byte
	Shares uint32
	Stock  Stock
	// Price has four implied decimal places.
	Price uint32
	// Match is the Match Number identifying the execution.
	Match uint64
}

// EndOfSnapshot is the GLIMPSE End of Snapshot message ('G'). It has no
// header; Seq is the ITCH sequence number at which the real-time feed
// continues after the snapshot.
type EndOfSnapshot struct {
	Seq uint64
}

// Validate reports an error wrapping [ErrInvalid] if m cannot be decoded
// after encoding: the timestamp does not fit in 48 bits or the event code
// is unknown.
func (m SystemEvent) Validate() error {
	if err := m.Header.Validate(); err != nil {
		return err
	}
	switch m.Event {
	case EventStartOfMessages, EventStartOfSystemHours, EventStartOfMarketHours,
		EventEndOfMarketHours, EventEndOfSystemHours, EventEndOfMessages:
		return nil
	}
	return fmt.Errorf("itch: SystemEvent: event code %q: %w", m.Event, ErrInvalid)
}

// Validate reports an error wrapping [ErrInvalid] if m cannot be decoded
// after encoding: the timestamp does not fit in 48 bits or the side is not
// SideBuy or SideSell.
func (m AddOrder) Validate() error {
	if err := m.Header.Validate(); err != nil {
		return err
	}
	return validSide("AddOrder", m.Side)
}

// Validate reports an error wrapping [ErrInvalid] if m cannot be decoded
// after encoding: the timestamp does not fit in 48 bits or the side is not
// SideBuy or SideSell.
func (m Trade) Validate() error {
	if err := m.Header.Validate(); err != nil {
		return err
	}
	return validSide("Trade", m.Side)
}

func validSide(name string, side byte) error {
	if side != SideBuy && side != SideSell {
		return fmt.Errorf("itch: %s: side %q: %w", name, side, ErrInvalid)
	}
	return nil
}

// AppendTo appends the encoded message to dst and returns the extended
// slice. It writes the low 48 bits of the timestamp and does not validate m.
func (m SystemEvent) AppendTo(dst []byte) []byte {
	dst = appendHeader(dst, TypeSystemEvent, m.Header)
	return append(dst, m.Event)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice. It writes the low 48 bits of the timestamp and does not validate m.
func (m AddOrder) AppendTo(dst []byte) []byte {
	dst = appendHeader(dst, TypeAddOrder, m.Header)
	dst = binary.BigEndian.AppendUint64(dst, m.Ref)
	dst = append(dst, m.Side)
	dst = binary.BigEndian.AppendUint32(dst, m.Shares)
	dst = append(dst, m.Stock[:]...)
	return binary.BigEndian.AppendUint32(dst, m.Price)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice. It writes the low 48 bits of the timestamp.
func (m OrderExecuted) AppendTo(dst []byte) []byte {
	dst = appendHeader(dst, TypeOrderExecuted, m.Header)
	dst = binary.BigEndian.AppendUint64(dst, m.Ref)
	dst = binary.BigEndian.AppendUint32(dst, m.Shares)
	return binary.BigEndian.AppendUint64(dst, m.Match)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice. It writes the low 48 bits of the timestamp.
func (m OrderCancel) AppendTo(dst []byte) []byte {
	dst = appendHeader(dst, TypeOrderCancel, m.Header)
	dst = binary.BigEndian.AppendUint64(dst, m.Ref)
	return binary.BigEndian.AppendUint32(dst, m.Shares)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice. It writes the low 48 bits of the timestamp.
func (m OrderDelete) AppendTo(dst []byte) []byte {
	dst = appendHeader(dst, TypeOrderDelete, m.Header)
	return binary.BigEndian.AppendUint64(dst, m.Ref)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice. It writes the low 48 bits of the timestamp.
func (m OrderReplace) AppendTo(dst []byte) []byte {
	dst = appendHeader(dst, TypeOrderReplace, m.Header)
	dst = binary.BigEndian.AppendUint64(dst, m.OrigRef)
	dst = binary.BigEndian.AppendUint64(dst, m.NewRef)
	dst = binary.BigEndian.AppendUint32(dst, m.Shares)
	return binary.BigEndian.AppendUint32(dst, m.Price)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice. It writes the low 48 bits of the timestamp and does not validate m.
func (m Trade) AppendTo(dst []byte) []byte {
	dst = appendHeader(dst, TypeTrade, m.Header)
	dst = binary.BigEndian.AppendUint64(dst, m.Ref)
	dst = append(dst, m.Side)
	dst = binary.BigEndian.AppendUint32(dst, m.Shares)
	dst = append(dst, m.Stock[:]...)
	dst = binary.BigEndian.AppendUint32(dst, m.Price)
	return binary.BigEndian.AppendUint64(dst, m.Match)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice.
func (m EndOfSnapshot) AppendTo(dst []byte) []byte {
	var field [seqWidth]byte
	i := len(field)
	for v := m.Seq; ; v /= 10 {
		i--
		field[i] = '0' + byte(v%10)
		if v < 10 {
			break
		}
	}
	for j := range i {
		field[j] = ' '
	}
	dst = append(dst, TypeEndOfSnapshot)
	return append(dst, field[:]...)
}

// Decode decodes msg, which must be exactly one System Event message, into
// m. On error m is unchanged.
func (m *SystemEvent) Decode(msg []byte) error {
	if err := check("SystemEvent", msg, TypeSystemEvent, SystemEventLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	v := SystemEvent{Header: r.header(), Event: r.u8()}
	if err := v.Validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Add Order message, into m.
// On error m is unchanged.
func (m *AddOrder) Decode(msg []byte) error {
	if err := check("AddOrder", msg, TypeAddOrder, AddOrderLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v AddOrder
	v.Header = r.header()
	v.Ref = r.u64()
	v.Side = r.u8()
	v.Shares = r.u32()
	r.copy(v.Stock[:])
	v.Price = r.u32()
	if err := validSide("AddOrder", v.Side); err != nil {
		return err
	}
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Order Executed message,
// into m. On error m is unchanged.
func (m *OrderExecuted) Decode(msg []byte) error {
	if err := check("OrderExecuted", msg, TypeOrderExecuted, OrderExecutedLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v OrderExecuted
	v.Header = r.header()
	v.Ref = r.u64()
	v.Shares = r.u32()
	v.Match = r.u64()
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Order Cancel message, into
// m. On error m is unchanged.
func (m *OrderCancel) Decode(msg []byte) error {
	if err := check("OrderCancel", msg, TypeOrderCancel, OrderCancelLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v OrderCancel
	v.Header = r.header()
	v.Ref = r.u64()
	v.Shares = r.u32()
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Order Delete message, into
// m. On error m is unchanged.
func (m *OrderDelete) Decode(msg []byte) error {
	if err := check("OrderDelete", msg, TypeOrderDelete, OrderDeleteLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v OrderDelete
	v.Header = r.header()
	v.Ref = r.u64()
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Order Replace message, into
// m. On error m is unchanged.
func (m *OrderReplace) Decode(msg []byte) error {
	if err := check("OrderReplace", msg, TypeOrderReplace, OrderReplaceLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v OrderReplace
	v.Header = r.header()
	v.OrigRef = r.u64()
	v.NewRef = r.u64()
	v.Shares = r.u32()
	v.Price = r.u32()
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Trade (Non-Cross) message,
// into m. On error m is unchanged.
func (m *Trade) Decode(msg []byte) error {
	if err := check("Trade", msg, TypeTrade, TradeLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v Trade
	v.Header = r.header()
	v.Ref = r.u64()
	v.Side = r.u8()
	v.Shares = r.u32()
	r.copy(v.Stock[:])
	v.Price = r.u32()
	v.Match = r.u64()
	if err := validSide("Trade", v.Side); err != nil {
		return err
	}
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one End of Snapshot message,
// into m. The sequence number must be 1 to 20 decimal digits preceded only
// by spaces; leading zeros are accepted. On error m is unchanged.
func (m *EndOfSnapshot) Decode(msg []byte) error {
	if err := check("EndOfSnapshot", msg, TypeEndOfSnapshot, EndOfSnapshotLen); err != nil {
		return err
	}
	f := msg[1:]
	i := 0
	for i < len(f) && f[i] == ' ' {
		i++
	}
	if i == len(f) {
		return fmt.Errorf("itch: EndOfSnapshot: blank sequence number: %w", ErrInvalid)
	}
	var seq uint64
	for ; i < len(f); i++ {
		d := f[i] - '0'
		if d > 9 {
			return fmt.Errorf("itch: EndOfSnapshot: sequence number: non-digit %q at offset %d: %w", f[i], 1+i, ErrInvalid)
		}
		if seq > (math.MaxUint64-uint64(d))/10 {
			return fmt.Errorf("itch: EndOfSnapshot: sequence number overflows uint64: %w", ErrInvalid)
		}
		seq = seq*10 + uint64(d)
	}
	m.Seq = seq
	return nil
}

// check verifies the type and length of msg before it is decoded as a
// message called name.
func check(name string, msg []byte, typ byte, size int) error {
	if len(msg) == 0 {
		return fmt.Errorf("itch: %s: empty message, want %d bytes: %w: %w", name, size, ErrLength, ErrTruncated)
	}
	if msg[0] != typ {
		return fmt.Errorf("itch: %s: message type %q, want %q: %w", name, msg[0], typ, ErrType)
	}
	if len(msg) < size {
		return fmt.Errorf("itch: %s: %d bytes, want %d: %w: %w", name, len(msg), size, ErrLength, ErrTruncated)
	}
	if len(msg) > size {
		return fmt.Errorf("itch: %s: %d bytes, want %d: %w", name, len(msg), size, ErrLength)
	}
	return nil
}

func appendHeader(dst []byte, typ byte, h Header) []byte {
	dst = append(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, h.Locate)
	dst = binary.BigEndian.AppendUint16(dst, h.Tracking)
	t := h.Timestamp
	return append(dst, byte(t>>40), byte(t>>32), byte(t>>24), byte(t>>16), byte(t>>8), byte(t))
}

// reader consumes big-endian fields from a slice whose length the caller
// has already checked.
type reader struct {
	b []byte
}

func (r *reader) u8() byte {
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) u32() uint32 {
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) u48() uint64 {
	b := r.b[:6]
	r.b = r.b[6:]
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 |
		uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}

func (r *reader) u64() uint64 {
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) copy(dst []byte) {
	n := copy(dst, r.b[:len(dst)])
	r.b = r.b[n:]
}

func (r *reader) header() Header {
	return Header{Locate: r.u16(), Tracking: r.u16(), Timestamp: r.u48()}
}
