package asyncrt

import (
	"fmt"
	"slices"
)

// Node is one part of a program that shares a runtime with other parts:
// a set of tasks, the World they work on, and a value for the packages
// built on the runtime. Package simnet makes one node per simulated host,
// so that an exchange and a trading engine, or a server and fifty players,
// run on one thread and one simulated clock and still each have their own
// World, addresses and sockets, and can crash alone.
//
// A task joins a node when it is spawned with [InNode]; every task a task
// of the node spawns belongs to it too. Tasks of no node (roots of
// [BlockOn], remote spawns and their descendants) have a nil [Task.Node].
//
// A node is bound to the runtime of its first task. Its methods must be
// called on that runtime's thread.
type Node struct {
	name  string
	world World
	value any
	rt    *Runtime // bound by the first spawn into the node
	live  int      // unfinished tasks
}

// NewNode returns a node named name (for reports) whose tasks work on w,
// which may be nil for none; a non-nil w must also be attached to the
// runtime the node's tasks run on ([Builder.World]), which runs its
// systems. value is for the packages built on the runtime to find their
// state from a task ([Node.Value]); it may be nil.
func NewNode(name string, w World, value any) *Node {
	return &Node{name: name, world: w, value: value}
}

// Name returns the node's name.
func (n *Node) Name() string { return n.name }

// World returns the World the node's tasks work on, or nil.
func (n *Node) World() World { return n.world }

// Value returns the value given to [NewNode].
func (n *Node) Value() any { return n.value }

// Tasks returns the number of the node's tasks that have not finished.
func (n *Node) Tasks() int { return n.live }

// Abort asks every unfinished task of the node to unwind, as
// [JoinHandle.Abort] does, in the order they were spawned, and returns how
// many it asked. Tasks spawned afterwards are not affected: a node can be
// started again (a simulated host restarted after a crash). A task of the
// node that calls Abort unwinds at its next suspension point.
func (n *Node) Abort() int {
	if n.rt == nil {
		return 0 // no task ever ran on it
	}
	n.rt.mustBeOnRuntime("Node.Abort")
	var recs []*taskRec
	for _, rec := range n.rt.tasks.All() {
		if rec.node == n && rec.state != stateDone {
			recs = append(recs, rec)
		}
	}
	slices.SortFunc(recs, func(a, b *taskRec) int { return cmpU64(a.id, b.id) })
	aborted := 0
	for _, rec := range recs {
		if n.rt.abort(rec) {
			aborted++
		}
	}
	return aborted
}

// String returns the node's name.
func (n *Node) String() string { return n.name }

// InNode is a spawn option that puts the new task on node n instead of its
// parent's node: it works on n's World and belongs to n from then on, as
// every task it spawns does. A nil n panics.
func InNode(n *Node) SpawnOption {
	if n == nil {
		panic("asyncrt: InNode(nil): pass the node to spawn the task on (asyncrt.NewNode), or leave the option out to stay on the parent's node")
	}
	return SpawnOption{node: n}
}

// Node returns the node t belongs to, or nil if it belongs to none.
func (t *Task) Node() *Node {
	t.check("Task.Node")
	return t.rec.node
}

// placement is where a new task goes: its node and its World.
type placement struct {
	node  *Node
	world World
}

// place decides where a task spawned by parent with opts goes. The spawns
// call it before they take a coroutine for the task, so that a spawn that
// panics here (a misplaced node) leaves no coroutine behind.
func (rt *Runtime) place(parent *Task, opts []SpawnOption) placement {
	if len(opts) == 0 {
		return placement{parent.rec.node, parent.world}
	}
	n, w := rt.placeTask(parent, opts)
	return placement{n, w}
}

// placeTask decides the node and World of a task spawned by parent with
// opts: the last InNode option's, or the parent's.
func (rt *Runtime) placeTask(parent *Task, opts []SpawnOption) (*Node, World) {
	var n *Node
	found := false
	for _, o := range opts {
		if o.node != nil {
			n, found = o.node, true
		}
	}
	if !found {
		return parent.rec.node, parent.world
	}
	if n.rt == nil {
		if n.world != nil && !rt.hasWorld(n.world) {
			panic(fmt.Sprintf("asyncrt: InNode(%q): the node's World is not attached to this runtime; "+
				"attach it with Builder.World so that its systems run", n.name))
		}
		n.rt = rt
	} else if n.rt != rt {
		panic(fmt.Sprintf("asyncrt: InNode(%q): the node belongs to another runtime; a node's tasks all run on one runtime", n.name))
	}
	return n, n.world
}

// hasWorld reports whether w is attached to the runtime.
func (rt *Runtime) hasWorld(w World) bool {
	for _, wr := range rt.worlds {
		if wr.w == w {
			return true
		}
	}
	return false
}
