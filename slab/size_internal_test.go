package slab

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// A slot adds its generation and free-list link to the value, and nothing
// for its state: 8 bytes on an 8-byte aligned value.
func TestSlotOverhead(t *testing.T) {
	assert.Equal(t, uintptr(32), unsafe.Sizeof(slot[[3]uint64]{}))
	assert.Equal(t, uintptr(12), unsafe.Sizeof(slot[uint32]{}))
}
