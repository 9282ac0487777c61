package itch

import (
	"bytes"
	"fmt"
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
	name   string
	typ    byte
	size   int
	decode func([]byte) (any, error)
}

var codecs = []codec{
	{"SystemEvent", TypeSystemEvent, SystemEventLen, decodeAs[SystemEvent]},
	{"AddOrder", TypeAddOrder, AddOrderLen, decodeAs[AddOrder]},
	{"OrderExecuted", TypeOrderExecuted, OrderExecutedLen, decodeAs[OrderExecuted]},
	{"OrderCancel", TypeOrderCancel, OrderCancelLen, decodeAs[OrderCancel]},
	{"OrderDelete", TypeOrderDelete, OrderDeleteLen, decodeAs[OrderDelete]},
	{"OrderReplace", TypeOrderReplace, OrderReplaceLen, decodeAs[OrderReplace]},
	{"Trade", TypeTrade, TradeLen, decodeAs[Trade]},
	{"EndOfSnapshot", TypeEndOfSnapshot, EndOfSnapshotLen, decodeAs[EndOfSnapshot]},
}

func codecFor(t testing.TB, typ byte) codec {
	t.Helper()
	for _, c := range codecs {
		if c.typ == typ {
			return c
		}
	}
	t.Fatalf("no codec for type %q", typ)
	return codec{}
}

func mustStock(t testing.TB, s string) Stock {
	t.Helper()
	st, err := NewStock(s)
	require.NoError(t, err)
	return st
}

