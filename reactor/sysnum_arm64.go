//go:build linux

package reactor

import "golang.org/x/sys/unix"

// sysEpollPoll is the system call a zero-timeout Wait makes. arm64 has no
// epoll_wait (its system call table starts from the newer calls only); with
// a nil signal mask epoll_pwait is the same call.
const sysEpollPoll = unix.SYS_EPOLL_PWAIT
