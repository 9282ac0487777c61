package liveview

import (
	"time"

	"github.com/orrery-go/orrery/asyncrt"
)

// Publish is a task body for the runtime whose state is shown: it
// publishes build's value to c at once, then every period of the
// runtime's clock, until stop is cancelled, and returns the number of
// snapshots it published. build runs on the runtime's thread, where it may
// read the World (through worldctx) and the tasks' state; it must return
// a value that shares nothing that changes afterwards (a copy), and must
// not suspend.
//
// The period is kept on the runtime's clock: under a SimClock a simulated
// second publishes exactly 1/every snapshots. A runtime that falls behind
// skips the periods it missed rather than publishing in a burst. Nothing
// here waits for a reader: a publication costs build and a
// compare-and-swap.
func Publish[T any](t *asyncrt.Task, c *Cell[T], every time.Duration, stop *asyncrt.CancellationToken, build func(*asyncrt.Task) T) int {
	if every <= 0 {
		panic("liveview: Publish needs a positive period")
	}
	n := 0
	onStop, onTick := asyncrt.OnCancel(stop), asyncrt.OnTimeout(0)
	next := t.Now()
	for !stop.IsCancelled() {
		if c.Publish(build(t)) == nil {
			return n // the cell is closed: nobody will read it
		}
		n++
		next = next.Add(every)
		if now := t.Now(); next.Before(now) {
			next = now.Add(every) // fell behind: skip, do not burst
		}
		onTick.ResetAt(next)
		if i, _ := asyncrt.Select(t, onStop, onTick); i == 0 {
			break
		}
	}
	return n
}
