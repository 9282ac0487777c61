//go:build amd64 || arm64

package gid

// readWord returns the 8-byte word at address p+off.
func readWord(p, off uintptr) uint64
