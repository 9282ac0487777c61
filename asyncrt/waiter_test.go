package asyncrt_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// A source fed by another goroutine says so by handing out a Waker: the
// runtime parks instead of declaring a deadlock, and the goroutine's wake
// ends the wait.
func TestWakerFromAnotherGoroutine(t *testing.T) {
	rt := newRuntime(t, nil)
	ready := make(chan asyncrt.Waker, 1)
	go func() { (<-ready).Wake() }()
	woken := block(t, rt, func(t *asyncrt.Task) bool {
		w := t.NewWaiter()
		ready <- w.Waker()
		for !w.Woken() {
			t.Wait()
		}
		w.Release()
		return true
	})
	assert.True(t, woken)
	assert.Zero(t, rt.Stats().Registrations)
}

// A Waker of a registration that has ended does nothing, even once the node
// serves a new registration.
func TestStaleWakerWakesNothing(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	r := block(t, rt, func(t *asyncrt.Task) [2]bool {
		old := t.NewWaiter()
		stale := old.Waker()
		old.Release()
		fresh := t.NewWaiter() // likely the same node
		stale.Wake()
		var q asyncrt.WaitQueue
		other := t.Enqueue(&q)
		stale.Wake()
		r := [2]bool{fresh.Woken(), other.Woken()}
		fresh.Release()
		other.Release()
		return r
	})
	assert.Equal(t, [2]bool{false, false}, r)
}

// WakeOne's wake is counted until used, and passes on when the woken
// registration is cancelled unused; WakeAll's wakes are not counted.
func TestWakeOnePassesOnWakeAllDoesNot(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		woken, queued int
		next          bool
		afterAll      int
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var q asyncrt.WaitQueue
		a, b, c := t.Enqueue(&q), t.Enqueue(&q), t.Enqueue(&q)
		q.WakeOne()
		var r result
		r.woken, r.queued = q.Woken(), q.Len()
		a.Cancel() // woken, unused: b gets the wake
		r.next = b.Woken() && !c.Woken()
		b.Release()
		q.WakeAll()
		r.afterAll = q.Woken()
		c.Release()
		return r
	})
	assert.Equal(t, result{woken: 1, queued: 2, next: true, afterAll: 0}, r)
}

func TestWaitMisuse(t *testing.T) {
	rt := newRuntime(t, nil)
	msgs := block(t, rt, func(t *asyncrt.Task) []string {
		var msgs []string
		msgs = append(msgs, panicMessage(t.Wait))
		var q asyncrt.WaitQueue
		w := t.Enqueue(&q)
		h := asyncrt.Spawn(t, func(t *asyncrt.Task) string { return panicMessage(w.Release) })
		m, _ := h.Await(t)
		msgs = append(msgs, m)
		msgs = append(msgs, panicMessage(func() { q.SetExternal(true) }))
		w.Release()
		return msgs
	})
	assert.Contains(t, msgs[0], "no registration")
	assert.Contains(t, msgs[1], "outside the task that registered")
	assert.Contains(t, msgs[2], "before anything waits")
}

// Tasks of two runtimes wait in one SharedWaitQueue; goroutines wake them
// one at a time, in FIFO order.
func TestSharedWaitQueueAcrossRuntimes(t *testing.T) {
	var q asyncrt.SharedWaitQueue
	rts := []*asyncrt.Runtime{newRuntime(t, nil), newRuntime(t, nil)}
	var mu sync.Mutex
	var order []int
	registered := make(chan struct{}, 2)
	done := []chan struct{}{make(chan struct{}), make(chan struct{})}
	for i, rt := range rts {
		go func() {
			defer close(done[i])
			_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
				w := q.Enqueue(t)
				registered <- struct{}{}
				for !w.Woken() {
					t.Wait()
				}
				w.Release()
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				return 0
			})
			if err != nil {
				panic(err)
			}
		}()
		<-registered // the first runtime's task is first in line
	}
	require.Equal(t, 2, q.Len())
	assert.True(t, q.WakeOne())
	<-done[0] // FIFO: the first in line was woken, and only it
	assert.Equal(t, 1, q.Len())
	assert.Equal(t, 1, q.WakeAll())
	<-done[1]
	assert.Equal(t, []int{0, 1}, order)
	assert.Zero(t, q.Len())
}
