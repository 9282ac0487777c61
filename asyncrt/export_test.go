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
