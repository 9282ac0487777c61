// Package recording stores what a trading engine received from its market
// data feed, so a backtest can replay it through the same engine code.
//
// A recording is a file: the 8-byte magic "ORRFEED1", then records of
//
//	kind   1 byte   KindPacket, KindSnapshot or KindOwnOrder
//	at     8 bytes  nanoseconds since the recording started (big-endian)
//	length 4 bytes  length of data (big-endian)
//	data   length bytes
//
// in the order the engine saw them. Packets are whole MoldUDP64 packets as
// read from the socket; a snapshot is the recovery snapshot the engine
// applied, as MoldUDP64-style message blocks (2-byte length, message); an
// own-order record is the 8-byte exchange reference of one of the engine's
// own orders, so a replay can tell them from the rest of the market.
package recording

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"time"
)

// Magic starts every recording.
const Magic = "ORRFEED1"

// Record kinds.
const (
	KindPacket   byte = 'P'
	KindSnapshot byte = 'S'
	KindOwnOrder byte = 'O'
)

// MaxData bounds a record's data: larger lengths mean a corrupt file.
const MaxData = 64 << 20

const recordHeaderLen = 1 + 8 + 4

// ErrCorrupt is wrapped by the errors about a malformed recording.
var ErrCorrupt = errors.New("recording: corrupt")

// Record is one entry of a recording.
type Record struct {
	Kind byte
	// At is the time since the recording started.
	At time.Duration
	// Data aliases the recording's bytes: copy it to keep it.
	Data []byte
}

// Writer appends records to a file. Writes are buffered in memory and
// handed to a goroutine of its own, so a runtime thread that records never
// waits for the disk.
type Writer struct {
	f      *os.File
	buf    []byte
	chunks chan []byte
	done   chan error
	closed bool
}

// chunkSize is how much the writer gathers before handing it to the disk
// goroutine.
const chunkSize = 256 << 10

// Create creates (or truncates) the recording file at path.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	w := &Writer{
		f:      f,
		buf:    make([]byte, 0, chunkSize),
		chunks: make(chan []byte, 256),
		done:   make(chan error, 1),
	}
	w.buf = append(w.buf, Magic...)
	go w.drain()
	return w, nil
}

func (w *Writer) drain() {
	bw := bufio.NewWriterSize(w.f, chunkSize)
	var err error
	for c := range w.chunks {
		if err == nil {
			_, err = bw.Write(c)
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.done <- err
}

// Add appends a record. data is copied.
func (w *Writer) Add(kind byte, at time.Duration, data []byte) error {
	switch {
	case w.closed:
		return errors.New("recording: Add after Close")
	case kind != KindPacket && kind != KindSnapshot && kind != KindOwnOrder:
		return fmt.Errorf("recording: unknown record kind %q", kind)
	case len(data) > MaxData:
		return fmt.Errorf("recording: %d-byte record exceeds %d", len(data), MaxData)
	case at < 0:
		return fmt.Errorf("recording: negative time %v", at)
	}
	w.buf = append(w.buf, kind)
	w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(at))
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(len(data)))
	w.buf = append(w.buf, data...)
	if len(w.buf) >= chunkSize {
		w.chunks <- w.buf
		w.buf = make([]byte, 0, chunkSize)
	}
	return nil
}

// Close writes what is buffered, closes the file and reports the first
// error met while writing.
func (w *Writer) Close() error {
	if w.closed {
		return errors.New("recording: Close called twice")
	}
	w.closed = true
	if len(w.buf) > 0 {
		w.chunks <- w.buf
	}
	close(w.chunks)
	if err := <-w.done; err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	return nil
}

// Recording is a recording read into memory.
type Recording struct {
	data []byte
	n    int
	span time.Duration
}

// Open reads and checks the recording at path.
func Open(path string) (*Recording, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	return Parse(data)
}

// Parse checks data as a recording. The Recording aliases data.
func Parse(data []byte) (*Recording, error) {
	if len(data) < len(Magic) || !bytes.Equal(data[:len(Magic)], []byte(Magic)) {
		return nil, fmt.Errorf("%w: not a recording (bad magic)", ErrCorrupt)
	}
	r := &Recording{data: data}
	var last time.Duration
	for off := len(Magic); off < len(data); {
		rec, next, err := decode(data, off)
		if err != nil {
			return nil, err
		}
		if rec.At < last {
			return nil, fmt.Errorf("%w: record %d at offset %d goes back in time (%v < %v)", ErrCorrupt, r.n, off, rec.At, last)
		}
		last = rec.At
		r.n++
		off = next
	}
	r.span = last
	return r, nil
}

func decode(data []byte, off int) (Record, int, error) {
	if len(data)-off < recordHeaderLen {
		return Record{}, 0, fmt.Errorf("%w: truncated record header at offset %d", ErrCorrupt, off)
	}
	kind := data[off]
	if kind != KindPacket && kind != KindSnapshot && kind != KindOwnOrder {
		return Record{}, 0, fmt.Errorf("%w: unknown record kind %q at offset %d", ErrCorrupt, kind, off)
	}
	at := binary.BigEndian.Uint64(data[off+1:])
	n := binary.BigEndian.Uint32(data[off+9:])
	if at > uint64(1<<63-1) {
		return Record{}, 0, fmt.Errorf("%w: bad time at offset %d", ErrCorrupt, off)
	}
	if n > MaxData || int(n) > len(data)-off-recordHeaderLen {
		return Record{}, 0, fmt.Errorf("%w: record at offset %d claims %d bytes, %d left", ErrCorrupt, off, n, len(data)-off-recordHeaderLen)
	}
	if kind == KindOwnOrder && n != 8 {
		return Record{}, 0, fmt.Errorf("%w: own-order record at offset %d has %d bytes, want 8", ErrCorrupt, off, n)
	}
	start := off + recordHeaderLen
	return Record{Kind: kind, At: time.Duration(at), Data: data[start : start+int(n) : start+int(n)]}, start + int(n), nil
}

// Len is the number of records.
func (r *Recording) Len() int { return r.n }

// Span is the time the recording covers: the time of its last record.
func (r *Recording) Span() time.Duration { return r.span }

// Records iterates over the records in order.
func (r *Recording) Records() iter.Seq[Record] {
	return func(yield func(Record) bool) {
		for off := len(Magic); off < len(r.data); {
			rec, next, err := decode(r.data, off)
			if err != nil {
				return // Parse checked every record
			}
			if !yield(rec) {
				return
			}
			off = next
		}
	}
}

// OwnOrderRef decodes the reference of a KindOwnOrder record.
func OwnOrderRef(data []byte) uint64 { return binary.BigEndian.Uint64(data) }

// OwnOrderData encodes ref for a KindOwnOrder record.
func OwnOrderData(ref uint64) []byte { return binary.BigEndian.AppendUint64(nil, ref) }

var _ io.Closer = (*Writer)(nil)
