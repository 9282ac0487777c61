package asyncrt

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// An idle task costs its coroutine (a goroutine's stack and descriptor),
// its Task, its record in the runtime's slab and its registrations. The
// package documentation states the sum; these keep the parts from growing
// past the allocation size classes it was measured at unnoticed.
func TestTaskStructSizes(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Task{}), uintptr(128), "Task")
	assert.LessOrEqual(t, unsafe.Sizeof(taskRec{}), uintptr(152), "taskRec")
	assert.LessOrEqual(t, unsafe.Sizeof(waitNode{}), uintptr(128), "waitNode")
}

// What a timer carries is most of its entry in the wheel (see the wheel's
// TestEntrySize): a runtime may hold millions.
func TestTimerEventSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(timerEvent{}), uintptr(24), "timerEvent")
}
