package moldudp64

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func mustSession(t testing.TB, s string) Session {
	t.Helper()
	sess, err := NewSession(s)
	require.NoError(t, err)
	return sess
}

// messages parses pkt and returns its header and messages.
func messages(t testing.TB, pkt []byte) (Header, [][]byte) {
	t.Helper()
	var p Packet
	require.NoError(t, p.Parse(pkt))
	var msgs [][]byte
	for {
		m, ok := p.Next()
		if !ok {
			break
		}
		msgs = append(msgs, m)
	}
	return p.Header, msgs
}

func TestSession(t *testing.T) {
	s := mustSession(t, "ABC123")
	require.Equal(t, Session{'A', 'B', 'C', '1', '2', '3', ' ', ' ', ' ', ' '}, s)
	require.Equal(t, "ABC123", s.String())
	require.Equal(t, "0123456789", mustSession(t, "0123456789").String())
	for _, bad := range []string{"", "01234567890", "A B", "A-B", "A_", "é"} {
		_, err := NewSession(bad)
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}
}

func TestBuilderLayout(t *testing.T) {
	b, err := NewBuilder(mustSession(t, "S1"), 1400)
	require.NoError(t, err)
	require.Equal(t, uint64(1), b.Seq())
	b.Reset(0x0102030405060708)
	require.NoError(t, b.Add([]byte("ab")))
	require.NoError(t, b.Add([]byte("c")))
	want := []byte("S1        \x01\x02\x03\x04\x05\x06\x07\x08\x00\x02\x00\x02ab\x00\x01c")
	require.Equal(t, want, b.Bytes())
	require.Equal(t, len(want), b.Len())
	require.Equal(t, 2, b.Count())
	require.Equal(t, uint64(0x0102030405060708), b.Seq())
	require.Equal(t, uint64(0x010203040506070a), b.NextSeq())
}

func TestBuilderRoundTrip(t *testing.T) {
	sess := mustSession(t, "SESSION")
	b, err := NewBuilder(sess, 1400)
	require.NoError(t, err)
	b.Reset(100)
	want := [][]byte{[]byte("x"), bytes.Repeat([]byte{7}, 36), bytes.Repeat([]byte{9}, 500)}
	for _, m := range want {
		require.NoError(t, b.Add(m))
	}
	h, got := messages(t, b.Bytes())
	require.Equal(t, Header{Session: sess, Seq: 100, Count: 3}, h)
	require.Equal(t, uint64(103), h.NextSeq())
	require.Equal(t, want, got)

	// Reset reuses the buffer.
	b.Reset(b.NextSeq())
	require.Equal(t, 0, b.Count())
	require.Equal(t, HeaderLen, b.Len())
	h, got = messages(t, b.Bytes())
	require.Equal(t, Header{Session: sess, Seq: 103}, h)
	require.Empty(t, got)
}

func TestBuilderFull(t *testing.T) {
	b, err := NewBuilder(mustSession(t, "S"), HeaderLen+2+10+2+3)
	require.NoError(t, err)
	require.NoError(t, b.Add(make([]byte, 10)))
	before := bytes.Clone(b.Bytes())
	require.Equal(t, ErrFull, b.Add(make([]byte, 4)), "ErrFull is returned unwrapped")
	require.Equal(t, before, b.Bytes(), "a failed Add leaves the packet unchanged")
	require.NoError(t, b.Add(make([]byte, 3)), "the packet may fill its maximum size exactly")
	require.Equal(t, cap(b.Bytes()), b.Len())
	require.ErrorIs(t, b.Add([]byte{1}), ErrFull)

	require.ErrorIs(t, b.Add(nil), ErrInvalid)
	require.ErrorIs(t, b.Add(make([]byte, cap(b.Bytes())-HeaderLen-1)), ErrInvalid, "never fits")
	big, err := NewBuilder(Session{}, 70000)
	require.NoError(t, err)
	require.ErrorIs(t, big.Add(make([]byte, MaxMessageLen+1)), ErrInvalid)
	require.NoError(t, big.Add(make([]byte, MaxMessageLen)))

	_, err = NewBuilder(Session{}, HeaderLen+2)
	require.ErrorIs(t, err, ErrInvalid)
	tiny, err := NewBuilder(Session{}, HeaderLen+3)
	require.NoError(t, err)
	require.NoError(t, tiny.Add([]byte{1}))
}

