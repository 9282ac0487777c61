package asyncrt

// SuspendForever parks a task with no way to be woken except an abort: the
// shape of a task waiting on something that never happens, before the
// package grows timers, IO and channels to produce one.
func SuspendForever(t *Task) {
	t.check("SuspendForever")
	for {
		t.suspend()
	}
}

// Registrations left behind by waits, for tests that check none leak.

func ExternalWaits(rt *Runtime) int { return rt.externalWaits }

func IOWaiters(rt *Runtime) int { return rt.ioWaiters }

func ChanWaiters[T any](r *Receiver[T]) (receiver bool, senders int) {
	return !r.c.recvWaiter.IsZero(), len(r.c.sendWaiters)
}

func CrossChanWaiters[T any](r *CrossReceiver[T]) (receiver bool, senders int) {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	return r.c.recvWaiting.Load(), len(r.c.taskSenders)
}

func TokenWaiters(c *CancellationToken) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

func TokenChildren(c *CancellationToken) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.children)
}

func NotifyWaiters(n *Notify) int { return len(n.waiters) }
