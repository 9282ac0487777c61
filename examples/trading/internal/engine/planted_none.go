//go:build !orrery_planted_bug

package engine

// plantedLostReplayFill is false: see planted_bug.go.
const plantedLostReplayFill = false
