//go:build !amd64 && !arm64

package gid

// Supported reports whether Current identifies goroutines on this
// architecture. Where it does not, Current returns 0 and the runtime's
// goroutine checks are off.
const Supported = false

// Current returns 0: goroutine identity is not available on this
// architecture.
func Current() uintptr { return 0 }
