package soupbin

import "io"

// maxEmptyReads is how many successive (0, nil) reads Reader tolerates
// before giving up with io.ErrNoProgress.
const maxEmptyReads = 100

// Reader reads SoupBinTCP packets from an io.Reader through a fixed buffer.
// It does not allocate after NewReader.
type Reader struct {
	r   io.Reader
	buf []byte
	off int   // start of the unparsed bytes in buf
	end int   // end of the bytes read into buf
	err error // read error to report once the buffered packets are used up
	bad error // framing error; the stream cannot be resynchronized
}

// NewReader returns a Reader reading from r with a buffer of size bytes.
// The buffer bounds the packets the Reader accepts: a packet longer than
// size bytes, length field included, gives an error wrapping
// [ErrTooLarge]. size <= 0 selects a buffer that fits any packet.
func NewReader(r io.Reader, size int) *Reader {
	if size <= 0 {
		size = 2 + MaxPacketLen
	}
	size = max(size, HeaderLen)
	return &Reader{r: r, buf: make([]byte, size)}
}

// Next returns the next packet's type and payload. The payload aliases the
// Reader's buffer and is valid until the next call to Next.
//
// Next returns io.EOF when the stream ends between packets and
// io.ErrUnexpectedEOF when it ends inside one. Other errors from the
// underlying reader are returned once, after the packets read before them;
// a later call reads again, so a Reader can resume after a read deadline
// expires. Framing errors (see [Next]) are permanent.
func (r *Reader) Next() (typ byte, payload []byte, err error) {
	if r.bad != nil {
		return 0, nil, r.bad
	}
	for empty := 0; ; {
		typ, payload, n, err := Next(r.buf[r.off:r.end], len(r.buf)-2)
		if err != nil {
			r.bad = err
			return 0, nil, err
		}
		if n > 0 {
			r.off += n
			return typ, payload, nil
		}
		if r.err != nil {
			err := r.err
			r.err = nil
			if err == io.EOF && r.end > r.off {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
		if r.off > 0 {
			r.end = copy(r.buf, r.buf[r.off:r.end])
			r.off = 0
		}
		m, err := r.r.Read(r.buf[r.end:])
		r.end += m
		r.err = err
		if m == 0 && err == nil {
			if empty++; empty >= maxEmptyReads {
				return 0, nil, io.ErrNoProgress
			}
		}
	}
}

// Buffered returns the number of bytes read from the underlying reader
// that Next has not yet returned as packets. A result of 0 means the next
// call to Next will read.
func (r *Reader) Buffered() int { return r.end - r.off }
