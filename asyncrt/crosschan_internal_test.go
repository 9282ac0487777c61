package asyncrt

import (
	"reflect"
	"runtime"
	"testing"
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
