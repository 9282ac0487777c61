package tasksync_test

import (
	"errors"
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/tasksync"
)

func newBroadcast(tb testing.TB, capacity int) *tasksync.Broadcast[int] {
	tb.Helper()
	b, err := tasksync.NewBroadcast[int](capacity)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// reader spawns a task that receives from r until an error other than a
// lag, and returns what it received: values, and -missed for each lag.
func reader(tk *asyncrt.Task, r *tasksync.BroadcastReceiver[int]) asyncrt.JoinHandle[[]int] {
	return asyncrt.Spawn(tk, func(tk *asyncrt.Task) []int {
		var got []int
		for {
			v, err := r.Recv(tk)
			var lag *tasksync.LaggedError
			switch {
			case err == nil:
				got = append(got, v)
			case errors.As(err, &lag):
				got = append(got, -int(lag.Missed))
			default:
				return got
			}
		}
	})
}

func TestNewBroadcastInvalid(t *testing.T) {
	for _, c := range []int{0, -1} {
		_, err := tasksync.NewBroadcast[int](c)
		if !errors.Is(err, tasksync.ErrInvalid) {
			t.Errorf("NewBroadcast(%d): %v, want ErrInvalid", c, err)
		}
		errorContains(t, err, "tasksync: NewBroadcast:")
	}
}

// Every receiver gets every value in order; one Send wakes them all; a
// receiver starts at the next value sent after it subscribed.
func TestBroadcastFanOut(t *testing.T) {
	rt := newRuntime(t)
	b := newBroadcast(t, 4)
	run(t, rt, func(tk *asyncrt.Task) {
		equal(t, "Send with nobody subscribed", b.Send(-7), nil)
		var hs []asyncrt.JoinHandle[[]int]
		for range 3 {
			hs = append(hs, reader(tk, b.Subscribe()))
		}
		equal(t, "Receivers", b.Receivers(), 3)
		tk.Yield() // all wait
		for v := range 3 {
			equal(t, "Send", b.Send(v), nil)
			tk.Yield()
		}
		late := b.Subscribe()
		equal(t, "late Len", late.Len(), 0)
		for v := 3; v < 6; v++ {
			equal(t, "Send", b.Send(v), nil) // three at once: fits in the ring
		}
		equal(t, "late Len", late.Len(), 3)
		b.Close()
		for _, h := range hs {
			equalSlices(t, "received", await(t, tk, h), []int{0, 1, 2, 3, 4, 5})
		}
		equalSlices(t, "late", await(t, tk, reader(tk, late)), []int{3, 4, 5})
		equal(t, "Sent", b.Sent(), uint64(7))
		equal(t, "Cap", b.Cap(), 4)
	})
}

// A receiver that falls behind by more than the ring holds is told exactly
// how many values it lost and goes on from the oldest value in the ring.
func TestBroadcastLag(t *testing.T) {
	rt := newRuntime(t)
	b := newBroadcast(t, 4)
	run(t, rt, func(tk *asyncrt.Task) {
		r := b.Subscribe()
		for v := range 10 {
			_ = b.Send(v)
		}
		equal(t, "Len", r.Len(), 4)
		_, err := r.Recv(tk)
		var lag *tasksync.LaggedError
		if !errors.As(err, &lag) || !errors.Is(err, tasksync.ErrLagged) {
			t.Errorf("Recv: %v, want a *LaggedError", err)
			return
		}
		equal(t, "Missed", lag.Missed, uint64(6))
		equal(t, "Op", lag.Op, "BroadcastReceiver.Recv")
		errorContains(t, err, "tasksync: BroadcastReceiver.Recv:", "missed 6 values")
		for want := 6; want < 10; want++ {
			v, err := r.Recv(tk)
			equal(t, "Recv", v, want)
			equal(t, "err", err, nil)
		}
		_, err = r.TryRecv()
		if !errors.Is(err, tasksync.ErrEmpty) {
			t.Errorf("TryRecv: %v, want ErrEmpty", err)
		}
		errorContains(t, err, "tasksync: BroadcastReceiver.TryRecv:")

		// Exactly a ringful unread is no lag; one more loses one.
		for v := 10; v < 14; v++ {
			_ = b.Send(v)
		}
		v, err := r.TryRecv()
		equal(t, "TryRecv with the ring exactly full", v, 10)
		equal(t, "err", err, nil)
		_ = b.Send(14) // 11 to 14 unread: a ringful
		equal(t, "Len", r.Len(), 4)
		_ = b.Send(15) // overwrites 11
		_, err = r.TryRecv()
		if !errors.As(err, &lag) || lag.Missed != 1 || lag.Op != "BroadcastReceiver.TryRecv" {
			t.Errorf("TryRecv one behind: %v, want a lag of 1", err)
		}
		v, _ = r.TryRecv()
		equal(t, "after the lag", v, 12)
	})
}

// After Close, receivers drain what the ring holds for them — a lag
// included — then get ErrClosed.
func TestBroadcastClose(t *testing.T) {
	rt := newRuntime(t)
	b := newBroadcast(t, 2)
	run(t, rt, func(tk *asyncrt.Task) {
		waiting := reader(tk, b.Subscribe())
		behind := b.Subscribe()
		tk.Yield()
		_ = b.Send(0)
		tk.Yield() // the waiting reader takes 0 and waits again
		_ = b.Send(1)
		_ = b.Send(2)
		b.Close()
		b.Close()
		if err := b.Send(9); !errors.Is(err, tasksync.ErrClosed) {
			t.Errorf("Send after Close: %v", err)
		} else {
			errorContains(t, err, "tasksync: Broadcast.Send: broadcast closed")
		}
		equalSlices(t, "waiting", await(t, tk, waiting), []int{0, 1, 2})
		equalSlices(t, "behind", await(t, tk, reader(tk, behind)), []int{-1, 1, 2})
		_, err := behind.Recv(tk)
		if !errors.Is(err, tasksync.ErrClosed) {
			t.Errorf("Recv after the end: %v", err)
		}
		errorContains(t, err, "tasksync: BroadcastReceiver.Recv: broadcast closed")
		equalSlices(t, "subscribed after Close", await(t, tk, reader(tk, b.Subscribe())), nil)
	})
}

// Closing a receiver wakes the task waiting on it with ErrClosed; the other
// receivers go on.
func TestBroadcastReceiverClose(t *testing.T) {
	rt := newRuntime(t)
	b := newBroadcast(t, 2)
	run(t, rt, func(tk *asyncrt.Task) {
		r1, r2 := b.Subscribe(), b.Subscribe()
		h1 := asyncrt.Spawn(tk, func(tk *asyncrt.Task) error {
			_, err := r1.Recv(tk)
			return err
		})
		h2 := reader(tk, r2)
		tk.Yield()
		b.Unsubscribe(r1)
		r1.Close()
		err := await(t, tk, h1)
		if !errors.Is(err, tasksync.ErrClosed) {
			t.Errorf("Recv on a closed receiver: %v", err)
		}
		errorContains(t, err, "receiver closed")
		equal(t, "Receivers", b.Receivers(), 1)
		_ = b.Send(1)
		tk.Yield() // r2's reader takes 1 and waits again
		r2.Close()
		equalSlices(t, "r2", await(t, tk, h2), []int{1})
		equal(t, "Receivers", b.Receivers(), 0)
		other := newBroadcast(t, 1)
		mustPanic(t, func() { other.Unsubscribe(r2) }, "another Broadcast")
	})
}

func TestBroadcastAbortWaiting(t *testing.T) {
	rt := newRuntime(t)
	b := newBroadcast(t, 2)
	run(t, rt, func(tk *asyncrt.Task) {
		ra := b.Subscribe()
		a := reader(tk, ra)
		c := reader(tk, b.Subscribe())
		tk.Yield()
		a.Abort()
		if _, err := a.Await(tk); !errors.Is(err, asyncrt.ErrAborted) {
			t.Errorf("aborted: %v", err)
		}
		_ = b.Send(1)
		b.Close()
		equalSlices(t, "c", await(t, tk, c), []int{1})
		// The aborted task's receiver lost nothing: its value is still there.
		v, err := ra.TryRecv()
		equal(t, "value of the aborted reader", v, 1)
		equal(t, "err", err, nil)
	})
}

func TestOnBroadcastRecv(t *testing.T) {
	rt := newRuntime(t)
	b := newBroadcast(t, 2)
	run(t, rt, func(tk *asyncrt.Task) {
		c := tasksync.OnBroadcastRecv(b.Subscribe())
		i, _ := asyncrt.Select(tk, c, asyncrt.OnTimeout(time.Second))
		equal(t, "winner with nothing sent", i, 1)
		h := asyncrt.Spawn(tk, func(tk *asyncrt.Task) int {
			i, _ := asyncrt.Select(tk, c, asyncrt.OnTimeout(time.Second))
			return i
		})
		tk.Yield()
		_ = b.Send(5)
		equal(t, "winner", await(t, tk, h), 0)
		equal(t, "Value", c.Value(), 5)
		equal(t, "Err", c.Err(), nil)
		for v := range 3 {
			_ = b.Send(v)
		}
		_, _ = asyncrt.Select(tk, c)
		var lag *tasksync.LaggedError
		if !errors.As(c.Err(), &lag) || lag.Missed != 1 || lag.Op != "OnBroadcastRecv" {
			t.Errorf("OnBroadcastRecv behind: %v, want a lag of 1", c.Err())
		}
		b.Close()
		for range 2 {
			_, _ = asyncrt.Select(tk, c)
		}
		_, _ = asyncrt.Select(tk, c)
		if !errors.Is(c.Err(), tasksync.ErrClosed) {
			t.Errorf("OnBroadcastRecv on closed: %v", c.Err())
		}
		errorContains(t, c.Err(), "tasksync: OnBroadcastRecv: broadcast closed")
	})
}

func TestBroadcastMisuse(t *testing.T) {
	rt := newRuntime(t)
	other := newRuntime(t)
	b := newBroadcast(t, 1)
	r := b.Subscribe()
	run(t, rt, func(tk *asyncrt.Task) {
		mustPanic(t, func() { _, _ = r.Recv(nil) }, "BroadcastReceiver.Recv", "nil *asyncrt.Task")
		_ = b.Send(1)
		_, _ = r.Recv(tk)
	})
	run(t, other, func(tk *asyncrt.Task) {
		mustPanic(t, func() { _, _ = r.Recv(tk) }, "BroadcastReceiver.Recv", "another runtime")
		mustPanic(t, func() { _, _ = asyncrt.Select(tk, tasksync.OnBroadcastRecv(r)) }, "OnBroadcastRecv", "another runtime")
		mustPanic(t, func() { _, _ = asyncrt.Select(tk, tasksync.OnBroadcastRecv[int](nil)) }, "nil *BroadcastReceiver")
	})
}
