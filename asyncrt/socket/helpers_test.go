package socket_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/asyncrt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newRuntime builds a runtime for a test and closes it when the test ends.
func newRuntime(t *testing.T, b *asyncrt.Builder) *asyncrt.Runtime {
	t.Helper()
	if b == nil {
		b = asyncrt.NewBuilder()
	}
	rt, err := b.Build()
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	return rt
}

// newBenchRuntime builds a runtime for a benchmark and closes it at the end.
func newBenchRuntime(b *testing.B, builder *asyncrt.Builder) *asyncrt.Runtime {
	b.Helper()
	rt, err := builder.OnStall(func(asyncrt.StallReport) {}).Build() // a benchmark's root never suspends

	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	return rt
}

// block runs fn as the root of rt and fails the test on error.
func block[T any](t *testing.T, rt *asyncrt.Runtime, fn func(*asyncrt.Task) T) T {
	t.Helper()
	v, err := asyncrt.BlockOn(rt, fn)
	require.NoError(t, err)
	return v
}

// fromGoroutine runs fn on a new goroutine and, without blocking the
// runtime's thread, waits for it to finish; it returns what fn panicked with.
func fromGoroutine(t *asyncrt.Task, fn func()) string {
	done := make(chan string, 1)
	go func() { done <- panicMessage(fn) }()
	msg, err := asyncrt.Go(t, func() (string, error) { return <-done, nil })
	if err != nil {
		return err.Error()
	}
	return msg
}

// panicMessage runs fn and returns what it panicked with, as a string.
func panicMessage(fn func()) (msg string) {
	defer func() {
		switch r := recover().(type) {
		case nil:
		case string:
			msg = strings.TrimSpace(r)
		case error:
			msg = r.Error()
		default:
			msg = "non-string panic"
		}
	}()
	fn()
	return ""
}

// reportPercentiles reports the p50 and p99 of samples as metrics.
func reportPercentiles(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
}
