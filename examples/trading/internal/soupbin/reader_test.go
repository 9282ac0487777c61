package soupbin

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// readAll reads packets from r until an error and returns them with the
// error.
func readAll(r *Reader) ([]packet, error) {
	var pkts []packet
	for {
		typ, payload, err := r.Next()
		if err != nil {
			return pkts, err
		}
		pkts = append(pkts, packet{typ, bytes.Clone(payload)})
	}
}

func TestReader(t *testing.T) {
	stream, _ := sampleStream(t)
	want, _ := parseAll(t, stream)
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(stream) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) },
	}
	for name, mk := range readers {
		for _, size := range []int{0, 1000, len(stream)} {
			r := NewReader(mk(), size)
			got, err := readAll(r)
			require.Zero(t, r.Buffered())
			require.ErrorIs(t, err, io.EOF, "%s size %d", name, size)
			require.Equal(t, want, got, "%s size %d", name, size)
		}
	}
}

func TestReaderUnexpectedEOF(t *testing.T) {
	stream, _ := sampleStream(t)
	r := NewReader(bytes.NewReader(stream[:len(stream)-2]), 0)
	got, err := readAll(r)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.NotEmpty(t, got)
	require.Equal(t, 1, r.Buffered(), "the partial packet stays buffered")
	_, err = readAll(NewReader(bytes.NewReader([]byte{0}), 0))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestReaderTooLarge(t *testing.T) {
	small, _ := AppendPacket(nil, TypeSequencedData, make([]byte, 7))
	large, _ := AppendPacket(nil, TypeSequencedData, make([]byte, 8))
	r := NewReader(bytes.NewReader(append(small, large...)), len(small))
	require.Zero(t, r.Buffered())
	_, p, err := r.Next()
	require.NoError(t, err)
	require.Len(t, p, 7)
	require.Equal(t, 0, r.Buffered(), "the first read fills the buffer with the small packet only")
	_, _, err = r.Next()
	require.ErrorIs(t, err, ErrTooLarge)
	_, _, err = r.Next()
	require.ErrorIs(t, err, ErrTooLarge, "framing errors are permanent")

	r = NewReader(bytes.NewReader([]byte{0, 0}), 0)
	_, _, err = r.Next()
	require.ErrorIs(t, err, ErrInvalid)
}

// flaky fails its first read after n bytes with errTimeout, then goes on.
type flaky struct {
	r      io.Reader
	n      int
	failed bool
}

var errTimeout = errors.New("timeout")

func (f *flaky) Read(b []byte) (int, error) {
	if !f.failed && f.n <= 0 {
		f.failed = true
		return 0, errTimeout
	}
	if !f.failed {
		b = b[:min(len(b), f.n)]
	}
	n, err := f.r.Read(b)
	f.n -= n
	return n, err
}

func TestReaderResumesAfterError(t *testing.T) {
	stream, _ := sampleStream(t)
	want, _ := parseAll(t, stream)
	r := NewReader(&flaky{r: bytes.NewReader(stream), n: 40}, 0)
	var got []packet
	sawTimeout := false
	for {
		typ, payload, err := r.Next()
		if errors.Is(err, errTimeout) {
			require.False(t, sawTimeout)
			sawTimeout = true
			continue
		}
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got = append(got, packet{typ, bytes.Clone(payload)})
	}
	require.True(t, sawTimeout)
	require.Equal(t, want, got)
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderNoProgress(t *testing.T) {
	_, _, err := NewReader(emptyReader{}, 0).Next()
	require.ErrorIs(t, err, io.ErrNoProgress)
}

func TestReaderAllocs(t *testing.T) {
	stream, _ := sampleStream(t)
	br := bytes.NewReader(stream)
	r := NewReader(br, 0)
	require.Zero(t, testing.AllocsPerRun(100, func() {
		br.Reset(stream)
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
	}))
}
