package hdr_test

import (
	"fmt"
	"time"

	"github.com/orrery-go/orrery/examples/internal/hdr"
)

func Example() {
	// Latencies in nanoseconds, from 1ns to a minute, to 3 significant
	// digits.
	h, err := hdr.New(1, int64(time.Minute), 3)
	if err != nil {
		panic(err)
	}
	for i := range int64(1000) {
		h.Record(10_000 + i*i) // 10µs to about 1ms
	}
	if err := h.Record(int64(2 * time.Minute)); err != nil {
		fmt.Println(err)
	}

	fmt.Println("count:", h.Count(), "overflow:", h.Overflow())
	fmt.Println("min:", time.Duration(h.Min()), "max:", time.Duration(h.Max()))
	for _, q := range []float64{50, 99, 99.9, 100} {
		fmt.Printf("p%v: %v\n", q, time.Duration(h.ValueAtQuantile(q)))
	}
	// Output:
	// hdr: value out of range: 120000000000 not in [0, 60000000000]
	// count: 1000 overflow: 1
	// min: 10µs max: 1.008001ms
	// p50: 259.071µs
	// p99: 988.159µs
	// p99.9: 1.006079ms
	// p100: 1.008001ms
}
