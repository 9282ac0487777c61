// Package world holds an Orrery program's state: an arche ECS world kept at a
// stable address, so that the runtime, its tasks and its systems all refer to
// the same one.
//
// This package is the home of resources, systems and schedules; for now it
// provides the World itself and the escape hatch to arche's full API.
package world

import "github.com/mlange-42/arche/ecs"

// World is the single authoritative state of a program. It wraps an arche
// [ecs.World]; arche binds its methods to the world's address, so a World must
// not be copied: always pass *World.
//
// A World is not safe for concurrent use. Under an asyncrt Runtime it is only
// touched from the runtime's thread.
type World struct {
	_   noCopy
	ecs ecs.World
}

// New returns an empty World.
func New() *World {
	w := &World{}
	w.ecs = ecs.NewWorld()
	return w
}

// ECS returns the underlying arche world: entities, components, filters,
// queries, batches and listeners are used through it directly.
func (w *World) ECS() *ecs.World { return &w.ecs }

// noCopy makes go vet's copylocks check flag copies of a World.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
