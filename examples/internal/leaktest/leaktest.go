// Package leaktest checks that a test leaves no goroutine behind.
package leaktest

import (
	"runtime"
	"testing"
	"time"
)

// Check records how many goroutines run now and, when t ends, fails it if
// more are still running after a grace period of five seconds, printing
// every goroutine's stack.
func Check(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines left over:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}
