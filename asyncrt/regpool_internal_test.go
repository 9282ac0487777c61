package asyncrt

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRegPoolPutResetsEveryField is a tripwire for regPool.put, which resets
// a node field by field: a field added to regData must be reset there (or by
// leaveQueue or newReg) and then listed here.
func TestRegPoolPutResetsEveryField(t *testing.T) {
	var names []string
	for f := range reflect.TypeFor[regData]().Fields() {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"task", "g", "state", "external", "peer", "passive", "counted", "wakeable",
		"seq", "timer", "q", "sq", "prev", "next", "linked", "slinked", "tprev", "tnext"}, names,
		"regData changed: make regPool.put reset the new field, then update this list")

	var p regPool
	n := p.get()
	n.task, n.g, n.state, n.external, n.peer, n.passive, n.counted = &Task{}, 1, regSeen, true, true, true, true
	n.seq, n.tprev = 7, &waitNode{}
	next := p.free
	p.put(n)
	assert.Equal(t, regData{g: 1, seq: 7, tnext: next}, n.regData,
		"a freed node holds only its free-list link and what newReg overwrites")
}
