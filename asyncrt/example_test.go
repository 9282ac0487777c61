package asyncrt_test

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
)

func ExampleBlockOn() {
	rt, err := asyncrt.New() // nil: the runtime makes an empty World of its own
	if err != nil {
		panic(err)
	}
	defer rt.Close()

	answer, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		return 6 * 7
	})
	fmt.Println(answer, err)
	// Output: 42 <nil>
}

func ExampleSpawn() {
	rt, _ := asyncrt.New()
	defer rt.Close()

	total, _ := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		var handles []asyncrt.JoinHandle[int]
		for i := 1; i <= 3; i++ {
			handles = append(handles, asyncrt.Spawn(t, func(t *asyncrt.Task) int {
				t.Yield() // let the others run
				return i * i
			}))
		}
		sum := 0
		for _, h := range handles {
			v, err := h.Await(t)
			if err != nil {
				panic(err)
			}
			sum += v
		}
		return sum
	})
	fmt.Println(total)
	// Output: 14
}

func ExampleJoinHandle_Abort() {
	rt, _ := asyncrt.New()
	defer rt.Close()

	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		worker := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			defer fmt.Println("worker: cleaning up")
			for {
				t.Yield() // a suspension point: abort unwinds from here
			}
		})
		t.Yield() // let the worker start
		fmt.Println("abort requested:", worker.Abort())
		_, err := worker.Await(t)
		fmt.Println("aborted:", errors.Is(err, asyncrt.ErrAborted))
		return struct{}{}
	})
	// Output:
	// abort requested: true
	// worker: cleaning up
	// aborted: true
}

// A runtime built with a bounded task pool runs every task on one of its
// coroutines; a spawn while all are busy is refused, and its handle says so.
func ExampleBuilder_TaskPool() {
	rt, _ := asyncrt.NewBuilder().TaskPool(2, true).Build()
	defer rt.Close()

	_ = asyncrt.Run(rt, func(t *asyncrt.Task) error {
		busy := func(t *asyncrt.Task) int { t.Yield(); return 1 }
		a := asyncrt.Spawn(t, busy)
		b := asyncrt.Spawn(t, busy)
		fmt.Println(asyncrt.Spawn(t, busy).Wait(t))
		_, _ = a.Await(t)
		_, _ = b.Await(t)
		fmt.Println(asyncrt.Spawn(t, busy).Wait(t), t.Runtime().Stats().SpawnsRefused)
		return nil
	})
	// Output:
	// asyncrt: task pool is full
	// <nil> 1
}

// SpawnFunc starts a task that returns nothing; Wait reports how it ended.
func ExampleSpawnFunc() {
	rt, _ := asyncrt.New()
	defer rt.Close()

	_ = asyncrt.Run(rt, func(t *asyncrt.Task) error {
		h := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
			t.Yield()
			fmt.Println("worker: done")
		})
		fmt.Println("wait:", h.Wait(t))
		return nil
	})
	// Output:
	// worker: done
	// wait: <nil>
}

// A task that returns an error is awaited with one check: Wait returns the
// task's own error, or how it failed to finish (aborted, panicked).
func ExampleJoinHandle_Wait() {
	rt, _ := asyncrt.New()
	defer rt.Close()

	_ = asyncrt.Run(rt, func(t *asyncrt.Task) error {
		fails := asyncrt.Spawn(t, func(t *asyncrt.Task) error { return errors.New("disk full") })
		panics := asyncrt.Spawn(t, func(t *asyncrt.Task) error { panic("bug") })
		fmt.Println(fails.Wait(t))
		fmt.Println(errors.As(panics.Wait(t), new(*asyncrt.PanicError)))
		return nil
	})
	// Output:
	// disk full
	// true
}

// Run runs a root that returns an error: one check covers the root's own
// error and the runtime's (a panic, a deadlock, a closed runtime).
func ExampleRun() {
	rt, _ := asyncrt.New()
	defer rt.Close()

	err := asyncrt.Run(rt, func(t *asyncrt.Task) error {
		t.Sleep(time.Millisecond)
		return errors.New("config missing")
	})
	fmt.Println(err)
	// Output: config missing
}

func ExampleTimeout() {
	// A simulated clock: the hour below passes in microseconds.
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt, _ := asyncrt.NewBuilder().Clock(clock).Build()
	defer rt.Close()

	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		_, err := asyncrt.Timeout(t, time.Second, func(t *asyncrt.Task) string {
			defer fmt.Println("slow work: unwound, defers run")
			t.Sleep(time.Hour)
			return "done"
		})
		fmt.Println(err, "at", t.Now().Format(time.TimeOnly))
		return struct{}{}
	})
	// Output:
	// slow work: unwound, defers run
	// asyncrt: deadline elapsed at 00:00:01
}

