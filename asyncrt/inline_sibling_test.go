package asyncrt_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// A task that awaits a task spawned after it, which has not started yet,
// runs it inline and takes its entry out of the ready queue: the cycle
// that polls the first must not pop the second's entry as well.
func TestAwaitOfALaterSiblingInTheSameCycle(t *testing.T) {
	rt, err := asyncrt.New()
	require.NoError(t, err)
	defer rt.Close()
	got, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		var b asyncrt.JoinHandle[int]
		a := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			v, _ := b.Await(t)
			return v + 1
		})
		b = asyncrt.Spawn(t, func(*asyncrt.Task) int { return 41 })
		t.Sleep(time.Millisecond)
		v, _ := a.Await(t)
		return v
	})
	require.NoError(t, err)
	require.Equal(t, 42, got)
}
