package socket_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// echoServer accepts connections and echoes each line until EOF, one task per
// connection, until the listener is closed.
func echoServer(t *asyncrt.Task, l *socket.TCPListener) int {
	served := 0
	for {
		c, err := l.Accept(t)
		if err != nil {
			return served
		}
		served++
		asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			defer c.Close()
			n, _ := io.Copy(c, c)
			return int(n)
		}).Detach()
	}
}

func TestTCPEcho(t *testing.T) {
	rt := newRuntime(t, nil)
	got := block(t, rt, func(t *asyncrt.Task) string {
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		srv := asyncrt.Spawn(t, func(t *asyncrt.Task) int { return echoServer(t, l) })
		c, err := socket.DialTCP(t, "tcp", l.AddrPort().String())
		if err != nil {
			panic(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("hello, orrery\n")); err != nil {
			panic(err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			panic(err)
		}
		l.Close()
		_, _ = srv.Await(t)
		return line
	})
	assert.Equal(t, "hello, orrery\n", got)
}

func TestTCPAgainstStdlibPeer(t *testing.T) {
	// The peer is the standard library on its own goroutine: the runtime's
	// sockets speak plain TCP.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	rt := newRuntime(t, nil)
	got := block(t, rt, func(t *asyncrt.Task) string {
		c, err := socket.DialTCP(t, "tcp4", ln.Addr().String(), socket.ConnectTimeout(5*time.Second))
		if err != nil {
			panic(err)
		}
		defer c.Close()
		msg := strings.Repeat("x", 1<<20) // more than a socket buffer
		done := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			_, err := c.Write([]byte(msg))
			if err == nil {
				err = c.CloseWrite()
			}
			return err
		})
		back, err := io.ReadAll(c) // reads while the other task writes
		if err != nil {
			panic(err)
		}
		if err, _ := done.Await(t); err != nil {
			panic(err)
		}
		return string(back)
	})
	assert.Equal(t, 1<<20, len(got))
}

// A read that empties the receive queue makes the next Read wait for the
// poller's next edge instead of a system call that would say EAGAIN. When
// the peer's close arrived with the last data, its edge came before that
// read, and no other will come: the next Read must return end of file at
// once, not wait for ever.
func TestTCPEndOfFileAfterAShortRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	rt := newRuntime(t, nil)
	closed := asyncrt.NewNotify(rt)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		_, err = c.Write([]byte("last words"))
		// The data and the FIN are in the runtime's receive queue once
		// Close returns: on loopback the kernel delivers them in these
		// calls.
		if err = errors.Join(err, c.Close()); err != nil {
			t.Error(err)
		}
		closed.Notify()
	}()
	got := block(t, rt, func(t *asyncrt.Task) []error {
		c, err := socket.DialTCP(t, "tcp", ln.Addr().String())
		if err != nil {
			return []error{err}
		}
		defer c.Close()
		// While the task waits, the runtime takes the socket's edge (data
		// and hangup) together with the Notify's wake-up.
		closed.Wait(t)
		if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			return []error{err}
		}
		buf := make([]byte, 1024)
		n, err1 := c.Read(buf) // short: it empties the queue
		_, err2 := c.Read(buf)
		return []error{err1, err2, errors.New(string(buf[:n]))}
	})
	require.Len(t, got, 3)
	assert.NoError(t, got[0])
	assert.ErrorIs(t, got[1], io.EOF, "end of file at once, not a wait for an edge that will not come")
	assert.EqualError(t, got[2], "last words")
}

func TestTCPErrors(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		refused, eof, reset, closedRead, closedWrite, readDeadline, writeDeadline error
		timeout                                                                   bool
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		// A port nobody listens on: bind one, note it, close it.
		l, _ := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		addr := l.AddrPort().String()
		l.Close()
		_, r.refused = socket.DialTCP(t, "tcp", addr)

		l, _ = socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		defer l.Close()
		dial := func() (*socket.TCPConn, *socket.TCPConn) { return connected(t, l) }

		// Orderly close: EOF.
		c, s := dial()
		s.Close()
		_, r.eof = c.Read(make([]byte, 10))
		c.Close()

		// Close with linger 0 sends a reset.
		c, s = dial()
		s.SetLinger(0)
		s.Close()
		t.Sleep(10 * time.Millisecond)
		_, r.reset = c.Read(make([]byte, 10))
		c.Close()

		// Use after Close.
		_, r.closedRead = c.Read(make([]byte, 10))
		_, r.closedWrite = c.Write([]byte("x"))

		// Read deadline: nothing arrives.
		c, s = dial()
		c.SetReadDeadline(t.Now().Add(20 * time.Millisecond))
		_, r.readDeadline = c.Read(make([]byte, 10))
		var ne net.Error
		r.timeout = errors.As(r.readDeadline, &ne) && ne.Timeout()

		// Write deadline: the peer never reads, the buffers fill up.
		c.SetWriteBuffer(4096)
		c.SetWriteDeadline(t.Now().Add(50 * time.Millisecond))
		big := make([]byte, 1<<16)
		for r.writeDeadline == nil {
			_, r.writeDeadline = c.Write(big)
		}
		c.Close()
		s.Close()
		return r
	})
	assert.ErrorIs(t, r.refused, syscall.ECONNREFUSED)
	assert.ErrorIs(t, r.eof, io.EOF)
	assert.ErrorIs(t, r.reset, syscall.ECONNRESET)
	assert.ErrorIs(t, r.closedRead, net.ErrClosed)
	assert.ErrorIs(t, r.closedWrite, net.ErrClosed)
	assert.ErrorIs(t, r.readDeadline, os.ErrDeadlineExceeded)
	assert.True(t, r.timeout, "a deadline error is a net.Error timeout")
	assert.ErrorIs(t, r.writeDeadline, os.ErrDeadlineExceeded)
}

