// Package proto is the request/response protocol every server of the
// benchmark speaks and the load generator checks.
//
// A frame is a 4-byte big-endian payload length followed by the payload.
// A request's payload is at least 8 bytes: a big-endian sequence number,
// then filler bytes derived from it (byte i is byte(seq+i)), so that the
// client can check any response without keeping the request. The response
// to a request is a frame of the same length whose payload is the request's
// payload with every bit inverted: a server cannot answer without finding
// the frame's bounds and touching every byte, yet the work per byte is
// negligible next to the system calls, which is what the benchmark compares.
package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// HeaderSize is the size of a frame's length prefix.
	HeaderSize = 4
	// MinPayload is the smallest payload a client may send: its sequence
	// number.
	MinPayload = 8
	// MaxPayload is the largest payload a server accepts. It keeps a whole
	// frame within the servers' 64 KiB read buffers, so a server never needs
	// to grow one; a larger length is a protocol error and the server closes
	// the connection.
	MaxPayload = 16 << 10
	// BufferSize is the read (and initial write) buffer size every server
	// uses per connection or, for gnet, the buffer capacity it is given.
	BufferSize = 64 << 10
)

// ErrFrameTooLarge is returned for a frame whose length exceeds MaxPayload.
var ErrFrameTooLarge = errors.New("proto: frame length exceeds MaxPayload")

// AppendRequest appends the request frame with sequence number seq and a
// payload of size bytes (at least MinPayload) to dst.
func AppendRequest(dst []byte, seq uint64, size int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(size))
	dst = binary.BigEndian.AppendUint64(dst, seq)
	for i := MinPayload; i < size; i++ {
		dst = append(dst, byte(seq+uint64(i)))
	}
	return dst
}

// AppendResponses parses every complete frame at the start of src, appends
// the response to each to dst, and returns the extended dst and the number
// of bytes of src consumed. Bytes after the last complete frame are left for
// the caller to keep until more arrive. It is the one request handler all
// the servers share, so that they differ only in how they move bytes.
func AppendResponses(dst, src []byte) ([]byte, int, error) {
	consumed := 0
	for len(src)-consumed >= HeaderSize {
		n := int(binary.BigEndian.Uint32(src[consumed:]))
		if n > MaxPayload {
			return dst, consumed, ErrFrameTooLarge
		}
		end := consumed + HeaderSize + n
		if end > len(src) {
			break
		}
		dst = AppendResponse(dst, src[consumed:end])
		consumed = end
	}
	return dst, consumed, nil
}

// AppendResponse appends the response to one complete request frame (header
// included) to dst.
func AppendResponse(dst, frame []byte) []byte {
	dst = append(dst, frame[:HeaderSize]...)
	for _, b := range frame[HeaderSize:] {
		dst = append(dst, ^b)
	}
	return dst
}

// FrameLen returns the total length (header included) of the frame starting
// at src, or -1 if src does not hold a whole header yet.
func FrameLen(src []byte) (int, error) {
	if len(src) < HeaderSize {
		return -1, nil
	}
	n := binary.BigEndian.Uint32(src)
	if n > MaxPayload {
		return -1, ErrFrameTooLarge
	}
	return HeaderSize + int(n), nil
}

// CheckResponse checks that frame (header included) is the response to the
// request with sequence number seq and a payload of size bytes.
func CheckResponse(frame []byte, seq uint64, size int) error {
	if len(frame) != HeaderSize+size {
		return fmt.Errorf("proto: response to request %d is %d bytes, want %d", seq, len(frame), HeaderSize+size)
	}
	if n := binary.BigEndian.Uint32(frame); n != uint32(size) {
		return fmt.Errorf("proto: response to request %d has length %d, want %d", seq, n, size)
	}
	p := frame[HeaderSize:]
	if got := ^binary.BigEndian.Uint64(p); got != seq {
		return fmt.Errorf("proto: response carries sequence number %d, want %d (out of order or corrupt)", got, seq)
	}
	for i := MinPayload; i < size; i++ {
		if p[i] != ^byte(seq+uint64(i)) {
			return fmt.Errorf("proto: response to request %d: payload byte %d is %#x, want %#x", seq, i, p[i], ^byte(seq+uint64(i)))
		}
	}
	return nil
}
