package soupbin

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type packet struct {
	typ     byte
	payload []byte
}

// parseAll parses every complete packet in buf and returns them with the
// number of bytes consumed.
func parseAll(t testing.TB, buf []byte) ([]packet, int) {
	t.Helper()
	var pkts []packet
	off := 0
	for {
		typ, payload, n, err := Next(buf[off:], 0)
		require.NoError(t, err)
		if n == 0 {
			return pkts, off
		}
		pkts = append(pkts, packet{typ, bytes.Clone(payload)})
		off += n
	}
}

func TestAppendPacketNext(t *testing.T) {
	payloads := [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte{0xab}, 1000), make([]byte, MaxPayload)}
	for _, p := range payloads {
		b, err := AppendPacket([]byte("pre"), TypeSequencedData, p)
		require.NoError(t, err)
		require.Equal(t, "pre", string(b[:3]))
		b = b[3:]
		require.Len(t, b, HeaderLen+len(p))
		require.Equal(t, uint16(1+len(p)), uint16(b[0])<<8|uint16(b[1]))

		typ, payload, n, err := Next(b, 0)
		require.NoError(t, err)
		require.Equal(t, TypeSequencedData, typ)
		require.Equal(t, len(b), n)
		require.Equal(t, len(p), len(payload))
		require.True(t, bytes.Equal(p, payload))
		require.Equal(t, len(payload), cap(payload), "payload capacity must not reach past the packet")
	}
}

func TestAppendPacketTooLarge(t *testing.T) {
	dst := []byte("keep")
	out, err := AppendPacket(dst, TypeDebug, make([]byte, MaxPayload+1))
	require.ErrorIs(t, err, ErrTooLarge)
	require.Equal(t, "keep", string(out))
}

func TestEmptyPayloadPackets(t *testing.T) {
	for _, typ := range []byte{TypeServerHeartbeat, TypeClientHeartbeat, TypeEndOfSession, TypeLogoutRequest} {
		b, err := AppendPacket(nil, typ, nil)
		require.NoError(t, err)
		require.Equal(t, []byte{0, 1, typ}, b)
	}
}

func TestNextPartial(t *testing.T) {
	b, err := AppendPacket(nil, TypeUnsequencedData, []byte("hello"))
	require.NoError(t, err)
	for i := range len(b) {
		typ, payload, n, err := Next(b[:i], 0)
		require.NoError(t, err, "prefix %d", i)
		require.Zero(t, n)
		require.Zero(t, typ)
		require.Nil(t, payload)
	}
}

func TestNextErrors(t *testing.T) {
	_, _, n, err := Next([]byte{0, 0}, 0)
	require.ErrorIs(t, err, ErrInvalid)
	require.Zero(t, n)

	// The limit applies as soon as the length field is known.
	_, _, n, err = Next([]byte{0, 11}, 10)
	require.ErrorIs(t, err, ErrTooLarge)
	require.Zero(t, n)

	b, err := AppendPacket(nil, TypeSequencedData, make([]byte, 9))
	require.NoError(t, err)
	_, p, n, err := Next(b, 10)
	require.NoError(t, err)
	require.Equal(t, 12, n)
	require.Len(t, p, 9)
	_, _, _, err = Next([]byte{0xff, 0xff}, -1)
	require.NoError(t, err)
}

func TestNextPayloadAliases(t *testing.T) {
	stream, _ := AppendPacket(nil, TypeSequencedData, []byte("ab"))
	stream, _ = AppendPacket(stream, TypeSequencedData, []byte("cd"))
	_, p, n, err := Next(stream, 0)
	require.NoError(t, err)
	_ = append(p, 'X') // must not clobber the next packet
	_, p2, _, err := Next(stream[n:], 0)
	require.NoError(t, err)
	require.Equal(t, "cd", string(p2))
	stream[3] = 'z'
	require.Equal(t, "zb", string(p))
}

func sampleStream(t testing.TB) ([]byte, []packet) {
	want := []packet{
		{TypeLoginAccepted, []byte("   SESSION1                   1")[:LoginAcceptedLen]},
		{TypeSequencedData, []byte("first message")},
		{TypeServerHeartbeat, nil},
		{TypeSequencedData, bytes.Repeat([]byte{0, 1, 2}, 300)},
		{TypeDebug, []byte("debug text")},
		{TypeEndOfSession, nil},
	}
	var stream []byte
	for _, p := range want {
		var err error
		stream, err = AppendPacket(stream, p.typ, p.payload)
		require.NoError(t, err)
	}
	return stream, want
}

