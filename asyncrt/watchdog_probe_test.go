package asyncrt

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The runtime thread's scheduler statistics can be read from another
// thread, and reading them allocates nothing.
func TestStallProbeReadsThreadStatistics(t *testing.T) {
	tids := make(chan int)
	release := make(chan struct{})
	go func() {
		runtime.LockOSThread() // the thread blocks with the goroutine
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		<-release
	}()
	tid := <-tids
	defer close(release)
	var p threadProbe
	p.open(tid)
	defer p.close()
	if p.schedstat < 0 {
		t.Skip("this kernel keeps no scheduler statistics: the watchdog counts wall time")
	}
	s := p.read(time.Now())
	require.True(t, s.ok)
	assert.Positive(t, s.cpu)
	for s.runnable { // until the goroutine blocks, and its thread with it
		runtime.Gosched()
		s = p.read(time.Now())
	}
	allocs := testing.AllocsPerRun(100, func() { s = p.read(time.Now()) })
	assert.Zero(t, allocs)
	assert.True(t, s.ok)
}

func TestStallRunTimeDiscountsWaitsForACPU(t *testing.T) {
	at := time.Unix(1000, 0)
	ms := time.Millisecond
	prev := threadSample{wall: at, cpu: 5 * ms, delay: 7 * ms, ok: true}
	// Blocked now: wall time less the waits that ended.
	run, pre := runTime(prev, threadSample{wall: at.Add(10 * ms), cpu: 6 * ms, delay: 9 * ms, ok: true})
	assert.Equal(t, 8*ms, run)
	assert.Equal(t, 2*ms, pre)
	// Runnable now, perhaps waiting: no more than the CPU time it got.
	run, pre = runTime(prev, threadSample{wall: at.Add(10 * ms), cpu: 6 * ms, delay: 7 * ms, runnable: true, ok: true})
	assert.Equal(t, 1*ms, run)
	assert.Equal(t, 9*ms, pre)
	// No statistics: wall time.
	run, pre = runTime(prev, threadSample{wall: at.Add(10 * ms)})
	assert.Equal(t, 10*ms, run)
	assert.Zero(t, pre)
}