func TestTCPConnectDeadline(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		err     error
		elapsed time.Duration
		queued  int
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		// A listener that never accepts, with the smallest queue: once the
		// queue is full the kernel drops new SYNs, and a connect hangs.
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0", socket.Backlog(1))
		if err != nil {
			panic(err)
		}
		defer l.Close()
		var r result
		for range 16 {
			start := t.Now()
			c, err := socket.DialTCP(t, "tcp", l.AddrPort().String(), socket.ConnectTimeout(100*time.Millisecond))
			if err != nil {
				r.err, r.elapsed = err, t.Now().Sub(start)
				return r
			}
			r.queued++
			defer c.Close()
		}
		return r
	})
	require.Error(t, r.err, "every connect succeeded: %d", r.queued)
	assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
	assert.GreaterOrEqual(t, r.elapsed, 100*time.Millisecond)
}

func TestTCPThousandConnections(t *testing.T) {
	const conns = 1000
	rt := newRuntime(t, nil)
	total := block(t, rt, func(t *asyncrt.Task) int {
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		srv := asyncrt.Spawn(t, func(t *asyncrt.Task) int { return echoServer(t, l) })
		var clients []asyncrt.JoinHandle[int]
		for i := range conns {
			clients = append(clients, asyncrt.Spawn(t, func(t *asyncrt.Task) int {
				c, err := socket.DialTCP(t, "tcp", l.AddrPort().String())
				if err != nil {
					panic(err)
				}
				defer c.Close()
				msg := []byte(strings.Repeat(string(rune('a'+i%26)), 100+i%200))
				for range 3 {
					if _, err := c.Write(msg); err != nil {
						panic(err)
					}
					back := make([]byte, len(msg))
					if _, err := io.ReadFull(c, back); err != nil {
						panic(err)
					}
					if string(back) != string(msg) {
						panic("echo mismatch")
					}
				}
				return 1
			}))
		}
		n := 0
		for _, h := range clients {
			v, err := h.Await(t)
			if err != nil {
				panic(err)
			}
			n += v
		}
		l.Close()
		served, _ := srv.Await(t)
		if served != conns {
			panic("server count")
		}
		return n
	})
	assert.Equal(t, conns, total)
}

func TestTCPManyReadersShareAConnection(t *testing.T) {
	rt := newRuntime(t, nil)
	got := block(t, rt, func(t *asyncrt.Task) string {
		l, _ := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		defer l.Close()
		c, _ := socket.DialTCP(t, "tcp", l.AddrPort().String())
		defer c.Close()
		peer, _ := l.Accept(t)
		defer peer.Close()
		read := func(t *asyncrt.Task) string {
			b := make([]byte, 1)
			if _, err := c.Read(b); err != nil {
				return err.Error()
			}
			return string(b)
		}
		var hs []asyncrt.JoinHandle[string]
		for range 3 {
			hs = append(hs, asyncrt.Spawn(t, read))
		}
		t.Yield() // all three wait for data
		if _, err := peer.Write([]byte("abc")); err != nil {
			return err.Error()
		}
		var all []string
		for _, h := range hs {
			s, _ := h.Await(t)
			all = append(all, s)
		}
		slices.Sort(all)
		return strings.Join(all, "")
	})
	assert.Equal(t, "abc", got, "each byte goes to one reader")
}