func TestIncrementalParsing(t *testing.T) {
	stream, want := sampleStream(t)
	whole, n := parseAll(t, stream)
	require.Equal(t, len(stream), n)
	require.Len(t, whole, len(want))
	for i := range want {
		require.Equal(t, want[i].typ, whole[i].typ)
		require.True(t, bytes.Equal(want[i].payload, whole[i].payload))
	}

	// Feed one byte at a time, consuming packets as they complete.
	var buf []byte
	var got []packet
	for _, c := range stream {
		buf = append(buf, c)
		for {
			typ, payload, n, err := Next(buf, 0)
			require.NoError(t, err)
			if n == 0 {
				break
			}
			got = append(got, packet{typ, bytes.Clone(payload)})
			buf = buf[n:]
		}
	}
	require.Empty(t, buf)
	require.Equal(t, whole, got)
}

func TestLoginRequest(t *testing.T) {
	r := LoginRequest{Username: "alice", Password: "s3cret!", Session: "SESS01", Seq: 12345}
	b, err := r.AppendTo(nil)
	require.NoError(t, err)
	want := "\x00\x2fL" + "alice " + "s3cret!   " + "    SESS01" + "               12345"
	require.Equal(t, want, string(b))

	typ, payload, n, err := Next(b, 0)
	require.NoError(t, err)
	require.Equal(t, len(b), n)
	require.Equal(t, TypeLoginRequest, typ)
	got, err := ParseLoginRequest(payload)
	require.NoError(t, err)
	require.Equal(t, r, got)

	// Current session, most recent message, empty password.
	r = LoginRequest{Username: "ABCDEF"}
	b, err = r.AppendTo(nil)
	require.NoError(t, err)
	require.Equal(t, "\x00\x2fLABCDEF"+strings.Repeat(" ", 39)+"0", string(b))
	got, err = ParseLoginRequest(b[HeaderLen:])
	require.NoError(t, err)
	require.Equal(t, r, got)

	got, err = ParseLoginRequest([]byte("bob   " + "pw        " + "        S1" + strings.Repeat("0", 20)))
	require.NoError(t, err)
	require.Equal(t, LoginRequest{Username: "bob", Password: "pw", Session: "S1"}, got)

	got, err = ParseLoginRequest(LoginRequest{Username: "u", Seq: math.MaxUint64}.mustPayload(t))
	require.NoError(t, err)
	require.Equal(t, uint64(math.MaxUint64), got.Seq)
}

func (r LoginRequest) mustPayload(t testing.TB) []byte {
	b, err := r.AppendTo(nil)
	require.NoError(t, err)
	return b[HeaderLen:]
}

func TestLoginRequestInvalid(t *testing.T) {
	dst := []byte("keep")
	for _, r := range []LoginRequest{
		{},
		{Username: "toolong"},
		{Username: "a b"},
		{Username: "a", Password: "01234567890"},
		{Username: "a", Password: "p w"},
		{Username: "a", Password: "p\x00"},
		{Username: "a", Session: "01234567890"},
		{Username: "a", Session: "s\tx"},
		{Username: "é"},
	} {
		out, err := r.AppendTo(dst)
		require.ErrorIs(t, err, ErrInvalid, "%+v", r)
		require.Equal(t, "keep", string(out))
	}

	valid := LoginRequest{Username: "user", Password: "pass", Session: "S", Seq: 7}.mustPayload(t)
	for _, tc := range []struct {
		off int
		val byte
		ok  bool
	}{
		{0, ' ', false},   // leading space in username
		{2, ' ', false},   // embedded space in username
		{4, 'x', true},    // username grows
		{5, 'x', false},   // space between username characters
		{6, ' ', false},   // password starts with a space
		{8, 0, false},     // control byte in password
		{24, 'x', true},   // session grows to the left
		{16, 'x', false},  // space between session characters
		{25, 0x7f, false}, // DEL in session
		{25, ' ', true},   // blank session: the current one
		{26, 'x', false},  // non-digit in sequence number
		{44, '0', true},   // leading zero in sequence number
		{26, '0', false},  // digit, spaces, digit
		{45, ' ', false},  // sequence number ends with a space
	} {
		b := bytes.Clone(valid)
		b[tc.off] = tc.val
		_, err := ParseLoginRequest(b)
		if tc.ok {
			require.NoError(t, err, "offset %d = %q", tc.off, tc.val)
		} else {
			require.ErrorIs(t, err, ErrInvalid, "offset %d = %q", tc.off, tc.val)
		}
	}
	b := bytes.Clone(valid)
	copy(b, "      ")
	_, err := ParseLoginRequest(b)
	require.ErrorIs(t, err, ErrInvalid, "blank username")
	copy(b[26:], "18446744073709551616")
	b[0] = 'u'
	_, err = ParseLoginRequest(b)
	require.ErrorIs(t, err, ErrInvalid, "overflow")
	copy(b[26:], strings.Repeat(" ", 20))
	_, err = ParseLoginRequest(b)
	require.ErrorIs(t, err, ErrInvalid, "blank sequence number")

	_, err = ParseLoginRequest(valid[:45])
	require.ErrorIs(t, err, ErrTruncated)
	require.ErrorIs(t, err, ErrLength)
	_, err = ParseLoginRequest(append(bytes.Clone(valid), ' '))
	require.ErrorIs(t, err, ErrLength)
	require.NotErrorIs(t, err, ErrTruncated)
}

