package tasksync_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/tasksync"
)

// One runtime broadcasts to subscribers on two others through small
// channels: each gets every value in order, the sender waiting on the slow
// one; a subscriber that leaves halfway is dropped without holding the
// sender up.
func TestCrossBroadcastAcrossRuntimes(t *testing.T) {
	before := goleak.IgnoreCurrent()
	g, err := asyncrt.NewGroup(4, nil)
	require.NoError(t, err)
	defer func() { g.Close(); goleak.VerifyNone(t, before) }()

	b, err := tasksync.NewCrossBroadcast[int](2)
	require.NoError(t, err)
	var rxs [4]*asyncrt.CrossReceiver[int]
	for i := 1; i < 4; i++ {
		rxs[i], err = b.Subscribe(g.Runtime(i))
		require.NoError(t, err)
	}
	const n = 200
	var got [4][]int
	err = g.Run(func(t *asyncrt.Task, i int) error {
		if i == 0 {
			for v := range n {
				if err := b.SendTask(t, v); err != nil {
					return err
				}
			}
			b.Close()
			return nil
		}
		for {
			v, err := rxs[i].Recv(t)
			if errors.Is(err, asyncrt.ErrChanClosed) {
				return nil
			}
			if err != nil {
				return err
			}
			got[i] = append(got[i], v)
			if i == 3 && v == n/2 {
				rxs[i].Close() // leaves halfway
				return nil
			}
			if i == 2 {
				t.Yield() // a slower subscriber
			}
		}
	})
	require.NoError(t, err)
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, got[1])
	assert.Equal(t, want, got[2])
	assert.Equal(t, want[:n/2+1], got[3])
	assert.Zero(t, b.Subscribers(), "closed")
}

func TestCrossBroadcastMisuse(t *testing.T) {
	_, err := tasksync.NewCrossBroadcast[int](0)
	assert.ErrorIs(t, err, tasksync.ErrInvalid)
	b, err := tasksync.NewCrossBroadcast[int](1)
	require.NoError(t, err)
	_, err = b.Subscribe(nil)
	assert.ErrorIs(t, err, tasksync.ErrInvalid)
	b.Close()
	b.Close()
	rt, err := asyncrt.New()
	require.NoError(t, err)
	defer rt.Close()
	_, err = b.Subscribe(rt)
	assert.ErrorIs(t, err, tasksync.ErrBroadcastClosed)
	assert.ErrorIs(t, b.Send(1), tasksync.ErrBroadcastClosed)
}

// From a goroutine, Send blocks until every subscriber has room.
func TestCrossBroadcastFromAGoroutine(t *testing.T) {
	rt, err := asyncrt.New()
	require.NoError(t, err)
	defer rt.Close()
	b, err := tasksync.NewCrossBroadcast[string](1)
	require.NoError(t, err)
	rx, err := b.Subscribe(rt)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		for _, s := range []string{"a", "b", "c"} {
			if err := b.Send(s); err != nil {
				done <- err
				return
			}
		}
		b.Close()
		done <- nil
	}()
	got, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) []string {
		var got []string
		for {
			v, err := rx.Recv(t)
			if err != nil {
				return got
			}
			got = append(got, v)
		}
	})
	require.NoError(t, err)
	require.NoError(t, <-done)
	assert.Equal(t, []string{"a", "b", "c"}, got)
}
