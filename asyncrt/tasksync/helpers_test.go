package tasksync_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/asyncrt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// epoch is where the simulated clocks of the tests start.
var epoch = time.Date(2025, 1, 2, 9, 30, 0, 0, time.UTC)

// newRuntime builds a runtime on a simulated clock, closed when the test
// ends.
func newRuntime(tb testing.TB) *asyncrt.Runtime {
	tb.Helper()
	rt, err := asyncrt.NewBuilder().Clock(asyncrt.NewSimClock(epoch)).Build()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close() })
	return rt
}

// run runs fn as the root task of rt, then checks that every task has ended
// and left no registration and no timer behind. Inside fn, report failures
// with Errorf (Fatal would end the task's coroutine with runtime.Goexit).
func run(tb testing.TB, rt *asyncrt.Runtime, fn func(t *asyncrt.Task)) {
	tb.Helper()
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		fn(t)
		return struct{}{}
	})
	if err != nil {
		tb.Fatalf("BlockOn: %v", err)
	}
	checkQuiet(tb, rt)
}

// checkQuiet checks that rt has no live task, registration or timer.
func checkQuiet(tb testing.TB, rt *asyncrt.Runtime) {
	tb.Helper()
	st := rt.Stats()
	if st.LiveTasks != 0 || st.Registrations != 0 || st.PendingTimers != 0 {
		tb.Errorf("left behind: %d live tasks, %d registrations, %d pending timers",
			st.LiveTasks, st.Registrations, st.PendingTimers)
	}
}

// yieldN lets the other ready tasks run n rounds.
func yieldN(t *asyncrt.Task, n int) {
	for range n {
		t.Yield()
	}
}

// await awaits h and reports an error unless it finished without one.
func await[T any](tb testing.TB, t *asyncrt.Task, h asyncrt.JoinHandle[T]) T {
	tb.Helper()
	v, err := h.Await(t)
	if err != nil {
		tb.Errorf("Await: %v", err)
	}
	return v
}

// mustPanic calls fn and reports an error unless it panics with a message
// containing each of want.
func mustPanic(tb testing.TB, fn func(), want ...string) {
	tb.Helper()
	msg := func() (msg string) {
		defer func() { msg = fmt.Sprint(recover()) }()
		fn()
		return
	}()
	if msg == "<nil>" {
		tb.Errorf("no panic, want one containing %q", want)
		return
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			tb.Errorf("panic %q does not contain %q", msg, w)
		}
	}
}

// errorContains reports an error unless err's message contains each of
// want.
func errorContains(tb testing.TB, err error, want ...string) {
	tb.Helper()
	if err == nil {
		tb.Errorf("nil error, want one containing %q", want)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			tb.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func equal[T comparable](tb testing.TB, what string, got, want T) {
	tb.Helper()
	if got != want {
		tb.Errorf("%s = %v, want %v", what, got, want)
	}
}

func equalSlices[T comparable](tb testing.TB, what string, got, want []T) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			tb.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}
