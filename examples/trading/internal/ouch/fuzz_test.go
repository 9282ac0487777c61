package ouch

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// field offsets used by the model below, taken from the specification.
type layout struct {
	tokens []int // offsets of 14-byte tokens
	side   int   // offset of the Buy/Sell indicator, or 0
	state  int   // offset of the Order State, or 0
	liq    int   // offset of the Liquidity Flag, or 0
	event  int   // offset of the Event Code, or 0
}

var layouts = map[string]layout{
	"EnterOrder":   {tokens: []int{1}, side: 15},
	"ReplaceOrder": {tokens: []int{1, 15}},
	"CancelOrder":  {tokens: []int{1}},
	"SystemEvent":  {event: 9},
	"Accepted":     {tokens: []int{9}, side: 23, state: 64},
	"Replaced":     {tokens: []int{9, 65}, side: 23, state: 64},
	"Canceled":     {tokens: []int{9}},
	"Executed":     {tokens: []int{9}, liq: 31},
	"Rejected":     {tokens: []int{9}},
}

// modelAccepts is an independent statement of which inputs the decoder c
// must accept.
func modelAccepts(c codec, data []byte) bool {
	if len(data) != c.size || data[0] != c.typ {
		return false
	}
	l := layouts[c.name]
	for _, off := range l.tokens {
		tok := data[off : off+14]
		if len(bytes.Trim(tok, " ")) == 0 {
			return false
		}
		for _, ch := range tok {
			if ch < 0x20 || ch > 0x7e {
				return false
			}
		}
	}
	in := func(off int, set string) bool { return off == 0 || bytes.IndexByte([]byte(set), data[off]) >= 0 }
	return in(l.side, "BSTE") && in(l.state, "LD") && in(l.liq, "AR") && in(l.event, "SE")
}

func FuzzDecode(f *testing.F) {
	for _, m := range samples(f) {
		b := m.AppendTo(nil)
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(append(bytes.Clone(b), 0))
	}
	f.Add([]byte{})
	f.Add([]byte("U"))
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		for _, c := range codecs {
			got, err := c.decode(data)
			if want := modelAccepts(c, data); (err == nil) != want {
				t.Fatalf("%s: decode error %v, model accepts %v", c.name, err, want)
			}
			if err != nil {
				var want error
				switch {
				case len(data) == 0 || (data[0] == c.typ && len(data) < c.size):
					want = ErrTruncated
				case data[0] != c.typ:
					want = ErrType
				case len(data) > c.size:
					want = ErrLength
				default:
					want = ErrInvalid
				}
				if !errors.Is(err, want) {
					t.Fatalf("%s: %v: want %v", c.name, err, want)
				}
				continue
			}
			if enc := got.(encoder).AppendTo(nil); !bytes.Equal(enc, data) {
				t.Fatalf("%s: re-encoded %x, input %x", c.name, enc, data)
			}
			if err := got.(interface{ Validate() error }).Validate(); err != nil {
				t.Fatalf("%s: decoded value does not validate: %v", c.name, err)
			}
		}
		if !bytes.Equal(data, orig) {
			t.Fatal("decoder modified its input")
		}
	})
}

func FuzzToken(f *testing.F) {
	f.Add(uint64(0), []byte("1"))
	f.Add(uint64(MaxTokenUint), []byte("12345678901234"))
	f.Add(uint64(1<<63), []byte(" 1"))
	f.Add(uint64(7), []byte("ABC"))
	f.Fuzz(func(t *testing.T, n uint64, raw []byte) {
		if n <= MaxTokenUint {
			tok := TokenFromUint(n)
			if got, err := tok.Uint(); err != nil || got != n {
				t.Fatalf("TokenFromUint(%d).Uint() = %d, %v", n, got, err)
			}
			if m := (CancelOrder{Token: tok}); m.Validate() != nil {
				t.Fatalf("numeric token %q invalid: %v", tok, m.Validate())
			}
		}
		// NewToken accepts exactly 1-14 printable non-space characters.
		tok, err := NewToken(string(raw))
		want := len(raw) >= 1 && len(raw) <= 14 && bytes.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r > '~' }) < 0
		if (err == nil) != want {
			t.Fatalf("NewToken(%q): %v", raw, err)
		}
		if err == nil {
			if tok.String() != string(raw) {
				t.Fatalf("NewToken(%q).String() = %q", raw, tok.String())
			}
			var m Rejected
			if err := m.Decode(Rejected{Token: tok, Reason: RejectOther}.AppendTo(nil)); err != nil || m.Token != tok {
				t.Fatalf("Rejected round trip of %q: %v", raw, err)
			}
		}
		// Uint of an arbitrary token agrees with a digits-then-spaces model.
		var tk Token
		copy(tk[:], raw)
		digits := string(bytes.TrimRight(tk[:], " "))
		model, merr := strconv.ParseUint(digits, 10, 64)
		if strings.Trim(digits, "0123456789") != "" {
			merr = strconv.ErrSyntax
		}
		v, err := tk.Uint()
		if (err == nil) != (merr == nil) || v != model {
			t.Fatalf("Token(%q).Uint() = %d, %v; model %d, %v", tk[:], v, err, model, merr)
		}
	})
}
