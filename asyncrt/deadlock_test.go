package asyncrt_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// An aborted task leaves nothing registered — not its sleep's timer, not its
// Timer, not its place in a channel's queue, a token's or a Select's — so a
// root that then waits on something that can never happen gets ErrDeadlock
// at once: on the simulated clock, no time passes before it.
func TestAbortedTaskLeavesNothingBehind(t *testing.T) {
	for _, how := range []string{"sleep", "timer", "recv", "select", "token", "join"} {
		t.Run(how, func(t *testing.T) {
			rt, clock := simRuntime(t, nil)
			_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
				tx, rx, _ := asyncrt.NewChan[int](t.Runtime(), 1)
				defer tx.Close()
				tok := asyncrt.NewCancellationToken()
				h := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
					tm := t.NewTimer(time.Hour)
					switch how {
					case "sleep":
						t.Sleep(time.Hour)
					case "timer":
						tm.Wait(t)
					case "recv":
						_, _ = rx.Recv(t)
					case "select":
						_, _ = asyncrt.Select(t, asyncrt.OnRecv(rx), asyncrt.OnTimeout(time.Hour), asyncrt.OnCancel(tok))
					case "token":
						tok.Cancelled(t)
					case "join":
						inner := asyncrt.Spawn(t, func(t *asyncrt.Task) int { t.Sleep(2 * time.Hour); return 0 })
						defer inner.Abort()
						_, _ = inner.Await(t)
					}
					return 0
				})
				t.Yield() // h now waits
				h.Abort()
				if _, err := h.Await(t); !errors.Is(err, asyncrt.ErrAborted) {
					panic(err)
				}
				if st := t.Runtime().Stats(); st.Registrations != 0 || st.PendingTimers != 0 {
					panic("left behind")
				}
				_, _ = rx.Recv(t) // tx is open but nobody can ever send
				return 0
			})
			require.ErrorIs(t, err, asyncrt.ErrDeadlock)
			assert.Zero(t, clock.Elapsed(), "detected at once, not when an orphaned timer fires")
			assert.Zero(t, rt.Stats().Registrations)
			assert.Zero(t, rt.Stats().PendingTimers)
		})
	}
}
