package socket_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// The tests here run package socket's API, unchanged, on a runtime built
// with a simulated network and clock: every time they check is simulated,
// and exact.

var simStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type simEnv struct {
	clock *asyncrt.SimClock
	net   *simnet.Network
	rt    *asyncrt.Runtime
	hosts []*simnet.Host // h1 at 127.0.1.1, h2 at 127.0.1.2...
}

// newSim builds a runtime on a simulated network of n hosts.
func newSim(t *testing.T, cfg simnet.Config, n int) *simEnv {
	t.Helper()
	nw, err := simnet.New(cfg)
	require.NoError(t, err)
	s := &simEnv{clock: asyncrt.NewSimClock(simStart), net: nw}
	for i := range n {
		h, err := nw.AddHost(fmt.Sprintf("h%d", i+1), netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)}), nil)
		require.NoError(t, err)
		s.hosts = append(s.hosts, h)
	}
	s.rt = newRuntime(t, asyncrt.NewBuilder().Clock(s.clock).Network(nw))
	return s
}

// on spawns fn on host h.
func on[T any](t *asyncrt.Task, h *simnet.Host, fn func(*asyncrt.Task) T) asyncrt.JoinHandle[T] {
	return asyncrt.Spawn(t, fn, asyncrt.InNode(h.Node()))
}

// await returns the task's result, panicking (failing the test's BlockOn)
// if it did not finish well.
func await[T any](t *asyncrt.Task, h asyncrt.JoinHandle[T]) T {
	v, err := h.Await(t)
	if err != nil {
		panic(err)
	}
	return v
}

func val[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}

// listenOn opens a TCP listener on host h.
func listenOn(t *asyncrt.Task, h *simnet.Host, address string, opts ...socket.Option) *socket.TCPListener {
	return await(t, on(t, h, func(t *asyncrt.Task) *socket.TCPListener {
		return val(socket.ListenTCP(t, "tcp", address, opts...))
	}))
}

// dialFrom connects from host h.
func dialFrom(t *asyncrt.Task, h *simnet.Host, address string, opts ...socket.Option) *socket.TCPConn {
	return await(t, on(t, h, func(t *asyncrt.Task) *socket.TCPConn {
		return val(socket.DialTCP(t, "tcp", address, opts...))
	}))
}

func oneLink(latency time.Duration) simnet.Config {
	return simnet.Config{Seed: 1, Link: simnet.Link{Latency: latency}}
}

func TestSimTCPEcho(t *testing.T) {
	s := newSim(t, oneLink(time.Millisecond), 2)
	srv, cli := s.hosts[0], s.hosts[1]
	type result struct {
		dial, rtt           time.Duration
		local, remote, seen netip.AddrPort
		echo                string
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		l := listenOn(t, srv, "127.0.1.1:7000")
		seen := on(t, srv, func(t *asyncrt.Task) netip.AddrPort {
			c := val(l.Accept(t))
			defer c.Close()
			val(io.Copy(c, c)) // until the client's end of file
			return c.RemoteAddrPort()
		})
		res := await(t, on(t, cli, func(t *asyncrt.Task) result {
			var r result
			start := t.Now()
			c := val(socket.DialTCP(t, "tcp", "127.0.1.1:7000"))
			r.dial = t.Now().Sub(start)
			r.local, r.remote = c.LocalAddrPort(), c.RemoteAddrPort()
			start = t.Now()
			val(c.Write([]byte("ping")))
			buf := make([]byte, 4)
			val(io.ReadFull(c, buf))
			r.rtt, r.echo = t.Now().Sub(start), string(buf)
			check(c.Close())
			return r
		}))
		res.seen = await(t, seen)
		check(l.Close())
		return res
	})
	assert.Equal(t, 2*time.Millisecond, r.dial, "a connection takes a round trip")
	assert.Equal(t, 2*time.Millisecond, r.rtt, "an echo takes a round trip")
	assert.Equal(t, "ping", r.echo)
	assert.Equal(t, netip.MustParseAddrPort("127.0.1.1:7000"), r.remote)
	assert.Equal(t, netip.MustParseAddr("127.0.1.2"), r.local.Addr())
	assert.Equal(t, r.local, r.seen)
}

