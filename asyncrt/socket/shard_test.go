package socket_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// shardEcho echoes until the client closes.
func shardEcho(_ *asyncrt.Task, c *socket.TCPConn) { _, _ = io.Copy(c, c) }

// startGroup builds a group of n runtimes whose roots serve until the
// group shuts down; stop shuts it down (at most once) and returns what
// Group.Shutdown returned. The test's cleanup stops it too.
func startGroup(t *testing.T, n int) (*asyncrt.Group, func() asyncrt.GroupShutdownStats) {
	t.Helper()
	g, err := asyncrt.NewGroup(n, nil)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		done <- g.Run(func(t *asyncrt.Task, _ int) error {
			t.ShutdownSignal()
			return nil
		})
	}()
	var once sync.Once
	var st asyncrt.GroupShutdownStats
	stop := func() asyncrt.GroupShutdownStats {
		once.Do(func() {
			st = g.Shutdown(10 * time.Second)
			require.NoError(t, <-done)
		})
		return st
	}
	t.Cleanup(func() { stop() })
	return g, stop
}

// echoOnce dials addr, sends msg, and checks that it comes back; every step
// is bounded by a deadline.
func echoOnce(addr netip.AddrPort, msg string) error {
	c, err := net.DialTimeout("tcp", addr.String(), 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != msg+"\n" {
		return fmt.Errorf("sent %q, got back %q", msg, line)
	}
	return nil
}

// echoClients runs n clients at once, each on a goroutine of its own with
// a distinct source port, and fails the test if any does not get its echo.
func echoClients(t *testing.T, addr netip.AddrPort, n int) {
	t.Helper()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- echoOnce(addr, fmt.Sprintf("hello %d", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestShardServeGroupSpreads(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("runtimes=%d", n), func(t *testing.T) {
			g, stop := startGroup(t, n)
			srv, err := socket.ServeGroup(g, "tcp", "127.0.0.1:0", shardEcho)
			require.NoError(t, err)
			require.NotZero(t, srv.Addr().Port())
			require.Equal(t, netip.MustParseAddr("127.0.0.1"), srv.Addr().Addr())

			const clients = 60
			echoClients(t, srv.Addr(), clients)

			// Each count is taken before the handler runs, so every echo
			// received is counted. The kernel hashes each connection's
			// addresses and ports to pick a listener: with 60 distinct
			// source ports, the chance that one runtime of 2 takes them all
			// is about 2 * 2^-60 = 2^-59, which this test accepts.
			acc := srv.Accepted()
			require.Len(t, acc, n)
			var sum uint64
			busy := 0
			for _, a := range acc {
				sum += a
				if a > 0 {
					busy++
				}
			}
			require.EqualValues(t, clients, sum, "accepted per runtime: %v", acc)
			require.GreaterOrEqual(t, busy, 2, "accepted per runtime: %v", acc)
			t.Logf("accepted per runtime: %v", acc)

			require.NoError(t, srv.Close())
			require.NoError(t, srv.Close()) // later calls do nothing
			require.NoError(t, srv.Wait())
			_, err = net.DialTimeout("tcp", srv.Addr().String(), 10*time.Second)
			require.ErrorIs(t, err, syscall.ECONNREFUSED)

			st := stop()
			require.Zero(t, st.Total.Aborted, "every task ended on its own")
			require.Zero(t, g.Stats().Total.LiveTasks)
		})
	}
}

// Close closes the connections still open, not only the listeners: their
// handlers end, and their clients see the connection closed.
func TestShardServeGroupCloseEndsConnections(t *testing.T) {
	g, stop := startGroup(t, 2)
	srv, err := socket.ServeGroup(g, "tcp4", "127.0.0.1:0", shardEcho, socket.Backlog(64))
	require.NoError(t, err)

	const idle = 6
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range idle {
		c, err := net.DialTimeout("tcp", srv.Addr().String(), 10*time.Second)
		require.NoError(t, err)
		conns = append(conns, c)
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		// One echo: the handler is running.
		_, err = fmt.Fprintf(c, "idle %d\n", i)
		require.NoError(t, err)
		line, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("idle %d\n", i), line)
	}

	require.NoError(t, srv.Close())
	require.NoError(t, srv.Wait())
	for _, c := range conns {
		_, err := c.Read(make([]byte, 1))
		require.Error(t, err) // io.EOF or a reset, never a timeout
		require.False(t, errors.Is(err, syscall.ETIMEDOUT), "%v", err)
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "%v", err)
	}
	st := stop()
	require.Zero(t, st.Total.Aborted, "every handler ended on its own")
	require.Zero(t, g.Stats().Total.LiveTasks)
}

