package wheel_test

import (
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt/internal/wheel"
)

func BenchmarkScheduleCancel(b *testing.B) {
	w := wheel.New[[2]uint64](0)
	for i := range 10_000 { // a populated wheel
		w.Schedule(int64(i)*int64(time.Millisecond), [2]uint64{})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t := w.Schedule(int64(i%5000)*int64(time.Microsecond)+int64(time.Second), [2]uint64{})
		w.Cancel(t)
	}
}