// A big transfer through small buffers: the writer waits while the reader
// sleeps, and every byte arrives, in order.
func TestSimTCPBackpressure(t *testing.T) {
	s := newSim(t, oneLink(100*time.Microsecond), 2)
	srv, cli := s.hosts[0], s.hosts[1]
	const total, chunk, buf = 1 << 20, 1 << 10, 4 << 10
	data := make([]byte, total)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	type result struct {
		writtenWhileAsleep int
		got                []byte
		rbuf, wbuf         int
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		l := listenOn(t, srv, ":7000", socket.ReadBuffer(buf))
		defer l.Close()
		written := 0
		writer := on(t, cli, func(t *asyncrt.Task) int {
			c := val(socket.DialTCP(t, "tcp", "127.0.1.1:7000", socket.WriteBuffer(buf)))
			defer c.Close()
			for off := 0; off < total; off += chunk {
				val(c.Write(data[off : off+chunk]))
				written += chunk
			}
			check(c.CloseWrite())
			return val(c.WriteBuffer())
		})
		var r result
		c := await(t, on(t, srv, func(t *asyncrt.Task) *socket.TCPConn { return val(l.Accept(t)) }))
		defer c.Close()
		r.rbuf = val(c.ReadBuffer())
		r.got = await(t, on(t, srv, func(t *asyncrt.Task) []byte {
			t.Sleep(100 * time.Millisecond)
			r.writtenWhileAsleep = written
			return val(io.ReadAll(c))
		}))
		r.wbuf = await(t, writer)
		return r
	})
	assert.Equal(t, 2*buf, r.writtenWhileAsleep, "the writer fills the receive and send buffers, then waits")
	assert.Equal(t, buf, r.rbuf)
	assert.Equal(t, buf, r.wbuf)
	require.Len(t, r.got, total)
	assert.True(t, bytes.Equal(data, r.got), "the bytes arrive in order")
}

func TestSimTCPCloseWriteAndReset(t *testing.T) {
	s := newSim(t, oneLink(time.Millisecond), 2)
	srv, cli := s.hosts[0], s.hosts[1]
	type result struct {
		req, resp  string
		eofErr     error
		resetErr   error
		resetAfter time.Duration
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		var r result
		l := listenOn(t, srv, ":7000")
		defer l.Close()
		// Half close: the server reads the request to its end of file.
		server := on(t, srv, func(t *asyncrt.Task) string {
			c := val(l.Accept(t))
			defer c.Close()
			req := val(io.ReadAll(c))
			val(c.Write([]byte("resp")))
			return string(req)
		})
		await(t, on(t, cli, func(t *asyncrt.Task) struct{} {
			c := val(socket.DialTCP(t, "tcp", "127.0.1.1:7000"))
			defer c.Close()
			val(c.Write([]byte("req")))
			check(c.CloseWrite())
			r.resp = string(val(io.ReadAll(c)))
			_, r.eofErr = c.Read(make([]byte, 1))
			return struct{}{}
		}))
		r.req = await(t, server)
		// Close with unread data: the peer is reset.
		server = on(t, srv, func(t *asyncrt.Task) string {
			c := val(l.Accept(t))
			t.Sleep(10 * time.Millisecond) // the data arrives, unread
			check(c.Close())
			return ""
		})
		await(t, on(t, cli, func(t *asyncrt.Task) struct{} {
			c := val(socket.DialTCP(t, "tcp", "127.0.1.1:7000"))
			defer c.Close()
			start := t.Now()
			val(c.Write([]byte("hello")))
			_, r.resetErr = c.Read(make([]byte, 8))
			r.resetAfter = t.Now().Sub(start)
			return struct{}{}
		}))
		await(t, server)
		return r
	})
	assert.Equal(t, "req", r.req)
	assert.Equal(t, "resp", r.resp)
	assert.Equal(t, io.EOF, r.eofErr)
	assert.ErrorIs(t, r.resetErr, syscall.ECONNRESET)
	var oe *net.OpError
	if assert.ErrorAs(t, r.resetErr, &oe) {
		assert.Equal(t, "read", oe.Op)
	}
	// The server accepts when the request arrives (1 ms before the client
	// has its connection), closes 10 ms later, and the reset takes 1 ms.
	assert.Equal(t, 10*time.Millisecond, r.resetAfter)
}

