package wheel

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// A timer's entry is its deadline, sequence number, links and place (32
// bytes) and the value it carries: nothing derived is stored.
func TestEntrySize(t *testing.T) {
	assert.Equal(t, uintptr(32+24), unsafe.Sizeof(entry[[3]uint64]{}))
}
