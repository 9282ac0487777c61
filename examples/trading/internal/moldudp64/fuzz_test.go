package moldudp64

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	pkt := samplePacket(f)
	f.Add(pkt)
	f.Add(pkt[:len(pkt)-1])
	f.Add(append(bytes.Clone(pkt), 0))
	f.Add(AppendHeartbeat(nil, Session{}, 1))
	f.Add(AppendEndOfSession(nil, Session{}, 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		var p Packet
		err := p.Parse(data)
		if err != nil {
			if !errors.Is(err, ErrLength) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse: unexpected error %v", err)
			}
			if _, ok := p.Next(); ok {
				t.Fatal("Next returned a message after a failed Parse")
			}
			return
		}
		// Model: re-encoding the header and the messages gives the input.
		re := appendHeader(nil, p.Session, p.Seq, p.Count)
		n := 0
		for {
			m, ok := p.Next()
			if !ok {
				break
			}
			re = binary.BigEndian.AppendUint16(re, uint16(len(m)))
			re = append(re, m...)
			n++
		}
		want := int(p.Count)
		if p.Count == EndOfSession {
			want = 0
		}
		if n != want {
			t.Fatalf("%d messages, count %d", n, p.Count)
		}
		if !bytes.Equal(re, data) {
			t.Fatalf("re-encoded %x, input %x", re, data)
		}
		if p.NextSeq() < p.Seq {
			t.Fatalf("NextSeq %d < Seq %d", p.NextSeq(), p.Seq)
		}
		if !bytes.Equal(data, orig) {
			t.Fatal("Parse modified its input")
		}
	})
}

func FuzzBuilder(f *testing.F) {
	f.Add(uint64(1), uint16(100), []byte("\x03abc\x01x\x00\x05hello"))
	f.Add(uint64(1<<64-3), uint16(23), []byte("\x01a\x01b\x01c\x01d"))
	f.Add(uint64(0), uint16(1400), bytes.Repeat([]byte{36}, 2000))
	f.Fuzz(func(t *testing.T, seq uint64, maxSize uint16, data []byte) {
		size := HeaderLen + 3 + int(maxSize)%1500
		sess := Session{'F', 'U', 'Z', 'Z', ' ', ' ', ' ', ' ', ' ', ' '}
		b, err := NewBuilder(sess, size)
		if err != nil {
			t.Fatal(err)
		}
		b.Reset(seq)
		// Each message is a length byte followed by that many bytes of data.
		var want, got [][]byte
		var pending [][]byte // messages in the packet being built
		flush := func() {
			pkt := b.Bytes()
			if len(pkt) > size {
				t.Fatalf("packet of %d bytes exceeds %d", len(pkt), size)
			}
			var p Packet
			if err := p.Parse(pkt); err != nil {
				t.Fatalf("Parse(builder output): %v", err)
			}
			if p.Session != sess || p.Seq != b.Seq() || int(p.Count) != len(pending) {
				t.Fatalf("header %+v, want seq %d count %d", p.Header, b.Seq(), len(pending))
			}
			for {
				m, ok := p.Next()
				if !ok {
					break
				}
				got = append(got, bytes.Clone(m))
			}
			pending = pending[:0]
			b.Reset(b.NextSeq())
		}
		for len(data) > 0 {
			n := min(int(data[0]), len(data)-1)
			msg := data[1 : 1+n]
			data = data[1+n:]
			err := b.Add(msg)
			switch {
			case len(msg) == 0 || HeaderLen+2+len(msg) > size:
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Add(%d bytes) with size %d = %v", len(msg), size, err)
				}
				continue
			case errors.Is(err, ErrFull):
				if b.NextSeq() == 1<<64-1 {
					return // sequence numbers exhausted
				}
				flush()
				if err := b.Add(msg); err != nil {
					t.Fatalf("Add to an empty packet: %v", err)
				}
			case err != nil:
				t.Fatalf("Add: %v", err)
			}
			want = append(want, msg)
			pending = append(pending, msg)
		}
		flush()
		if len(got) != len(want) {
			t.Fatalf("got %d messages, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("message %d: got %q, want %q", i, got[i], want[i])
			}
		}
	})
}