func TestSimDialRefusedAndPartition(t *testing.T) {
	s := newSim(t, oneLink(time.Millisecond), 2)
	srv, cli := s.hosts[0], s.hosts[1]
	type result struct {
		refused, timedOut   error
		refusedAfter, timed time.Duration
		healed              time.Duration
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		var r result
		l := listenOn(t, srv, ":7000")
		defer l.Close()
		accepted := on(t, srv, func(t *asyncrt.Task) *socket.TCPConn { return val(l.Accept(t)) })
		await(t, on(t, cli, func(t *asyncrt.Task) struct{} {
			start := t.Now()
			_, r.refused = socket.DialTCP(t, "tcp", "127.0.1.1:9")
			r.refusedAfter = t.Now().Sub(start)
			return struct{}{}
		}))
		check(s.net.Partition(t, srv, cli))
		await(t, on(t, cli, func(t *asyncrt.Task) struct{} {
			start := t.Now()
			_, r.timedOut = socket.DialTCP(t, "tcp", "127.0.1.1:7000", socket.ConnectTimeout(3*time.Second))
			r.timed = t.Now().Sub(start)
			return struct{}{}
		}))
		check(s.net.Heal(t, srv, cli))
		await(t, on(t, cli, func(t *asyncrt.Task) struct{} {
			start := t.Now()
			c := val(socket.DialTCP(t, "tcp", "127.0.1.1:7000", socket.ConnectTimeout(3*time.Second)))
			r.healed = t.Now().Sub(start)
			check(c.Close())
			return struct{}{}
		}))
		check(await(t, accepted).Close())
		return r
	})
	assert.ErrorIs(t, r.refused, syscall.ECONNREFUSED)
	var oe *net.OpError
	if assert.ErrorAs(t, r.refused, &oe) {
		assert.Equal(t, "dial", oe.Op)
		assert.Equal(t, "127.0.1.1:9", oe.Addr.String())
	}
	assert.Equal(t, 2*time.Millisecond, r.refusedAfter)
	assert.ErrorIs(t, r.timedOut, os.ErrDeadlineExceeded)
	var ne net.Error
	if assert.ErrorAs(t, r.timedOut, &ne) {
		assert.True(t, ne.Timeout())
	}
	assert.Equal(t, 3*time.Second, r.timed)
	assert.Equal(t, 2*time.Millisecond, r.healed)
}

func TestSimReadDeadline(t *testing.T) {
	s := newSim(t, oneLink(time.Millisecond), 2)
	srv, cli := s.hosts[0], s.hosts[1]
	type result struct {
		err      error
		at, want time.Time
		later    string
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		var r result
		l := listenOn(t, srv, ":7000")
		defer l.Close()
		on(t, srv, func(t *asyncrt.Task) struct{} {
			c := val(l.Accept(t))
			defer c.Close()
			t.Sleep(time.Second)
			val(c.Write([]byte("late")))
			return struct{}{}
		}).Detach()
		c := dialFrom(t, cli, "127.0.1.1:7000")
		defer c.Close()
		await(t, on(t, cli, func(t *asyncrt.Task) struct{} {
			r.want = t.Now().Add(50 * time.Millisecond)
			check(c.SetReadDeadline(r.want))
			_, r.err = c.Read(make([]byte, 8))
			r.at = t.Now()
			check(c.SetReadDeadline(time.Time{}))
			buf := make([]byte, 4)
			val(io.ReadFull(c, buf))
			r.later = string(buf)
			return struct{}{}
		}))
		return r
	})
	assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
	assert.Equal(t, r.want, r.at, "the read fails at the deadline exactly")
	assert.Equal(t, "late", r.later)
}

