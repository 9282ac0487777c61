package asyncrt_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

func TestShutdownOnContextFiresTheSignalAndTheToken(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt := newRuntime(t, asyncrt.NewBuilder().ShutdownOn(ctx))
	tok := rt.ShutdownToken()
	assert.Same(t, tok, rt.ShutdownToken())
	assert.False(t, tok.IsCancelled())
	order := block(t, rt, func(t *asyncrt.Task) []string {
		var order []string
		h := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
			t.ShutdownSignal()
			order = append(order, "signal")
		})
		k := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
			t.Runtime().ShutdownToken().Cancelled(t)
			order = append(order, "token")
		})
		// Cancel from another goroutine once both wait.
		_, _ = asyncrt.Go(t, func() (int, error) { cancel(); return 0, nil })
		_ = h.Wait(t)
		_ = k.Wait(t)
		return order
	})
	assert.ElementsMatch(t, []string{"signal", "token"}, order)
	assert.True(t, tok.IsCancelled())
	assert.True(t, rt.ShutdownHandle().Triggered())
}

func TestShutdownOnIsUnlinkedAtClose(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := asyncrt.NewBuilder().ShutdownOn(ctx).Build()
	require.NoError(t, err)
	rt.Close()
	cancel() // after Close: nothing fires, nothing panics
	assert.False(t, rt.ShutdownHandle().Triggered())
}

func TestShutdownOnAContextAlreadyDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rt := newRuntime(t, asyncrt.NewBuilder().ShutdownOn(ctx))
	err := asyncrt.Run(rt, func(t *asyncrt.Task) error {
		t.ShutdownSignal() // returns: the signal fired at Build
		return nil
	})
	assert.NoError(t, err)
}

func TestShutdownOnNilContextIsAnError(t *testing.T) {
	//lint:ignore SA1012 a nil context is what is being refused
	_, err := asyncrt.NewBuilder().ShutdownOn(nil).Build()
	assert.ErrorContains(t, err, "ShutdownOn(nil)")
}
