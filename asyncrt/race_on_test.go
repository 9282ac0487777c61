//go:build race

package asyncrt_test

// raceEnabled: the race detector keeps state for every goroutine a test
// starts, so the stress tests scale their volume down under it (the
// interleavings they check do not need the volume).
const raceEnabled = true
