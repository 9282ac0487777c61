// Package worldctx is how tasks reach the World: a small copyable Ctx for
// scoped access, deferred structural changes, and pre-resolved handlers that
// dispatch events to resources with a direct call.
//
// A task gets its Ctx from asyncrt's Task.World. Everything here runs on
// the runtime's thread; a Ctx is not for other goroutines.
package worldctx

import (
	"github.com/orrery-go/orrery/world"
)

// Ctx gives a task scoped access to a World. It is a small value: copy it
// freely.
type Ctx struct{ w *world.World }

// New returns a Ctx for w. Tasks get theirs from Task.World.
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

// Defer queues a structural change (adding or removing entities or
// components, say) to be applied at the next safe point: after the current
// task poll or system, when no query is open. Changes apply in the order
// they were deferred.
func (c Ctx) Defer(fn func(w *world.World)) { c.w.Defer(fn) }
