package tasksync_test

import (
	"errors"
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/tasksync"
)

// watcher spawns a task that waits for n changes of r and returns the
// values it saw.
func watcher(tk *asyncrt.Task, r *tasksync.WatchReceiver[int], n int) asyncrt.JoinHandle[[]int] {
	return asyncrt.Spawn(tk, func(tk *asyncrt.Task) []int {
		var seen []int
		for range n {
			v, err := r.Changed(tk)
			if err != nil {
				return append(seen, -1)
			}
			seen = append(seen, v)
		}
		return seen
	})
}

func TestWatchBorrowAndSubscribe(t *testing.T) {
	w := tasksync.NewWatch("initial")
	v, version := w.Borrow()
	equal(t, "value", v, "initial")
	equal(t, "version", version, uint64(0))
	r := w.Subscribe()
	equal(t, "HasChanged", r.HasChanged(), false)
	w.Send("next")
	equal(t, "HasChanged", r.HasChanged(), true)
	v, version = r.BorrowAndUpdate()
	equal(t, "value", v, "next")
	equal(t, "version", version, uint64(1))
	equal(t, "HasChanged", r.HasChanged(), false)
	c := r.Clone()
	w.Send("again")
	equal(t, "clone HasChanged", c.HasChanged(), true)
}

// One Send wakes every waiting receiver; values sent between two looks are
// skipped, and the receiver sees the latest.
func TestWatchChanged(t *testing.T) {
	rt := newRuntime(t)
	w := tasksync.NewWatch(0)
	run(t, rt, func(tk *asyncrt.Task) {
		var hs []asyncrt.JoinHandle[[]int]
		for range 4 {
			hs = append(hs, watcher(tk, w.Subscribe(), 2))
		}
		tk.Yield() // all wait
		w.Send(1)
		tk.Yield() // all see 1 and wait again
		w.Send(2)
		w.Send(3) // 2 is skipped
		for _, h := range hs {
			equalSlices(t, "seen", await(t, tk, h), []int{1, 3})
		}
		r := w.Subscribe()
		w.Send(4)
		v, err := r.Changed(tk) // changed already: no wait
		equal(t, "Changed", v, 4)
		equal(t, "err", err, nil)
	})
}

func TestWatchClose(t *testing.T) {
	rt := newRuntime(t)
	w := tasksync.NewWatch(0)
	run(t, rt, func(tk *asyncrt.Task) {
		waiting := watcher(tk, w.Subscribe(), 2)
		behind := w.Subscribe()
		tk.Yield()
		w.Send(7)
		w.Close()
		w.Close()
		// The waiting receiver gets the last value, then ErrClosed.
		equalSlices(t, "seen", await(t, tk, waiting), []int{7, -1})
		v, err := behind.Changed(tk)
		equal(t, "last value", v, 7)
		equal(t, "err", err, nil)
		_, err = behind.Changed(tk)
		if !errors.Is(err, tasksync.ErrClosed) {
			t.Errorf("Changed after Close: %v, want ErrClosed", err)
		}
		errorContains(t, err, "tasksync: WatchReceiver.Changed: watch closed")
		mustPanic(t, func() { w.Send(8) }, "Watch.Send", "after Watch.Close")
	})
}

func TestWatchAbortWaiting(t *testing.T) {
	rt := newRuntime(t)
	w := tasksync.NewWatch(0)
	run(t, rt, func(tk *asyncrt.Task) {
		a := watcher(tk, w.Subscribe(), 1)
		b := watcher(tk, w.Subscribe(), 1)
		tk.Yield()
		a.Abort()
		if _, err := a.Await(tk); !errors.Is(err, asyncrt.ErrAborted) {
			t.Errorf("aborted: %v", err)
		}
		w.Send(1)
		equalSlices(t, "seen", await(t, tk, b), []int{1})
		_, err := asyncrt.Timeout(tk, time.Millisecond, func(tk *asyncrt.Task) error {
			_, err := w.Subscribe().Changed(tk)
			return err
		})
		if !errors.Is(err, asyncrt.ErrElapsed) {
			t.Errorf("Timeout: %v", err)
		}
	})
}

func TestOnChanged(t *testing.T) {
	rt := newRuntime(t)
	w := tasksync.NewWatch("a")
	run(t, rt, func(tk *asyncrt.Task) {
		c := tasksync.OnChanged(w.Subscribe())
		i, _ := asyncrt.Select(tk, c, asyncrt.OnTimeout(time.Second))
		equal(t, "winner with no change", i, 1)
		h := asyncrt.Spawn(tk, func(tk *asyncrt.Task) int {
			i, _ := asyncrt.Select(tk, c, asyncrt.OnTimeout(time.Second))
			return i
		})
		tk.Yield()
		w.Send("b")
		equal(t, "winner", await(t, tk, h), 0)
		equal(t, "Value", c.Value(), "b")
		equal(t, "Err", c.Err(), nil)
		w.Close()
		i, _ = asyncrt.Select(tk, c)
		equal(t, "winner", i, 0)
		if !errors.Is(c.Err(), tasksync.ErrClosed) {
			t.Errorf("OnChanged on closed: %v", c.Err())
		}
		errorContains(t, c.Err(), "tasksync: OnChanged: watch closed")
	})
}

func TestWatchMisuse(t *testing.T) {
	rt := newRuntime(t)
	other := newRuntime(t)
	w := tasksync.NewWatch(0)
	r := w.Subscribe()
	run(t, rt, func(tk *asyncrt.Task) {
		mustPanic(t, func() { _, _ = r.Changed(nil) }, "WatchReceiver.Changed", "nil *asyncrt.Task")
		w.Send(1)
		_, _ = r.Changed(tk)
	})
	run(t, other, func(tk *asyncrt.Task) {
		mustPanic(t, func() { _, _ = r.Changed(tk) }, "WatchReceiver.Changed", "another runtime")
		mustPanic(t, func() { _, _ = asyncrt.Select(tk, tasksync.OnChanged(r)) }, "OnChanged", "another runtime")
		mustPanic(t, func() { _, _ = asyncrt.Select(tk, tasksync.OnChanged[int](nil)) }, "nil *WatchReceiver")
	})
}
