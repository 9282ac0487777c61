package conformance

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The judges themselves, on messages made by hand: these run without
// tshark, in every go test.

func TestFieldChecks(t *testing.T) {
	assert.NoError(t, alpha([]byte("SYM1    "), false))
	assert.NoError(t, alpha([]byte("    "), true))
	assert.Error(t, alpha([]byte("    "), false), "blank")
	assert.Error(t, alpha([]byte(" SYM"), false), "right-justified")
	assert.Error(t, alpha([]byte("SY M"), false), "a space inside")
	assert.Error(t, alpha([]byte{'O', 'R', 0, 0}, false), "NUL padding")

	assert.NoError(t, rightJustified([]byte("   ORRERY1"), isAlnum, false))
	assert.NoError(t, rightJustified([]byte("                   1"), isDigit, false))
	assert.Error(t, rightJustified([]byte("1                   "), isDigit, false))
	assert.Error(t, rightJustified([]byte("          "), isDigit, false))

	assert.NoError(t, oneOf([]byte{' '}, ouchBBOWeights))
	assert.Error(t, oneOf([]byte{0}, ouchBBOWeights))
	assert.Error(t, ouchValue(fReject.name, []byte{'U'}, 'J', false), "'U' is no OUCH 4.2 reject reason")
	assert.NoError(t, ouchValue(fShares.name, []byte{0, 0, 0, 0}, 'X', true), "a cancel to zero shares")
	assert.Error(t, ouchValue(fShares.name, []byte{0, 0, 0, 0}, 'O', true), "an order for zero shares")
	assert.Error(t, ouchValue(fShares.name, be32(1_000_000), 'O', true), "a million shares")
	assert.Error(t, ouchValue(fTimestamp.name, be64(nsPerDay), 'A', false))

	// Every OUCH layout covers its message exactly.
	for _, layouts := range []map[byte]ouchLayout{ouchInbound, ouchOutbound} {
		for typ, l := range layouts {
			n := 1
			for _, f := range l.fields {
				n += f.width
			}
			assert.Equal(t, l.size, n, "%c %s", typ, l.name)
		}
	}
}

func TestITCHChecks(t *testing.T) {
	stocks := map[uint16]string{}
	add := func(locate uint16, side byte, shares uint32, stock string, price uint32) []byte {
		m := []byte{'A'}
		m = binary.BigEndian.AppendUint16(m, locate)
		m = append(m, 0, 0, 0, 0, 0, 0, 0, 1) // tracking number, timestamp
		m = binary.BigEndian.AppendUint64(m, 7)
		m = append(m, side)
		m = binary.BigEndian.AppendUint32(m, shares)
		m = append(m, stock...)
		return binary.BigEndian.AppendUint32(m, price)
	}
	typ, err := itchMessage(add(1, 'B', 100, "SYM0001 ", 200000), 8, stocks, false)
	require.NoError(t, err)
	assert.Equal(t, byte('A'), typ)
	_, err = itchMessage(add(1, 'B', 100, "SYM0002 ", 200000), 8, stocks, false)
	assert.ErrorContains(t, err, "names", "a locate code names one stock")
	_, err = itchMessage(add(9, 'B', 100, "SYM0009 ", 200000), 8, stocks, false)
	assert.ErrorContains(t, err, "outside")
	_, err = itchMessage(add(1, 'X', 100, "SYM0001 ", 200000), 8, stocks, false)
	assert.ErrorContains(t, err, "Buy/Sell")
	_, err = itchMessage(add(1, 'B', 0, "SYM0001 ", 200000), 8, stocks, false)
	assert.ErrorContains(t, err, "shares")
	_, err = itchMessage(add(1, 'B', 100, "SYM0001 ", 200000)[:35], 8, stocks, false)
	assert.ErrorContains(t, err, "want 36")

	event := []byte{'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'Q'}
	_, err = itchMessage(event, 8, stocks, false)
	assert.NoError(t, err)
	event[11] = 'Z'
	_, err = itchMessage(event, 8, stocks, false)
	assert.ErrorContains(t, err, "event code")

	_, err = itchMessage([]byte("G                  42"), 8, stocks, true)
	assert.NoError(t, err)
	_, err = itchMessage([]byte("G42                  "), 8, stocks, true)
	assert.Error(t, err)
}

// TestResegment splits a server's first segment after its Login Accepted,
// and touches nothing else.
func TestResegment(t *testing.T) {
	loginAccepted := append([]byte{0, 31, 'A'}, []byte("   ORRERY1                   1")...)
	more := []byte{0, 1, 'H', 0, 1, 'H'}
	frame := func(src, dst uint16, seq uint32, flags byte, payload []byte) []byte {
		f := make([]byte, 14, 14+20+20+len(payload))
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		ip := make([]byte, 20)
		ip[0], ip[9] = 0x45, 6
		binary.BigEndian.PutUint16(ip[2:], uint16(40+len(payload)))
		tcp := make([]byte, 20)
		binary.BigEndian.PutUint16(tcp[0:], src)
		binary.BigEndian.PutUint16(tcp[2:], dst)
		binary.BigEndian.PutUint32(tcp[4:], seq)
		tcp[12], tcp[13] = 5<<4, flags
		return append(append(append(f, ip...), tcp...), payload...)
	}
	pcap := func(frames ...[]byte) []byte {
		b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
		b = append(b, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0) // version, zone, sigfigs, snaplen, Ethernet
		for _, f := range frames {
			b = binary.LittleEndian.AppendUint64(b, 0) // the time: the split keeps it
			b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
			b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
			b = append(b, f...)
		}
		return b
	}
	const server, client = 31000, 40000
	in := pcap(
		frame(client, server, 1, 0x02, nil),                                  // SYN
		frame(server, client, 100, 0x18, append(loginAccepted, more...)),     // Login Accepted and more
		frame(server, client, 139, 0x18, more),                               // a later segment: kept
		frame(client, server, 1, 0x02, nil),                                  // a new connection, same ports
		frame(server, client, 500, 0x19, append(loginAccepted, more[:3]...)), // with a FIN
	)
	var out bytes.Buffer
	n, err := resegment(bytes.NewReader(in), &out, []int{server})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	want := pcap(
		frame(client, server, 1, 0x02, nil),
		frame(server, client, 100, 0x18, loginAccepted),
		frame(server, client, 133, 0x18, more),
		frame(server, client, 139, 0x18, more),
		frame(client, server, 1, 0x02, nil),
		frame(server, client, 500, 0x18, loginAccepted),
		frame(server, client, 533, 0x19, more[:3]),
	)
	// The split frames get their IP header checksum; the hand-made ones
	// have none: compare without it.
	got := out.Bytes()
	require.Len(t, got, len(want))
	for off := 24; off < len(got); {
		n := int(binary.LittleEndian.Uint32(got[off+8:]))
		binary.BigEndian.PutUint16(got[off+16+14+10:], 0)
		off += 16 + n
	}
	assert.Equal(t, want, got)
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