func TestListenAndDialBadInput(t *testing.T) {
	rt := newRuntime(t, nil)
	errs := block(t, rt, func(t *asyncrt.Task) []error {
		var errs []error
		_, err := socket.ListenTCP(t, "tcp", "no-port")
		errs = append(errs, err)
		_, err = socket.ListenTCP(t, "sctp", "127.0.0.1:0")
		errs = append(errs, err)
		_, err = socket.DialTCP(t, "tcp4", "[::1]:80")
		errs = append(errs, err)
		_, err = socket.ListenTCP(t, "tcp", "127.0.0.1:0", socket.ConnectTimeout(time.Second))
		errs = append(errs, err)
		_, err = socket.ListenTCP(t, "tcp", "127.0.0.1:0", socket.Backlog(0))
		errs = append(errs, err)
		_, err = socket.DialTCP(t, "tcp", "127.0.0.1:1", socket.Broadcast(true))
		errs = append(errs, err)
		_, err = socket.ListenUDP(t, "udp", "127.0.0.1:0", socket.Backlog(5))
		errs = append(errs, err)
		_, err = socket.ListenTCP(t, "tcp", "127.0.0.1:0", socket.Option{})
		errs = append(errs, err)
		return errs
	})
	assert.ErrorContains(t, errs[0], "missing port")
	assert.ErrorContains(t, errs[1], "unknown network sctp")
	assert.ErrorContains(t, errs[2], "does not match network")
	assert.ErrorContains(t, errs[3], "ConnectTimeout does not apply to ListenTCP")
	assert.ErrorContains(t, errs[4], "Backlog: must be at least 1")
	assert.ErrorContains(t, errs[5], "Broadcast does not apply to DialTCP")
	assert.ErrorContains(t, errs[6], "Backlog does not apply to ListenUDP")
	assert.ErrorContains(t, errs[7], "zero Option")
}

func TestDialResolvesHostNames(t *testing.T) {
	rt := newRuntime(t, nil)
	got := block(t, rt, func(t *asyncrt.Task) string {
		l, err := socket.ListenTCP(t, "tcp4", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer l.Close()
		c, err := socket.DialTCP(t, "tcp4", "localhost:"+strings.Split(l.AddrPort().String(), ":")[1])
		if err != nil {
			panic(err)
		}
		defer c.Close()
		return c.RemoteAddr().String()
	})
	assert.True(t, strings.HasPrefix(got, "127.0.0.1:"), got)
}

func TestTCPSocketOptions(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		noDelay      bool
		rbuf, wbuf   int
		keepAliveErr error
		local        string
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0", socket.ReusePort(true), socket.NoDelay(false))
		if err != nil {
			panic(err)
		}
		defer l.Close()
		c, err := socket.DialTCP(t, "tcp", l.AddrPort().String(),
			socket.ReadBuffer(1<<16), socket.WriteBuffer(1<<16), socket.KeepAlive(30*time.Second), socket.Linger(time.Second))
		if err != nil {
			panic(err)
		}
		defer c.Close()
		var r result
		r.noDelay, _ = c.NoDelay()
		c.SetNoDelay(false)
		if nd, _ := c.NoDelay(); nd {
			panic("SetNoDelay(false) did not stick")
		}
		r.rbuf, _ = c.ReadBuffer()
		r.wbuf, _ = c.WriteBuffer()
		r.keepAliveErr = c.SetKeepAlive(true, time.Millisecond)
		r.local = c.LocalAddr().Network()
		return r
	})
	assert.True(t, r.noDelay, "on by default")
	assert.GreaterOrEqual(t, r.rbuf, 1<<16)
	assert.GreaterOrEqual(t, r.wbuf, 1<<16)
	assert.ErrorContains(t, r.keepAliveErr, "at least 1s")
	assert.Equal(t, "tcp", r.local)
}

// A server loop accepts in a Select, next to its stop signal.
func TestSelectOnAccept(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		first, second int
		conn          bool
		closedErr     error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		stop := asyncrt.NewCancellationToken()
		accept := socket.OnAccept(l)
		dialer := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			c, err := socket.DialTCP(t, "tcp", l.AddrPort().String())
			if err == nil {
				c.Close()
			}
			return err
		})
		r.first, _ = asyncrt.Select(t, asyncrt.OnCancel(stop), accept)
		if c := accept.Conn(); c != nil && accept.Err() == nil {
			r.conn = true
			c.Close()
		}
		if err, _ := dialer.Await(t); err != nil {
			panic(err)
		}
		stop.Cancel()
		r.second, _ = asyncrt.Select(t, asyncrt.OnCancel(stop), accept)
		l.Close()
		_, _ = asyncrt.Select(t, accept)
		r.closedErr = accept.Err()
		return r
	})
	assert.Equal(t, 1, r.first)
	assert.True(t, r.conn)
	assert.Equal(t, 0, r.second)
	assert.ErrorIs(t, r.closedErr, net.ErrClosed)
	assert.Zero(t, rt.Stats().Registrations)
}

// A network of the other protocol is refused, not opened as this one.
func TestOpenRefusesTheOtherProtocolsNetwork(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder())
	errs, err := asyncrt.BlockOn(rt, func(task *asyncrt.Task) []error {
		_, e1 := socket.ListenTCP(task, "udp", "127.0.0.1:0")
		_, e2 := socket.DialTCP(task, "udp4", "127.0.0.1:9")
		_, e3 := socket.ListenUDP(task, "tcp", "127.0.0.1:0")
		return []error{e1, e2, e3}
	})
	require.NoError(t, err)
	assert.ErrorContains(t, errs[0], "unknown network udp")
	assert.ErrorContains(t, errs[1], "unknown network udp4")
	assert.ErrorContains(t, errs[2], "unknown network tcp")
}
