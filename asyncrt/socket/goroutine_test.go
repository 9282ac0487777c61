package socket_test

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// connected returns both ends of a loopback connection made on t's runtime.
func connected(t *asyncrt.Task, l *socket.TCPListener) (c, peer *socket.TCPConn) {
	accepted := asyncrt.Spawn(t, func(t *asyncrt.Task) *socket.TCPConn {
		p, err := l.Accept(t)
		if err != nil {
			panic(err)
		}
		return p
	})
	c, err := socket.DialTCP(t, "tcp", l.AddrPort().String())
	if err != nil {
		panic(err)
	}
	peer, err = accepted.Await(t)
	if err != nil {
		panic(err)
	}
	return c, peer
}

func listen(t *asyncrt.Task) *socket.TCPListener {
	l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	return l
}

// onGoroutine runs fn on a new goroutine and waits for its result without
// blocking the runtime's thread.
func onGoroutine[T any](t *asyncrt.Task, fn func() T) T {
	done := make(chan T, 1)
	go func() { done <- fn() }()
	v, err := asyncrt.Go(t, func() (T, error) { return <-done, nil })
	if err != nil {
		panic(err)
	}
	return v
}

// stdPeer listens on loopback with package net and hands over the
// connections it accepts; it is closed when the test ends.
func stdPeer(t *testing.T) (addr string, accepted <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	ch := make(chan net.Conn, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ch <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(ch)
		for c := range ch {
			c.Close()
		}
	})
	return ln.Addr().String(), ch
}

// readsEOF reports what a package-net peer reads next: io.EOF once the
// runtime's end of the connection is closed. The deadline only bounds a
// failing test.
func readsEOF(c net.Conn) error {
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	_, err := c.Read(make([]byte, 1))
	return err
}

// A goroutine closes a connection a task is reading: the task wakes with
// net.ErrClosed, the descriptor is closed (the peer reads EOF), and every
// later operation, a second Close included, fails with net.ErrClosed.
func TestTCPCloseFromAnotherGoroutineWakesReader(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		waiting                       int
		closeErr, readErr, peerEOF    error
		againFromGoroutine, againHere error
		readAfter, writeAfter         error
		deadlineAfter                 error
		local, remote                 string
		registrations                 int
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		l := listen(t)
		defer l.Close()
		c, peer := connected(t, l)
		defer peer.Close()
		reader := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			_, err := c.Read(make([]byte, 8))
			return err
		})
		t.Yield() // the reader runs first, finds nothing and waits
		r.waiting = t.Runtime().Stats().Registrations
		r.closeErr = onGoroutine(t, func() error {
			r.local, r.remote = c.LocalAddr().String(), c.RemoteAddr().String()
			return c.Close()
		})
		r.readErr, _ = reader.Await(t)
		_, r.peerEOF = peer.Read(make([]byte, 8))
		r.againFromGoroutine = onGoroutine(t, c.Close)
		r.againHere = c.Close()
		_, r.readAfter = c.Read(make([]byte, 8))
		_, r.writeAfter = c.Write([]byte("x"))
		r.deadlineAfter = c.SetDeadline(t.Now())
		r.registrations = t.Runtime().Stats().Registrations
		return r
	})
	assert.Equal(t, 1, r.waiting, "the reader waits on the connection")
	assert.NoError(t, r.closeErr)
	assert.ErrorIs(t, r.readErr, net.ErrClosed)
	assert.ErrorIs(t, r.peerEOF, io.EOF, "the descriptor is closed")
	assert.ErrorIs(t, r.againFromGoroutine, net.ErrClosed)
	assert.ErrorIs(t, r.againHere, net.ErrClosed)
	assert.ErrorIs(t, r.readAfter, net.ErrClosed)
	assert.ErrorIs(t, r.writeAfter, net.ErrClosed)
	assert.ErrorIs(t, r.deadlineAfter, net.ErrClosed)
	assert.Contains(t, r.local, "127.0.0.1:")
	assert.Contains(t, r.remote, "127.0.0.1:")
	assert.Zero(t, r.registrations)
}

