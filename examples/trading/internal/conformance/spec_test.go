package conformance

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// The tables in this file are written from the specifications: "O*U*C*H
// Version 4.2", "SoupBinTCP Version 3.00", "MoldUDP64 Protocol
// Specification 1.00" and "Nasdaq TotalView-ITCH 5.0". They deliberately
// share nothing with the example's codecs, whose output they judge.

// nsPerDay bounds the timestamps: nanoseconds since midnight.
const nsPerDay = 86_400_000_000_000

// Value checks on a field's bytes. Each returns nil or what is wrong.

// alpha checks an Alpha field: printable ASCII, left-justified and padded
// on the right with spaces; blank only if blankOK.
func alpha(b []byte, blankOK bool) error {
	pad := false
	for i, c := range b {
		switch {
		case c < ' ' || c > '~':
			return fmt.Errorf("byte %#02x at offset %d is not printable ASCII", c, i)
		case c == ' ':
			pad = true
		case pad:
			return fmt.Errorf("%q is not left-justified", b)
		}
	}
	if !blankOK && len(b) > 0 && b[0] == ' ' {
		return fmt.Errorf("%q is blank", b)
	}
	return nil
}

// rightJustified checks a field of characters from set, padded on the left
// with spaces, with at least one character unless blankOK.
func rightJustified(b []byte, set func(byte) bool, blankOK bool) error {
	i := 0
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i == len(b) && !blankOK {
		return fmt.Errorf("%q is blank", b)
	}
	for j := i; j < len(b); j++ {
		if !set(b[j]) {
			return fmt.Errorf("%q: byte %#02x at offset %d is not allowed (want spaces, then the value)", b, b[j], j)
		}
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' }

// oneOf checks a one-byte code against the values a table allows.
func oneOf(b []byte, table string) error {
	if len(b) != 1 || !strings.ContainsRune(table, rune(b[0])) {
		return fmt.Errorf("%q is not one of %q", b, table)
	}
	return nil
}

// uintOf reads a big-endian unsigned integer of up to 8 bytes.
func uintOf(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

func inRange(b []byte, lo, hi uint64) error {
	if v := uintOf(b); v < lo || v > hi {
		return fmt.Errorf("%d is outside %d..%d", v, lo, hi)
	}
	return nil
}

func timestamp(b []byte) error {
	if v := uintOf(b); v >= nsPerDay {
		return fmt.Errorf("%d ns is not a time of day", v)
	}
	return nil
}

// SoupBinTCP 3.00.

// soupPayload is the payload size a SoupBinTCP packet type requires
// (-1: any), by direction.
var (
	soupFromServer = map[byte]int{'+': -1, 'A': 30, 'J': 1, 'S': -1, 'H': 0, 'Z': 0}
	soupFromClient = map[byte]int{'+': -1, 'L': 46, 'U': -1, 'R': 0, 'O': 0}
)

// Login Rejected reason codes.
const soupRejectReasons = "AS"

// OUCH 4.2.

// ouchField is a field of an OUCH message: the name the Wireshark
// dissector gives it and its width in the specification.
type ouchField struct {
	name  string
	width int
}

// ouchLayout is the layout of one OUCH message: its size, type byte
// included, and its fields after the type, in order.
type ouchLayout struct {
	name   string
	size   int
	fields []ouchField
}

var (
	fToken       = ouchField{"ouch.order_token", 14}
	fSide        = ouchField{"ouch.buy_sell_indicator", 1}
	fShares      = ouchField{"ouch.shares", 4}
	fStock       = ouchField{"ouch.stock", 8}
	fPrice       = ouchField{"ouch.price", 4}
	fTIF         = ouchField{"ouch.tif", 4}
	fFirm        = ouchField{"ouch.firm", 4}
	fDisplay     = ouchField{"ouch.display", 1}
	fCapacity    = ouchField{"ouch.capacity", 1}
	fISO         = ouchField{"ouch.iso_eligible", 1}
	fMinQty      = ouchField{"ouch.min_quantity", 4}
	fCross       = ouchField{"ouch.cross_type", 1}
	fCustomer    = ouchField{"ouch.customer_type", 1}
	fTimestamp   = ouchField{"ouch.timestamp", 8}
	fOrderRef    = ouchField{"ouch.order_reference_number", 8}
	fOrderState  = ouchField{"ouch.order_state", 1}
	fBBOWeight   = ouchField{"ouch.bbo_weight_indicator", 1}
	fExisting    = ouchField{"ouch.existing_order_token", 14}
	fReplacement = ouchField{"ouch.replacement_order_token", 14}
	fPrevious    = ouchField{"ouch.previous_order_token", 14}
	fEvent       = ouchField{"ouch.event_code", 1}
	fDecrement   = ouchField{"ouch.decrement_shares", 4}
	fCancel      = ouchField{"ouch.cancel_reason", 1}
	fExecShares  = ouchField{"ouch.executed_shares", 4}
	fExecPrice   = ouchField{"ouch.execution_price", 4}
	fLiquidity   = ouchField{"ouch.liquidity_flag", 1}
	fMatch       = ouchField{"ouch.match_number", 8}
	fReject      = ouchField{"ouch.reject_reason", 1}
)

// The messages the example exchanges. OUCH 4.2 has more (Modify Order,
// Broken Trade, Price Correction, Cancel Pending, Cancel Reject, AIQ
// Canceled); the example sends none, and the test fails on any.
var (
	ouchInbound = map[byte]ouchLayout{
		'O': {"Enter Order", 49, []ouchField{fToken, fSide, fShares, fStock, fPrice, fTIF, fFirm, fDisplay,
			fCapacity, fISO, fMinQty, fCross, fCustomer}},
		'U': {"Replace Order", 47, []ouchField{fExisting, fReplacement, fShares, fPrice, fTIF, fDisplay, fISO, fMinQty}},
		'X': {"Cancel Order", 19, []ouchField{fToken, fShares}},
	}
	ouchOutbound = map[byte]ouchLayout{
		'S': {"System Event", 10, []ouchField{fTimestamp, fEvent}},
		'A': {"Accepted", 66, []ouchField{fTimestamp, fToken, fSide, fShares, fStock, fPrice, fTIF, fFirm, fDisplay,
			fOrderRef, fCapacity, fISO, fMinQty, fCross, fOrderState, fBBOWeight}},
		'U': {"Replaced", 80, []ouchField{fTimestamp, fReplacement, fSide, fShares, fStock, fPrice, fTIF, fFirm,
			fDisplay, fOrderRef, fCapacity, fISO, fMinQty, fCross, fOrderState, fPrevious, fBBOWeight}},
		'C': {"Canceled", 28, []ouchField{fTimestamp, fToken, fDecrement, fCancel}},
		'E': {"Executed", 40, []ouchField{fTimestamp, fToken, fExecShares, fExecPrice, fLiquidity, fMatch}},
		'J': {"Rejected", 24, []ouchField{fTimestamp, fToken, fReject}},
	}
)

// OUCH 4.2 code tables.
const (
	ouchSides        = "BSTE"
	ouchDisplays     = "AYNPRIMWLOTQ"
	ouchCapacities   = "APRO"
	ouchISO          = "YN"
	ouchCrossTypes   = "NOCHSR"
	ouchCustomers    = "RN "
	ouchOrderStates  = "LD"
	ouchBBOWeights   = "0123 "
	ouchEvents       = "SE"
	ouchCancels      = "UITSDQZ"
	ouchRejects      = "THZSDCLMRXNO"
	ouchLiquidity    = "AROMCLHKIJmk078defjrt6"
	ouchMaxShares    = 999_999       // "must be less than 1,000,000"
	ouchMaxPrice     = 1_999_999_900 // $199,999.99
	ouchMarketPrice  = 0x7FFFFFFF    // the special price of a market order for a cross
	ouchTIFMarket    = 99_998
	ouchTIFSystem    = 99_999
	ouchMaxTIFSecond = 86_400
)

// ouchValue checks one OUCH field's bytes. typ and inbound say which
// message it is in: the range of Shares depends on it.
func ouchValue(name string, b []byte, typ byte, inbound bool) error {
	switch name {
	case fToken.name, fExisting.name, fReplacement.name, fPrevious.name:
		return alpha(b, false)
	case fStock.name:
		return alpha(b, false)
	case fFirm.name:
		return alpha(b, true) // blank: the port's default firm
	case fSide.name:
		return oneOf(b, ouchSides)
	case fShares.name:
		if inbound && typ == 'X' { // Cancel Order: the intended remaining size, 0 cancels
			return inRange(b, 0, ouchMaxShares)
		}
		return inRange(b, 1, ouchMaxShares)
	case fPrice.name, fExecPrice.name:
		if uintOf(b) == ouchMarketPrice && name == fPrice.name {
			return nil
		}
		return inRange(b, 1, ouchMaxPrice)
	case fTIF.name:
		if v := uintOf(b); v <= ouchMaxTIFSecond || v == ouchTIFMarket || v == ouchTIFSystem {
			return nil
		}
		return fmt.Errorf("%d is neither a lifetime of at most a day nor 99998 or 99999", uintOf(b))
	case fDisplay.name:
		return oneOf(b, ouchDisplays)
	case fCapacity.name:
		return oneOf(b, ouchCapacities)
	case fISO.name:
		return oneOf(b, ouchISO)
	case fCross.name:
		return oneOf(b, ouchCrossTypes)
	case fCustomer.name:
		return oneOf(b, ouchCustomers)
	case fOrderState.name:
		return oneOf(b, ouchOrderStates)
	case fBBOWeight.name:
		return oneOf(b, ouchBBOWeights)
	case fEvent.name:
		return oneOf(b, ouchEvents)
	case fCancel.name:
		return oneOf(b, ouchCancels)
	case fReject.name:
		return oneOf(b, ouchRejects)
	case fLiquidity.name:
		return oneOf(b, ouchLiquidity)
	case fTimestamp.name:
		return timestamp(b)
	case fDecrement.name, fExecShares.name:
		return inRange(b, 1, ouchMaxShares)
	case fMinQty.name:
		return inRange(b, 0, ouchMaxShares)
	case fOrderRef.name, fMatch.name:
		return nil // any 64-bit number
	}
	return fmt.Errorf("no value table for field %s", name)
}

// MoldUDP64 1.00.

const (
	moldHeaderLen    = 20
	moldHeartbeat    = 0
	moldEndOfSession = 0xFFFF
)

// TotalView-ITCH 5.0.

// itchLen is the size of every ITCH 5.0 message, by type.
var itchLen = map[byte]int{
	'S': 12, 'R': 39, 'H': 25, 'Y': 20, 'L': 26, 'V': 35, 'W': 12, 'K': 28, 'J': 35, 'h': 21,
	'A': 36, 'F': 40, 'E': 31, 'C': 36, 'X': 23, 'D': 19, 'U': 35, 'P': 44, 'Q': 40, 'B': 19,
	'I': 50, 'N': 20, 'O': 48,
}

const (
	itchEvents   = "OSQMEC"
	itchSides    = "BS"
	itchMaxPrice = 1_999_999_999 // Price (4): six whole digits, four decimals
)

// itchMessage checks one ITCH 5.0 message (or, on the snapshot port, the
// GLIMPSE 5.0 End of Snapshot). instruments bounds the stock locate codes;
// stocks records the symbol each locate code names, so that a code always
// names the same stock. It returns the message type.
func itchMessage(m []byte, instruments int, stocks map[uint16]string, snapshot bool) (byte, error) {
	if len(m) == 0 {
		return 0, fmt.Errorf("empty message")
	}
	typ := m[0]
	if snapshot && typ == 'G' {
		// GLIMPSE 5.0 End of Snapshot: the ITCH sequence number in 20
		// ASCII digits, padded on the left with spaces.
		if len(m) != 21 {
			return typ, fmt.Errorf("End of Snapshot of %d bytes, want 21", len(m))
		}
		return typ, rightJustified(m[1:], isDigit, false)
	}
	want, ok := itchLen[typ]
	if !ok {
		return typ, fmt.Errorf("type %q is not an ITCH 5.0 message", typ)
	}
	if len(m) != want {
		return typ, fmt.Errorf("type %q of %d bytes, want %d", typ, len(m), want)
	}
	locate := binary.BigEndian.Uint16(m[1:3])
	if err := timestamp(m[5:11]); err != nil {
		return typ, fmt.Errorf("type %q: timestamp: %w", typ, err)
	}
	if typ == 'S' {
		if locate != 0 {
			return typ, fmt.Errorf("System Event with stock locate %d, want 0", locate)
		}
		if err := oneOf(m[11:12], itchEvents); err != nil {
			return typ, fmt.Errorf("System Event: event code: %w", err)
		}
		return typ, nil
	}
	if locate < 1 || int(locate) > instruments {
		return typ, fmt.Errorf("type %q: stock locate %d outside 1..%d", typ, locate, instruments)
	}
	if snapshot && typ != 'A' {
		return typ, fmt.Errorf("type %q in a snapshot, which holds Add Orders only", typ)
	}
	positive := func(what string, b []byte, hi uint64) error {
		if err := inRange(b, 1, hi); err != nil {
			return fmt.Errorf("type %q: %s: %w", typ, what, err)
		}
		return nil
	}
	stock := func(b []byte) error {
		if err := alpha(b, false); err != nil {
			return fmt.Errorf("type %q: stock: %w", typ, err)
		}
		if prev, ok := stocks[locate]; ok && prev != string(b) {
			return fmt.Errorf("type %q: stock locate %d names %q, and %q before", typ, locate, b, prev)
		}
		stocks[locate] = string(b)
		return nil
	}
	switch typ {
	case 'A': // Add Order: ref(8) side(1) shares(4) stock(8) price(4)
		if err := oneOf(m[19:20], itchSides); err != nil {
			return typ, fmt.Errorf("Add Order: Buy/Sell Indicator: %w", err)
		}
		if err := positive("shares", m[20:24], 1<<32-1); err != nil {
			return typ, err
		}
		if err := stock(m[24:32]); err != nil {
			return typ, err
		}
		return typ, positive("price", m[32:36], itchMaxPrice)
	case 'E': // Order Executed: ref(8) executed shares(4) match(8)
		return typ, positive("executed shares", m[19:23], 1<<32-1)
	case 'X': // Order Cancel: ref(8) cancelled shares(4)
		return typ, positive("cancelled shares", m[19:23], 1<<32-1)
	case 'D': // Order Delete: ref(8)
		return typ, nil
	case 'U': // Order Replace: original ref(8) new ref(8) shares(4) price(4)
		if uintOf(m[11:19]) == uintOf(m[19:27]) {
			return typ, fmt.Errorf("Order Replace: the new reference number is the original's")
		}
		if err := positive("shares", m[27:31], 1<<32-1); err != nil {
			return typ, err
		}
		return typ, positive("price", m[31:35], itchMaxPrice)
	case 'P': // Trade: ref(8) side(1) shares(4) stock(8) price(4) match(8)
		if err := oneOf(m[19:20], itchSides); err != nil {
			return typ, fmt.Errorf("Trade: Buy/Sell Indicator: %w", err)
		}
		if err := positive("shares", m[20:24], 1<<32-1); err != nil {
			return typ, err
		}
		if err := stock(m[24:32]); err != nil {
			return typ, err
		}
		return typ, positive("price", m[32:36], itchMaxPrice)
	}
	return typ, fmt.Errorf("type %q: an ITCH 5.0 message the example does not send, and the test has no value table for", typ)
}
