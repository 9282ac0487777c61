package asyncrt

import (
	"bytes"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// threadSample is what the scheduler says about the runtime thread at one
// moment.
type threadSample struct {
	wall     time.Time
	cpu      time.Duration // CPU time
	delay    time.Duration // time spent runnable, waiting for a CPU (completed waits)
	runnable bool          // running or waiting for a CPU; not blocked
	ok       bool
}

// runTime returns how much of the time between two samples counts as run
// time of the runtime thread, and how much the system kept it from running.
//
// Run time is wall time less the growth of the run-queue delay. The kernel
// adds a wait to the delay only when it ends, so a thread that is runnable
// now may be in a wait not yet counted: for it, run time is at most the CPU
// time it got. A blocked thread has no wait under way.
func runTime(prev, cur threadSample) (run, preempted time.Duration) {
	wall := cur.wall.Sub(prev.wall)
	if !prev.ok || !cur.ok {
		return wall, 0 // no scheduler statistics: wall time
	}
	run = max(wall-max(cur.delay-prev.delay, 0), 0)
	if cur.runnable {
		run = min(run, max(cur.cpu-prev.cpu, 0))
	}
	return run, wall - run
}

// threadProbe reads the runtime thread's scheduler statistics from another
// thread: run-queue delay from /proc/self/task/<tid>/schedstat, state from
// .../stat, CPU time from the thread's CPU clock. Reads allocate nothing.
type threadProbe struct {
	schedstat, stat int // descriptors, -1 if unavailable
	clock           int32
	ts              unix.Timespec
	buf             [512]byte
}

func (p *threadProbe) open(tid int) {
	p.schedstat, p.stat = -1, -1
	if tid <= 0 {
		return
	}
	dir := "/proc/self/task/" + strconv.Itoa(tid) + "/"
	ss, err := unix.Open(dir+"schedstat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	st, err := unix.Open(dir+"stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Close(ss)
		return
	}
	p.schedstat, p.stat = ss, st
	// A thread's CPU clock: the kernel's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED).
	p.clock = int32(^tid<<3 | 6)
	// A kernel without scheduler statistics shows zeros; the runtime
	// thread has run, so its CPU time is not zero where they are kept.
	if s := p.read(time.Now()); !s.ok || s.cpu == 0 && s.delay == 0 {
		p.close()
	}
}

func (p *threadProbe) close() {
	if p.schedstat >= 0 {
		_ = unix.Close(p.schedstat)
		_ = unix.Close(p.stat)
	}
	p.schedstat, p.stat = -1, -1
}

// read samples the thread; ok is false if it cannot.
func (p *threadProbe) read(now time.Time) threadSample {
	s := threadSample{wall: now}
	if p.schedstat < 0 {
		return s
	}
	// schedstat: "<cpu ns> <run-queue delay ns> <timeslices>\n".
	n, err := unix.Pread(p.schedstat, p.buf[:], 0)
	if err != nil || n <= 0 {
		return s
	}
	f := p.buf[:n]
	i := bytes.IndexByte(f, ' ')
	if i < 0 {
		return s
	}
	delay, ok := parseUint(f[i+1:])
	if !ok {
		return s
	}
	if unix.ClockGettime(p.clock, &p.ts) != nil {
		return s
	}
	// stat: "<tid> (<name>) <state> ...": the name may hold anything.
	if n, err = unix.Pread(p.stat, p.buf[:], 0); err != nil || n <= 0 {
		return s
	}
	f = p.buf[:n]
	if i = bytes.LastIndexByte(f, ')'); i < 0 || i+2 >= n {
		return s
	}
	s.cpu = time.Duration(p.ts.Nano())
	s.delay = time.Duration(delay)
	s.runnable = f[i+2] == 'R'
	s.ok = true
	return s
}

func parseUint(b []byte) (v uint64, ok bool) {
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		v, ok = v*10+uint64(c-'0'), true
	}
	return v, ok
}
