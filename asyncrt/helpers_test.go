package asyncrt_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

// newRuntime builds a runtime for a test, closes it when the test ends and
// then checks that none of its goroutines is left behind.
func newRuntime(t *testing.T, b *asyncrt.Builder) *asyncrt.Runtime {
	t.Helper()
	if b == nil {
		b = asyncrt.NewBuilder()
	}
	before, _ := countGoroutines()
	rt, err := b.Build()
	require.NoError(t, err)
	t.Cleanup(func() {
		rt.Close()
		waitGoroutines(t, before)
	})
	return rt
}

// waitGoroutines fails the test unless the number of goroutines drops back
// to at most want within a few seconds (exiting goroutines take a moment to
// be reaped). The standard library's signal watcher, which the first
// signal.Notify starts for the life of the process, is not counted.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, stacks := countGoroutines()
		if n <= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left, want at most %d:\n%s", n, want, stacks)
		}
		time.Sleep(time.Millisecond)
	}
}

func countGoroutines() (int, string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "os/signal.signal_recv") {
			count++
		}
	}
	return count, string(buf)
}

// block runs fn as the root of rt and fails the test on error.
func block[T any](t *testing.T, rt *asyncrt.Runtime, fn func(*asyncrt.Task) T) T {
	t.Helper()
	v, err := asyncrt.BlockOn(rt, fn)
	require.NoError(t, err)
	return v
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
