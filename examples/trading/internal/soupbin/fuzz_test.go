package soupbin

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func FuzzNext(f *testing.F) {
	stream, _ := sampleStream(f)
	f.Add(stream, 0)
	f.Add(stream[:len(stream)-1], 0)
	f.Add(stream, 40)
	f.Add([]byte{0, 0}, 0)
	f.Add([]byte{0}, 0)
	f.Add([]byte{0xff, 0xff, 'S'}, -5)
	f.Fuzz(func(t *testing.T, buf []byte, maxLen int) {
		orig := bytes.Clone(buf)
		limit := maxLen
		if limit <= 0 {
			limit = MaxPacketLen
		}
		off := 0
		var pkts []packet
		var endErr error // what a Reader must report after pkts
		for {
			rest := buf[off:]
			typ, payload, n, err := Next(rest, maxLen)
			if n < 0 || n > len(rest) {
				t.Fatalf("n = %d with %d bytes", n, len(rest))
			}
			// Model: what the front of rest must produce.
			var wantErr error
			complete := false
			if len(rest) >= 2 {
				l := int(rest[0])<<8 | int(rest[1])
				switch {
				case l == 0:
					wantErr = ErrInvalid
				case l > limit:
					wantErr = ErrTooLarge
				default:
					complete = len(rest) >= 2+l
				}
			}
			if wantErr != nil {
				if !errors.Is(err, wantErr) || n != 0 {
					t.Fatalf("Next = %d, %v; want %v", n, err, wantErr)
				}
				endErr = wantErr
				break
			}
			if err != nil {
				t.Fatalf("Next: unexpected %v", err)
			}
			if !complete {
				if n != 0 || payload != nil {
					t.Fatalf("Next on a partial packet = %d, %q", n, payload)
				}
				endErr = io.EOF
				if len(rest) > 0 {
					endErr = io.ErrUnexpectedEOF
				}
				break
			}
			if n == 0 {
				t.Fatal("Next consumed nothing from a complete packet")
			}
			again, err := AppendPacket(nil, typ, payload)
			if err != nil || !bytes.Equal(again, rest[:n]) {
				t.Fatalf("re-encoded %x, %v; consumed %x", again, err, rest[:n])
			}
			pkts = append(pkts, packet{typ, payload})
			off += n
		}
		if !bytes.Equal(buf, orig) {
			t.Fatal("Next modified its input")
		}

		// A Reader with the same limit, fed in small reads, agrees.
		got, err := readAll(NewReader(iotest.HalfReader(bytes.NewReader(buf)), 2+limit))
		if !errors.Is(err, endErr) {
			t.Fatalf("Reader error %v, want %v", err, endErr)
		}
		if len(got) != len(pkts) {
			t.Fatalf("Reader read %d packets, Next %d", len(got), len(pkts))
		}
		for i := range got {
			if got[i].typ != pkts[i].typ || !bytes.Equal(got[i].payload, pkts[i].payload) {
				t.Fatalf("packet %d: Reader %q, Next %q", i, got[i], pkts[i])
			}
		}
	})
}

func FuzzLogin(f *testing.F) {
	f.Add(LoginRequest{Username: "alice", Password: "pw", Session: "S1", Seq: 5}.mustPayload(f))
	f.Add([]byte("bob   " + "pw        " + "        S1" + "00000000000000000000"))
	f.Add([]byte("   SESSION1                   1"))
	f.Add([]byte("A"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		if r, err := ParseLoginRequest(payload); err == nil {
			b, err := r.AppendTo(nil)
			if err != nil {
				t.Fatalf("parsed %+v does not encode: %v", r, err)
			}
			r2, err := ParseLoginRequest(b[HeaderLen:])
			if err != nil || r2 != r {
				t.Fatalf("re-parse of %+v = %+v, %v", r, r2, err)
			}
			// The text fields are fixed by the parse; only the sequence
			// number may be written differently (leading zeros).
			if !bytes.Equal(b[HeaderLen:HeaderLen+26], payload[:26]) {
				t.Fatalf("re-encoded %q, input %q", b[HeaderLen:], payload)
			}
		} else if len(payload) == LoginRequestLen && !errors.Is(err, ErrInvalid) {
			t.Fatalf("ParseLoginRequest: %v", err)
		}
		if a, err := ParseLoginAccepted(payload); err == nil {
			b, err := a.AppendTo(nil)
			if err != nil {
				t.Fatalf("parsed %+v does not encode: %v", a, err)
			}
			a2, err := ParseLoginAccepted(b[HeaderLen:])
			if err != nil || a2 != a {
				t.Fatalf("re-parse of %+v = %+v, %v", a, a2, err)
			}
		}
		if j, err := ParseLoginRejected(payload); err == nil {
			b, err := j.AppendTo(nil)
			if err != nil || !bytes.Equal(b[HeaderLen:], payload) {
				t.Fatalf("LoginRejected %q re-encoded %q, %v", payload, b, err)
			}
		}
	})
}
