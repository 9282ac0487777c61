package asyncrt_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mlange-42/arche/generic"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

func ExampleBlockOn() {
	rt, err := asyncrt.New(nil) // nil: the runtime makes an empty World of its own
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
	rt, _ := asyncrt.New(nil)
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
	rt, _ := asyncrt.New(nil)
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

func ExampleSpawnPooled() {
	rt, _ := asyncrt.NewBuilder(nil).TaskPool(2, true).Build()
	defer rt.Close()

	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) struct{} {
		busy := func(t *asyncrt.Task) int { t.Yield(); return 1 }
		a, _ := asyncrt.SpawnPooled(t, busy)
		b, _ := asyncrt.SpawnPooled(t, busy)
		_, err := asyncrt.SpawnPooled(t, busy)
		fmt.Println(err)
		_, _ = a.Await(t)
		_, _ = b.Await(t)
		return struct{}{}
	})
	// Output: asyncrt: task pool is full
}

func ExampleTimeout() {
	// A simulated clock: the hour below passes in microseconds.
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt, _ := asyncrt.NewBuilder(nil).Clock(clock).Build()
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
	rt, _ := asyncrt.NewBuilder(nil).Clock(clock).Build()
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
	rt, _ := asyncrt.New(nil)
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

func ExampleSpawnRemote() {
	rt, _ := asyncrt.New(nil)
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

func ExampleListenTCP() {
	rt, _ := asyncrt.New(nil)
	defer rt.Close()

	reply, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) string {
		l, err := asyncrt.ListenTCP(t, "tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer l.Close()
		// An echo server: a task per connection.
		asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			for {
				c, err := l.Accept(t)
				if err != nil {
					return 0 // the listener was closed
				}
				asyncrt.Spawn(t, func(t *asyncrt.Task) int {
					defer c.Close()
					_, _ = io.Copy(c, c) // TCPConn is an io.Reader and io.Writer in a task
					return 0
				}).Detach()
			}
		}).Detach()

		c, err := asyncrt.DialTCP(t, "tcp", l.AddrPort().String(), asyncrt.ConnectTimeout(time.Second))
		if err != nil {
			panic(err)
		}
		defer c.Close()
		fmt.Fprintln(c, "ping")
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	})
	fmt.Print(reply, err)
	// Output: ping
	// <nil>
}

func ExampleSelect() {
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt, _ := asyncrt.NewBuilder(nil).Clock(clock).Build()
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

type book struct{ Bid, Ask float64 }

type quote struct {
	Bid, Ask float64
}

type fill struct{ Px float64 }

// A task reaches the World through its Ctx: a pre-resolved handler applies
// each quote to the book resource with a direct call, Defer queues an
// entity for the next safe point, and WithValue reads a result out.
func ExampleTask_World() {
	w := world.New()
	_ = world.AddResource(w, &book{})
	rt, _ := asyncrt.New(w)
	defer rt.Close()

	spread, _ := asyncrt.BlockOn(rt, func(t *asyncrt.Task) float64 {
		ctx := t.World()
		onQuote, err := worldctx.NewHandler1(ctx, func(q quote, b *book) {
			b.Bid, b.Ask = q.Bid, q.Ask
		})
		if err != nil {
			panic(err)
		}
		tx, rx, _ := asyncrt.NewChan[quote](t.Runtime(), 8)
		asyncrt.Spawn(t, func(t *asyncrt.Task) struct{} {
			defer tx.Close()
			for _, q := range []quote{{99.5, 100.5}, {99.75, 100.25}} {
				_ = tx.Send(t, q)
				t.Sleep(time.Millisecond)
			}
			return struct{}{}
		})
		for {
			q, err := rx.Recv(t) // wait outside any World access
			if err != nil {
				break // the sender closed
			}
			onQuote.Run(q)
		}
		ctx.Defer(func(w *world.World) {
			fills := generic.NewMap1[fill](w.ECS())
			fills.NewWith(&fill{Px: 100})
		})
		t.Yield() // a safe point: the deferred entity now exists
		return worldctx.WithValue(ctx, func(w *world.World) float64 {
			b := world.MustResource[book](w)
			q := generic.NewFilter1[fill]().Query(w.ECS())
			fmt.Println("fills:", q.Count())
			q.Close() // Count leaves the query open; a task must not
			return b.Ask - b.Bid
		})
	})
	fmt.Println("spread:", spread)
	// Output:
	// fills: 1
	// spread: 0.5
}