func TestSimOnAcceptAndAcceptRetry(t *testing.T) {
	s := newSim(t, oneLink(time.Millisecond), 2)
	srv, cli := s.hosts[0], s.hosts[1]
	type result struct {
		first, second, closed int
		timeoutAt, acceptAt   time.Duration
		conn                  bool
		closedErr             error
		retried               []string
		retryClosed           error
		failures              uint64
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		l := listenOn(t, srv, ":7000")
		start := t.Now()
		on(t, cli, func(t *asyncrt.Task) struct{} {
			t.Sleep(150 * time.Millisecond)
			check(val(socket.DialTCP(t, "tcp", "127.0.1.1:7000")).Close())
			return struct{}{}
		}).Detach()
		r := await(t, on(t, srv, func(t *asyncrt.Task) result {
			var r result
			acc := socket.OnAccept(l)
			r.first = val(asyncrt.Select(t, acc, asyncrt.OnTimeout(100*time.Millisecond)))
			r.timeoutAt = t.Now().Sub(start)
			r.second = val(asyncrt.Select(t, acc, asyncrt.OnTimeout(time.Second)))
			r.acceptAt = t.Now().Sub(start)
			r.conn = acc.Conn() != nil && acc.Err() == nil
			if r.conn {
				check(acc.Conn().Close())
			}
			check(l.Close())
			r.closed = val(asyncrt.Select(t, acc, asyncrt.OnTimeout(time.Second)))
			r.closedErr = acc.Err()
			return r
		}))
		// AcceptRetry: Accept, then its case, then a Close from another task.
		l = listenOn(t, srv, ":7001")
		for i := range 2 {
			on(t, cli, func(t *asyncrt.Task) struct{} {
				c := val(socket.DialTCP(t, "tcp", "127.0.1.1:7001"))
				defer c.Close()
				val(fmt.Fprintf(c, "hello %d", i))
				check(c.CloseWrite())
				val(io.ReadAll(c))
				return struct{}{}
			}).Detach()
		}
		retry := &socket.AcceptRetry{}
		r.retried = await(t, on(t, srv, func(t *asyncrt.Task) []string {
			var got []string
			c := val(retry.Accept(t, l))
			got = append(got, string(val(io.ReadAll(c))))
			check(c.Close())
			acc := retry.OnAccept(l)
			val(asyncrt.Select(t, acc))
			check(acc.Err())
			got = append(got, string(val(io.ReadAll(acc.Conn()))))
			check(acc.Conn().Close())
			return got
		}))
		closer := on(t, srv, func(t *asyncrt.Task) struct{} {
			t.Sleep(time.Millisecond)
			check(l.Close())
			return struct{}{}
		})
		_, r.retryClosed = retry.Accept(t, l)
		await(t, closer)
		r.failures = retry.Failures()
		return r
	})
	assert.Equal(t, 1, r.first, "the timeout wins while nobody connects")
	assert.Equal(t, 100*time.Millisecond, r.timeoutAt)
	assert.Equal(t, 0, r.second)
	assert.Equal(t, 151*time.Millisecond, r.acceptAt, "accepted when the request arrives")
	assert.True(t, r.conn)
	assert.Equal(t, 0, r.closed)
	assert.ErrorIs(t, r.closedErr, net.ErrClosed)
	assert.Equal(t, []string{"hello 0", "hello 1"}, r.retried)
	assert.ErrorIs(t, r.retryClosed, net.ErrClosed)
	assert.Zero(t, r.failures)
}

// udpOn opens a UDP socket on host h.
func udpOn(t *asyncrt.Task, h *simnet.Host, dial bool, address string, opts ...socket.Option) *socket.UDPConn {
	return await(t, on(t, h, func(t *asyncrt.Task) *socket.UDPConn {
		if dial {
			return val(socket.DialUDP(t, "udp", address, opts...))
		}
		return val(socket.ListenUDP(t, "udp", address, opts...))
	}))
}

type datagram struct {
	data string
	from netip.AddrPort
	at   time.Duration
}

// recvAll receives on c from a task of host h until nothing comes for
// quiet, and returns what came.
func recvAll(t *asyncrt.Task, h *simnet.Host, c *socket.UDPConn, quiet time.Duration) []datagram {
	return await(t, on(t, h, func(t *asyncrt.Task) []datagram {
		var got []datagram
		buf := make([]byte, 2048)
		for {
			check(c.SetReadDeadline(t.Now().Add(quiet)))
			n, from, err := c.RecvFrom(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return got
			}
			check(err)
			got = append(got, datagram{string(buf[:n]), from, t.Now().Sub(simStart)})
		}
	}))
}

