//go:build linux && (amd64 || arm64)

// Package lowfd runs the test process out of file descriptors, for tests of
// servers that must keep accepting after EMFILE: it makes client sockets
// while descriptors are free, fills the rest, and connects the clients so
// that they wait in the server's backlog while it cannot take them.
//
// The descriptor limit is the process's: tests that use it must not run in
// parallel with others.
package lowfd

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Clients are TCP sockets made while descriptors are free: connecting them
// later takes no new descriptor.
type Clients struct {
	t   testing.TB
	fds []int // -1 once adopted
}

// NewClients makes n IPv4 TCP sockets, not yet connected. Those not
// adopted are closed at the end of the test.
func NewClients(t testing.TB, n int) *Clients {
	t.Helper()
	// Go's own poller must exist before the descriptors run out: Adopt
	// hands the connections to it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	c := &Clients{t: t}
	t.Cleanup(func() {
		for _, fd := range c.fds {
			if fd >= 0 {
				assert.NoError(t, unix.Close(fd))
			}
		}
	})
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		require.NoError(t, err)
		c.fds = append(c.fds, fd)
	}
	return c
}

// Connect connects every socket to addr, an IPv4 address: on loopback the
// kernel queues the connections in the listener's backlog without waiting
// for the server to accept them.
func (c *Clients) Connect(addr netip.AddrPort) {
	c.t.Helper()
	to := &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	for _, fd := range c.fds {
		require.NoError(c.t, unix.Connect(fd, to))
	}
}

// Adopt makes a net.Conn, on Go's poller, of every connected socket; the
// connections are closed at the end of the test.
func (c *Clients) Adopt() []net.Conn {
	c.t.Helper()
	var conns []net.Conn
	for i, fd := range c.fds {
		f := os.NewFile(uintptr(fd), "client")
		c.fds[i] = -1                // f owns it now
		conn, err := net.FileConn(f) // a copy of the descriptor
		require.NoError(c.t, errors.Join(err, f.Close()))
		c.t.Cleanup(func() { conn.Close() })
		conns = append(conns, conn)
	}
	return conns
}

// Exhaust lowers the descriptor limit to at most 1024 (which bounds the
// filling) and opens /dev/null until the process is out of descriptors.
// release closes those and restores the limit; it runs at the end of the
// test too, and a second call does nothing.
func Exhaust(t testing.TB) (release func()) {
	t.Helper()
	var saved unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &saved))
	lowered := saved
	lowered.Cur = min(saved.Cur, 1024)
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lowered))
	var fillers []int
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		for _, fd := range fillers {
			assert.NoError(t, unix.Close(fd))
		}
		assert.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &saved))
	}
	t.Cleanup(release)
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			require.ErrorIs(t, err, unix.EMFILE)
			break
		}
		fillers = append(fillers, fd)
	}
	require.NotEmpty(t, fillers)
	return release
}
