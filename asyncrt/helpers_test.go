package asyncrt_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/asyncrt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newRuntime builds a runtime for a test, closes it when the test ends and
// then checks that none of the goroutines it started is left behind.
func newRuntime(t *testing.T, b *asyncrt.Builder) *asyncrt.Runtime {
	t.Helper()
	if b == nil {
		b = asyncrt.NewBuilder()
	}
	before := goleak.IgnoreCurrent()
	rt, err := b.Build()
	require.NoError(t, err)
	t.Cleanup(func() {
		rt.Close()
		goleak.VerifyNone(t, before)
	})
	return rt
}

// block runs fn as the root of rt and fails the test on error.
func block[T any](t *testing.T, rt *asyncrt.Runtime, fn func(*asyncrt.Task) T) T {
	t.Helper()
	v, err := asyncrt.BlockOn(rt, fn)
	require.NoError(t, err)
	return v
}

// whenWaiting spawns a task that closes ready once *n has reached want, for
// a goroutine that must act only once some tasks wait. Each of those tasks
// increments *n right before its wait, and a wait registers before the task
// suspends: as the runtime runs one task at a time, the tasks counted are
// all waiting when ready closes.
func whenWaiting(t *asyncrt.Task, n *int, want int, ready chan<- struct{}) {
	asyncrt.Spawn(t, func(t *asyncrt.Task) struct{} {
		for *n < want {
			t.Yield()
		}
		close(ready)
		return struct{}{}
	}).Detach()
}

// panicMessage runs fn and returns what it panicked with, as a string.
func panicMessage(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = strings.TrimSpace(fmtAny(r))
		}
	}()
	fn()
	return ""
}

func fmtAny(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case error:
		return v.Error()
	}
	return "non-string panic"
}

// notifyRounds has a task of rt wait on a Notify rounds times, notified
// from this goroutine as soon as it has acknowledged the last round, and
// returns the runtime's counters once the task is done.
func notifyRounds(t *testing.T, rt *asyncrt.Runtime, rounds int) asyncrt.Stats {
	t.Helper()
	n := asyncrt.NewNotify(rt)
	ack := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
			for range rounds {
				n.Wait(t)
				ack <- struct{}{}
			}
			return 0
		})
		done <- err
	}()
	for range rounds {
		n.Notify()
		<-ack
	}
	require.NoError(t, <-done)
	return rt.Stats()
}
