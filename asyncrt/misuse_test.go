package asyncrt_test

import (
	"iter"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// fromGoroutine runs fn on a new goroutine and, without blocking the
// runtime's thread, waits until it has finished; it returns what fn panicked
// with.
func fromGoroutine(t *asyncrt.Task, fn func()) string {
	done := make(chan string, 1)
	go func() { done <- panicMessage(fn) }()
	msg, err := asyncrt.Go(t, func() (string, error) { return <-done, nil })
	if err != nil {
		return err.Error()
	}
	return msg
}

func TestTaskUsedFromAnotherGoroutinePanics(t *testing.T) {
	rt := newRuntime(t, nil)
	msg := block(t, rt, func(t *asyncrt.Task) string {
		return fromGoroutine(t, func() { t.Yield() })
	})
	assert.Contains(t, msg, "Task.Yield called outside its task")
}

func TestTaskUsedByAnotherTaskPanics(t *testing.T) {
	rt := newRuntime(t, nil)
	msg := block(t, rt, func(root *asyncrt.Task) string {
		h := asyncrt.Spawn(root, func(t *asyncrt.Task) string {
			return panicMessage(func() {
				asyncrt.Spawn(root, func(*asyncrt.Task) int { return 0 }) // the parent's *Task
			})
		})
		msg, _ := h.Await(root)
		return msg
	})
	assert.Contains(t, msg, "Spawn called outside its task")
	assert.Contains(t, msg, "give each spawned task the *Task it receives")
}

func TestTaskUsedAfterItsFunctionReturnedPanics(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().TaskPool(1, false))
	msg := block(t, rt, func(t *asyncrt.Task) string {
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) *asyncrt.Task { return t })
		leaked, _ := h.Await(t)
		return panicMessage(func() { leaked.Yield() })
	})
	assert.Contains(t, msg, "Task.Yield called outside its task")
}

func TestTaskUsedFromNestedCoroutinePanics(t *testing.T) {
	rt := newRuntime(t, nil)
	msg := block(t, rt, func(t *asyncrt.Task) string {
		return panicMessage(func() {
			next, stop := iter.Pull(func(yield func(int) bool) {
				t.Yield() // would switch the wrong coroutine
				yield(1)
			})
			defer stop()
			next()
		})
	})
	assert.Contains(t, msg, "Task.Yield called outside its task")
}

func TestNilTaskPanics(t *testing.T) {
	var nilTask *asyncrt.Task
	assert.Contains(t, panicMessage(func() { nilTask.Yield() }), "Task.Yield called with a nil *Task")
	assert.Contains(t, panicMessage(func() { asyncrt.Spawn(nilTask, func(*asyncrt.Task) int { return 0 }) }),
		"Spawn called with a nil *Task")
}

func TestHandleUsedFromAnotherGoroutinePanics(t *testing.T) {
	rt := newRuntime(t, nil)
	msgs := block(t, rt, func(t *asyncrt.Task) []string {
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			for {
				t.Yield()
			}
		})
		defer h.Abort()
		return []string{
			fromGoroutine(t, func() { h.Abort() }),
			fromGoroutine(t, func() { h.Detach() }),
			fromGoroutine(t, func() { h.IsFinished() }),
		}
	})
	assert.Contains(t, msgs[0], "JoinHandle.Abort called from a goroutine that is not running its runtime")
	assert.Contains(t, msgs[1], "JoinHandle.Detach called from a goroutine")
	assert.Contains(t, msgs[2], "JoinHandle.IsFinished called from a goroutine")
}

func TestHandleAfterCloseReportsFinished(t *testing.T) {
	rt := newRuntime(t, nil)
	h := block(t, rt, func(t *asyncrt.Task) asyncrt.JoinHandle[int] {
		return asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			for {
				t.Yield()
			}
		})
	})
	rt.Close()
	assert.True(t, h.IsFinished())
	assert.False(t, h.Abort())
	h.Detach() // harmless
}

func TestStatsFromAnotherGoroutineWhileRunning(t *testing.T) {
	rt := newRuntime(t, nil)
	got := block(t, rt, func(t *asyncrt.Task) asyncrt.Stats {
		for range 200 {
			t.Yield() // more than one publication interval
		}
		done := make(chan asyncrt.Stats, 1)
		go func() { done <- rt.Stats() }()
		for {
			select {
			case s := <-done:
				return s
			default:
				t.Yield()
			}
		}
	})
	require.NotZero(t, got.Cycles, "a goroutine outside the runtime sees published counters")
	assert.Equal(t, uint64(0), got.Cycles%64, "published at a 64-cycle boundary")
	assert.Equal(t, 1, got.LiveTasks)
}

// A *Task kept past its function must fail its checks every time, even
// after the goroutine descriptor of its finished coroutine has been reused
// by new goroutines and new tasks (the Go runtime recycles descriptors).
func TestStaleTaskPanicsEveryTime(t *testing.T) {
	for _, pooled := range []bool{false, true} {
		b := asyncrt.NewBuilder()
		if pooled {
			b = b.TaskPool(4, true)
		}
		rt := newRuntime(t, b)
		msgs := block(t, rt, func(t *asyncrt.Task) []string {
			var stale *asyncrt.Task
			keep := func(t *asyncrt.Task) int { stale = t; return 0 }
			_, _ = asyncrt.Spawn(t, keep).Await(t)
			var msgs []string
			for range 200 {
				// New tasks and goroutines may get the old descriptor.
				_, _ = asyncrt.Spawn(t, func(t *asyncrt.Task) int { t.Yield(); return 0 }).Await(t)
				msgs = append(msgs, panicMessage(func() { stale.Yield() }))
				msgs = append(msgs, fromGoroutine(t, func() { stale.Sleep(time.Millisecond) }))
			}
			return msgs
		})
		for _, m := range msgs {
			require.Contains(t, m, "called outside its task", "pooled=%v", pooled)
		}
	}
}
