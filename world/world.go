// Package world holds an Orrery program's state: an arche ECS world kept at a
// stable address, its resources, and the systems that update it on
// schedules.
//
// A World is used from one thread: under an asyncrt Runtime, the runtime's.
// It plugs into the runtime with asyncrt's Builder.World (it implements the
// asyncrt.World interface without importing the runtime): the runtime runs
// the World's schedules — every cycle, or at a fixed rate — and its tasks
// reach the World through worldctx. Entities, components, filters, queries,
// batches and listeners are arche's, used through ECS().
package world

import (
	"errors"
	"fmt"

	"github.com/mlange-42/arche/ecs"
)

// ErrBusy is returned by operations that cannot run while the World is
// locked: a query is open or a Scope callback holds it.
var ErrBusy = errors.New("world: busy (a query is open or a callback holds the World)")

// errQueryLeft is what TaskEnded reports for a task that left a query open.
var errQueryLeft = errors.New("world: a task returned with an arche query still open, " +
	"leaving the World locked: close every query (or iterate it to the end)")

// World is the single authoritative state of a program. It wraps an arche
// [ecs.World]; arche binds its methods to the world's address, so a World must
// not be copied: always pass *World.
//
// A World is not safe for concurrent use. Under an asyncrt Runtime it is only
// touched from the runtime's thread.
type World struct {
	_   noCopy
	ecs ecs.World

	busy     int              // depth of Scope callbacks running
	leaked   bool             // a task left a query open for good (see TaskEnded)
	deferred []func(w *World) // commands waiting for a safe point
	applying bool             // ApplyDeferred is running
	resEpoch uint64           // bumped when a resource is added or removed
	scheds   []*Schedule      // in the order they were added
	schedVer uint64           // bumped when a schedule is added
	current  *Schedule        // the schedule whose systems are running
	finals   []Finalizer      // initialised systems with a Finalize, in order
}

// Option configures a World.
type Option func(*options)

type options struct {
	capacity int
}

// Capacity sets the number of entities the World reserves room for up front
// (it grows beyond as needed). A capacity below 1 panics in New.
func Capacity(n int) Option { return func(o *options) { o.capacity = n } }

// New returns an empty World.
func New(opts ...Option) *World {
	o := options{capacity: 128}
	for _, opt := range opts {
		opt(&o)
	}
	if o.capacity < 1 {
		panic(fmt.Sprintf("world: Capacity(%d): must be at least 1", o.capacity))
	}
	w := &World{}
	w.ecs = ecs.NewWorld(o.capacity)
	return w
}

// ECS returns the underlying arche world: entities, components, filters,
// queries, batches and listeners are used through it directly.
func (w *World) ECS() *ecs.World { return &w.ecs }

// Locked reports whether the World must not be left mid-operation: a query
// is open, or a Scope callback (worldctx's With) is running. The asyncrt
// runtime refuses to suspend a task while its World is locked. Once a task
// has returned with a query left open (see TaskEnded), that query no longer
// counts: only Scope does, so that one leak does not fail every task after
// it.
func (w *World) Locked() bool { return w.busy > 0 || w.ecs.IsLocked() && !w.leaked }

// TaskEnded is called by the runtime when one of the World's tasks has
// finished. It reports a query the task left open — the World stays locked
// for arche's structural changes from then on — the first time it happens.
func (w *World) TaskEnded() error {
	if w.leaked || w.busy > 0 || !w.ecs.IsLocked() {
		return nil
	}
	w.leaked = true
	return errQueryLeft
}

// Scope runs fn with the World locked (see Locked), so that fn cannot be
// suspended half-way by the runtime. Tasks use worldctx's With, which calls
// it.
func (w *World) Scope(fn func(w *World)) {
	w.busy++
	defer func() { w.busy-- }()
	fn(w)
}

// Defer queues a command, typically a structural change, to be applied at
// the next safe point: after the running system or task poll, when no query
// is open. Commands are applied in the order they were queued.
func (w *World) Defer(fn func(w *World)) {
	if fn == nil {
		panic("world: Defer called with a nil function")
	}
	w.deferred = append(w.deferred, fn)
}

// HasDeferred reports whether commands are waiting for a safe point.
func (w *World) HasDeferred() bool { return len(w.deferred) > 0 }

// ApplyDeferred applies the queued commands in order, including those they
// queue in turn. It returns ErrBusy, applying nothing, while the World is
// busy. Drivers (the runtime) call it at their safe points.
func (w *World) ApplyDeferred() error {
	if w.applying || len(w.deferred) == 0 {
		return nil
	}
	if w.busy > 0 || w.ecs.IsLocked() {
		return ErrBusy
	}
	w.applying = true
	defer func() { w.applying = false }()
	for len(w.deferred) > 0 {
		fn := w.deferred[0]
		w.deferred[0] = nil
		w.deferred = w.deferred[1:]
		fn(w) // if it panics, the commands after it stay queued
	}
	return nil
}

// Reset removes every entity and every resource. Entities are removed one
// by one rather than by arche's own Reset, so their generations keep
// counting up: an Entity handle kept from before never matches an entity
// made after. Schedules and systems stay. It returns ErrBusy while the World
// is busy.
func (w *World) Reset() error {
	if w.busy > 0 || w.ecs.IsLocked() {
		return ErrBusy
	}
	w.ecs.Batch().RemoveEntities(ecs.All())
	for _, id := range ecs.ResourceIDs(&w.ecs) {
		if w.ecs.Resources().Has(id) {
			w.ecs.Resources().Remove(id)
		}
	}
	w.resEpoch++
	w.deferred = w.deferred[:0]
	return nil
}

// noCopy makes go vet's copylocks check flag copies of a World.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
