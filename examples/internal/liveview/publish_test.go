package liveview_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/internal/liveview"
)

// TestPublishKeepsItsPeriod runs the publishing task under a simulated
// clock: a snapshot at the start and one each period, each built on the
// runtime at the time it is due, until stop is cancelled.
func TestPublishKeepsItsPeriod(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rt, err := asyncrt.NewBuilder().Clock(asyncrt.NewSimClock(start)).Build()
	require.NoError(t, err)
	defer rt.Close()
	cell := liveview.NewCell[time.Duration]()
	const every = 50 * time.Millisecond
	n, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		stop := asyncrt.NewCancellationToken()
		asyncrt.After(t, 10*time.Second+every/2, func(*asyncrt.Task) struct{} { stop.Cancel(); return struct{}{} })
		return liveview.Publish(t, cell, every, stop, func(t *asyncrt.Task) time.Duration { return t.Now().Sub(start) })
	})
	require.NoError(t, err)
	assert.Equal(t, 201, n, "ten simulated seconds at 20 Hz, and the first at once")
	assert.Equal(t, uint64(201), cell.Seq())
	assert.Equal(t, 10*time.Second, cell.Load().Value, "the last snapshot is built when it is due")
}

func TestPublishStopsWhenTheCellIsClosed(t *testing.T) {
	rt, err := asyncrt.NewBuilder().Clock(asyncrt.NewSimClock(time.Unix(0, 0))).Build()
	require.NoError(t, err)
	defer rt.Close()
	cell := liveview.NewCell[int]()
	n, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		i := 0
		return liveview.Publish(t, cell, time.Second, asyncrt.NewCancellationToken(), func(*asyncrt.Task) int {
			if i++; i == 4 {
				cell.Close()
			}
			return i
		})
	})
	require.NoError(t, err)
	assert.Equal(t, 3, n, "nobody reads a closed cell: publishing ends")
}