// Close from another goroutine takes effect at once for the tasks, before
// the runtime's thread has closed the descriptor.
func TestTCPCloseFromAnotherGoroutineIsSeenAtOnce(t *testing.T) {
	rt := newRuntime(t, nil)
	errs := block(t, rt, func(t *asyncrt.Task) [2]error {
		l := listen(t)
		defer l.Close()
		c, peer := connected(t, l)
		defer peer.Close()
		if _, err := peer.Write([]byte("unread")); err != nil {
			panic(err)
		}
		// Blocking the thread for the goroutine's Close keeps the runtime
		// from taking the close it posts before the reads below.
		done := make(chan error)
		go func() { done <- c.Close() }()
		if err := <-done; err != nil {
			panic(err)
		}
		_, readErr := c.Read(make([]byte, 8)) // data is queued, but the conn is closed
		_, writeErr := c.Write([]byte("x"))
		return [2]error{readErr, writeErr}
	})
	assert.ErrorIs(t, errs[0], net.ErrClosed)
	assert.ErrorIs(t, errs[1], net.ErrClosed)
}

// A goroutine closes a listener a task is accepting on.
func TestTCPListenerCloseFromAnotherGoroutine(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		addr, closeAddr   string
		closeErr, accept  error
		again, acceptLate error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		l := listen(t)
		r.addr = l.AddrPort().String()
		acceptor := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			_, err := l.Accept(t)
			return err
		})
		t.Yield()
		r.closeErr = onGoroutine(t, func() error {
			r.closeAddr = l.Addr().String()
			return l.Close()
		})
		r.accept, _ = acceptor.Await(t)
		r.again = onGoroutine(t, l.Close)
		_, r.acceptLate = l.Accept(t)
		return r
	})
	assert.Equal(t, r.addr, r.closeAddr)
	assert.NoError(t, r.closeErr)
	assert.ErrorIs(t, r.accept, net.ErrClosed)
	assert.ErrorIs(t, r.again, net.ErrClosed)
	assert.ErrorIs(t, r.acceptLate, net.ErrClosed)
}

// The same for UDP: a goroutine closes a socket a task is receiving on.
func TestUDPCloseFromAnotherGoroutine(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		local             string
		closeErr, recvErr error
		again, sendAfter  error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		c, err := socket.ListenUDP(t, "udp4", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		receiver := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			_, _, err := c.RecvFrom(make([]byte, 64))
			return err
		})
		t.Yield()
		r.closeErr = onGoroutine(t, func() error {
			r.local = c.LocalAddr().String()
			return c.Close()
		})
		r.recvErr, _ = receiver.Await(t)
		r.again = onGoroutine(t, c.Close)
		_, r.sendAfter = c.SendTo([]byte("x"), c.LocalAddrPort())
		return r
	})
	assert.Contains(t, r.local, "127.0.0.1:")
	assert.NoError(t, r.closeErr)
	assert.ErrorIs(t, r.recvErr, net.ErrClosed)
	assert.ErrorIs(t, r.again, net.ErrClosed)
	assert.ErrorIs(t, r.sendAfter, net.ErrClosed)
}

