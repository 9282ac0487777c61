package world

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/mlange-42/arche/ecs"
)

// ErrNoResource is wrapped by the errors about missing resources.
var ErrNoResource = errors.New("world: no such resource")

func typeName[T any]() string { return reflect.TypeFor[T]().String() }

// AddResource makes r the World's resource of type T. It returns an error if
// r is nil or the World already has a resource of that type.
func AddResource[T any](w *World, r *T) error {
	if r == nil {
		return fmt.Errorf("world: AddResource[%s] with a nil resource", typeName[T]())
	}
	id := ecs.ResourceID[T](&w.ecs)
	if w.ecs.Resources().Has(id) {
		return fmt.Errorf("world: a resource of type %s is already present", typeName[T]())
	}
	w.ecs.Resources().Add(id, r)
	w.resEpoch++
	return nil
}

// Resource returns the World's resource of type T, and false if there is
// none.
func Resource[T any](w *World) (*T, bool) {
	r, ok := w.ecs.Resources().Get(ecs.ResourceID[T](&w.ecs)).(*T)
	return r, ok
}

// RequireResource returns the World's resource of type T, or an error
// naming the type and wrapping ErrNoResource.
func RequireResource[T any](w *World) (*T, error) {
	if r, ok := Resource[T](w); ok {
		return r, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNoResource, typeName[T]())
}

// MustResource returns the World's resource of type T and panics, naming
// the type, if there is none.
func MustResource[T any](w *World) *T {
	r, err := RequireResource[T](w)
	if err != nil {
		panic(err.Error() + " (add it with world.AddResource)")
	}
	return r
}

// HasResource reports whether the World has a resource of type T.
func HasResource[T any](w *World) bool {
	return w.ecs.Resources().Has(ecs.ResourceID[T](&w.ecs))
}

// RemoveResource removes the resource of type T. It returns an error
// wrapping ErrNoResource if there is none.
func RemoveResource[T any](w *World) error {
	id := ecs.ResourceID[T](&w.ecs)
	if !w.ecs.Resources().Has(id) {
		return fmt.Errorf("%w: %s", ErrNoResource, typeName[T]())
	}
	w.ecs.Resources().Remove(id)
	w.resEpoch++
	return nil
}

// ResourceEpoch changes whenever a resource is added or removed (Reset
// included). Code that caches resource pointers compares it to know when to
// look them up again.
func (w *World) ResourceEpoch() uint64 { return w.resEpoch }