// From a task of the group, ServeGroup and Wait suspend the task.
func TestShardServeGroupFromTask(t *testing.T) {
	g, err := asyncrt.NewGroup(2, nil)
	require.NoError(t, err)
	defer g.Close()
	addr := make(chan netip.AddrPort, 1)
	release := make(chan struct{})
	clientErr := make(chan error, 1)
	go func() { // ten clients, one after the other
		defer close(release)
		a := <-addr
		var errs []error
		for i := range 10 {
			if a.IsValid() {
				errs = append(errs, echoOnce(a, fmt.Sprintf("task %d", i)))
			}
		}
		clientErr <- errors.Join(errs...)
	}()
	var acc []uint64
	err = g.Run(func(t *asyncrt.Task, i int) error {
		if i == 1 {
			t.ShutdownSignal()
			return nil
		}
		defer g.Runtime(1).ShutdownHandle().Trigger()
		srv, err := socket.ServeGroup(g, "tcp", "127.0.0.1:0", shardEcho)
		if err != nil {
			addr <- netip.AddrPort{}
			return err
		}
		addr <- srv.Addr()
		// Let the clients finish without blocking this runtime's thread.
		if _, err := asyncrt.Go(t, func() (struct{}, error) { <-release; return struct{}{}, nil }); err != nil {
			return err
		}
		acc = srv.Accepted()
		if err := srv.Close(); err != nil {
			return err
		}
		return srv.Wait()
	})
	require.NoError(t, err)
	require.NoError(t, <-clientErr)
	var sum uint64
	for _, a := range acc {
		sum += a
	}
	require.EqualValues(t, 10, sum)
}

func TestShardServeGroupErrors(t *testing.T) {
	g, _ := startGroup(t, 2)
	for _, c := range []struct{ network, address string }{
		{"tcp", "127.0.0.1"},         // no port
		{"tcp", "127.0.0.1:notport"}, // no such service
		{"udp", "127.0.0.1:0"},       // not TCP
		{"tcp6", "127.0.0.1:0"},      // an IPv4 address
	} {
		srv, err := socket.ServeGroup(g, c.network, c.address, shardEcho)
		require.Error(t, err, "%s %s", c.network, c.address)
		require.Nil(t, srv)
	}
	_, err := socket.ServeGroup(g, "tcp", "127.0.0.1:0", nil)
	require.Error(t, err)
	_, err = socket.ServeGroup(g, "tcp", "127.0.0.1:0", shardEcho, socket.ConnectTimeout(time.Second))
	require.ErrorContains(t, err, "does not apply")
}

// A port held by a listener without SO_REUSEPORT cannot be shared: the
// first listener fails, and nothing is left open.
func TestShardServeGroupPortTaken(t *testing.T) {
	g, stop := startGroup(t, 2)
	taken, err := net.Listen("tcp", "127.0.0.1:0") // package net sets no SO_REUSEPORT
	require.NoError(t, err)
	defer taken.Close()
	srv, err := socket.ServeGroup(g, "tcp", taken.Addr().String(), shardEcho)
	require.ErrorIs(t, err, syscall.EADDRINUSE)
	require.Nil(t, srv)
	st := stop()
	require.Zero(t, st.Total.Aborted)
	require.Zero(t, g.Stats().Total.LiveTasks)
}

// When a later runtime cannot open its listener, those opened are closed:
// once the group has stopped, the port is free for a listener without
// SO_REUSEPORT.
func TestShardServeGroupPartialFailure(t *testing.T) {
	free, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	address := free.Addr().String()
	require.NoError(t, free.Close())

	g, err := asyncrt.NewGroup(2, nil)
	require.NoError(t, err)
	defer g.Close()
	g.Runtime(1).Close() // runtime 1 cannot take the spawn
	done := make(chan error, 1)
	go func() {
		done <- asyncrt.Run(g.Runtime(0), func(t *asyncrt.Task) error {
			t.ShutdownSignal()
			return nil
		})
	}()
	srv, err := socket.ServeGroup(g, "tcp", address, shardEcho)
	require.ErrorIs(t, err, asyncrt.ErrClosed)
	require.ErrorContains(t, err, "runtime 1")
	require.Nil(t, srv)
	g.Runtime(0).ShutdownHandle().Trigger()
	require.NoError(t, <-done)
	g.Close()

	again, err := net.Listen("tcp", address)
	require.NoError(t, err, "the listener of runtime 0 was left open")
	require.NoError(t, again.Close())
}

func TestShardServeGroupRefusesSimnet(t *testing.T) {
	g, err := asyncrt.NewGroup(2, func(_ int, b *asyncrt.Builder) {
		nw, err := simnet.New(simnet.Config{})
		if err != nil {
			panic(err)
		}
		b.Network(nw)
	})
	require.NoError(t, err)
	defer g.Close()
	srv, err := socket.ServeGroup(g, "tcp", "127.0.0.1:0", shardEcho)
	require.ErrorContains(t, err, "simulated network")
	require.Nil(t, srv)
}