func TestBuilderMaxCount(t *testing.T) {
	b, err := NewBuilder(Session{}, HeaderLen+3*(MaxCount+1))
	require.NoError(t, err)
	for range MaxCount {
		require.NoError(t, b.Add([]byte{1}))
	}
	require.ErrorIs(t, b.Add([]byte{1}), ErrFull)
	h, msgs := messages(t, b.Bytes())
	require.Equal(t, uint16(MaxCount), h.Count)
	require.Len(t, msgs, MaxCount)
}

func TestBuilderSeqOverflow(t *testing.T) {
	b, err := NewBuilder(Session{}, 100)
	require.NoError(t, err)
	b.Reset(math.MaxUint64 - 2)
	require.NoError(t, b.Add([]byte{1}))
	require.NoError(t, b.Add([]byte{2}))
	require.ErrorIs(t, b.Add([]byte{3}), ErrFull)
	require.Equal(t, uint64(math.MaxUint64), b.NextSeq())
	_, msgs := messages(t, b.Bytes())
	require.Len(t, msgs, 2)
}

func TestHeartbeatEndOfSession(t *testing.T) {
	s := mustSession(t, "S1")
	hb := AppendHeartbeat([]byte("pre"), s, 42)
	require.Equal(t, "pre", string(hb[:3]))
	hb = hb[3:]
	require.Equal(t, []byte("S1        \x00\x00\x00\x00\x00\x00\x00\x2a\x00\x00"), hb)
	h, msgs := messages(t, hb)
	require.Equal(t, Header{Session: s, Seq: 42, Count: 0}, h)
	require.Empty(t, msgs)
	require.Equal(t, uint64(42), h.NextSeq())

	eos := AppendEndOfSession(nil, s, math.MaxUint64)
	require.Equal(t, []byte("S1        \xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), eos)
	h, msgs = messages(t, eos)
	require.Equal(t, uint16(EndOfSession), h.Count)
	require.Empty(t, msgs)
	require.Equal(t, uint64(math.MaxUint64), h.NextSeq())
}

func samplePacket(t testing.TB) []byte {
	b, err := NewBuilder(Session{'S', 'E', 'S', 'S', ' ', ' ', ' ', ' ', ' ', ' '}, 1400)
	require.NoError(t, err)
	b.Reset(7)
	for _, m := range []string{"one", "two", "three", "x"} {
		require.NoError(t, b.Add([]byte(m)))
	}
	return bytes.Clone(b.Bytes())
}

func TestParseTruncated(t *testing.T) {
	pkt := samplePacket(t)
	for n := range len(pkt) {
		var p Packet
		err := p.Parse(pkt[:n])
		require.ErrorIs(t, err, ErrTruncated, "prefix %d", n)
		require.ErrorIs(t, err, ErrLength, "prefix %d", n)
		_, ok := p.Next()
		require.False(t, ok)
	}
}

func TestParseErrors(t *testing.T) {
	pkt := samplePacket(t)
	var p Packet
	require.NoError(t, p.Parse(pkt))

	err := p.Parse(append(bytes.Clone(pkt), 0))
	require.ErrorIs(t, err, ErrLength, "trailing byte")
	require.NotErrorIs(t, err, ErrTruncated)
	_, ok := p.Next()
	require.False(t, ok, "a failed Parse resets the iterator")

	short := bytes.Clone(pkt)
	short[19] = 3 // count one less than the blocks present
	require.ErrorIs(t, p.Parse(short), ErrLength)

	long := bytes.Clone(pkt)
	long[19] = 5 // count one more than the blocks present
	require.ErrorIs(t, p.Parse(long), ErrTruncated)

	hb := AppendHeartbeat(nil, Session{}, 1)
	require.ErrorIs(t, p.Parse(append(hb, 0, 1, 'x')), ErrLength)
	eos := AppendEndOfSession(nil, Session{}, 1)
	require.ErrorIs(t, p.Parse(append(eos, 0, 1, 'x')), ErrLength)

	ovf := bytes.Clone(pkt)
	copy(ovf[10:18], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd})
	require.ErrorIs(t, p.Parse(ovf), ErrInvalid)
	copy(ovf[10:18], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb})
	require.NoError(t, p.Parse(ovf))
	require.Equal(t, uint64(math.MaxUint64), p.NextSeq())
}

