package ouch

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

type encoder interface {
	AppendTo(dst []byte) []byte
}

// decodeAs decodes b as a T and returns the value (even on error, to check
// that failed decodes leave it unchanged).
func decodeAs[T any, P interface {
	*T
	Decode([]byte) error
}](b []byte) (any, error) {
	var m T
	err := P(&m).Decode(b)
	return m, err
}

type codec struct {
	name    string
	typ     byte
	size    int
	inbound bool
	decode  func([]byte) (any, error)
}

var codecs = []codec{
	{"EnterOrder", TypeEnterOrder, EnterOrderLen, true, decodeAs[EnterOrder]},
	{"ReplaceOrder", TypeReplaceOrder, ReplaceOrderLen, true, decodeAs[ReplaceOrder]},
	{"CancelOrder", TypeCancelOrder, CancelOrderLen, true, decodeAs[CancelOrder]},
	{"SystemEvent", TypeSystemEvent, SystemEventLen, false, decodeAs[SystemEvent]},
	{"Accepted", TypeAccepted, AcceptedLen, false, decodeAs[Accepted]},
	{"Replaced", TypeReplaced, ReplacedLen, false, decodeAs[Replaced]},
	{"Canceled", TypeCanceled, CanceledLen, false, decodeAs[Canceled]},
	{"Executed", TypeExecuted, ExecutedLen, false, decodeAs[Executed]},
	{"Rejected", TypeRejected, RejectedLen, false, decodeAs[Rejected]},
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		require.NoError(t, err)
		return v
	}
}

// samples returns one valid message per codec, in the order of codecs.
func samples(t testing.TB) []encoder {
	tok := TokenFromUint(1001)
	tok2 := must[Token](t)(NewToken("ABC-def~!"))
	stock := must[Stock](t)(NewStock("AAPL"))
	firm := must[Firm](t)(NewFirm("ORRY"))
	return []encoder{
		EnterOrder{
			Token: tok, Side: SideBuy, Shares: 100, Stock: stock, Price: 1_502_500,
			TimeInForce: TIFMarketHours, Firm: firm, Display: DisplayVisible, Capacity: CapacityAgency,
			IntermarketSweep: IntermarketSweepNotEligible, MinimumQuantity: 0, CrossType: CrossNone,
			CustomerType: CustomerRetail,
		},
		ReplaceOrder{
			Existing: tok, Replacement: tok2, Shares: 50, Price: math.MaxUint32, TimeInForce: TIFImmediate,
			Display: DisplayHidden, IntermarketSweep: IntermarketSweepEligible, MinimumQuantity: 10,
		},
		CancelOrder{Token: tok, Shares: 0},
		SystemEvent{Timestamp: 34_200_000_000_000, Event: EventStartOfDay},
		Accepted{
			Timestamp: math.MaxUint64, Token: tok, Side: SideSellShort, Shares: 100, Stock: stock, Price: 1,
			TimeInForce: TIFSystemHours, Firm: firm, Display: DisplayAttributable, OrderRef: 1 << 40,
			Capacity: CapacityPrincipal, IntermarketSweep: IntermarketSweepNotEligible, MinimumQuantity: 5,
			CrossType: CrossOpening, OrderState: OrderStateLive, BBOWeight: '2',
		},
		Replaced{
			Timestamp: 1, Token: tok2, Side: SideSellShortExempt, Shares: 7, Stock: stock, Price: 2,
			TimeInForce: 30, Firm: Firm{' ', ' ', ' ', ' '}, Display: DisplayVisible, OrderRef: 99,
			Capacity: CapacityRiskless, IntermarketSweep: IntermarketSweepNotEligible, MinimumQuantity: 0,
			CrossType: CrossClosing, OrderState: OrderStateDead, Previous: tok, BBOWeight: ' ',
		},
		Canceled{Timestamp: 2, Token: tok, Decrement: 40, Reason: CancelSystem},
		Executed{Timestamp: 3, Token: tok, Shares: 60, Price: 1_502_400, Liquidity: LiquidityRemoved, Match: math.MaxUint64},
		Rejected{Timestamp: 4, Token: tok2, Reason: RejectInvalidDisplay},
	}
}

