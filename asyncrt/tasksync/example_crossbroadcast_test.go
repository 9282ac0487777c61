package tasksync_test

import (
	"fmt"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/tasksync"
)

// One feed runtime fans a stream out to two strategy runtimes. Each
// subscriber gets every value, in order; the feed's task suspends whenever
// a subscriber's channel is full, so nothing is dropped.
func ExampleCrossBroadcast() {
	g, err := asyncrt.NewGroup(3, nil)
	if err != nil {
		panic(err)
	}
	defer g.Close()
	feed, err := tasksync.NewCrossBroadcast[int](2)
	if err != nil {
		panic(err)
	}
	// Subscribe before the feed starts: a subscriber gets what is sent
	// after it subscribed.
	subs := make([]*asyncrt.CrossReceiver[int], 3)
	for i := 1; i <= 2; i++ {
		if subs[i], err = feed.Subscribe(g.Runtime(i)); err != nil {
			panic(err)
		}
	}
	sums := make([]int, 3)
	err = g.Run(func(t *asyncrt.Task, i int) error {
		if i == 0 {
			defer feed.Close()
			for v := 1; v <= 100; v++ {
				if err := feed.SendTask(t, v); err != nil {
					return err
				}
			}
			return nil
		}
		for {
			v, err := subs[i].Recv(t)
			if err != nil {
				return nil // the feed closed and every value was taken
			}
			sums[i] += v
		}
	})
	fmt.Println(err, sums[1], sums[2])
	// Output: <nil> 5050 5050
}
