package asyncrt_test

import (
	"errors"
	"fmt"

	"github.com/orrery-go/orrery/asyncrt"
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
