package asyncrt

import "time"

// SuspendForever parks a task with no way to be woken except an abort: the
// shape of a task waiting on something that never happens.
func SuspendForever(t *Task) {
	t.check("SuspendForever")
	for {
		t.suspend()
	}
}

// Registrations left behind by waits, for tests that check none leak.

func ExternalWaits(rt *Runtime) int { return rt.externalRegs }

func ChanWaiters[T any](r *Receiver[T]) (receivers int, senders int) {
	return r.c.recvQ.n + r.c.recvQ.woken, r.c.sendQ.n + r.c.sendQ.woken
}

func CrossChanWaiters[T any](r *CrossReceiver[T]) (receivers int, senders int) {
	return r.c.recvQ.n + r.c.recvQ.woken, r.c.sendQ.Len()
}

func TokenWaiters(c *CancellationToken) int { return c.waiters.Len() }

func TokenChildren(c *CancellationToken) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.children)
}

func NotifyWaiters(n *Notify) int { return n.waiters.n + n.waiters.woken }

// GroupBusy is the count of busy runtimes a group's deadlock detection
// keeps: zero whenever no Group.Run is running.
func GroupBusy(g *Group) int32 { return g.active.Load() }

// SetReschedEvery sets how often at most the runtime yields to the Go
// scheduler before parking; call it before the runtime first runs.
func SetReschedEvery(rt *Runtime, d time.Duration) { rt.reschedEvery = d }