func ExampleTask_Interval() {
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 9, 30, 0, 0, time.UTC))
	rt, _ := asyncrt.NewBuilder().Clock(clock).Build()
	defer rt.Close()

	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		iv, err := t.Interval(250 * time.Millisecond)
		if err != nil {
			panic(err)
		}
		for range 3 {
			fmt.Println("tick", iv.Tick(t).Format("15:04:05.000"))
		}
		return struct{}{}
	})
	// Output:
	// tick 09:30:00.250
	// tick 09:30:00.500
	// tick 09:30:00.750
}

func ExampleGo() {
	rt, _ := asyncrt.New()
	defer rt.Close()

	n, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		// A blocking call runs on its own goroutine; meanwhile the
		// runtime runs other tasks.
		data, err := asyncrt.Go(t, func() ([]byte, error) {
			return os.ReadFile("example_test.go")
		})
		if err != nil {
			panic(err)
		}
		return len(data)
	})
	fmt.Println(n > 0, err)
	// Output: true <nil>
}

// GoFunc runs blocking code whose only result is an error.
func ExampleGoFunc() {
	rt, _ := asyncrt.New()
	defer rt.Close()

	err := asyncrt.Run(rt, func(t *asyncrt.Task) error {
		f, err := os.CreateTemp("", "orrery-example")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		return asyncrt.GoFunc(t, f.Close) // a close may block on a slow disk
	})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleSpawnRemote() {
	rt, _ := asyncrt.New()
	defer rt.Close()

	// The runtime is driven by a root that runs until shutdown...
	go func() {
		_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) int { t.ShutdownSignal(); return 0 })
	}()
	// ...while another goroutine hands it work.
	r, err := asyncrt.SpawnRemote(rt.Handle(), func(t *asyncrt.Task) string {
		t.Sleep(time.Millisecond)
		return "computed on the runtime"
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Wait())
	rt.Shutdown(time.Second)
	// Output: computed on the runtime <nil>
}

func ExampleSelect() {
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt, _ := asyncrt.NewBuilder().Clock(clock).Build()
	defer rt.Close()

	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		quotes, rx, _ := asyncrt.NewChan[float64](rt, 16)
		stop := asyncrt.NewCancellationToken()
		asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			for _, px := range []float64{101.5, 101.25} {
				t.Sleep(300 * time.Millisecond)
				_ = quotes.Send(t, px)
			}
			t.Sleep(time.Second)
			stop.Cancel()
			return 0
		}).Detach()

		recv, idle, cancel := asyncrt.OnRecv(rx), asyncrt.OnTimeout(500*time.Millisecond), asyncrt.OnCancel(stop)
		for {
			i, _ := asyncrt.Select(t, recv, idle, cancel)
			switch i {
			case 0:
				fmt.Println("quote", recv.Value())
			case 1:
				fmt.Println("no quote for 500ms")
			case 2:
				fmt.Println("stopped")
				return struct{}{}
			}
		}
	})
	// Output:
	// quote 101.5
	// quote 101.25
	// no quote for 500ms
	// no quote for 500ms
	// stopped
}

// Two parts of a program share one runtime as nodes: each task spawned on
// a node, and every task it spawns, belongs to it, and a node's tasks can
// be aborted together (a simulated host's crash).
func ExampleInNode() {
	rt, _ := asyncrt.New()
	defer rt.Close()
	_ = asyncrt.Run(rt, func(t *asyncrt.Task) error {
		a := asyncrt.NewNode("a", nil, nil)
		b := asyncrt.NewNode("b", nil, nil)
		forever := func(t *asyncrt.Task) {
			// A child task: it inherits its parent's node.
			asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { t.Sleep(time.Hour) }).Detach()
			t.Sleep(time.Hour)
		}
		ha := asyncrt.SpawnFunc(t, forever, asyncrt.InNode(a))
		hb := asyncrt.SpawnFunc(t, forever, asyncrt.InNode(b))
		t.Yield() // the two start, and spawn their children
		t.Yield()
		fmt.Println("tasks on a:", a.Tasks(), "on b:", b.Tasks())
		fmt.Println("aborted on a:", a.Abort())
		fmt.Println("a's task:", ha.Wait(t))
		t.Yield()
		fmt.Println("tasks on a:", a.Tasks(), "on b:", b.Tasks())
		b.Abort()
		return hb.Wait(t)
	})
	// Output:
	// tasks on a: 2 on b: 2
	// aborted on a: 2
	// a's task: asyncrt: task aborted
	// tasks on a: 0 on b: 2
}
