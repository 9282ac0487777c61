// Package worldctx is how tasks reach the World: a small copyable Ctx for
// scoped access, and pre-resolved handlers that dispatch events to resources
// with a direct call. It is the one package that knows both the World
// (package world) and the runtime (package asyncrt), which know nothing of
// each other.
//
// A task gets its Ctx with [Of]: the World attached to its runtime with
// asyncrt's Builder.World. Everything here runs on the runtime's thread; a
// Ctx is not for other goroutines. To change the World's structure from a
// place where that is not allowed (inside a query), queue the change with
// World.Defer; the runtime applies it at the next safe point.
package worldctx

import (
	"fmt"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/world"
)

// Ctx gives a task scoped access to a World. It is a small value: copy it
// freely.
type Ctx struct{ w *world.World }

// Of returns the Ctx of the World that task t works on (see asyncrt's
// Task.World). It panics if t's runtime has no World, or if its World is not
// a *world.World: attach one with asyncrt.NewBuilder().World(w).
func Of(t *asyncrt.Task) Ctx {
	switch w := t.World().(type) {
	case *world.World:
		return Ctx{w: w}
	case nil:
		panic("worldctx: Of called by a task whose runtime has no World: " +
			"attach one with asyncrt.NewBuilder().World(w)")
	default:
		panic(fmt.Sprintf("worldctx: Of called by a task whose World is a %T, not a *world.World", w))
	}
}

// New returns a Ctx for w, for code that holds the World itself (a test, a
// system). Tasks get theirs with Of.
func New(w *world.World) Ctx {
	if w == nil {
		panic("worldctx: New called with a nil World")
	}
	return Ctx{w: w}
}

// With runs fn with the World. fn must not suspend the task: the runtime
// panics if it does, since another task could then see the World
// half-updated. Do the waiting outside With, and the World work inside.
func (c Ctx) With(fn func(w *world.World)) {
	if fn == nil {
		panic("worldctx: With called with a nil function")
	}
	c.w.Scope(fn)
}

// WithValue is With for a function that returns a value.
func WithValue[T any](c Ctx, fn func(w *world.World) T) T {
	if fn == nil {
		panic("worldctx: WithValue called with a nil function")
	}
	var v T
	c.w.Scope(func(w *world.World) { v = fn(w) })
	return v
}
