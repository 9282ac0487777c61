package asyncrt_test

import (
	"errors"
	"fmt"

	"github.com/orrery-go/orrery/asyncrt"
)

// Two runtimes, each on its own thread: runtime 0 hands work to runtime 1
// and awaits the result without blocking its thread, and a task of runtime
// 1 sends values back through a cross channel. A runtime runs tasks only
// while its root runs, so runtime 1's root serves until it is told to stop.
func ExampleNewGroup() {
	g, err := asyncrt.NewGroup(2, func(i int, b *asyncrt.Builder) {
		// Per runtime options: b.PinCPU(i), b.World(w)...
	})
	if err != nil {
		panic(err)
	}
	defer g.Close()

	// A channel into runtime 0; SendTask suspends a sending task of any
	// runtime while it is full.
	send, recv, _ := asyncrt.NewCrossChan[int](g.Runtime(0), 16)
	err = g.Run(func(t *asyncrt.Task, i int) error {
		if i == 1 {
			t.ShutdownSignal() // serve until runtime 0 is done
			return nil
		}
		defer g.Runtime(1).ShutdownHandle().Trigger()
		h, err := asyncrt.SpawnOn(g, 1, func(t *asyncrt.Task) int {
			defer send.Close()
			for v := 1; v <= 3; v++ {
				_ = send.SendTask(t, v)
			}
			return 6 * 7
		})
		if err != nil {
			return err
		}
		answer, err := h.Await(t) // runtime 0 runs its other tasks meanwhile
		if err != nil {
			return err
		}
		sum := 0
		for {
			v, err := recv.Recv(t)
			if err != nil {
				break // every sender closed
			}
			sum += v
		}
		fmt.Println(answer, sum)
		return nil
	})
	fmt.Println(err, g.Stats().Total.LiveTasks)
	// Output:
	// 42 6
	// <nil> 0
}

// Two runtimes pass a value back and forth over group channels, then both
// wait for a value that never comes. Neither is deadlocked alone while the
// other works; once both wait on each other, Run reports it for each.
func ExampleNewGroupChan() {
	g, err := asyncrt.NewGroup(2, nil)
	if err != nil {
		panic(err)
	}
	defer g.Close()
	var ins [2]*asyncrt.CrossSender[int]
	var outs [2]*asyncrt.CrossReceiver[int]
	for i := range 2 {
		ins[i], outs[i], _ = asyncrt.NewGroupChan[int](g, i, 1)
	}
	err = g.Run(func(t *asyncrt.Task, i int) error {
		if i == 0 {
			_ = ins[1].SendTask(t, 1)
		}
		for {
			v, err := outs[i].Recv(t)
			if err != nil {
				return err
			}
			fmt.Printf("runtime %d got %d\n", i, v)
			if v < 4 {
				_ = ins[1-i].SendTask(t, v+1)
			}
		}
	})
	fmt.Println(errors.Is(err, asyncrt.ErrDeadlock))
	// Output:
	// runtime 1 got 1
	// runtime 0 got 2
	// runtime 1 got 3
	// runtime 0 got 4
	// true
}