func TestSimUDPUnicastAndConnected(t *testing.T) {
	s := newSim(t, oneLink(time.Millisecond), 3)
	a, b, c := s.hosts[0], s.hosts[1], s.hosts[2]
	type result struct {
		atB, atA, atConnected, atPeer []datagram
		dropped                       uint64
		peer                          netip.AddrPort
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		var r result
		ua := udpOn(t, a, false, "127.0.1.1:5000")
		ub := udpOn(t, b, false, ":0")
		defer ua.Close()
		defer ub.Close()
		await(t, on(t, b, func(t *asyncrt.Task) int {
			return val(ub.SendTo([]byte("hi a"), netip.MustParseAddrPort("127.0.1.1:5000")))
		}))
		r.atA = recvAll(t, a, ua, time.Second)
		await(t, on(t, a, func(t *asyncrt.Task) int { return val(ua.SendTo([]byte("hi b"), r.atA[0].from)) }))
		r.atB = recvAll(t, b, ub, time.Second)
		// A connected socket takes its peer's datagrams only.
		conn := udpOn(t, a, true, "127.0.1.2:6000")
		peer := udpOn(t, b, false, ":6000")
		other := udpOn(t, c, false, ":6000")
		defer conn.Close()
		defer peer.Close()
		defer other.Close()
		r.peer = conn.LocalAddrPort()
		dropped := s.net.Stats().DatagramsDropped
		await(t, on(t, c, func(t *asyncrt.Task) int { return val(other.SendTo([]byte("intruder"), r.peer)) }))
		await(t, on(t, b, func(t *asyncrt.Task) int { return val(peer.SendTo([]byte("peer"), r.peer)) }))
		await(t, on(t, a, func(t *asyncrt.Task) int { return val(conn.Write([]byte("to peer"))) }))
		r.atConnected = recvAll(t, a, conn, time.Second)
		r.atPeer = recvAll(t, b, peer, time.Second)
		r.dropped = s.net.Stats().DatagramsDropped - dropped
		return r
	})
	require.Len(t, r.atA, 1)
	assert.Equal(t, "hi a", r.atA[0].data)
	assert.Equal(t, netip.MustParseAddr("127.0.1.2"), r.atA[0].from.Addr())
	assert.Equal(t, time.Millisecond, r.atA[0].at, "one link's latency")
	require.Len(t, r.atB, 1)
	assert.Equal(t, "hi b", r.atB[0].data)
	assert.Equal(t, netip.MustParseAddrPort("127.0.1.1:5000"), r.atB[0].from)
	require.Len(t, r.atConnected, 1)
	assert.Equal(t, "peer", r.atConnected[0].data)
	assert.Equal(t, netip.MustParseAddrPort("127.0.1.2:6000"), r.atConnected[0].from)
	require.Len(t, r.atPeer, 1)
	assert.Equal(t, "to peer", r.atPeer[0].data)
	assert.Equal(t, r.peer, r.atPeer[0].from)
	assert.Equal(t, uint64(1), r.dropped, "the intruder's datagram")
}

func TestSimUDPMulticast(t *testing.T) {
	s := newSim(t, oneLink(time.Millisecond), 4)
	src, m1, m2, outsider := s.hosts[0], s.hosts[1], s.hosts[2], s.hosts[3]
	group := netip.MustParseAddrPort("239.1.2.3:7000")
	type result struct {
		got1, got2, gotOut, got1After, got2After []datagram
		ttl                                      int
		loop                                     bool
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		var r result
		members := []*socket.UDPConn{udpOn(t, m1, false, "0.0.0.0:7000"), udpOn(t, m2, false, "239.1.2.3:7000")}
		for i, h := range []*simnet.Host{m1, m2} {
			await(t, on(t, h, func(t *asyncrt.Task) struct{} {
				check(members[i].JoinGroup(nil, group.Addr()))
				return struct{}{}
			}))
		}
		out := udpOn(t, outsider, false, ":7000")
		sender := udpOn(t, src, false, ":0")
		send := func(msg string) {
			await(t, on(t, src, func(t *asyncrt.Task) int { return val(sender.SendTo([]byte(msg), group)) }))
		}
		await(t, on(t, src, func(t *asyncrt.Task) struct{} {
			check(sender.SetMulticastTTL(4))
			check(sender.SetMulticastInterface(&net.Interface{Index: 1, Name: "lo"}))
			r.ttl = val(sender.MulticastTTL())
			r.loop = val(sender.MulticastLoopback())
			return struct{}{}
		}))
		send("tick 1")
		r.got1 = recvAll(t, m1, members[0], time.Second)
		r.got2 = recvAll(t, m2, members[1], time.Second)
		r.gotOut = recvAll(t, outsider, out, time.Second)
		await(t, on(t, m2, func(t *asyncrt.Task) struct{} {
			check(members[1].LeaveGroup(nil, group.Addr()))
			return struct{}{}
		}))
		send("tick 2")
		r.got1After = recvAll(t, m1, members[0], time.Second)
		r.got2After = recvAll(t, m2, members[1], time.Second)
		return r
	})
	for _, got := range [][]datagram{r.got1, r.got2} {
		require.Len(t, got, 1)
		assert.Equal(t, "tick 1", got[0].data)
		assert.Equal(t, netip.MustParseAddr("127.0.1.1"), got[0].from.Addr())
	}
	assert.Empty(t, r.gotOut, "a host that did not join")
	require.Len(t, r.got1After, 1)
	assert.Equal(t, "tick 2", r.got1After[0].data)
	assert.Empty(t, r.got2After, "a host that left")
	assert.Equal(t, 4, r.ttl)
	assert.True(t, r.loop)
}