// Deadlines set from another goroutine reach tasks already waiting: a read
// deadline already past, then one in the future, then a write deadline; and
// a deadline cleared from a goroutine lets a read wait for its data.
func TestDeadlinesFromAnotherGoroutine(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		past, future, write, udp error
		timeout                  bool
		cleared                  string
		setErrs                  []error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		l := listen(t)
		defer l.Close()
		c, peer := connected(t, l)
		defer c.Close()
		defer peer.Close()
		read := func(t *asyncrt.Task) error {
			_, err := c.Read(make([]byte, 8))
			return err
		}
		set := func(fn func() error) {
			r.setErrs = append(r.setErrs, onGoroutine(t, fn))
		}

		reader := asyncrt.Spawn(t, read)
		t.Yield() // waiting
		set(func() error { return c.SetReadDeadline(time.Now()) })
		r.past, _ = reader.Await(t)
		var ne net.Error
		r.timeout = errors.As(r.past, &ne) && ne.Timeout()

		set(func() error { return c.SetDeadline(time.Time{}) })
		reader = asyncrt.Spawn(t, read)
		t.Yield()
		set(func() error { return c.SetDeadline(time.Now().Add(20 * time.Millisecond)) })
		r.future, _ = reader.Await(t)

		// The peer never reads: writes fill the buffers, then wait.
		set(func() error { return c.SetDeadline(time.Time{}) })
		if err := c.SetWriteBuffer(4096); err != nil {
			panic(err)
		}
		writer := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			big := make([]byte, 1<<16)
			for {
				if _, err := c.Write(big); err != nil {
					return err
				}
			}
		})
		t.Yield()
		set(func() error { return c.SetWriteDeadline(time.Now()) })
		r.write, _ = writer.Await(t)

		// Cleared from a goroutine: the read waits for the data.
		set(func() error { return c.SetDeadline(time.Time{}) })
		got := asyncrt.Spawn(t, func(t *asyncrt.Task) string {
			b := make([]byte, 8)
			n, err := c.Read(b)
			if err != nil {
				return err.Error()
			}
			return string(b[:n])
		})
		t.Yield()
		if _, err := peer.Write([]byte("data")); err != nil {
			panic(err)
		}
		r.cleared, _ = got.Await(t)

		u, err := socket.ListenUDP(t, "udp4", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer u.Close()
		receiver := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			_, _, err := u.RecvFrom(make([]byte, 64))
			return err
		})
		t.Yield()
		set(func() error { return u.SetReadDeadline(time.Now()) })
		r.udp, _ = receiver.Await(t)
		return r
	})
	assert.ErrorIs(t, r.past, os.ErrDeadlineExceeded)
	assert.True(t, r.timeout, "a deadline error is a net.Error timeout")
	assert.ErrorIs(t, r.future, os.ErrDeadlineExceeded)
	assert.ErrorIs(t, r.write, os.ErrDeadlineExceeded)
	assert.Equal(t, "data", r.cleared)
	assert.ErrorIs(t, r.udp, os.ErrDeadlineExceeded)
	for _, err := range r.setErrs {
		assert.NoError(t, err)
	}
}

