package asyncrt

import "math/rand/v2"

// ringQueue is the FIFO of ready tasks: a growable ring buffer. The executor
// takes a snapshot of its length at the start of a cycle and polls only that
// many, so the tasks woken during a cycle form the next cycle's batch — the
// double-buffering of the design, without copying between two buffers.
//
// Each entry carries the sequence number it was queued under, and a task's
// record remembers the number of its live entry. An entry whose number no
// longer matches is stale (the task already ran, or finished and its record
// was freed or reused) and is skipped, so records never wait for the queue to
// let go of them.
type ringQueue struct {
	buf  []readyEntry // len is a power of two
	mask int          // len(buf)-1
	head int          // next entry to pop
	tail int          // next slot to fill
	n    int
	seq  uint64
	// stale counts entries invalidated by withdraw and not yet popped or
	// compacted away.
	stale int
}

// readyEntry is a queued task. It carries the task's resume function as
// well as its record, so that the executor reaches the coroutine switch
// through one load fewer: on this path every dependent load shows.
type readyEntry struct {
	rec  *taskRec
	next func() (switchReason, bool)
	seq  uint64
}

func (q *ringQueue) len() int { return q.n }

// shuffle permutes the first n entries (Builder.ShuffleReady). Entries move
// whole, so each keeps its sequence number and its task's record still
// knows it.
func (q *ringQueue) shuffle(n int, r *rand.Rand) {
	for i := n - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		a, b := (q.head+i)&q.mask, (q.head+j)&q.mask
		q.buf[a], q.buf[b] = q.buf[b], q.buf[a]
	}
}

// push queues rec unless it already has a live entry. It is small enough to
// inline into Task.Yield.
func (q *ringQueue) push(rec *taskRec) {
	if rec.qseq != 0 {
		return
	}
	if q.n == len(q.buf) {
		q.grow()
	}
	q.seq++
	rec.qseq = q.seq
	q.buf[q.tail] = readyEntry{rec, rec.task.next, q.seq}
	q.tail = (q.tail + 1) & q.mask
	q.n++
}

// pop removes the next entry and returns its task and resume function, or
// a nil record if the entry is stale.
func (q *ringQueue) pop() (*taskRec, func() (switchReason, bool)) {
	e := &q.buf[q.head]
	rec, next, seq := e.rec, e.next, e.seq
	e.next = nil // let a finished coroutine go; the record lives in the slab anyway
	q.head = (q.head + 1) & q.mask
	q.n--
	if rec.qseq != seq {
		if q.stale > 0 {
			q.stale--
		}
		return nil, nil
	}
	rec.qseq = 0
	return rec, next
}

// withdraw takes rec's entry out of the queue: at once if it is the last one
// (the common case: a task awaited right after it was spawned), otherwise by
// making it stale. A task that spawns and awaits in a loop without ever
// suspending would pile up stale entries, so they are compacted away once
// they are half the queue.
func (q *ringQueue) withdraw(rec *taskRec) {
	if rec.qseq == 0 {
		return
	}
	last := (q.tail - 1) & q.mask
	if q.n > 0 && q.buf[last].seq == rec.qseq {
		q.buf[last] = readyEntry{}
		q.tail = last
		q.n--
	} else {
		q.stale++
		if q.stale >= 64 && q.stale*2 >= q.n {
			rec.qseq = 0
			q.compact()
		}
	}
	rec.qseq = 0
}

// compact drops stale entries, keeping the order of the others.
func (q *ringQueue) compact() {
	kept := 0
	for i := range q.n {
		e := q.buf[(q.head+i)&q.mask]
		if e.rec.qseq == e.seq {
			q.buf[(q.head+kept)&q.mask] = e
			kept++
		}
	}
	for i := kept; i < q.n; i++ {
		q.buf[(q.head+i)&q.mask] = readyEntry{}
	}
	q.n, q.tail, q.stale = kept, (q.head+kept)&q.mask, 0
}

func (q *ringQueue) grow() {
	size := max(2*len(q.buf), 64)
	buf := make([]readyEntry, size)
	for i := range q.n {
		buf[i] = q.buf[(q.head+i)&q.mask]
	}
	q.buf, q.mask, q.head, q.tail = buf, size-1, 0, q.n
}

func (q *ringQueue) clear() {
	clear(q.buf)
	q.head, q.tail, q.n = 0, 0, 0
}

// coPool holds the coroutines tasks run on when the runtime has a task pool
// (Builder.TaskPool).
type coPool struct {
	idle    []*Task // LIFO: the most recently used coroutine is the warmest
	created int
	inUse   int
	bounded bool
	chunk   int
}

// get takes an idle coroutine, growing an unbounded pool by a chunk when it
// is empty. It runs on the runtime's thread, where coroutines must be made.
func (p *coPool) get(rt *Runtime) (*Task, error) {
	if len(p.idle) == 0 {
		if p.bounded {
			return nil, ErrPoolFull
		}
		p.grow(rt, p.chunk)
	}
	t := p.idle[len(p.idle)-1]
	p.idle = p.idle[:len(p.idle)-1]
	p.inUse++
	return t, nil
}

func (p *coPool) put(t *Task) {
	p.idle = append(p.idle, t)
	p.inUse--
}

func (p *coPool) grow(rt *Runtime, n int) {
	for range n {
		p.idle = append(p.idle, rt.newTask(true))
	}
	p.created += n
}
