package gid

import (
	"runtime"
	"sync"
)

// CurrentID returns the calling goroutine's number: the one runtime.Stack
// prints in its header ("goroutine 7 [running]:"). It returns 0 where the
// number cannot be found (see Supported), so 0 means unknown.
//
// Go offers no API for it. CurrentID reads it from the goroutine's runtime
// descriptor, at an offset found once: the one at which the descriptors of
// two live goroutines hold the numbers runtime.Stack prints for them. If no
// single offset fits (a Go release that changed the descriptor beyond
// recognition), CurrentID returns 0 from then on. Unlike Current, it costs a
// load and a check of the offset; call it once per goroutine and keep the
// result.
func CurrentID() uint64 {
	off := idOffset()
	if off < 0 {
		return 0
	}
	return readWord(Current(), uintptr(off))
}

// idSearch is how many bytes of a goroutine descriptor the offset search
// reads, a word at a time: well inside the descriptor, which is larger.
const idSearch = 256

var idOffset = sync.OnceValue(func() int {
	if !Supported {
		return -1
	}
	mine := idMatches()
	theirs := make(chan uint32)
	go func() { theirs <- idMatches() }()
	both := mine & <-theirs
	if both == 0 || both&(both-1) != 0 {
		return -1 // none, or ambiguous
	}
	off := 0
	for both != 1 {
		both >>= 1
		off += 8
	}
	return off
})

// idMatches returns a bit set of the word offsets in the calling
// goroutine's descriptor that hold its number.
func idMatches() uint32 {
	id := stackID()
	if id == 0 {
		return 0
	}
	g := Current()
	var m uint32
	for i := range idSearch / 8 {
		if readWord(g, uintptr(8*i)) == id {
			m |= 1 << i
		}
	}
	return m
}

// stackID parses the calling goroutine's number from the header of its
// stack trace.
func stackID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return 0
	}
	var id uint64
	for _, c := range b[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
