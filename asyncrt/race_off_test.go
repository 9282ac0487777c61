//go:build !race

package asyncrt_test

const raceEnabled = false
