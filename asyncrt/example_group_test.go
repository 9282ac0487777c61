package asyncrt_test

import (
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
