package recording_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/examples/trading/internal/recording"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.rec")
	w, err := recording.Create(path)
	require.NoError(t, err)
	want := []recording.Record{
		{Kind: recording.KindPacket, At: 0, Data: []byte("first packet")},
		{Kind: recording.KindOwnOrder, At: time.Millisecond, Data: recording.OwnOrderData(42)},
		{Kind: recording.KindSnapshot, At: 2 * time.Millisecond, Data: []byte{}},
	}
	// Enough packets to cross several hand-offs to the disk goroutine.
	big := bytes.Repeat([]byte{0xAB}, 1000)
	for i := range 1000 {
		want = append(want, recording.Record{Kind: recording.KindPacket, At: time.Duration(3+i) * time.Millisecond, Data: big})
	}
	for _, r := range want {
		require.NoError(t, w.Add(r.Kind, r.At, r.Data))
	}
	require.NoError(t, w.Close())
	require.Error(t, w.Close(), "a second Close is an error")
	require.Error(t, w.Add(recording.KindPacket, 0, nil), "Add after Close is an error")

	rec, err := recording.Open(path)
	require.NoError(t, err)
	assert.Equal(t, len(want), rec.Len())
	assert.Equal(t, want[len(want)-1].At, rec.Span())
	var got []recording.Record
	for r := range rec.Records() {
		got = append(got, recording.Record{Kind: r.Kind, At: r.At, Data: append([]byte{}, r.Data...)})
	}
	assert.Equal(t, want, got)
	assert.Equal(t, uint64(42), recording.OwnOrderRef(got[1].Data))
}

func TestWriterRejectsBadRecords(t *testing.T) {
	w, err := recording.Create(filepath.Join(t.TempDir(), "x.rec"))
	require.NoError(t, err)
	assert.Error(t, w.Add('?', 0, nil))
	assert.Error(t, w.Add(recording.KindPacket, -time.Second, nil))
	require.NoError(t, w.Close())
	_, err = recording.Create(filepath.Join(t.TempDir(), "no", "such", "dir", "x.rec"))
	assert.Error(t, err)
}

func TestCorruptRecordings(t *testing.T) {
	good := []byte(recording.Magic)
	good = append(good, recording.KindPacket)
	good = binary.BigEndian.AppendUint64(good, 5)
	good = binary.BigEndian.AppendUint32(good, 3)
	good = append(good, "abc"...)
	_, err := recording.Parse(good)
	require.NoError(t, err)

	backwards := append([]byte{}, good...)
	backwards = append(backwards, recording.KindPacket)
	backwards = binary.BigEndian.AppendUint64(backwards, 4)
	backwards = binary.BigEndian.AppendUint32(backwards, 0)

	badOwn := []byte(recording.Magic)
	badOwn = append(badOwn, recording.KindOwnOrder)
	badOwn = binary.BigEndian.AppendUint64(badOwn, 0)
	badOwn = binary.BigEndian.AppendUint32(badOwn, 1)
	badOwn = append(badOwn, 7)

	for name, data := range map[string][]byte{
		"empty":           nil,
		"bad magic":       []byte("NOTAFEED"),
		"truncated head":  good[:len(good)-5],
		"truncated data":  good[:len(good)-1],
		"unknown kind":    append(append([]byte{}, good[:8]...), append([]byte{'?'}, good[9:]...)...),
		"goes back":       backwards,
		"short own order": badOwn,
	} {
		_, err := recording.Parse(data)
		assert.ErrorIs(t, err, recording.ErrCorrupt, name)
	}
	_, err = recording.Open(filepath.Join(t.TempDir(), "missing"))
	assert.Error(t, err)
}

// FuzzParse checks that Parse never panics, and that whatever it accepts
// re-encodes to the same bytes.
func FuzzParse(f *testing.F) {
	seed := []byte(recording.Magic)
	seed = append(seed, recording.KindPacket)
	seed = binary.BigEndian.AppendUint64(seed, 1)
	seed = binary.BigEndian.AppendUint32(seed, 2)
	seed = append(seed, "hi"...)
	f.Add(seed)
	f.Add([]byte(recording.Magic))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := recording.Parse(data)
		if err != nil {
			if !errors.Is(err, recording.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		out := []byte(recording.Magic)
		n := 0
		for r := range rec.Records() {
			out = append(out, r.Kind)
			out = binary.BigEndian.AppendUint64(out, uint64(r.At))
			out = binary.BigEndian.AppendUint32(out, uint32(len(r.Data)))
			out = append(out, r.Data...)
			n++
		}
		if n != rec.Len() || !bytes.Equal(out, data) {
			t.Fatalf("re-encoding differs: %d records of %d", n, rec.Len())
		}
	})
}
