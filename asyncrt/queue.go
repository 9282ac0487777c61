package asyncrt

// ringQueue is the FIFO of ready tasks: a growable ring buffer. The executor
// takes a snapshot of its length at the start of a cycle and polls only that
// many, so the tasks woken during a cycle form the next cycle's batch — the
// double-buffering of the design, without copying between two buffers.
type ringQueue struct {
	buf  []*taskRec // len is a power of two
	head int
	n    int
}

func (q *ringQueue) len() int { return q.n }

func (q *ringQueue) push(rec *taskRec) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = rec
	q.n++
}

func (q *ringQueue) pop() *taskRec {
	rec := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return rec
}

func (q *ringQueue) grow() {
	size := max(2*len(q.buf), 64)
	buf := make([]*taskRec, size)
	for i := range q.n {
		buf[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
	}
	q.buf, q.head = buf, 0
}

func (q *ringQueue) clear() {
	clear(q.buf)
	q.head, q.n = 0, 0
}

// coPool holds the coroutines SpawnPooled runs tasks on.
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
