package itch

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// modelAccepts is an independent statement of which inputs a decoder for
// typ must accept, written in terms of the specification's byte offsets.
func modelAccepts(typ byte, size int, data []byte) bool {
	if len(data) != size || data[0] != typ {
		return false
	}
	switch typ {
	case TypeSystemEvent:
		return strings.IndexByte("OSQMEC", data[11]) >= 0
	case TypeAddOrder, TypeTrade:
		return data[19] == 'B' || data[19] == 'S'
	case TypeEndOfSnapshot:
		_, ok := modelSeq(data[1:])
		return ok
	}
	return true
}

// modelSeq parses a space-padded decimal field with the standard library.
func modelSeq(f []byte) (uint64, bool) {
	s := strings.TrimLeft(string(f), " ")
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages(f) {
		b := m.AppendTo(nil)
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(append(bytes.Clone(b), 0))
	}
	f.Add([]byte{})
	f.Add([]byte("G00000000000000000001"))
	f.Add([]byte("G                    "))
	f.Add([]byte("G99999999999999999999"))
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		for _, c := range codecs {
			got, err := c.decode(data)
			want := modelAccepts(c.typ, c.size, data)
			if (err == nil) != want {
				t.Fatalf("%s: decode error %v, model accepts %v", c.name, err, want)
			}
			if err != nil {
				switch {
				case len(data) == 0 || (data[0] == c.typ && len(data) < c.size):
					if !errors.Is(err, ErrTruncated) || !errors.Is(err, ErrLength) {
						t.Fatalf("%s: %v: want ErrTruncated and ErrLength", c.name, err)
					}
				case data[0] != c.typ:
					if !errors.Is(err, ErrType) {
						t.Fatalf("%s: %v: want ErrType", c.name, err)
					}
				case len(data) > c.size:
					if !errors.Is(err, ErrLength) || errors.Is(err, ErrTruncated) {
						t.Fatalf("%s: %v: want ErrLength only", c.name, err)
					}
				default:
					if !errors.Is(err, ErrInvalid) {
						t.Fatalf("%s: %v: want ErrInvalid", c.name, err)
					}
				}
				continue
			}
			enc := got.(encoder).AppendTo(nil)
			if c.typ == TypeEndOfSnapshot {
				seq, _ := modelSeq(data[1:])
				if got.(EndOfSnapshot).Seq != seq {
					t.Fatalf("EndOfSnapshot: decoded %d, model %d", got.(EndOfSnapshot).Seq, seq)
				}
				if again, err := c.decode(enc); err != nil || again != got {
					t.Fatalf("EndOfSnapshot: re-decode %v, %v", again, err)
				}
				continue
			}
			if !bytes.Equal(enc, data) {
				t.Fatalf("%s: re-encoded %x, input %x", c.name, enc, data)
			}
		}
		if !bytes.Equal(data, orig) {
			t.Fatal("decoder modified its input")
		}
	})
}

func FuzzEncode(f *testing.F) {
	f.Add(uint16(1), uint16(2), uint64(34_200_000_000_000), uint64(7), byte('B'), uint32(100), []byte("AAPL    "), uint32(1_502_500), uint64(9), byte('Q'))
	f.Add(uint16(0), uint16(0), uint64(1<<48), uint64(0), byte('X'), uint32(0), []byte{}, uint32(0), uint64(0), byte('?'))
	f.Fuzz(func(t *testing.T, locate, tracking uint16, ts, ref uint64, side byte, shares uint32, stock []byte, price uint32, match uint64, event byte) {
		h := Header{Locate: locate, Tracking: tracking, Timestamp: ts}
		var st Stock
		copy(st[:], stock)
		masked := h
		masked.Timestamp &= MaxTimestamp

		ao := AddOrder{Header: h, Ref: ref, Side: side, Shares: shares, Stock: st, Price: price}
		var gotAO AddOrder
		err := gotAO.Decode(ao.AppendTo(nil))
		sideOK := side == SideBuy || side == SideSell
		if (err == nil) != sideOK {
			t.Fatalf("AddOrder side %q: %v", side, err)
		}
		if err == nil {
			want := ao
			want.Header = masked
			if gotAO != want {
				t.Fatalf("AddOrder: got %+v, want %+v", gotAO, want)
			}
			if (ao.Validate() == nil) != (ts <= MaxTimestamp) {
				t.Fatalf("AddOrder.Validate: %v for timestamp %d", ao.Validate(), ts)
			}
		}

		tr := Trade{Header: h, Ref: ref, Side: side, Shares: shares, Stock: st, Price: price, Match: match}
		var gotTr Trade
		if err := gotTr.Decode(tr.AppendTo(nil)); (err == nil) != sideOK {
			t.Fatalf("Trade side %q: %v", side, err)
		} else if err == nil {
			want := tr
			want.Header = masked
			if gotTr != want {
				t.Fatalf("Trade: got %+v, want %+v", gotTr, want)
			}
		}

		se := SystemEvent{Header: h, Event: event}
		var gotSE SystemEvent
		if err := gotSE.Decode(se.AppendTo(nil)); err == nil {
			if gotSE.Event != event || gotSE.Header != masked {
				t.Fatalf("SystemEvent: got %+v, want %+v", gotSE, se)
			}
		} else if strings.IndexByte("OSQMEC", event) >= 0 {
			t.Fatalf("SystemEvent %q: %v", event, err)
		}

		rp := OrderReplace{Header: h, OrigRef: ref, NewRef: match, Shares: shares, Price: price}
		var gotRp OrderReplace
		if err := gotRp.Decode(rp.AppendTo(nil)); err != nil {
			t.Fatalf("OrderReplace: %v", err)
		}
		rp.Header = masked
		if gotRp != rp {
			t.Fatalf("OrderReplace: got %+v, want %+v", gotRp, rp)
		}

		es := EndOfSnapshot{Seq: ref}
		b := es.AppendTo(nil)
		if len(b) != EndOfSnapshotLen {
			t.Fatalf("EndOfSnapshot: %d bytes", len(b))
		}
		var gotES EndOfSnapshot
		if err := gotES.Decode(b); err != nil || gotES != es {
			t.Fatalf("EndOfSnapshot: got %+v, %v; want %+v", gotES, err, es)
		}
	})
}