func TestRoundTrip(t *testing.T) {
	for i, m := range samples(t) {
		c := codecs[i]
		b := m.AppendTo([]byte("xy"))
		require.Equal(t, "xy", string(b[:2]))
		b = b[2:]
		typ, err := Type(b)
		require.NoError(t, err)
		require.Equal(t, c.typ, typ)
		size, ok := OutboundLen(typ)
		if c.inbound {
			size, ok = InboundLen(typ)
		}
		require.True(t, ok, c.name)
		require.Equal(t, c.size, size, c.name)
		require.Len(t, b, c.size, c.name)
		require.NoError(t, m.(interface{ Validate() error }).Validate(), c.name)
		got, err := c.decode(b)
		require.NoError(t, err, c.name)
		require.Equal(t, m, got, c.name)
	}
}

func TestEnterOrderLayout(t *testing.T) {
	m := EnterOrder{
		Token: TokenFromUint(42), Side: SideSell, Shares: 0x01020304, Stock: must[Stock](t)(NewStock("MSFT")),
		Price: 0x11121314, TimeInForce: 0x21222324, Firm: must[Firm](t)(NewFirm("AB")), Display: 'Y',
		Capacity: 'A', IntermarketSweep: 'N', MinimumQuantity: 0x31323334, CrossType: 'N', CustomerType: 'R',
	}
	want := []byte("O42            S\x01\x02\x03\x04MSFT    \x11\x12\x13\x14\x21\x22\x23\x24AB  YAN\x31\x32\x33\x34NR")
	require.Equal(t, want, m.AppendTo(nil))
}

func TestAcceptedLayout(t *testing.T) {
	m := Accepted{
		Timestamp: 0x0102030405060708, Token: TokenFromUint(7), Side: SideBuy, Shares: 0x11121314,
		Stock: must[Stock](t)(NewStock("ZVZZT")), Price: 0x21222324, TimeInForce: 0x31323334,
		Firm: must[Firm](t)(NewFirm("")), Display: 'N', OrderRef: 0x4142434445464748, Capacity: 'P',
		IntermarketSweep: 'Y', MinimumQuantity: 0x51525354, CrossType: 'C', OrderState: 'L', BBOWeight: '1',
	}
	want := []byte("A\x01\x02\x03\x04\x05\x06\x07\x087             B\x11\x12\x13\x14ZVZZT   " +
		"\x21\x22\x23\x24\x31\x32\x33\x34    N\x41\x42\x43\x44\x45\x46\x47\x48PY\x51\x52\x53\x54CL1")
	require.Equal(t, want, m.AppendTo(nil))
}

func TestDecodeLength(t *testing.T) {
	for i, m := range samples(t) {
		c := codecs[i]
		valid := m.AppendTo(nil)
		for n := 0; n < c.size; n++ {
			_, err := c.decode(valid[:n])
			require.ErrorIs(t, err, ErrTruncated, "%s len %d", c.name, n)
			require.ErrorIs(t, err, ErrLength, "%s len %d", c.name, n)
		}
		_, err := c.decode(append(bytes.Clone(valid), 'x'))
		require.ErrorIs(t, err, ErrLength, c.name)
		require.NotErrorIs(t, err, ErrTruncated, c.name)
		require.ErrorContains(t, err, c.name)
	}
	// 'U' is both an inbound and an outbound type; the sizes tell them apart.
	var r Replaced
	require.ErrorIs(t, r.Decode(samples(t)[1].AppendTo(nil)), ErrTruncated)
	var ro ReplaceOrder
	require.ErrorIs(t, ro.Decode(samples(t)[5].AppendTo(nil)), ErrLength)
}