func TestLoginAccepted(t *testing.T) {
	a := LoginAccepted{Session: "TODAY", Seq: 1}
	b, err := a.AppendTo(nil)
	require.NoError(t, err)
	require.Equal(t, "\x00\x1fA     TODAY                   1", string(b))
	got, err := ParseLoginAccepted(b[HeaderLen:])
	require.NoError(t, err)
	require.Equal(t, a, got)

	for _, bad := range []string{"", "01234567890", "a b"} {
		_, err := LoginAccepted{Session: bad}.AppendTo(nil)
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}
	_, err = ParseLoginAccepted([]byte(strings.Repeat(" ", 29) + "1"))
	require.ErrorIs(t, err, ErrInvalid, "blank session")
	_, err = ParseLoginAccepted([]byte("TODAY                        1"))
	require.ErrorIs(t, err, ErrInvalid, "left-justified session")
	_, err = ParseLoginAccepted(b[HeaderLen : len(b)-1])
	require.ErrorIs(t, err, ErrTruncated)
}

func TestLoginRejected(t *testing.T) {
	for _, reason := range []byte{RejectNotAuthorized, RejectSessionNotAvailable} {
		b, err := LoginRejected{Reason: reason}.AppendTo(nil)
		require.NoError(t, err)
		require.Equal(t, []byte{0, 2, TypeLoginRejected, reason}, b)
		got, err := ParseLoginRejected(b[HeaderLen:])
		require.NoError(t, err)
		require.Equal(t, reason, got.Reason)
	}
	_, err := LoginRejected{Reason: 'x'}.AppendTo(nil)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = ParseLoginRejected([]byte("x"))
	require.ErrorIs(t, err, ErrInvalid)
	_, err = ParseLoginRejected(nil)
	require.ErrorIs(t, err, ErrTruncated)
	_, err = ParseLoginRejected([]byte("AA"))
	require.ErrorIs(t, err, ErrLength)
}

func TestAllocs(t *testing.T) {
	stream, _ := sampleStream(t)
	require.Zero(t, testing.AllocsPerRun(100, func() {
		for off := 0; ; {
			_, _, n, err := Next(stream[off:], 0)
			if err != nil || n == 0 {
				break
			}
			off += n
		}
	}))
	buf := make([]byte, 0, 256)
	payload := []byte("payload")
	require.Zero(t, testing.AllocsPerRun(100, func() {
		buf, _ = AppendPacket(buf[:0], TypeSequencedData, payload)
	}))
	r := LoginRequest{Username: "alice", Password: "pw", Session: "S", Seq: 99}
	a := LoginAccepted{Session: "S", Seq: 99}
	require.Zero(t, testing.AllocsPerRun(100, func() {
		buf, _ = r.AppendTo(buf[:0])
		buf, _ = a.AppendTo(buf)
	}))
}

func BenchmarkNext(b *testing.B) {
	stream, _ := sampleStream(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		for off := 0; ; {
			_, _, n, err := Next(stream[off:], 0)
			if err != nil || n == 0 {
				break
			}
			off += n
		}
	}
}
