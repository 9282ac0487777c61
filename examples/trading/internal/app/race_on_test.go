//go:build race

package app_test

// raceEnabled: the race detector slows the simulations down some tenfold.
const raceEnabled = true
