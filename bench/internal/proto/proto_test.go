package proto

import (
	"errors"
	"testing"
)

// TestRoundTrip answers requests of several sizes, fed in pieces of every
// length, and checks the responses as the load generator does.
func TestRoundTrip(t *testing.T) {
	var in []byte
	sizes := []int{MinPayload, 32, 100, MaxPayload}
	for i, n := range sizes {
		in = AppendRequest(in, uint64(i), n)
	}
	for _, step := range []int{1, 3, 36, len(in)} {
		var out, pending []byte
		for off := 0; off < len(in); off += step {
			pending = append(pending, in[off:min(off+step, len(in))]...)
			var used int
			var err error
			out, used, err = AppendResponses(out, pending)
			if err != nil {
				t.Fatal(err)
			}
			pending = pending[used:]
		}
		if len(pending) != 0 {
			t.Fatalf("step %d: %d bytes left unparsed", step, len(pending))
		}
		for i, n := range sizes {
			fl, err := FrameLen(out)
			if err != nil || fl != HeaderSize+n {
				t.Fatalf("step %d: response %d: frame length %d, %v; want %d", step, i, fl, err, HeaderSize+n)
			}
			if err := CheckResponse(out[:fl], uint64(i), n); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			out = out[fl:]
		}
	}
}

// TestCheckResponseCatchesErrors flips one byte of a response at a time.
func TestCheckResponseCatchesErrors(t *testing.T) {
	good := respond(t, AppendRequest(nil, 7, 32))
	for i := range good {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x10
		if CheckResponse(bad, 7, 32) == nil {
			t.Errorf("a change of byte %d went unnoticed", i)
		}
	}
	if CheckResponse(good, 8, 32) == nil {
		t.Error("a response to another request went unnoticed")
	}
	if CheckResponse(good[:20], 7, 32) == nil {
		t.Error("a short response went unnoticed")
	}
}

func respond(t *testing.T, req []byte) []byte {
	t.Helper()
	out, used, err := AppendResponses(nil, req)
	if err != nil || used != len(req) {
		t.Fatalf("AppendResponses: used %d of %d, %v", used, len(req), err)
	}
	return out
}

// TestOversizedFrame checks that a length beyond MaxPayload is refused.
func TestOversizedFrame(t *testing.T) {
	req := []byte{0, 0, 0x40, 1} // 16385 bytes
	if _, _, err := AppendResponses(nil, req); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("AppendResponses: %v, want ErrFrameTooLarge", err)
	}
	if _, err := FrameLen(req); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("FrameLen: %v, want ErrFrameTooLarge", err)
	}
}