// Closing from another goroutine after the runtime was closed neither
// hangs nor panics, and closes the descriptor.
func TestCloseAfterRuntimeClose(t *testing.T) {
	addr, accepted := stdPeer(t)
	rt := newRuntime(t, nil)
	type conns struct {
		c *socket.TCPConn
		u *socket.UDPConn
		l *socket.TCPListener
	}
	cs := block(t, rt, func(t *asyncrt.Task) conns {
		c, err := socket.DialTCP(t, "tcp4", addr)
		if err != nil {
			panic(err)
		}
		u, err := socket.ListenUDP(t, "udp4", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		return conns{c, u, listen(t)}
	})
	peer := <-accepted
	rt.Close()

	assert.ErrorIs(t, cs.c.SetDeadline(time.Now()), net.ErrClosed, "the runtime is closed")
	assert.Contains(t, cs.c.LocalAddr().String(), "127.0.0.1:")
	assert.NoError(t, cs.c.Close())
	assert.ErrorIs(t, cs.c.Close(), net.ErrClosed)
	assert.ErrorIs(t, readsEOF(peer), io.EOF)
	assert.NoError(t, cs.u.Close())
	assert.ErrorIs(t, cs.u.Close(), net.ErrClosed)
	assert.NoError(t, cs.l.Close())
	assert.ErrorIs(t, cs.l.Close(), net.ErrClosed)
}

// A Close from another goroutine while no BlockOn drives the runtime is
// carried out by the next BlockOn, or by Runtime.Close.
func TestCloseWhileTheRuntimeIsIdle(t *testing.T) {
	addr, accepted := stdPeer(t)
	rt := newRuntime(t, nil)
	cs := block(t, rt, func(t *asyncrt.Task) [2]*socket.TCPConn {
		var cs [2]*socket.TCPConn
		for i := range cs {
			c, err := socket.DialTCP(t, "tcp4", addr)
			if err != nil {
				panic(err)
			}
			cs[i] = c
		}
		return cs
	})
	peers := [2]net.Conn{<-accepted, <-accepted}
	// Which peer is which: the peer's remote address is the conn's local one.
	if peers[0].RemoteAddr().String() != cs[0].LocalAddr().String() {
		peers[0], peers[1] = peers[1], peers[0]
	}

	require.NoError(t, cs[0].Close())
	closedByBlockOn := block(t, rt, func(t *asyncrt.Task) error {
		_, err := cs[0].Read(make([]byte, 1))
		return err
	})
	assert.ErrorIs(t, closedByBlockOn, net.ErrClosed)
	assert.ErrorIs(t, readsEOF(peers[0]), io.EOF)

	require.NoError(t, cs[1].Close())
	rt.Close()
	assert.ErrorIs(t, readsEOF(peers[1]), io.EOF)
}

// Reads, writes, accepts and socket options from a goroutine that is not a
// task of the socket's runtime panic, saying what to do instead; Close and
// the deadline and address methods do not.
func TestSocketUsedFromAnotherGoroutinePanics(t *testing.T) {
	rt := newRuntime(t, nil)
	other := newRuntime(t, nil)
	msgs := block(t, rt, func(t *asyncrt.Task) map[string]string {
		l := listen(t)
		defer l.Close()
		c, peer := connected(t, l)
		defer c.Close()
		defer peer.Close()
		u, err := socket.ListenUDP(t, "udp4", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer u.Close()
		m := map[string]string{
			"Read":        fromGoroutine(t, func() { _, _ = c.Read(make([]byte, 1)) }),
			"Write":       fromGoroutine(t, func() { _, _ = c.Write([]byte("x")) }),
			"SetNoDelay":  fromGoroutine(t, func() { _ = c.SetNoDelay(true) }),
			"ReadFrom":    fromGoroutine(t, func() { _, _, _ = u.ReadFrom(make([]byte, 1)) }),
			"WriteTo":     fromGoroutine(t, func() { _, _ = u.WriteTo([]byte("x"), u.LocalAddr()) }),
			"Recv":        fromGoroutine(t, func() { _, _ = u.Recv(make([]byte, 1)) }),
			"AcceptOwn":   fromGoroutine(t, func() { _, _ = l.Accept(t) }),
			"SetDeadline": fromGoroutine(t, func() { _ = c.SetDeadline(time.Time{}) }),
			"Addrs":       fromGoroutine(t, func() { _, _ = c.LocalAddr(), l.Addr() }),
		}
		// A task of another runtime, which passes its own *Task.
		m["AcceptOther"] = onGoroutine(t, func() string {
			_, err := asyncrt.BlockOn(other, func(t *asyncrt.Task) int {
				_, _ = l.Accept(t)
				return 0
			})
			if err == nil {
				return ""
			}
			return err.Error()
		})
		m["ReadOther"] = onGoroutine(t, func() string {
			_, err := asyncrt.BlockOn(other, func(*asyncrt.Task) int {
				_, _ = c.Read(make([]byte, 1))
				return 0
			})
			if err == nil {
				return ""
			}
			return err.Error()
		})
		return m
	})
	const notTask = "called from a goroutine that is not one of its runtime's tasks"
	assert.Contains(t, msgs["Read"], "socket: TCPConn.Read "+notTask)
	assert.Contains(t, msgs["Read"], "call it from a task of that runtime, or hand the data across with asyncrt.Go")
	assert.Contains(t, msgs["Read"], "only Close, the deadline setters and the address methods are safe from any goroutine")
	assert.Contains(t, msgs["Write"], "socket: TCPConn.Write "+notTask)
	assert.Contains(t, msgs["ReadFrom"], "socket: UDPConn.ReadFrom "+notTask)
	assert.Contains(t, msgs["WriteTo"], "socket: UDPConn.WriteTo "+notTask)
	assert.Contains(t, msgs["Recv"], "socket: UDPConn.Recv "+notTask)
	assert.Contains(t, msgs["ReadOther"], "socket: TCPConn.Read "+notTask)
	assert.Contains(t, msgs["SetNoDelay"], "socket: set TCP_NODELAY called from a goroutine that is not running its runtime")
	assert.Contains(t, msgs["AcceptOwn"], "asyncrt: TCPListener.Accept called outside its task")
	assert.Contains(t, msgs["AcceptOther"], "socket: TCPListener.Accept called by a task of another runtime")
	assert.Empty(t, msgs["SetDeadline"])
	assert.Empty(t, msgs["Addrs"])
}