func TestSimUDPLoss(t *testing.T) {
	s := newSim(t, simnet.Config{Seed: 7, Link: simnet.Link{Latency: time.Millisecond, Loss: 0.5}}, 2)
	a, b := s.hosts[0], s.hosts[1]
	const sent = 200
	type result struct {
		got   int
		stats simnet.Stats
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		rx := udpOn(t, b, false, ":5000")
		defer rx.Close()
		tx := udpOn(t, a, true, "127.0.1.2:5000")
		defer tx.Close()
		await(t, on(t, a, func(t *asyncrt.Task) struct{} {
			for i := range sent {
				val(fmt.Fprintf(tx, "datagram %d", i))
			}
			return struct{}{}
		}))
		got := recvAll(t, b, rx, time.Second)
		return result{len(got), s.net.Stats()}
	})
	assert.Equal(t, r.stats.Datagrams, uint64(r.got))
	assert.Equal(t, uint64(sent), r.stats.Datagrams+r.stats.DatagramsLost)
	assert.Greater(t, r.got, sent/4)
	assert.Less(t, r.got, sent*3/4)
}

func TestSimCrash(t *testing.T) {
	s := newSim(t, oneLink(time.Millisecond), 2)
	srv, cli := s.hosts[0], s.hosts[1]
	type result struct {
		clientErr, serverErr, redial error
		resetAt, redialAfter         time.Duration
		afterRestart                 string
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		var r result
		l := listenOn(t, srv, ":7000")
		server := on(t, srv, func(t *asyncrt.Task) struct{} {
			c := val(l.Accept(t))
			defer c.Close()
			val(c.Read(make([]byte, 8))) // aborted by the crash
			return struct{}{}
		})
		client := on(t, cli, func(t *asyncrt.Task) struct{} {
			c := val(socket.DialTCP(t, "tcp", "127.0.1.1:7000"))
			defer c.Close()
			_, r.clientErr = c.Read(make([]byte, 8))
			r.resetAt = t.Now().Sub(simStart)
			return struct{}{}
		})
		t.Sleep(10 * time.Millisecond)
		s.hosts[0].Crash(t)
		_, r.serverErr = server.Await(t)
		await(t, client)
		// A crashed host answers nothing; restarted, it serves again.
		await(t, on(t, cli, func(t *asyncrt.Task) struct{} {
			start := t.Now()
			_, r.redial = socket.DialTCP(t, "tcp", "127.0.1.1:7000", socket.ConnectTimeout(2*time.Second))
			r.redialAfter = t.Now().Sub(start)
			return struct{}{}
		}))
		check(srv.Restart(t))
		l = listenOn(t, srv, ":7000")
		defer l.Close()
		on(t, srv, func(t *asyncrt.Task) struct{} {
			c := val(l.Accept(t))
			defer c.Close()
			val(c.Write([]byte("back")))
			return struct{}{}
		}).Detach()
		c := dialFrom(t, cli, "127.0.1.1:7000")
		defer c.Close()
		r.afterRestart = string(await(t, on(t, cli, func(t *asyncrt.Task) []byte { return val(io.ReadAll(c)) })))
		return r
	})
	assert.ErrorIs(t, r.clientErr, syscall.ECONNRESET)
	assert.Equal(t, 11*time.Millisecond, r.resetAt, "the reset leaves at the crash and takes 1 ms")
	assert.ErrorIs(t, r.serverErr, asyncrt.ErrAborted)
	assert.ErrorIs(t, r.redial, os.ErrDeadlineExceeded)
	assert.Equal(t, 2*time.Second, r.redialAfter)
	assert.Equal(t, "back", r.afterRestart)
}

// A task unwinding (cut off by a Timeout) closes its connection in a
// deferred call: the peer reads its end of file.
func TestSimCloseWhileUnwinding(t *testing.T) {
	s := newSim(t, oneLink(time.Millisecond), 2)
	srv, cli := s.hosts[0], s.hosts[1]
	type result struct {
		timeoutErr, peerErr error
		peerAt              time.Duration
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		var r result
		l := listenOn(t, srv, ":7000")
		defer l.Close()
		peer := on(t, srv, func(t *asyncrt.Task) struct{} {
			c := val(l.Accept(t))
			defer c.Close()
			_, r.peerErr = c.Read(make([]byte, 8))
			r.peerAt = t.Now().Sub(simStart)
			return struct{}{}
		})
		await(t, on(t, cli, func(t *asyncrt.Task) struct{} {
			_, r.timeoutErr = asyncrt.Timeout(t, 50*time.Millisecond, func(t *asyncrt.Task) struct{} {
				c := val(socket.DialTCP(t, "tcp", "127.0.1.1:7000"))
				defer c.Close()
				val(c.Read(make([]byte, 8)))
				return struct{}{}
			})
			return struct{}{}
		}))
		await(t, peer)
		return r
	})
	assert.Error(t, r.timeoutErr)
	assert.Equal(t, io.EOF, r.peerErr)
	assert.Equal(t, 51*time.Millisecond, r.peerAt)
}