func TestDecodeWrongType(t *testing.T) {
	for _, c := range codecs {
		for i, m := range samples(t) {
			other := codecs[i]
			if other.typ == c.typ {
				continue
			}
			_, err := c.decode(m.AppendTo(nil))
			require.ErrorIs(t, err, ErrType, "%s decoding %s", c.name, other.name)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	tests := []struct {
		codec string
		off   int
		val   byte
	}{
		{"EnterOrder", 1, ' '},     // blank token (together with the padding)
		{"EnterOrder", 3, 0x7f},    // non-printable token byte
		{"EnterOrder", 15, 'X'},    // side
		{"ReplaceOrder", 2, 0},     // existing token
		{"ReplaceOrder", 20, 0x80}, // replacement token
		{"CancelOrder", 14, '\n'},
		{"SystemEvent", 9, 'O'},
		{"Accepted", 9, 0},
		{"Accepted", 23, 'b'},
		{"Accepted", 64, 'X'},
		{"Replaced", 22, 0},
		{"Replaced", 23, 0},
		{"Replaced", 64, 'l'},
		{"Replaced", 65, 0x1f},
		{"Canceled", 10, 0xff},
		{"Executed", 9, 0},
		{"Executed", 31, 'X'},
		{"Rejected", 15, 0},
	}
	for i, m := range samples(t) {
		c := codecs[i]
		for _, tt := range tests {
			if tt.codec != c.name {
				continue
			}
			b := m.AppendTo(nil)
			b[tt.off] = tt.val
			if tt.off == 1 && tt.val == ' ' {
				copy(b[1:15], "              ")
			}
			_, err := c.decode(b)
			require.ErrorIs(t, err, ErrInvalid, "%s offset %d = %q", c.name, tt.off, tt.val)
		}
	}
}

func TestDecodeErrorLeavesValue(t *testing.T) {
	want := samples(t)[0].(EnterOrder)
	m := want
	b := EnterOrder{Token: TokenFromUint(5), Side: 'Q'}.AppendTo(nil)
	require.ErrorIs(t, m.Decode(b), ErrInvalid)
	require.ErrorIs(t, m.Decode(b[:5]), ErrTruncated)
	require.Equal(t, want, m)
}

func TestTypeLen(t *testing.T) {
	_, err := Type(nil)
	require.ErrorIs(t, err, ErrTruncated)
	for _, c := range codecs {
		n, ok := InboundLen(c.typ)
		if !c.inbound {
			n, ok = OutboundLen(c.typ)
		}
		require.True(t, ok)
		require.Equal(t, c.size, n)
	}
	_, ok := InboundLen('A')
	require.False(t, ok)
	_, ok = OutboundLen('O')
	require.False(t, ok)
}

func TestToken(t *testing.T) {
	tok := TokenFromUint(0)
	require.Equal(t, Token{'0', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}, tok)
	require.Equal(t, "0", tok.String())
	for _, n := range []uint64{0, 1, 9, 10, 1234567890, MaxTokenUint} {
		got, err := TokenFromUint(n).Uint()
		require.NoError(t, err)
		require.Equal(t, n, got)
	}
	require.Equal(t, "99999999999999", TokenFromUint(MaxTokenUint).String())
	require.Panics(t, func() { TokenFromUint(MaxTokenUint + 1) })

	tok, err := NewToken("00042")
	require.NoError(t, err)
	n, err := tok.Uint()
	require.NoError(t, err)
	require.Equal(t, uint64(42), n)

	for _, s := range []string{"A1", "1A", "-1", "+1"} {
		tok, err := NewToken(s)
		require.NoError(t, err)
		_, err = tok.Uint()
		require.ErrorIs(t, err, ErrInvalid, s)
	}
	_, err = Token{' ', '1', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}.Uint()
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Token{}.Uint()
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Token{'1', ' ', '2', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}.Uint()
	require.ErrorIs(t, err, ErrInvalid)

	tok, err = NewToken("ABCDEFGHIJKLMN")
	require.NoError(t, err)
	require.Equal(t, "ABCDEFGHIJKLMN", tok.String())
	for _, bad := range []string{"", "ABCDEFGHIJKLMNO", "A B", " A", "A\x00", "é"} {
		_, err := NewToken(bad)
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}
}

func TestStockFirm(t *testing.T) {
	s, err := NewStock("AAPL")
	require.NoError(t, err)
	require.Equal(t, Stock{'A', 'A', 'P', 'L', ' ', ' ', ' ', ' '}, s)
	require.Equal(t, "AAPL", s.String())
	for _, bad := range []string{"", "ABCDEFGHI", "A B", "\t"} {
		_, err := NewStock(bad)
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}

	f, err := NewFirm("")
	require.NoError(t, err)
	require.Equal(t, Firm{' ', ' ', ' ', ' '}, f)
	require.Equal(t, "", f.String())
	f, err = NewFirm("GSCO")
	require.NoError(t, err)
	require.Equal(t, "GSCO", f.String())
	for _, bad := range []string{"ABCDE", "A B", "\x00"} {
		_, err := NewFirm(bad)
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}
}

func TestReasonStrings(t *testing.T) {
	cancels := []byte{CancelUser, CancelImmediateOrCancel, CancelTimeout, CancelSupervisory, CancelRegulatory, CancelSelfMatch, CancelSystem}
	seen := map[string]bool{}
	for _, r := range cancels {
		s := CancelReasonString(r)
		require.NotContains(t, s, "unknown")
		require.False(t, seen[s], s)
		seen[s] = true
	}
	require.Equal(t, "unknown cancel reason '?'", CancelReasonString('?'))

	seen = map[string]bool{}
	for _, r := range []byte(specRejectReasons) {
		s := RejectReasonString(r)
		require.NotContains(t, s, "unknown reject")
		require.False(t, seen[s], s)
		seen[s] = true
	}
	require.Equal(t, "unknown reject reason '\\x00'", RejectReasonString(0))
	// The codes this project used to invent: 'U' is in no OUCH 4.2 table,
	// and 'D' means an invalid Display there, not a duplicate token.
	require.Equal(t, "unknown reject reason 'U'", RejectReasonString('U'))
	require.Equal(t, "invalid display", RejectReasonString('D'))
}

// specRejectReasons is the Reject Reason table of OUCH 4.2, copied from the
// specification rather than from the constants under test.
const specRejectReasons = "THZSDCLMRXNO"

// TestRejectReasonsAreTheSpecifications checks that every RejectXxx
// constant is a code of the OUCH 4.2 table, and that the codes are
// distinct: a constant outside the table would put a code on the wire that
// no OUCH 4.2 client knows.
func TestRejectReasonsAreTheSpecifications(t *testing.T) {
	consts := []byte{RejectTestMode, RejectHalted, RejectInvalidShares, RejectInvalidStock, RejectInvalidDisplay,
		RejectClosed, RejectFirmNotAuthorized, RejectOutsideClearingTimes, RejectNotAllowedInCross,
		RejectInvalidPrice, RejectInvalidMinimumQty, RejectOther}
	require.ElementsMatch(t, []byte(specRejectReasons), consts)
}

// TestReplacedLayout pins the Replaced message byte by byte: the fields a
// Replace Order does not carry (Firm, Capacity, Cross Type) and the BBO
// Weight Indicator are where OUCH 4.2 puts them.
func TestReplacedLayout(t *testing.T) {
	m := Replaced{
		Timestamp: 0x0102030405060708, Token: TokenFromUint(8), Side: SideSell, Shares: 0x11121314,
		Stock: must[Stock](t)(NewStock("ZVZZT")), Price: 0x21222324, TimeInForce: 0x31323334,
		Firm: must[Firm](t)(NewFirm("ORRY")), Display: 'Y', OrderRef: 0x4142434445464748, Capacity: 'P',
		IntermarketSweep: 'N', MinimumQuantity: 0x51525354, CrossType: 'N', OrderState: 'L',
		Previous: TokenFromUint(7), BBOWeight: BBOWeightUnspecified,
	}
	want := []byte("U\x01\x02\x03\x04\x05\x06\x07\x088             S\x11\x12\x13\x14ZVZZT   " +
		"\x21\x22\x23\x24\x31\x32\x33\x34ORRYY\x41\x42\x43\x44\x45\x46\x47\x48PN\x51\x52\x53\x54NL" +
		"7              ")
	require.Len(t, want, ReplacedLen)
	require.Equal(t, want, m.AppendTo(nil))
}

func TestAllocs(t *testing.T) {
	var (
		eo EnterOrder
		ro ReplaceOrder
		co CancelOrder
		se SystemEvent
		ac Accepted
		rp Replaced
		cd Canceled
		ex Executed
		rj Rejected
	)
	decoders := []func([]byte) error{eo.Decode, ro.Decode, co.Decode, se.Decode, ac.Decode, rp.Decode, cd.Decode, ex.Decode, rj.Decode}
	buf := make([]byte, 0, 128)
	for i, m := range samples(t) {
		b := m.AppendTo(nil)
		dec := decoders[i]
		require.NoError(t, dec(b))
		require.Zero(t, testing.AllocsPerRun(100, func() { _ = dec(b) }), "decode %T", m)
		require.Zero(t, testing.AllocsPerRun(100, func() { buf = m.AppendTo(buf[:0]) }), "encode %T", m)
	}
	tok := TokenFromUint(12345)
	require.Zero(t, testing.AllocsPerRun(100, func() {
		tok = TokenFromUint(12345)
		_, _ = tok.Uint()
	}))
}

func BenchmarkEnterOrderDecode(b *testing.B) {
	msg := samples(b)[0].AppendTo(nil)
	var m EnterOrder
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := m.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}
