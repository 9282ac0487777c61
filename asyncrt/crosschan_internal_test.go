package asyncrt

import (
	"reflect"
	"runtime"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHasPointers(t *testing.T) {
	type plain struct {
		A int64
		B [4]float64
		C struct{ D uint8 }
	}
	type withString struct {
		A int
		S string
	}
	cases := map[reflect.Type]bool{
		reflect.TypeFor[int]():                false,
		reflect.TypeFor[uintptr]():            false,
		reflect.TypeFor[complex128]():         false,
		reflect.TypeFor[plain]():              false,
		reflect.TypeFor[[0]*int]():            false,
		reflect.TypeFor[struct{}]():           false,
		reflect.TypeFor[*int]():               true,
		reflect.TypeFor[string]():             true,
		reflect.TypeFor[[]byte]():             true,
		reflect.TypeFor[withString]():         true,
		reflect.TypeFor[[2]withString]():      true,
		reflect.TypeFor[map[int]int]():        true,
		reflect.TypeFor[chan int]():           true,
		reflect.TypeFor[func()]():             true,
		reflect.TypeFor[error]():              true,
		reflect.TypeFor[unsafe.Pointer]():     true,
		reflect.TypeFor[struct{ P *plain }](): true,
	}
	for typ, want := range cases {
		assert.Equal(t, want, hasPointers(typ), "%v", typ)
	}
}

// A value taken from a cross channel is not kept alive by its slot, and
// values without pointers leave their slots untouched.
func TestCrossChanTakenSlotsKeepNothing(t *testing.T) {
	rt, err := NewBuilder().Build()
	require.NoError(t, err)
	defer rt.Close()
	s, r, err := NewCrossChan[*[64]byte](rt, 4)
	require.NoError(t, err)
	assert.True(t, s.c.clear)
	p := new([64]byte)
	ref := weak.Make(p)
	require.NoError(t, s.Send(p))
	p = nil
	_, err = BlockOn(rt, func(t *Task) struct{} {
		if _, err := r.Recv(t); err != nil {
			panic(err)
		}
		return struct{}{}
	})
	require.NoError(t, err)
	runtime.GC()
	assert.Nil(t, ref.Value(), "the slot let the value go")
	runtime.KeepAlive(s) // the channel, and its ring, are still reachable

	_, ri, err := NewCrossChan[int](rt, 4)
	require.NoError(t, err)
	assert.False(t, ri.c.clear)
}

// A receiver watches the channel only when that can pay, and never when it
// is unwinding: an aborted or timed-out task must stop at its suspension
// point rather than take a value.
func TestCrossRecvWatchesOnlyWhenItCanPay(t *testing.T) {
	if runtime.GOMAXPROCS(0) == 1 {
		t.Skip("with GOMAXPROCS=1 a receiver never watches")
	}
	rt, err := NewBuilder().Build()
	require.NoError(t, err)
	defer rt.Close()
	s, r, err := NewCrossChan[int](rt, 4)
	require.NoError(t, err)
	require.NoError(t, s.Send(1)) // published: a watch sees it at once
	seen, err := BlockOn(rt, func(t *Task) map[string]bool {
		seen := map[string]bool{"plain": r.c.awaitValue(t)}
		_, _ = Timeout(t, 0, func(t *Task) struct{} {
			seen["timed out"] = r.c.awaitValue(t)
			return struct{}{}
		})
		other := SpawnFunc(t, func(*Task) {})
		seen["another task ready"] = r.c.awaitValue(t)
		_ = other.Wait(t)
		s.Close()
		seen["no sender left"] = r.c.awaitValue(t)
		return seen
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"plain": true, "timed out": false, "another task ready": false, "no sender left": false}, seen)

	sim, err := NewBuilder().Clock(NewSimClock(time.Unix(0, 0))).Build()
	require.NoError(t, err)
	defer sim.Close()
	s2, r2, err := NewCrossChan[int](sim, 4)
	require.NoError(t, err)
	require.NoError(t, s2.Send(1))
	watched, err := BlockOn(sim, func(t *Task) bool { return r2.c.awaitValue(t) })
	require.NoError(t, err)
	assert.False(t, watched, "a simulated runtime does not watch")
}