// Close and the deadline setters from another goroutine are handed to the
// runtime.
func TestSimCloseAndDeadlineFromGoroutine(t *testing.T) {
	s := newSim(t, oneLink(time.Millisecond), 2)
	srv, cli := s.hosts[0], s.hosts[1]
	deadline := simStart.Add(time.Hour)
	type result struct {
		closedErr, deadlineErr, peerErr, readPanic string
		deadlineAt                                 time.Time
		closeTwice                                 error
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		var r result
		l := listenOn(t, srv, ":7000")
		defer l.Close()
		var held *socket.TCPConn // the server's end of c2, open until the end
		defer func() { held.Close() }()
		peers := on(t, srv, func(t *asyncrt.Task) error {
			a := val(l.Accept(t))
			defer a.Close()
			held = val(l.Accept(t))
			_, err := a.Read(make([]byte, 8))
			return err
		})
		c1 := dialFrom(t, cli, "127.0.1.1:7000")
		c2 := dialFrom(t, cli, "127.0.1.1:7000")
		defer c2.Close()
		reader := func(c *socket.TCPConn) asyncrt.JoinHandle[string] {
			return on(t, cli, func(t *asyncrt.Task) string {
				_, err := c.Read(make([]byte, 8))
				r.deadlineAt = t.Now()
				return fmt.Sprint(errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded))
			})
		}
		h1 := reader(c1)
		fromGoroutine(t, func() { check(c1.Close()) })
		r.closedErr = await(t, h1)
		r.closeTwice = c1.Close()
		h2 := reader(c2)
		fromGoroutine(t, func() { check(c2.SetReadDeadline(deadline)) })
		r.deadlineErr = await(t, h2)
		r.readPanic = fromGoroutine(t, func() { _, _ = c2.Read(make([]byte, 1)) })
		if err := await(t, peers); err != nil {
			r.peerErr = err.Error()
		} else {
			r.peerErr = "nil"
		}
		return r
	})
	assert.Equal(t, "true false", r.closedErr)
	assert.ErrorIs(t, r.closeTwice, net.ErrClosed)
	assert.Equal(t, "false true", r.deadlineErr)
	assert.Equal(t, deadline, r.deadlineAt)
	assert.Equal(t, "EOF", r.peerErr)
	assert.Contains(t, r.readPanic, "not one of its runtime's tasks")
}

