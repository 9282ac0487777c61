package bots

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHeard feeds a bot the lines the server sends (package players'
// formats) and checks what it makes of them.
func TestHeard(t *testing.T) {
	b := &bot{}
	b.heard("welcome to the arena; commands: help spawn move fire watch stats quit")
	assert.True(t, b.st.Connected)

	b.spawning = true
	b.heard("spawned ship at 25.7,112.4")
	assert.True(t, b.ship)
	assert.False(t, b.spawning)
	assert.Equal(t, [2]float64{25.7, 112.4}, b.pos)

	b.heard("tick 41 | ship at 25.8,112.5 hp 100 kills 2 | nearest target 0.9 away at 26.4,113.1 | prey 238 predators 60 ships 1")
	assert.Equal(t, uint64(1), b.st.Updates)
	assert.Equal(t, [2]float64{25.8, 112.5}, b.pos)
	assert.True(t, b.haveTarget)
	assert.Equal(t, [2]float64{26.4, 113.1}, b.target)
	assert.Equal(t, uint64(2), b.shipKills)

	b.heard("tick 42 | ship at 25.9,112.5 hp 100 kills 2 | nearest target none in sight | prey 238 predators 60 ships 1")
	assert.False(t, b.haveTarget)

	b.heard("ok")
	b.heard("fired")
	b.heard("error: cooling down")
	assert.Equal(t, uint64(1), b.st.Moves)
	assert.Equal(t, uint64(1), b.st.Shots)
	assert.Equal(t, uint64(1), b.st.Errors)

	b.heard("your ship was destroyed after 3 kills; spawn to play again")
	assert.False(t, b.ship)
	assert.Equal(t, uint64(1), b.st.Deaths)
	assert.Equal(t, uint64(3), b.st.Kills, "the kills of the destroyed ship")
	assert.Zero(t, b.shipKills)

	b.ship = true
	b.heard("tick 50 | prey 238 predators 60 ships 0 bullets 0")
	assert.False(t, b.ship, "a state line without a ship")

	b.heard("error: you already have a ship")
	assert.True(t, b.ship)
	b.heard("error: no ship: spawn first")
	assert.False(t, b.ship)

	b.heard("bye")
	assert.True(t, b.st.Goodbye)
	assert.Equal(t, uint64(3), b.st.Errors)
}
