package ouch

import (
	"encoding/binary"
	"errors"
	"fmt"
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

// Inbound (client to exchange) message types.
const (
	TypeEnterOrder   byte = 'O'
	TypeReplaceOrder byte = 'U'
	TypeCancelOrder  byte = 'X'
)

// Outbound (exchange to client) message types.
const (
	TypeSystemEvent byte = 'S'
	TypeAccepted    byte = 'A'
	TypeReplaced    byte = 'U'
	TypeCanceled    byte = 'C'
	TypeExecuted    byte = 'E'
	TypeRejected    byte = 'J'
)

// Encoded message sizes in bytes, including the type byte.
const (
	EnterOrderLen   = 49
	ReplaceOrderLen = 47
	CancelOrderLen  = 19
	SystemEventLen  = 10
	AcceptedLen     = 66
	ReplacedLen     = 80
	CanceledLen     = 28
	ExecutedLen     = 40
	RejectedLen     = 24
)

// Buy/Sell indicator values.
const (
	SideBuy             byte = 'B'
	SideSell            byte = 'S'
	SideSellShort       byte = 'T'
	SideSellShortExempt byte = 'E'
)

// Special Time in Force values. Other values are a lifetime in seconds.
const (
	TIFImmediate   uint32 = 0     // immediate or cancel
	TIFMarketHours uint32 = 99998 // until the end of market hours
	TIFSystemHours uint32 = 99999 // until the end of system hours
)

// System event codes carried by [SystemEvent].
const (
	EventStartOfDay byte = 'S'
	EventEndOfDay   byte = 'E'
)

// Order states carried by [Accepted] and [Replaced].
const (
	OrderStateLive byte = 'L'
	OrderStateDead byte = 'D'
)

// Liquidity flags carried by [Executed].
const (
	LiquidityAdded   byte = 'A'
	LiquidityRemoved byte = 'R'
)

// Display values.
const (
	DisplayVisible      byte = 'Y'
	DisplayHidden       byte = 'N'
	DisplayAttributable byte = 'A'
)

// Capacity values.
const (
	CapacityAgency    byte = 'A'
	CapacityPrincipal byte = 'P'
	CapacityRiskless  byte = 'R'
	CapacityOther     byte = 'O'
)

// Intermarket Sweep Eligibility values.
const (
	IntermarketSweepEligible    byte = 'Y'
	IntermarketSweepNotEligible byte = 'N'
)

// Cross Type values.
const (
	CrossNone    byte = 'N' // continuous market
	CrossOpening byte = 'O'
	CrossClosing byte = 'C'
	CrossHaltIPO byte = 'H'
)

// Customer Type values.
const (
	CustomerRetail    byte = 'R'
	CustomerNotRetail byte = 'N'
)

// Cancel reasons carried by [Canceled].
const (
	CancelUser              byte = 'U' // the user asked for the cancel
	CancelImmediateOrCancel byte = 'I' // unexecuted remainder of an immediate order
	CancelTimeout           byte = 'T' // the Time in Force expired
	CancelSupervisory       byte = 'S' // canceled by a supervisory terminal
	CancelRegulatory        byte = 'D' // a regulatory restriction
	CancelSelfMatch         byte = 'Q' // self-match prevention
	CancelSystem            byte = 'Z' // system cancel; this project's cancel on disconnect
)

// Reject reasons carried by [Rejected]: the codes of the OUCH 4.2 table,
// and no others, so that any OUCH 4.2 client can read them.
//
// OUCH 4.2 silently ignores an Enter Order whose token was used before and
// a Replace Order whose existing order is no longer live or whose
// replacement token was used before. This project's exchange answers them
// with [RejectOther] instead, so that a client learns the outcome of every
// request it sent (a replace racing a fill, say): the code is the
// specification's, the answer is this project's extension.
const (
	RejectTestMode             byte = 'T' // the port is in test mode
	RejectHalted               byte = 'H' // the stock is halted
	RejectInvalidShares        byte = 'Z' // the shares exceed the configured safety threshold
	RejectInvalidStock         byte = 'S' // the stock is unknown
	RejectInvalidDisplay       byte = 'D' // the Display value is invalid
	RejectClosed               byte = 'C' // the market is closed
	RejectFirmNotAuthorized    byte = 'L' // the firm is not authorized for the clearing type on this account
	RejectOutsideClearingTimes byte = 'M' // outside the permitted times for the clearing type
	RejectNotAllowedInCross    byte = 'R' // the order is not allowed in this type of cross
	RejectInvalidPrice         byte = 'X' // the price is invalid
	RejectInvalidMinimumQty    byte = 'N' // the Minimum Quantity is invalid
	RejectOther                byte = 'O' // any other reason; see above for this project's uses
)

// BBO Weight Indicator values carried by [Accepted] and [Replaced].
const (
	BBOWeight0To02       byte = '0' // 0 to 0.2%
	BBOWeight02To1       byte = '1' // 0.2 to 1%
	BBOWeight1To2        byte = '2' // 1 to 2%
	BBOWeightAbove2      byte = '3' // more than 2%
	BBOWeightUnspecified byte = ' ' // unspecified
)

// CancelReasonString returns a short description of the cancel reason b.
func CancelReasonString(b byte) string {
	switch b {
	case CancelUser:
		return "user requested"
	case CancelImmediateOrCancel:
		return "immediate or cancel"
	case CancelTimeout:
		return "timeout"
	case CancelSupervisory:
		return "supervisory"
	case CancelRegulatory:
		return "regulatory restriction"
	case CancelSelfMatch:
		return "self-match prevention"
	case CancelSystem:
		return "system"
	}
	return fmt.Sprintf("unknown cancel reason %q", b)
}

// RejectReasonString returns a short description of the reject reason b.
func RejectReasonString(b byte) string {
	switch b {
	case RejectTestMode:
		return "test mode"
	case RejectHalted:
		return "halted"
	case RejectInvalidShares:
		return "invalid shares"
	case RejectInvalidStock:
		return "invalid stock"
	case RejectInvalidDisplay:
		return "invalid display"
	case RejectClosed:
		return "market closed"
	case RejectFirmNotAuthorized:
		return "firm not authorized"
	case RejectOutsideClearingTimes:
		return "outside clearing times"
	case RejectNotAllowedInCross:
		return "not allowed in cross"
	case RejectInvalidPrice:
		return "invalid price"
	case RejectInvalidMinimumQty:
		return "invalid minimum quantity"
	case RejectOther:
		return "other"
	}
	return fmt.Sprintf("unknown reject reason %q", b)
}

// Type returns the type of msg, its first byte.
func Type(msg []byte) (byte, error) {
	if len(msg) == 0 {
		return 0, fmt.Errorf("ouch: empty message: %w: %w", ErrLength, ErrTruncated)
	}
	return msg[0], nil
}

// InboundLen returns the encoded size of inbound (client to exchange)
// messages of type typ, including the type byte. It reports false if the
// package does not know typ.
func InboundLen(typ byte) (int, bool) {
	switch typ {
	case TypeEnterOrder:
		return EnterOrderLen, true
	case TypeReplaceOrder:
		return ReplaceOrderLen, true
	case TypeCancelOrder:
		return CancelOrderLen, true
	}
	return 0, false
}

// OutboundLen returns the encoded size of outbound (exchange to client)
// messages of type typ, including the type byte. It reports false if the
// package does not know typ.
func OutboundLen(typ byte) (int, bool) {
	switch typ {
	case TypeSystemEvent:
		return SystemEventLen, true
	case TypeAccepted:
		return AcceptedLen, true
	case TypeReplaced:
		return ReplacedLen, true
	case TypeCanceled:
		return CanceledLen, true
	case TypeExecuted:
		return ExecutedLen, true
	case TypeRejected:
		return RejectedLen, true
	}
	return 0, false
}

// Token is a 14-byte order token chosen by the client, left-justified and
// padded with spaces. Tokens must be printable ASCII and not blank.
type Token [14]byte

// MaxTokenUint is the largest number [TokenFromUint] accepts.
const MaxTokenUint = 99_999_999_999_999

// TokenFromUint returns the token holding the decimal digits of n,
// left-justified. It panics if n exceeds [MaxTokenUint].
func TokenFromUint(n uint64) Token {
	if n > MaxTokenUint {
		panic(fmt.Sprintf("ouch: TokenFromUint(%d): more than %d digits", n, len(Token{})))
	}
	var digits [len(Token{})]byte
	i := len(digits)
	for ; ; n /= 10 {
		i--
		digits[i] = '0' + byte(n%10)
		if n < 10 {
			break
		}
	}
	var t Token
	k := copy(t[:], digits[i:])
	for ; k < len(t); k++ {
		t[k] = ' '
	}
	return t
}

// NewToken returns the Token for s, which must be 1 to 14 printable ASCII
// characters other than space.
func NewToken(s string) (Token, error) {
	var t Token
	if err := fillAlpha(t[:], s, 1, "token"); err != nil {
		return Token{}, err
	}
	return t, nil
}

// Uint returns the number held by a token of decimal digits followed by
// spaces, such as one made by [TokenFromUint]. It returns an error wrapping
// [ErrInvalid] for any other token.
func (t Token) Uint() (uint64, error) {
	var n uint64
	i := 0
	for ; i < len(t) && t[i] >= '0' && t[i] <= '9'; i++ {
		n = n*10 + uint64(t[i]-'0') // 14 digits cannot overflow
	}
	if i == 0 {
		return 0, fmt.Errorf("ouch: token %q: not a number: %w", string(t[:]), ErrInvalid)
	}
	for ; i < len(t); i++ {
		if t[i] != ' ' {
			return 0, fmt.Errorf("ouch: token %q: not a number: %w", string(t[:]), ErrInvalid)
		}
	}
	return n, nil
}

// String returns the token without its trailing space padding.
func (t Token) String() string { return trimRight(t[:]) }

// validToken reports whether t is printable ASCII and not blank.
func validToken(t *Token) bool {
	blank := true
	for _, c := range t {
		if c < ' ' || c > '~' {
			return false
		}
		if c != ' ' {
			blank = false
		}
	}
	return !blank
}

// Stock is an 8-byte alpha stock symbol, left-justified and padded with
// spaces.
type Stock [8]byte

// NewStock returns the Stock for s, which must be 1 to 8 printable ASCII
// characters other than space.
func NewStock(s string) (Stock, error) {
	var st Stock
	if err := fillAlpha(st[:], s, 1, "stock"); err != nil {
		return Stock{}, err
	}
	return st, nil
}

// String returns the symbol without its trailing space padding.
func (s Stock) String() string { return trimRight(s[:]) }

// Firm is a 4-byte alpha firm identifier, left-justified and padded with
// spaces. A blank Firm selects the default firm of the order entry port.
type Firm [4]byte

// NewFirm returns the Firm for s, which must be at most 4 printable ASCII
// characters other than space. An empty s gives a blank Firm.
func NewFirm(s string) (Firm, error) {
	var f Firm
	if err := fillAlpha(f[:], s, 0, "firm"); err != nil {
		return Firm{}, err
	}
	return f, nil
}

// String returns the firm without its trailing space padding.
func (f Firm) String() string { return trimRight(f[:]) }

// fillAlpha stores s left-justified in dst, padded with spaces, after
// checking that it has at least minLen printable ASCII characters other
// than space and fits in dst.
func fillAlpha(dst []byte, s string, minLen int, what string) error {
	if len(s) < minLen || len(s) > len(dst) {
		return fmt.Errorf("ouch: %s %q: length %d, want %d to %d: %w", what, s, len(s), minLen, len(dst), ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return fmt.Errorf("ouch: %s %q: invalid character at offset %d: %w", what, s, i, ErrInvalid)
		}
	}
	n := copy(dst, s)
	for ; n < len(dst); n++ {
		dst[n] = ' '
	}
	return nil
}

func trimRight(b []byte) string {
	n := len(b)
	for n > 0 && b[n-1] == ' ' {
		n--
	}
	return string(b[:n])
}

// check verifies the type and length of msg before it is decoded as a
// message called name.
func check(name string, msg []byte, typ byte, size int) error {
	if len(msg) == 0 {
		return fmt.Errorf("ouch: %s: empty message, want %d bytes: %w: %w", name, size, ErrLength, ErrTruncated)
	}
	if msg[0] != typ {
		return fmt.Errorf("ouch: %s: message type %q, want %q: %w", name, msg[0], typ, ErrType)
	}
	if len(msg) < size {
		return fmt.Errorf("ouch: %s: %d bytes, want %d: %w: %w", name, len(msg), size, ErrLength, ErrTruncated)
	}
	if len(msg) > size {
		return fmt.Errorf("ouch: %s: %d bytes, want %d: %w", name, len(msg), size, ErrLength)
	}
	return nil
}

func checkToken(name, field string, t *Token) error {
	if !validToken(t) {
		return fmt.Errorf("ouch: %s: %s %q: not printable ASCII or blank: %w", name, field, string(t[:]), ErrInvalid)
	}
	return nil
}

func checkSide(name string, side byte) error {
	switch side {
	case SideBuy, SideSell, SideSellShort, SideSellShortExempt:
		return nil
	}
	return fmt.Errorf("ouch: %s: side %q: %w", name, side, ErrInvalid)
}

func checkOrderState(name string, state byte) error {
	if state != OrderStateLive && state != OrderStateDead {
		return fmt.Errorf("ouch: %s: order state %q: %w", name, state, ErrInvalid)
	}
	return nil
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

func (r *reader) u32() uint32 {
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
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
