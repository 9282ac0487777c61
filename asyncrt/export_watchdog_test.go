package asyncrt

import (
	"io"
	"time"
)

// StallOutput makes b's runtime write its stall reports to w instead of
// standard error when no OnStall hook is set.
func StallOutput(b *Builder, w io.Writer) *Builder {
	b.cfg.stallOut = w
	return b
}

// WatchdogFigures returns how many suspected stalls rt's watchdog measured
// and how long, during them, the system kept the runtime's thread from
// running: time it did not count.
func WatchdogFigures(rt *Runtime) (suspicions uint64, preempted time.Duration) {
	return rt.wd.suspicions.Load(), time.Duration(rt.wd.preempted.Load())
}
