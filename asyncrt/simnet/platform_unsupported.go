//go:build !linux || !(amd64 || arm64)

package simnet

// Orrery supports Linux on amd64 and arm64 only: its runtime waits in epoll,
// and its goroutine checks read the goroutine descriptor with amd64 and arm64
// assembly. Everywhere else this file is compiled, and the undefined name
// below stops the build of every package of the module with a message that
// says so ("undefined: orrery_requires_linux_epoll_on_amd64_or_arm64"),
// rather than with an error from deep inside a package, or not at all.
var _ = orrery_requires_linux_epoll_on_amd64_or_arm64
