package asyncrt_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// A task of one runtime selects on sending to a full channel of another
// runtime; the send completes once the receiver there drains it, and the
// receiver gets every value in order.
func TestOnCrossSendAcrossRuntimes(t *testing.T) {
	g := newGroup(t, 2, nil)
	tx, rx, err := asyncrt.NewCrossChan[int](g.Runtime(1), 4)
	require.NoError(t, err)
	stop := asyncrt.NewCancellationToken()
	var got []int
	var sendErrs []error
	err = g.Run(func(t *asyncrt.Task, i int) error {
		if i == 0 { // the sender
			for v := range 20 {
				c := asyncrt.OnCrossSend(tx, v)
				if _, err := asyncrt.Select(t, c, asyncrt.OnCancel(stop)); err != nil {
					return err
				}
				sendErrs = append(sendErrs, c.Err())
			}
			tx.Close()
			return nil
		}
		for { // the receiver
			c := asyncrt.OnCrossRecv(rx)
			if _, err := asyncrt.Select(t, c); err != nil {
				return err
			}
			if c.Err() != nil {
				return nil // every sender closed and everything taken
			}
			got = append(got, c.Value())
		}
	})
	require.NoError(t, err)
	for i, e := range sendErrs {
		assert.NoError(t, e, "send %d", i)
	}
	want := make([]int, 20)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, got)
}

// A closed channel completes the case with an error wrapping ErrChanClosed.
func TestOnCrossSendToAClosedChannel(t *testing.T) {
	rt, err := asyncrt.New()
	require.NoError(t, err)
	defer rt.Close()
	tx, rx, err := asyncrt.NewCrossChan[int](rt, 1)
	require.NoError(t, err)
	got, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) error {
		rx.Close()
		c := asyncrt.OnCrossSend(tx, 1)
		if _, err := asyncrt.Select(t, c); err != nil {
			return err
		}
		return c.Err()
	})
	require.NoError(t, err)
	assert.ErrorIs(t, got, asyncrt.ErrChanClosed)
}
