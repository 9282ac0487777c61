package asyncrt

import (
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The stall watchdog.
//
// The runtime thread tells the watchdog where it is without reading a clock
// or storing anything per poll. The watchdog's goroutine advances an epoch
// every period (an eighth of the threshold); at every boundary (the end of a
// poll, or a cycle that found no task to run) the executor loads the epoch
// and compares it with the last it saw. Only when it changed, once per tick, does it store it in
// ack. So at a tick that makes the epoch e, ack ≤ e-2 means no boundary was
// passed for a whole period: the thread is held. The watchdog then measures
// (begin, sample), reading the thread's scheduler statistics at each tick
// until the thread passes a boundary; once the run time reaches the
// threshold it dumps the goroutines' stacks to find the task, and reports.
// When the thread passes its next boundary, the executor sees the open
// suspicion (one more load, on its slow path) and makes the last report
// (observe, close).
//
// The goroutine sleeps while the runtime is parked or between BlockOns, so
// an idle runtime costs no CPU.
type watchdog struct {
	on   bool   // runtime thread: watch for epoch changes at boundaries
	tid  int    // the runtime thread's TID, recorded on it
	goid uint64 // the runtime goroutine's number

	epoch    atomic.Uint64 // advanced by the goroutine every period
	ack      atomic.Uint64 // the epoch the runtime thread last saw at a boundary
	open     atomic.Uint64 // 1 + the ack of the suspicion under way; 0 if none
	active   atomic.Bool   // the runtime is running cycles
	sleeping atomic.Bool   // the goroutine waits for activity
	stalls   atomic.Uint64

	// The rest lives apart, made by start, so that the Runtime stays small
	// and the goroutine's writes stay off the executor's cache lines.
	*watchdogState
}

type watchdogState struct {
	threshold time.Duration
	period    time.Duration
	report    func(StallReport)
	resume    chan struct{}
	quit      chan struct{}
	done      chan struct{}

	// Measurements, for tests and tuning: suspicions opened, and the time
	// the system kept the thread from running during them (nanoseconds).
	suspicions atomic.Uint64
	preempted  atomic.Int64

	// mu guards cur, and is held while the report hook runs, so that calls
	// never overlap and a stall's last report comes after its others.
	mu  sync.Mutex
	cur stall

	// The goroutine's own.
	ticks [8]time.Time // when the epoch became e: ticks[e%8]
	m     measure
	probe threadProbe
	dump  []byte
	found []stackEntry
	// What the last dump cost per goroutine, in time and bytes: the next
	// one is sized and priced from them before it stops the world.
	dumpPerG     time.Duration
	dumpBytesPer int
}

// stall is the suspicion under way, as the watchdog goroutine and the
// runtime thread share it.
type stall struct {
	open    bool
	ack     uint64 // the ack that has not moved since
	reports int
	last    StallReport // the latest figures and the holder found
	at      time.Time   // when the figures were measured
}

// measure is the watchdog goroutine's running measurement of a suspicion.
type measure struct {
	open      bool
	ack       uint64
	reports   int
	leadIn    time.Duration // from the first tick not followed by a boundary to the first sample
	held      time.Duration // run time measured since the first sample
	preempted time.Duration
	last      threadSample
	dumpCost  time.Duration // what the last stack dump took
}

// watchdogTicks is how many watchdog periods make one stall threshold.
const watchdogTicks = 8

func (w *watchdog) start(rt *Runtime, threshold time.Duration) {
	w.on = true
	w.watchdogState = new(watchdogState)
	w.threshold = threshold
	w.period = max(threshold/watchdogTicks, time.Microsecond)
	w.report = rt.cfg.onStall
	if w.report == nil {
		out := rt.cfg.stallOut
		if out == nil {
			out = os.Stderr
		}
		w.report = func(r StallReport) { _, _ = io.WriteString(out, r.String()) }
	}
	w.resume = make(chan struct{}, 1)
	w.quit = make(chan struct{})
	w.done = make(chan struct{})
	go w.loop(rt)
}

func (w *watchdog) loop(rt *Runtime) {
	defer close(w.done)
	w.probe.open(w.tid)
	defer w.probe.close()
	tick := time.NewTimer(w.period)
	defer tick.Stop()
	idle := 0
	for {
		select {
		case <-w.quit:
			return
		case <-tick.C:
		}
		now := time.Now()
		e := w.epoch.Add(1)
		w.ticks[e%uint64(len(w.ticks))] = now
		if w.active.Load() {
			idle = 0
			w.watch(rt, e, now)
		} else {
			if w.m.open {
				w.end(now) // the runtime went idle: the holder let go
			}
			if idle++; idle >= 2 {
				// Idle for two ticks: sleep until the runtime runs again. The
				// flag is set before active is checked again, and the runtime
				// sets active before it checks the flag, so one of the two
				// always sees the other.
				w.sleeping.Store(true)
				if !w.active.Load() {
					select {
					case <-w.resume:
					case <-w.quit:
						return
					}
				}
				w.sleeping.Store(false)
				idle = 0
				// The runtime has just become active: count this as a tick,
				// so that a task holding the thread from the start is
				// suspected after one period, not two.
				e = w.epoch.Add(1)
				w.ticks[e%uint64(len(w.ticks))] = time.Now()
			}
		}
		tick.Reset(w.wait())
	}
}

// wait returns the time to the next tick: a period, or less when a report
// falls due sooner, so that it is not late by up to a period.
func (w *watchdog) wait() time.Duration {
	if w.m.open {
		if due := w.threshold*time.Duration(w.m.reports+1) - w.m.held; due > 0 && due < w.period {
			return due
		}
	}
	return w.period
}

// watch runs at the tick that made the epoch e while the runtime is active.
func (w *watchdog) watch(rt *Runtime, e uint64, now time.Time) {
	a := w.ack.Load()
	if a+2 > e {
		// The runtime thread passed a boundary since the previous tick.
		if w.m.open {
			w.end(now)
		}
		return
	}
	if w.m.open && w.m.ack != a {
		w.end(now)
	}
	if !w.m.open {
		w.begin(a, e, now)
		return
	}
	w.sample(rt, now)
}

// begin opens a suspicion: no boundary since the tick that made the epoch
// a+1, a whole period ago or more. The period before this first sample is
// counted in Duration (capped at one period) but not towards the threshold,
// so that a stall is never reported early for time the thread was not
// running.
func (w *watchdog) begin(a, e uint64, now time.Time) {
	n := uint64(len(w.ticks))
	from := a + 1
	if e-from >= n {
		from = e - n + 1
	}
	w.m = measure{
		open:   true,
		ack:    a,
		leadIn: min(now.Sub(w.ticks[from%n]), w.period),
		last:   w.probe.read(now),
	}
	w.mu.Lock()
	w.cur = stall{open: true, ack: a, at: now, last: StallReport{Duration: w.m.leadIn}}
	w.mu.Unlock()
	w.open.Store(a + 1)
	w.suspicions.Add(1)
}

// sample measures the run time since the last tick and reports the stall
// when it reaches the next multiple of the threshold.
func (w *watchdog) sample(rt *Runtime, now time.Time) {
	s := w.probe.read(now)
	run, pre := runTime(w.m.last, s)
	w.m.last = s
	w.m.held += run
	w.m.preempted += pre
	if w.m.held < w.threshold*time.Duration(w.m.reports+1) {
		w.mu.Lock()
		if c := &w.cur; c.open && c.ack == w.m.ack {
			c.last.Duration, c.last.Preempted, c.at = w.m.leadIn+w.m.held, w.m.preempted, now
		}
		w.mu.Unlock()
		return
	}
	// Find the holder and its stack. The dump stops the world for a time
	// that grows with the number of goroutines: repeat it for later reports
	// only while it is cheap next to the threshold.
	var holder StallReport
	dumped := false
	if w.m.reports == 0 || w.m.dumpCost < w.threshold/16 {
		per := w.dumpPerG
		if per == 0 {
			per = minDumpPerG
		}
		if g := runtime.NumGoroutine(); time.Duration(g)*per <= w.threshold/4 {
			t0 := time.Now()
			holder = w.findHolder(rt, g)
			w.m.dumpCost = time.Since(t0)
			w.dumpPerG = max(w.m.dumpCost/time.Duration(g), 1)
			dumped = true
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c := &w.cur
	if !c.open || c.ack != w.m.ack || w.ack.Load() != w.m.ack {
		return // it let go meanwhile: the figures did not reach the threshold
	}
	w.m.reports++
	c.reports = w.m.reports
	if dumped {
		c.last.TaskID, c.last.Name, c.last.TaskName, c.last.File, c.last.Line, c.last.Stack =
			holder.TaskID, holder.Name, holder.TaskName, holder.File, holder.Line, holder.Stack
	}
	c.last.Duration, c.last.Preempted, c.at = w.m.leadIn+w.m.held, w.m.preempted, now
	c.last.Seq = c.reports
	if c.reports == 1 {
		w.stalls.Add(1)
	}
	w.report(c.last)
}

// end closes the suspicion once the runtime thread passed a boundary or went
// idle. If the stall was reported and the runtime thread has not made the
// last report by now (it is made there as the boundary is passed, so this is
// rare), it is made here.
func (w *watchdog) end(now time.Time) {
	w.m.open = false
	w.preempted.Add(int64(w.m.preempted))
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := &w.cur; c.open && c.ack == w.m.ack {
		w.close(c, now, nil)
	}
}

// observe is the executor's slow path, taken at a boundary where it finds
// the epoch changed from seen to e: at most once per tick. rec is the task
// just polled, nil in a cycle that found no task to run.
//
//go:noinline
func (w *watchdog) observe(seen, e uint64, rec *taskRec) {
	w.ack.Store(e)
	// The watchdog publishes a suspicion before it checks, under mu, that
	// ack has not moved and reports; so a stall it reported is seen here.
	if w.open.Load() == seen+1 {
		w.mu.Lock()
		if c := &w.cur; c.open && c.ack == seen {
			w.close(c, time.Now(), rec)
		}
		w.mu.Unlock()
	}
}

// close ends the suspicion c (under mu) and makes the stall's last report if
// it was reported. rec, if not nil, is the task the runtime thread just
// polled: the holder, when the dump could not name it.
func (w *watchdog) close(c *stall, now time.Time, rec *taskRec) {
	c.open = false
	w.open.Store(0)
	if c.reports == 0 {
		return
	}
	r := c.last
	r.Returned = true
	r.Seq = c.reports + 1
	r.Duration += min(now.Sub(c.at), w.period) // since the last measurement
	if r.TaskID == 0 && r.Stack == nil && rec != nil && rec.task != nil {
		r.TaskID = rec.id
		r.Name, r.File, r.Line = funcInfo(rec.task.wdFn.Load())
		r.TaskName = rec.task.name()
	}
	w.report(r)
}

// activate marks the runtime busy and wakes the goroutine if it sleeps.
func (w *watchdog) activate(*Runtime) {
	if !w.on {
		return
	}
	// No boundary was passed while idle: start afresh.
	w.ack.Store(w.epoch.Load())
	w.active.Store(true)
	if w.sleeping.Load() {
		select {
		case w.resume <- struct{}{}:
		default:
		}
	}
}

func (w *watchdog) deactivate() {
	if w.on {
		w.active.Store(false)
	}
}

// sleep and wake bracket a park.
func (w *watchdog) sleep()           { w.deactivate() }
func (w *watchdog) wake(rt *Runtime) { w.activate(rt) }

func (w *watchdog) stop() {
	if w.on {
		close(w.quit)
		<-w.done
	}
}

// Finding the holder.

// maxDump bounds the buffer for a dump of every goroutine's stack (about
// 300 bytes a goroutine); keepDump is the largest kept for the next one.
//
// A dump stops the world for some 4 µs a goroutine: 0.4 s with 100k tasks.
// The watchdog dumps only when the last dump's cost per goroutine (at first
// minDumpPerG, a little above what it was measured at here) times the goroutines
// now live stays within a quarter of the threshold, and sizes the buffer
// for them so that one dump does: a buffer grown by doubling would stop the
// world once per doubling.
const (
	maxDump     = 64 << 20
	keepDump    = 1 << 20
	minDumpPerG = 5 * time.Microsecond
	dumpBytesG  = 400 // a first guess at a goroutine's share of a dump
)
