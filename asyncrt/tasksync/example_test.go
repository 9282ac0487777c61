package tasksync_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/tasksync"
)

// exampleRuntime builds a runtime on a simulated clock: sleeps take no real
// time and every run prints the same.
func exampleRuntime() *asyncrt.Runtime {
	rt, err := asyncrt.NewBuilder().Clock(asyncrt.NewSimClock(epoch)).Build()
	if err != nil {
		panic(err)
	}
	return rt
}

// At most two orders are in flight to the venue at once; the others wait
// their turn, in the order they came.
func ExampleSemaphore() {
	rt := exampleRuntime()
	defer rt.Close()
	inFlight, _ := tasksync.NewSemaphore(2)
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		start := t.Now()
		var hs []asyncrt.JoinHandle[struct{}]
		for id := 1; id <= 4; id++ {
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) struct{} {
				if err := inFlight.Acquire(t, 1); err != nil {
					return struct{}{}
				}
				defer inFlight.Release(1)
				fmt.Printf("%v: order %d sent\n", t.Now().Sub(start), id)
				t.Sleep(10 * time.Millisecond) // until the venue acknowledges it
				return struct{}{}
			}))
		}
		for _, h := range hs {
			_, _ = h.Await(t)
		}
		return struct{}{}
	})
	// Output:
	// 0s: order 1 sent
	// 0s: order 2 sent
	// 10ms: order 3 sent
	// 10ms: order 4 sent
}

// OnAcquire waits for permits in a Select, here with a deadline.
func ExampleOnAcquire() {
	rt := exampleRuntime()
	defer rt.Close()
	budget, _ := tasksync.NewSemaphore(1)
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		_ = budget.Acquire(t, 1) // the budget is spent
		refill := asyncrt.After(t, 30*time.Millisecond, func(*asyncrt.Task) struct{} {
			budget.Release(1)
			return struct{}{}
		})
		acquire := tasksync.OnAcquire(budget, 1)
		for {
			if i, _ := asyncrt.Select(t, acquire, asyncrt.OnTimeout(20*time.Millisecond)); i == 0 {
				break
			}
			fmt.Println("no budget yet")
		}
		fmt.Println("budget acquired:", acquire.Err())
		_, _ = refill.Await(t)
		return struct{}{}
	})
	// Output:
	// no budget yet
	// budget acquired: <nil>
}

// A risk limit that the strategy follows: it sees the latest limit, and
// skips the ones it was too busy to see.
func ExampleWatch() {
	rt := exampleRuntime()
	defer rt.Close()
	limit := tasksync.NewWatch(100)
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		strategy := asyncrt.Spawn(t, func(t *asyncrt.Task) struct{} {
			limits := limit.Subscribe()
			for {
				v, err := limits.Changed(t)
				if errors.Is(err, tasksync.ErrClosed) {
					fmt.Println("risk feed closed")
					return struct{}{}
				}
				fmt.Println("new limit:", v)
			}
		})
		t.Yield() // the strategy waits for a change
		limit.Send(80)
		t.Yield() // the strategy sees 80 and waits again
		limit.Send(60)
		limit.Send(50) // sent before the strategy looked again: 60 is skipped
		limit.Close()
		_, _ = strategy.Await(t)
		return struct{}{}
	})
	// Output:
	// new limit: 80
	// new limit: 50
	// risk feed closed
}

// Quotes fanned out to two strategies. The slow one falls behind by more
// than the ring holds, is told how many quotes it missed and goes on from
// the oldest one kept.
func ExampleBroadcast() {
	rt := exampleRuntime()
	defer rt.Close()
	quotes, _ := tasksync.NewBroadcast[float64](4)
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		fast, slow := quotes.Subscribe(), quotes.Subscribe()
		for i := range 6 {
			_ = quotes.Send(100 + float64(i)/4)
			v, _ := fast.Recv(t) // the fast strategy keeps up
			fmt.Println("fast:", v)
		}
		quotes.Close()
		for {
			v, err := slow.Recv(t)
			var lag *tasksync.LaggedError
			switch {
			case errors.As(err, &lag):
				fmt.Println("slow missed", lag.Missed)
			case errors.Is(err, tasksync.ErrClosed):
				fmt.Println("slow: end of stream")
				return struct{}{}
			default:
				fmt.Println("slow:", v)
			}
		}
	})
	// Output:
	// fast: 100
	// fast: 100.25
	// fast: 100.5
	// fast: 100.75
	// fast: 101
	// fast: 101.25
	// slow missed 2
	// slow: 100.5
	// slow: 100.75
	// slow: 101
	// slow: 101.25
	// slow: end of stream
}