func TestSimAddressesAndOptions(t *testing.T) {
	s := newSim(t, oneLink(time.Millisecond), 2)
	h1 := s.hosts[0]
	type result struct {
		noHost, name, tcp6v4, v6, notMine, service, broadcast, unconnected error
		localhost, loop6                                                   netip.AddrPort
		noDelay, noDelayAfter, bcast                                       bool
		rbuf                                                               int
	}
	r := block(t, s.rt, func(t *asyncrt.Task) result {
		var r result
		_, r.noHost = socket.ListenTCP(t, "tcp", ":7000")
		return await(t, on(t, h1, func(t *asyncrt.Task) result {
			_, r.name = socket.DialTCP(t, "tcp", "exchange.example:7000")
			_, r.tcp6v4 = socket.ListenTCP(t, "tcp6", "127.0.1.1:7000")
			_, r.v6 = socket.ListenUDP(t, "udp", "[2001:db8::1]:7000")
			_, r.notMine = socket.ListenTCP(t, "tcp", "127.0.1.2:7000")
			_, r.service = socket.ListenTCP(t, "tcp", ":http")
			// localhost and ::1 are the host's own loopback.
			l := val(socket.ListenTCP(t, "tcp", "localhost:7000"))
			defer l.Close()
			c := val(socket.DialTCP(t, "tcp", "localhost:7000", socket.NoDelay(false),
				socket.KeepAlive(time.Minute), socket.Linger(0), socket.ReadBuffer(1000)))
			defer c.Close()
			r.localhost = c.RemoteAddrPort()
			r.noDelay = val(c.NoDelay())
			check(c.SetNoDelay(true))
			r.noDelayAfter = val(c.NoDelay())
			check(c.SetKeepAlive(true, time.Minute))
			check(c.SetLinger(5))
			r.rbuf = val(c.ReadBuffer())
			l6 := val(socket.ListenTCP(t, "tcp6", ":7001"))
			defer l6.Close()
			c6 := val(socket.DialTCP(t, "tcp6", "[::1]:7001"))
			defer c6.Close()
			r.loop6 = c6.RemoteAddrPort()
			u := val(socket.ListenUDP(t, "udp", ":0", socket.Broadcast(true), socket.ReuseAddr(true), socket.ReusePort(true)))
			defer u.Close()
			r.bcast = val(u.Broadcast())
			_, r.broadcast = u.SendTo([]byte("all"), netip.MustParseAddrPort("255.255.255.255:9"))
			_, r.unconnected = u.Write([]byte("nobody"))
			return r
		}))
	})
	assert.ErrorContains(t, r.noHost, "on no simulated host")
	assert.ErrorContains(t, r.name, "no names to look up")
	assert.ErrorContains(t, r.tcp6v4, "reaches ::1")
	assert.ErrorContains(t, r.v6, "IPv4, plus ::1")
	assert.ErrorIs(t, r.notMine, syscall.EADDRNOTAVAIL)
	assert.ErrorContains(t, r.service, "give the port as a number")
	assert.ErrorContains(t, r.broadcast, "no broadcast")
	assert.ErrorIs(t, r.unconnected, syscall.EDESTADDRREQ)
	for _, err := range []error{r.noHost, r.name, r.tcp6v4, r.v6, r.notMine, r.service, r.broadcast, r.unconnected} {
		var oe *net.OpError
		assert.ErrorAs(t, err, &oe)
	}
	assert.Equal(t, netip.MustParseAddrPort("127.0.0.1:7000"), r.localhost)
	assert.Equal(t, netip.MustParseAddrPort("[::1]:7001"), r.loop6)
	assert.False(t, r.noDelay)
	assert.True(t, r.noDelayAfter)
	assert.True(t, r.bcast)
	assert.Equal(t, 1000, r.rbuf)
}

// simScenario runs TCP and UDP traffic over lossy, jittery links and
// returns the network's digest.
func simScenario(t *testing.T, seed uint64) uint64 {
	link := simnet.Link{Latency: time.Millisecond, Jitter: 700 * time.Microsecond, Loss: 0.1, Reorder: 0.2}
	s := newSim(t, simnet.Config{Seed: seed, Link: link}, 3)
	srv, c1, c2 := s.hosts[0], s.hosts[1], s.hosts[2]
	block(t, s.rt, func(t *asyncrt.Task) struct{} {
		l := listenOn(t, srv, ":7000")
		defer l.Close()
		on(t, srv, func(t *asyncrt.Task) struct{} {
			for {
				c, err := l.Accept(t)
				if err != nil {
					return struct{}{}
				}
				on(t, srv, func(t *asyncrt.Task) struct{} {
					defer c.Close()
					_, _ = io.Copy(c, c)
					return struct{}{}
				}).Detach()
			}
		}).Detach()
		rx := udpOn(t, srv, false, ":5000")
		defer rx.Close()
		var clients []asyncrt.JoinHandle[struct{}]
		for i, h := range []*simnet.Host{c1, c2} {
			clients = append(clients, on(t, h, func(t *asyncrt.Task) struct{} {
				c := val(socket.DialTCP(t, "tcp", "127.0.1.1:7000"))
				defer c.Close()
				u := val(socket.DialUDP(t, "udp", "127.0.1.1:5000"))
				defer u.Close()
				buf := make([]byte, 100)
				for j := range 20 {
					msg := bytes.Repeat([]byte{byte(i*20 + j)}, 100)
					val(c.Write(msg))
					val(io.ReadFull(c, buf))
					val(u.Write(msg[:10+j]))
				}
				return struct{}{}
			}))
		}
		for _, h := range clients {
			await(t, h)
		}
		recvAll(t, srv, rx, time.Second)
		return struct{}{}
	})
	return s.net.Digest()
}

func TestSimDigestFollowsTheSeed(t *testing.T) {
	a, b, c := simScenario(t, 1), simScenario(t, 1), simScenario(t, 2)
	assert.Equal(t, a, b, "the same seed, the same run")
	assert.NotEqual(t, a, c, "another seed, another run")
}
