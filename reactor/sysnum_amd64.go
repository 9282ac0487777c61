//go:build linux

package reactor

import "golang.org/x/sys/unix"

// sysEpollPoll is the system call a zero-timeout Wait makes. amd64 still
// has the plain epoll_wait, the cheapest of the epoll waits.
const sysEpollPoll = unix.SYS_EPOLL_WAIT
