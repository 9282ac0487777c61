package asyncrt

import (
	"sync/atomic"
	"time"
)

// StallReport describes a task that held the runtime's thread too long
// without suspending.
type StallReport struct {
	// TaskID identifies the task (see Task.ID).
	TaskID uint64
	// Duration is a lower bound of how long it held the thread, accurate to
	// a quarter of the stall threshold (or worse if the machine is so busy
	// that the watchdog itself runs late).
	Duration time.Duration
}

// stallTicks is how many watchdog ticks (a quarter of the threshold each)
// must pass during one poll for it to count as a stall: more than four
// quarters means more than the threshold.
const stallTicks = 5

// watchdog detects stalls without reading a clock on the hot path: its
// goroutine advances an epoch every quarter threshold, and the executor
// compares the epoch before and after each poll, two plain loads. The
// goroutine goes to sleep while the runtime is parked or between BlockOns,
// so that an idle runtime costs no CPU.
type watchdog struct {
	on       bool // runtime thread: compare epochs around polls
	period   time.Duration
	epoch    atomic.Uint64
	active   atomic.Bool // the runtime is running cycles
	sleeping atomic.Bool // the goroutine waits for activity
	resume   chan struct{}
	quit     chan struct{}
	done     chan struct{}
	stalls   uint64 // runtime thread
}

func (w *watchdog) start(rt *Runtime, threshold time.Duration) {
	w.on = true
	w.period = max(threshold/4, time.Microsecond)
	w.resume = make(chan struct{}, 1)
	w.quit = make(chan struct{})
	w.done = make(chan struct{})
	go w.loop()
}

func (w *watchdog) loop() {
	defer close(w.done)
	tick := time.NewTimer(w.period)
	defer tick.Stop()
	idle := 0
	for {
		select {
		case <-w.quit:
			return
		case <-tick.C:
		}
		w.epoch.Add(1)
		if w.active.Load() {
			idle = 0
		} else if idle++; idle >= 2 {
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
		}
		tick.Reset(w.period)
	}
}

// activate marks the runtime busy and wakes the goroutine if it sleeps.
func (w *watchdog) activate(*Runtime) {
	if !w.on {
		return
	}
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

// report records a stall of the task id during which the epoch advanced by
// ticks. All but the first and last of those ticks lie wholly inside the
// poll, and ticks are at least a period apart.
func (w *watchdog) report(rt *Runtime, id uint64, ticks uint64) {
	w.stalls++
	if rt.cfg.onStall != nil {
		rt.cfg.onStall(StallReport{TaskID: id, Duration: time.Duration(ticks-1) * w.period})
	}
}

func (w *watchdog) stop() {
	if w.on {
		close(w.quit)
		<-w.done
	}
}
