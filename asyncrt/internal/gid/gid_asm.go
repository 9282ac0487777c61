//go:build amd64 || arm64

package gid

// Supported reports whether Current identifies goroutines on this
// architecture. Where it does not, Current returns 0 and the runtime's
// goroutine checks are off.
const Supported = true

// Current returns the identity of the calling goroutine: the address of its
// runtime descriptor.
func Current() uintptr