func TestParseEmptyBlocks(t *testing.T) {
	pkt := appendHeader(nil, Session{}, 1, 3)
	pkt = append(pkt, 0, 0, 0, 1, 'a', 0, 0)
	_, msgs := messages(t, pkt)
	require.Equal(t, [][]byte{{}, []byte("a"), {}}, msgs)
}

func TestNextAliases(t *testing.T) {
	pkt := samplePacket(t)
	var p Packet
	require.NoError(t, p.Parse(pkt))
	m, ok := p.Next()
	require.True(t, ok)
	require.Equal(t, "one", string(m))
	require.Equal(t, len(m), cap(m), "a message's capacity must not reach into the next block")
	pkt[HeaderLen+2] = 'O'
	require.Equal(t, "One", string(m))
}

func TestRequest(t *testing.T) {
	r := Request{Session: mustSession(t, "S1"), Seq: 0x0102030405060708, Count: 0x1112}
	b := r.AppendTo(nil)
	require.Equal(t, []byte("S1        \x01\x02\x03\x04\x05\x06\x07\x08\x11\x12"), b)
	var got Request
	require.NoError(t, got.Decode(b))
	require.Equal(t, r, got)

	for n := range RequestLen {
		require.ErrorIs(t, got.Decode(b[:n]), ErrTruncated)
	}
	err := got.Decode(append(b, 0))
	require.ErrorIs(t, err, ErrLength)
	require.NotErrorIs(t, err, ErrTruncated)
	require.Equal(t, r, got, "a failed Decode leaves the request unchanged")
}

func TestAllocs(t *testing.T) {
	pkt := samplePacket(t)
	var p Packet
	require.Zero(t, testing.AllocsPerRun(100, func() {
		if p.Parse(pkt) != nil {
			panic("parse")
		}
		for {
			if _, ok := p.Next(); !ok {
				break
			}
		}
	}))

	b, err := NewBuilder(Session{}, 1400)
	require.NoError(t, err)
	msg := []byte("an ITCH message of some length")
	require.Zero(t, testing.AllocsPerRun(100, func() {
		b.Reset(b.NextSeq())
		for b.Add(msg) == nil {
		}
	}))

	buf := make([]byte, 0, 64)
	var r Request
	require.Zero(t, testing.AllocsPerRun(100, func() {
		buf = AppendHeartbeat(buf[:0], Session{}, 1)
		buf = AppendEndOfSession(buf[:0], Session{}, 1)
		buf = Request{Seq: 1, Count: 2}.AppendTo(buf[:0])
		_ = r.Decode(buf)
	}))
}

func BenchmarkParse(b *testing.B) {
	bld, err := NewBuilder(Session{'S'}, 1400)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 36) // an ITCH Add Order
	for bld.Add(msg) == nil {
	}
	pkt := bld.Bytes()
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if err := p.Parse(pkt); err != nil {
			b.Fatal(err)
		}
		for {
			if _, ok := p.Next(); !ok {
				break
			}
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	bld, err := NewBuilder(Session{'S'}, 1400)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 36)
	b.ReportAllocs()
	for b.Loop() {
		bld.Reset(bld.NextSeq())
		for bld.Add(msg) == nil {
		}
	}
}