func sampleMessages(t testing.TB) []encoder {
	h := Header{Locate: 0x0102, Tracking: 0x0304, Timestamp: 0x0000_0a0b_0c0d_0e0f}
	aapl := mustStock(t, "AAPL")
	return []encoder{
		SystemEvent{Header: h, Event: EventStartOfMarketHours},
		AddOrder{Header: h, Ref: 1<<63 + 5, Side: SideBuy, Shares: 100, Stock: aapl, Price: 1_502_500},
		OrderExecuted{Header: h, Ref: 42, Shares: 7, Match: math.MaxUint64},
		OrderCancel{Header: h, Ref: 42, Shares: 3},
		OrderDelete{Header: h, Ref: 42},
		OrderReplace{Header: h, OrigRef: 42, NewRef: 43, Shares: 200, Price: math.MaxUint32},
		Trade{Header: Header{Timestamp: MaxTimestamp}, Ref: 9, Side: SideSell, Shares: 1, Stock: mustStock(t, "ZVZZT"), Price: 10_000, Match: 77},
		EndOfSnapshot{Seq: 123456789},
		EndOfSnapshot{Seq: 0},
		EndOfSnapshot{Seq: math.MaxUint64},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range sampleMessages(t) {
		b := m.AppendTo([]byte("prefix"))
		require.Equal(t, "prefix", string(b[:6]))
		b = b[6:]
		typ, err := Type(b)
		require.NoError(t, err)
		size, ok := Len(typ)
		require.True(t, ok)
		require.Len(t, b, size, "%T", m)
		got, err := codecFor(t, typ).decode(b)
		require.NoError(t, err, "%T", m)
		require.Equal(t, m, got)
	}
}

func TestAddOrderLayout(t *testing.T) {
	m := AddOrder{
		Header: Header{Locate: 0x0102, Tracking: 0x0304, Timestamp: 0x0506_0708_090a},
		Ref:    0x1112_1314_1516_1718,
		Side:   SideSell,
		Shares: 0x2122_2324,
		Stock:  mustStock(t, "MSFT"),
		Price:  0x3132_3334,
	}
	want := []byte{
		'A', 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
		'S',
		0x21, 0x22, 0x23, 0x24,
		'M', 'S', 'F', 'T', ' ', ' ', ' ', ' ',
		0x31, 0x32, 0x33, 0x34,
	}
	require.Equal(t, want, m.AppendTo(nil))
}

func TestEndOfSnapshotLayout(t *testing.T) {
	require.Equal(t, "G                 123", string(EndOfSnapshot{Seq: 123}.AppendTo(nil)))
	require.Equal(t, "G                   0", string(EndOfSnapshot{}.AppendTo(nil)))
	require.Equal(t, "G18446744073709551615", string(EndOfSnapshot{Seq: math.MaxUint64}.AppendTo(nil)))

	var m EndOfSnapshot
	require.NoError(t, m.Decode([]byte("G00000000000000000042")))
	require.Equal(t, uint64(42), m.Seq)
}

func TestTimestamp(t *testing.T) {
	h := Header{Timestamp: MaxTimestamp}
	require.NoError(t, h.Validate())
	h.Timestamp++
	require.ErrorIs(t, h.Validate(), ErrInvalid)

	// Encoders write the low 48 bits.
	m := OrderDelete{Header: Header{Timestamp: 1<<48 | 5}, Ref: 1}
	require.ErrorIs(t, m.Validate(), ErrInvalid)
	var got OrderDelete
	require.NoError(t, got.Decode(m.AppendTo(nil)))
	require.Equal(t, uint64(5), got.Timestamp)
}

func TestValidate(t *testing.T) {
	for _, m := range sampleMessages(t) {
		if v, ok := m.(interface{ Validate() error }); ok {
			require.NoError(t, v.Validate(), "%T", m)
		}
	}
	require.ErrorIs(t, SystemEvent{Event: 'Z'}.Validate(), ErrInvalid)
	require.ErrorIs(t, AddOrder{Side: 'X'}.Validate(), ErrInvalid)
	require.ErrorIs(t, Trade{Side: 0}.Validate(), ErrInvalid)
	require.ErrorIs(t, AddOrder{Side: SideBuy, Header: Header{Timestamp: math.MaxUint64}}.Validate(), ErrInvalid)
}

func TestDecodeLength(t *testing.T) {
	for _, c := range codecs {
		valid := validMessage(t, c.typ)
		for n := 0; n < c.size; n++ {
			_, err := c.decode(valid[:n])
			require.ErrorIs(t, err, ErrTruncated, "%s len %d", c.name, n)
			require.ErrorIs(t, err, ErrLength, "%s len %d", c.name, n)
		}
		long := append(bytes.Clone(valid), ' ')
		_, err := c.decode(long)
		require.ErrorIs(t, err, ErrLength, c.name)
		require.NotErrorIs(t, err, ErrTruncated, c.name)
		require.ErrorContains(t, err, c.name)
	}
}

func TestDecodeWrongType(t *testing.T) {
	for _, c := range codecs {
		for _, other := range codecs {
			if other.typ == c.typ {
				continue
			}
			_, err := c.decode(validMessage(t, other.typ))
			require.ErrorIs(t, err, ErrType, "%s decoding %s", c.name, other.name)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	tests := []struct {
		name string
		typ  byte
		off  int
		val  byte
	}{
		{"event code", TypeSystemEvent, 11, 'Z'},
		{"add order side", TypeAddOrder, 19, 'X'},
		{"trade side", TypeTrade, 19, 0},
	}
	for _, tt := range tests {
		b := validMessage(t, tt.typ)
		b[tt.off] = tt.val
		_, err := codecFor(t, tt.typ).decode(b)
		require.ErrorIs(t, err, ErrInvalid, tt.name)
	}

	for _, f := range []string{
		"",
		"1 2",
		"-12",
		"12 ",
		"0x1",
		"+1",
		"18446744073709551616",
		"99999999999999999999",
	} {
		b := fmt.Appendf(nil, "G%20s", f)
		require.Len(t, b, EndOfSnapshotLen)
		var m EndOfSnapshot
		require.ErrorIs(t, m.Decode(b), ErrInvalid, "%q", b)
	}
}

func TestDecodeErrorLeavesValue(t *testing.T) {
	want := AddOrder{Ref: 1, Side: SideBuy, Shares: 2, Price: 3}
	m := want
	b := AddOrder{Ref: 9, Side: 'Q'}.AppendTo(nil)
	require.Error(t, m.Decode(b))
	require.Error(t, m.Decode(b[:10]))
	require.Equal(t, want, m)

	s := EndOfSnapshot{Seq: 5}
	require.Error(t, s.Decode(fmt.Appendf(nil, "G%20s", "1x1")))
	require.Equal(t, EndOfSnapshot{Seq: 5}, s)
}

func TestTypeLen(t *testing.T) {
	_, err := Type(nil)
	require.ErrorIs(t, err, ErrTruncated)
	typ, err := Type([]byte{'A'})
	require.NoError(t, err)
	require.Equal(t, TypeAddOrder, typ)

	for _, c := range codecs {
		n, ok := Len(c.typ)
		require.True(t, ok)
		require.Equal(t, c.size, n)
	}
	_, ok := Len('R')
	require.False(t, ok)
}

func TestStock(t *testing.T) {
	s, err := NewStock("AAPL")
	require.NoError(t, err)
	require.Equal(t, Stock{'A', 'A', 'P', 'L', ' ', ' ', ' ', ' '}, s)
	require.Equal(t, "AAPL", s.String())

	s, err = NewStock("ABCDEFGH")
	require.NoError(t, err)
	require.Equal(t, "ABCDEFGH", s.String())
	require.Equal(t, "BRK", Stock{'B', 'R', 'K', ' ', ' ', ' ', ' ', ' '}.String())

	for _, bad := range []string{"", "ABCDEFGHI", "A B", " A", "A\x00", "\x7f", "Ä"} {
		_, err := NewStock(bad)
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}
}

func TestAllocs(t *testing.T) {
	msgs := sampleMessages(t)
	buf := make([]byte, 0, 64)
	for _, m := range msgs {
		b := m.AppendTo(nil)
		typ := b[0]
		var allocs float64
		switch typ {
		case TypeSystemEvent:
			var v SystemEvent
			allocs = testing.AllocsPerRun(100, func() { _ = v.Decode(b) })
		case TypeAddOrder:
			var v AddOrder
			allocs = testing.AllocsPerRun(100, func() { _ = v.Decode(b) })
		case TypeOrderExecuted:
			var v OrderExecuted
			allocs = testing.AllocsPerRun(100, func() { _ = v.Decode(b) })
		case TypeOrderCancel:
			var v OrderCancel
			allocs = testing.AllocsPerRun(100, func() { _ = v.Decode(b) })
		case TypeOrderDelete:
			var v OrderDelete
			allocs = testing.AllocsPerRun(100, func() { _ = v.Decode(b) })
		case TypeOrderReplace:
			var v OrderReplace
			allocs = testing.AllocsPerRun(100, func() { _ = v.Decode(b) })
		case TypeTrade:
			var v Trade
			allocs = testing.AllocsPerRun(100, func() { _ = v.Decode(b) })
		case TypeEndOfSnapshot:
			var v EndOfSnapshot
			allocs = testing.AllocsPerRun(100, func() { _ = v.Decode(b) })
		}
		require.Zero(t, allocs, "decode %T", m)

		allocs = testing.AllocsPerRun(100, func() { buf = m.AppendTo(buf[:0]) })
		require.Zero(t, allocs, "encode %T", m)
	}
}

// validMessage returns a freshly encoded valid message of type typ.
func validMessage(t testing.TB, typ byte) []byte {
	t.Helper()
	for _, m := range sampleMessages(t) {
		b := m.AppendTo(nil)
		if b[0] == typ {
			return b
		}
	}
	t.Fatalf("no sample of type %q", typ)
	return nil
}

func BenchmarkAddOrderDecode(b *testing.B) {
	msg := AddOrder{
		Header: Header{Locate: 1, Tracking: 2, Timestamp: 34_200_000_000_000},
		Ref:    123456,
		Side:   SideBuy,
		Shares: 100,
		Stock:  Stock{'A', 'A', 'P', 'L', ' ', ' ', ' ', ' '},
		Price:  1_502_500,
	}.AppendTo(nil)
	var m AddOrder
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := m.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddOrderAppend(b *testing.B) {
	m := AddOrder{Ref: 123456, Side: SideBuy, Shares: 100, Price: 1_502_500}
	buf := make([]byte, 0, AddOrderLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendTo(buf[:0])
	}
}
