package simnet_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
)

var noOpts = simnet.StreamOptions{}

// pair is a network of a server host (127.0.1.1) and a client host
// (127.0.1.2) joined by link, on a runtime of its own.
type pair struct {
	net         *simnet.Network
	server, cli *simnet.Host
	rt          *asyncrt.Runtime
	clock       *asyncrt.SimClock
}

func newPair(t *testing.T, seed uint64, link simnet.Link) *pair {
	n := newNetwork(t, simnet.Config{Seed: seed, Link: link})
	p := &pair{net: n, server: addHost(t, n, "server", "127.0.1.1"), cli: addHost(t, n, "client", "127.0.1.2")}
	p.rt, p.clock = build(t, n)
	return p
}

// connect makes a connection from the client to a listener of the server
// on port, with options for each end, and returns both ends. It takes one
// round trip.
func (p *pair) connect(t *asyncrt.Task, port uint16, cliOpts, srvOpts simnet.StreamOptions) (cli, srv *simnet.Stream) {
	l := listen(t, p.server, port, 1, srvOpts)
	accepted := on(t, p.server, func(t *asyncrt.Task) *simnet.Stream {
		s, err := l.Accept(t)
		if err != nil {
			panic(err)
		}
		if err := l.Close(t); err != nil {
			panic(err)
		}
		return s
	})
	cli = await(t, on(t, p.cli, func(t *asyncrt.Task) *simnet.Stream {
		s, err := simnet.Dial(t, netipAddrPort(p.server, port), time.Time{}, cliOpts)
		if err != nil {
			panic(err)
		}
		return s
	}))
	return cli, await(t, accepted)
}

func netipAddrPort(h *simnet.Host, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(h.Addr(), port)
}

func TestConnectAndTransferTimes(t *testing.T) {
	const lat = 5 * time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	run(t, p.rt, func(task *asyncrt.Task) error {
		l := listen(task, p.server, 7000, 8, noOpts)
		assert.Equal(t, addrPort("127.0.1.1:7000"), l.Addr())
		server := on(task, p.server, func(task *asyncrt.Task) error {
			s, err := l.Accept(task)
			if err != nil {
				return err
			}
			assert.Equal(t, lat, elapsed(task), "the server's end exists once the request arrives")
			assert.Equal(t, addrPort("127.0.1.1:7000"), s.LocalAddr())
			assert.Equal(t, addrPort("127.0.1.2:32768"), s.RemoteAddr())
			buf := make([]byte, 16)
			k, err := s.Read(task, buf)
			if err != nil {
				return err
			}
			assert.Equal(t, "ping", string(buf[:k]))
			assert.Equal(t, 3*lat, elapsed(task), "written at 2×latency, it arrives a latency later")
			if _, err := s.Write(task, []byte("pong")); err != nil {
				return err
			}
			rest, err := readAll(task, s, 16)
			assert.Empty(t, rest)
			assert.Equal(t, 5*lat, elapsed(task), "the client's FIN")
			assert.NoError(t, s.Close(task))
			return errors.Join(err, l.Close(task))
		})
		client := on(task, p.cli, func(task *asyncrt.Task) error {
			s, err := simnet.Dial(task, addrPort("127.0.1.1:7000"), time.Time{}, noOpts)
			if err != nil {
				return err
			}
			assert.Equal(t, 2*lat, elapsed(task), "a connection takes one round trip")
			assert.Equal(t, addrPort("127.0.1.2:32768"), s.LocalAddr())
			assert.Equal(t, addrPort("127.0.1.1:7000"), s.RemoteAddr())
			if _, err := s.Write(task, []byte("ping")); err != nil {
				return err
			}
			buf := make([]byte, 16)
			k, err := s.Read(task, buf)
			if err != nil {
				return err
			}
			assert.Equal(t, "pong", string(buf[:k]))
			assert.Equal(t, 4*lat, elapsed(task))
			return s.Close(task)
		})
		assert.NoError(t, await(task, server))
		assert.NoError(t, await(task, client))
		assert.Equal(t, 5*lat, p.clock.Elapsed())
		return nil
	})
	st := p.net.Stats()
	assert.EqualValues(t, 1, st.Connects)
	assert.EqualValues(t, 4, st.Segments, "ping, pong and a FIN each way")
	assert.EqualValues(t, 8, st.SegmentBytes)
	assert.Zero(t, st.Resets+st.Refused+st.Retransmits)
}

// N bytes at B bytes per second take N/B, and the latency, to arrive; each
// direction has a queue of its own.
func TestBandwidth(t *testing.T) {
	const (
		lat = 2 * time.Millisecond
		bw  = 1_000_000 // 1 byte per µs
	)
	p := newPair(t, 1, simnet.Link{Latency: lat, Bandwidth: bw})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, noOpts, noOpts)
		assert.Equal(t, 2*lat, elapsed(task), "requests carry no bytes")
		t0 := task.Now()
		// The server sends 50 000 bytes to the client while the client
		// sends 100 000 to the server.
		// Each end writes send bytes, then reads the want bytes the other
		// end writes, noting when each read returned.
		both := func(s *simnet.Stream, send, want int) func(*asyncrt.Task) []time.Duration {
			return func(task *asyncrt.Task) []time.Duration {
				if _, err := s.Write(task, pattern(0, send)); err != nil {
					panic(err)
				}
				var arrivals []time.Duration
				got := 0
				buf := make([]byte, 1<<20)
				for got < want {
					k, err := s.Read(task, buf)
					if err != nil {
						panic(err)
					}
					assert.Equal(t, pattern(got, k), buf[:k])
					got += k
					arrivals = append(arrivals, task.Now().Sub(t0))
				}
				return arrivals
			}
		}
		down := on(task, p.server, both(srv, 50_000, 100_000))
		up := on(task, p.cli, both(cli, 100_000, 50_000))
		// The client's write buffer (64 KiB) goes first, as one segment,
		// then the rest: 100 000 bytes in 100 ms.
		assert.Equal(t, []time.Duration{65_536*time.Microsecond + lat, 100*time.Millisecond + lat}, await(task, down))
		assert.Equal(t, []time.Duration{50*time.Millisecond + lat}, await(task, up))
		assert.NoError(t, cli.Close(task))
		assert.NoError(t, srv.Close(task))
		return nil
	})
}

// Jitter delays segments differently, but a connection's bytes keep their
// order: a late segment holds back those behind it.
func TestOrderUnderJitter(t *testing.T) {
	const records = 2000
	p := newPair(t, 7, simnet.Link{Latency: time.Millisecond, Jitter: 10 * time.Millisecond})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, noOpts, noOpts)
		reader := on(task, p.server, func(task *asyncrt.Task) []byte {
			got, err := readAll(task, srv, 7)
			assert.NoError(t, err)
			return got
		})
		on(task, p.cli, func(task *asyncrt.Task) struct{} {
			for i := range records {
				if _, err := cli.Write(task, pattern(4*i, 4)); err != nil {
					panic(err)
				}
				task.Sleep(50 * time.Microsecond) // a segment each
			}
			assert.NoError(t, cli.Close(task))
			return struct{}{}
		}).Detach()
		assert.Equal(t, pattern(0, 4*records), await(task, reader))
		assert.NoError(t, srv.Close(task))
		return nil
	})
	st := p.net.Stats()
	assert.EqualValues(t, records+2, st.Segments, "and a FIN each way")
	assert.EqualValues(t, 4*records, st.SegmentBytes)
}

// With small buffers, a writer waits while its reader does not read: what
// is written and not read never exceeds the send buffer and the receive
// buffer together. Every byte arrives, in order.
func TestFlowControl(t *testing.T) {
	const (
		total  = 20_000
		sndBuf = 1000
		rcvBuf = 2000
		chunk  = 300
		read   = 500
		pause  = 100 * time.Millisecond
	)
	p := newPair(t, 3, simnet.Link{Latency: time.Millisecond, Jitter: 300 * time.Microsecond})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, simnet.StreamOptions{WriteBuffer: sndBuf}, simnet.StreamOptions{ReadBuffer: rcvBuf})
		assert.Equal(t, sndBuf, cli.WriteBuffer())
		assert.Equal(t, rcvBuf, srv.ReadBuffer())
		assert.Equal(t, simnet.DefaultReadBuffer, cli.ReadBuffer())
		assert.Equal(t, simnet.DefaultWriteBuffer, srv.WriteBuffer())
		written, consumed := 0, 0
		var blocked time.Duration
		writer := on(task, p.cli, func(task *asyncrt.Task) time.Duration {
			for written < total {
				before := task.Now()
				k, err := cli.Write(task, pattern(written, min(chunk, total-written)))
				if err != nil {
					panic(err)
				}
				written += k
				blocked += task.Now().Sub(before)
				// The model: at most both buffers' worth is unread.
				assert.LessOrEqual(t, written-consumed, sndBuf+rcvBuf, "at %v", elapsed(task))
			}
			assert.NoError(t, cli.CloseWrite(task))
			return task.Now().Sub(simStart)
		})
		reader := on(task, p.server, func(task *asyncrt.Task) []byte {
			var got []byte
			buf := make([]byte, read)
			for {
				task.Sleep(pause)
				k, err := srv.Read(task, buf)
				got = append(got, buf[:k]...)
				consumed += k
				if errors.Is(err, io.EOF) {
					return got
				}
				if err != nil {
					panic(err)
				}
				assert.LessOrEqual(t, k, rcvBuf)
			}
		})
		done := await(task, writer)
		assert.Equal(t, pattern(0, total), await(task, reader))
		// The writer could not finish before the reader had taken all but
		// the two buffers' worth: 17 000 bytes, 34 reads of 500 bytes a
		// pause apart.
		assert.GreaterOrEqual(t, done, 34*pause)
		assert.Less(t, done, 36*pause)
		assert.Greater(t, blocked, 30*pause, "the writer spent its time waiting")
		assert.NoError(t, cli.Close(task))
		assert.NoError(t, srv.Close(task))
		return nil
	})
}

// CloseWrite is a half close: the peer reads what was written, then EOF,
// and can still answer.
func TestHalfClose(t *testing.T) {
	const lat = time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, noOpts, noOpts)
		server := on(task, p.server, func(task *asyncrt.Task) error {
			req, err := readAll(task, srv, 3)
			if err != nil {
				return err
			}
			assert.Equal(t, "request", string(req))
			assert.Equal(t, 3*lat, elapsed(task))
			// EOF again, and again.
			k, err := srv.Read(task, make([]byte, 4))
			assert.Zero(t, k)
			assert.ErrorIs(t, err, io.EOF)
			assert.True(t, srv.Readable())
			if _, err := srv.Write(task, []byte("response")); err != nil {
				return err
			}
			return srv.Close(task)
		})
		assert.False(t, cli.Readable())
		_, err := cli.Write(task, []byte("request"))
		require.NoError(t, err)
		require.NoError(t, cli.CloseWrite(task))
		require.NoError(t, cli.CloseWrite(task), "a second CloseWrite does nothing")
		_, err = cli.Write(task, []byte("more"))
		assert.ErrorIs(t, err, unix.EPIPE)
		assert.EqualError(t, err, "write: broken pipe")
		resp, err := readAll(task, cli, 64)
		assert.NoError(t, err)
		assert.Equal(t, "response", string(resp))
		assert.Equal(t, 4*lat, elapsed(task))
		assert.NoError(t, await(task, server))
		assert.NoError(t, cli.Close(task))
		// A closed stream reports net.ErrClosed.
		_, err = cli.Read(task, make([]byte, 1))
		assert.ErrorIs(t, err, net.ErrClosed)
		_, err = cli.Write(task, []byte("x"))
		assert.ErrorIs(t, err, net.ErrClosed)
		assert.ErrorIs(t, cli.CloseWrite(task), net.ErrClosed)
		assert.ErrorIs(t, cli.CloseRead(task), net.ErrClosed)
		assert.ErrorIs(t, cli.Close(task), net.ErrClosed)
		return nil
	})
	assert.Zero(t, p.net.Stats().Resets)
}

// CloseRead: reads return EOF, and what arrives is thrown away.
func TestCloseRead(t *testing.T) {
	p := newPair(t, 1, simnet.Link{Latency: time.Millisecond})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, noOpts, noOpts)
		reader := on(task, p.server, func(task *asyncrt.Task) error {
			_, err := srv.Read(task, make([]byte, 8))
			return err
		})
		task.Yield()
		require.NoError(t, srv.CloseRead(task))
		assert.ErrorIs(t, await(task, reader), io.EOF, "a waiting reader wakes to EOF")
		_, err := cli.Write(task, []byte("ignored"))
		require.NoError(t, err)
		task.Sleep(10 * time.Millisecond)
		k, err := srv.Read(task, make([]byte, 8))
		assert.Zero(t, k)
		assert.ErrorIs(t, err, io.EOF)
		// The server can still write.
		_, err = srv.Write(task, []byte("hi"))
		require.NoError(t, err)
		require.NoError(t, srv.Close(task))
		got, err := readAll(task, cli, 8)
		assert.NoError(t, err)
		assert.Equal(t, "hi", string(got))
		return cli.Close(task)
	})
	assert.Zero(t, p.net.Stats().Resets)
}

// Closing a stream whose data was never read resets the peer, as TCP does.
func TestCloseWithUnreadDataResets(t *testing.T) {
	const lat = 3 * time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, noOpts, noOpts)
		_, err := cli.Write(task, []byte("unread"))
		require.NoError(t, err)
		task.SleepUntil(simStart.Add(20 * time.Millisecond))
		require.NoError(t, srv.Close(task))
		k, err := cli.Read(task, make([]byte, 8))
		assert.Zero(t, k)
		assert.ErrorIs(t, err, unix.ECONNRESET)
		assert.EqualError(t, err, "read: connection reset by peer")
		assert.Equal(t, 20*time.Millisecond+lat, elapsed(task), "the reset takes a latency")
		assert.True(t, cli.Readable())
		_, err = cli.Write(task, []byte("x"))
		assert.ErrorIs(t, err, unix.ECONNRESET)
		assert.ErrorIs(t, cli.CloseWrite(task), unix.ECONNRESET)
		assert.NoError(t, cli.Close(task))
		return nil
	})
	assert.EqualValues(t, 1, p.net.Stats().Resets)
}

// Data sent to a closed stream is answered with a reset.
func TestWriteToClosedPeerResets(t *testing.T) {
	const lat = time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, noOpts, noOpts)
		require.NoError(t, srv.Close(task))
		t0 := task.Now()
		got, err := readAll(task, cli, 8)
		require.NoError(t, err)
		assert.Empty(t, got)
		assert.Equal(t, lat, task.Now().Sub(t0))
		_, err = cli.Write(task, []byte("anyone?")) // the peer still reads: half closed
		require.NoError(t, err)
		task.Sleep(3 * lat) // a round trip, and some
		_, err = cli.Write(task, []byte("x"))
		assert.ErrorIs(t, err, unix.ECONNRESET, "the data found no one and came back a reset")
		return cli.Close(task)
	})
	assert.EqualValues(t, 1, p.net.Stats().Resets)
}

// Closing a listener resets the connections it has not accepted, and
// wakes the tasks waiting to accept with net.ErrClosed.
func TestListenerCloseResetsQueued(t *testing.T) {
	const lat = 2 * time.Millisecond
	n := newNetwork(t, simnet.Config{Link: simnet.Link{Latency: lat}})
	srv := addHost(t, n, "server", "127.0.1.1")
	var clients []*simnet.Host
	for i, a := range []string{"127.0.2.1", "127.0.2.2", "127.0.2.3"} {
		clients = append(clients, addHost(t, n, "c"+string(rune('0'+i)), a))
	}
	rt, _ := build(t, n)
	run(t, rt, func(task *asyncrt.Task) error {
		l := listen(task, srv, 80, 4, noOpts)
		idle := listen(task, srv, 81, 4, noOpts)
		waiting := on(task, srv, func(task *asyncrt.Task) error {
			_, err := idle.Accept(task)
			return err
		})
		selecting := on(task, srv, func(task *asyncrt.Task) error {
			c := simnet.OnAccept(idle)
			i, err := asyncrt.Select(task, c, asyncrt.OnTimeout(time.Hour))
			assert.Equal(t, 0, i)
			assert.Nil(t, c.Stream())
			return errors.Join(err, c.Err())
		})
		var readers []asyncrt.JoinHandle[error]
		for _, c := range clients {
			readers = append(readers, on(task, c, func(task *asyncrt.Task) error {
				s, err := simnet.Dial(task, addrPort("127.0.1.1:80"), time.Time{}, noOpts)
				if err != nil {
					return err
				}
				assert.Equal(t, 2*lat, elapsed(task))
				_, err = s.Read(task, make([]byte, 1))
				assert.Equal(t, 10*time.Millisecond+lat, elapsed(task))
				assert.NoError(t, s.Close(task))
				return err
			}))
		}
		task.SleepUntil(simStart.Add(10 * time.Millisecond))
		require.NoError(t, l.Close(task))
		require.NoError(t, idle.Close(task))
		assert.ErrorIs(t, l.Close(task), net.ErrClosed)
		_, err := l.Accept(task)
		assert.ErrorIs(t, err, net.ErrClosed)
		for _, r := range readers {
			assert.ErrorIs(t, await(task, r), unix.ECONNRESET)
		}
		assert.ErrorIs(t, await(task, waiting), net.ErrClosed)
		assert.ErrorIs(t, await(task, selecting), net.ErrClosed)
		return nil
	})
	st := n.Stats()
	assert.EqualValues(t, 3, st.Connects)
	assert.EqualValues(t, 3, st.Resets)
}

// OnAccept accepts in a Select.
func TestOnAccept(t *testing.T) {
	p := newPair(t, 1, simnet.Link{Latency: time.Millisecond})
	run(t, p.rt, func(task *asyncrt.Task) error {
		l := listen(task, p.server, 80, 1, noOpts)
		accepted := on(task, p.server, func(task *asyncrt.Task) *simnet.Stream {
			c := simnet.OnAccept(l)
			i, err := asyncrt.Select(task, asyncrt.OnTimeout(time.Millisecond/2), c)
			assert.NoError(t, err)
			assert.Equal(t, 0, i, "nothing to accept in half a millisecond")
			i, err = asyncrt.Select(task, asyncrt.OnTimeout(time.Hour), c)
			assert.NoError(t, err)
			assert.Equal(t, 1, i)
			assert.NoError(t, c.Err())
			assert.Equal(t, time.Millisecond, elapsed(task))
			return c.Stream()
		})
		cli := await(task, on(task, p.cli, func(task *asyncrt.Task) *simnet.Stream {
			s, err := simnet.Dial(task, addrPort("127.0.1.1:80"), time.Time{}, noOpts)
			assert.NoError(t, err)
			return s
		}))
		srv := await(task, accepted)
		require.NotNil(t, srv)
		assert.Equal(t, cli.LocalAddr(), srv.RemoteAddr())
		assert.NoError(t, l.Close(task))
		assert.NoError(t, cli.Close(task))
		assert.NoError(t, srv.Close(task))
		return nil
	})
}

// A full accept queue drops connection requests; the dialer sends them
// again after 1 s, then 2 s more, as TCP does.
func TestBacklogFullDialerRetries(t *testing.T) {
	const lat = time.Millisecond
	n := newNetwork(t, simnet.Config{Link: simnet.Link{Latency: lat}})
	srv := addHost(t, n, "server", "127.0.1.1")
	a := addHost(t, n, "a", "127.0.1.2")
	b := addHost(t, n, "b", "127.0.1.3")
	rt, _ := build(t, n)
	run(t, rt, func(task *asyncrt.Task) error {
		l := listen(task, srv, 80, 1, noOpts)
		dial := func(task *asyncrt.Task) *simnet.Stream {
			s, err := simnet.Dial(task, addrPort("127.0.1.1:80"), time.Time{}, noOpts)
			if err != nil {
				panic(err)
			}
			return s
		}
		first, second := on(task, a, dial), on(task, b, dial)
		s1 := await(task, first)
		assert.Equal(t, 2*lat, elapsed(task))
		task.SleepUntil(simStart.Add(2500 * time.Millisecond))
		srv1, err := l.Accept(task)
		require.NoError(t, err)
		// Requests at 0 and 1 s found the queue full; the one at 3 s
		// gets in.
		s2 := await(task, second)
		assert.Equal(t, 3*time.Second+2*lat, elapsed(task))
		srv2, err := l.Accept(task)
		require.NoError(t, err)
		assert.Equal(t, s2.LocalAddr(), srv2.RemoteAddr())
		for _, s := range []*simnet.Stream{s1, s2, srv1, srv2} {
			assert.NoError(t, s.Close(task))
		}
		return l.Close(task)
	})
	assert.EqualValues(t, 2, n.Stats().Connects)
	assert.Zero(t, n.Stats().Resets)
}

func TestDialRefused(t *testing.T) {
	const lat = 4 * time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	run(t, p.rt, func(task *asyncrt.Task) error {
		await(task, on(task, p.cli, func(task *asyncrt.Task) struct{} {
			// Nobody listens on the port: refused after a round trip.
			s, err := simnet.Dial(task, addrPort("127.0.1.1:80"), time.Time{}, noOpts)
			assert.Nil(t, s)
			assert.ErrorIs(t, err, unix.ECONNREFUSED)
			assert.EqualError(t, err, "connect: connection refused")
			assert.Equal(t, 2*lat, elapsed(task))
			// No host has the address: refused at once.
			_, err = simnet.Dial(task, addrPort("127.0.9.9:80"), time.Time{}, noOpts)
			assert.ErrorIs(t, err, unix.ECONNREFUSED)
			// Loopback: the host's own port, at once.
			_, err = simnet.Dial(task, addrPort("127.0.0.1:80"), time.Time{}, noOpts)
			assert.ErrorIs(t, err, unix.ECONNREFUSED)
			assert.Equal(t, 2*lat, elapsed(task))
			return struct{}{}
		}))
		return nil
	})
	assert.EqualValues(t, 2, p.net.Stats().Refused)
}

// A host reaches itself through loopback at once; a listener bound to
// loopback takes connections from its own host only.
func TestLoopback(t *testing.T) {
	p := newPair(t, 1, simnet.Link{Latency: time.Millisecond})
	run(t, p.rt, func(task *asyncrt.Task) error {
		await(task, on(task, p.server, func(task *asyncrt.Task) struct{} {
			l, err := simnet.Listen(task, addrPort("127.0.0.1:80"), 1, noOpts)
			if !assert.NoError(t, err) {
				return struct{}{}
			}
			accepted := asyncrt.Spawn(task, func(task *asyncrt.Task) *simnet.Stream {
				s, err := l.Accept(task)
				assert.NoError(t, err)
				return s
			})
			c, err := simnet.Dial(task, addrPort("127.0.0.1:80"), time.Time{}, noOpts)
			if !assert.NoError(t, err) {
				return struct{}{}
			}
			assert.Zero(t, elapsed(task))
			s := await(task, accepted)
			assert.Equal(t, addrPort("127.0.0.1:32768"), c.LocalAddr())
			assert.Equal(t, addrPort("127.0.0.1:80"), s.LocalAddr())
			assert.Equal(t, c.LocalAddr(), s.RemoteAddr())
			_, err = c.Write(task, []byte("self"))
			assert.NoError(t, err)
			assert.NoError(t, c.Close(task))
			got, err := readAll(task, s, 8)
			assert.NoError(t, err)
			assert.Equal(t, "self", string(got))
			assert.Zero(t, elapsed(task))
			assert.NoError(t, s.Close(task))

			// Another host cannot reach it.
			err = await(task, on(task, p.cli, func(task *asyncrt.Task) error {
				_, err := simnet.Dial(task, addrPort("127.0.1.1:80"), time.Time{}, noOpts)
				return err
			}))
			assert.ErrorIs(t, err, unix.ECONNREFUSED)
			assert.NoError(t, l.Close(task))
			return struct{}{}
		}))
		return nil
	})
}

// While a link is cut, connection requests are retried after 1, 2, 4...
// seconds; the attempt times out after 127 s, or at its deadline.
func TestPartitionedDial(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline time.Duration // from the start; 0 for none
		heal     time.Duration // 0 for never
		want     error
		at       time.Duration
	}{
		{"times out", 0, 0, unix.ETIMEDOUT, 127 * time.Second},
		{"deadline", 10 * time.Second, 0, os.ErrDeadlineExceeded, 10 * time.Second},
		{"deadline after the last retry", 200 * time.Second, 0, unix.ETIMEDOUT, 127 * time.Second},
		{"healed", 0, 5 * time.Second, nil, 7*time.Second + 2*time.Millisecond},
		{"healed at a retry", 0, 15 * time.Second, nil, 15*time.Second + 2*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, 1, simnet.Link{Latency: time.Millisecond})
			run(t, p.rt, func(task *asyncrt.Task) error {
				l := listen(task, p.server, 80, 1, noOpts)
				require.NoError(t, p.net.Partition(task, p.cli, p.server))
				dial := on(task, p.cli, func(task *asyncrt.Task) error {
					var deadline time.Time
					if tc.deadline > 0 {
						deadline = simStart.Add(tc.deadline)
					}
					s, err := simnet.Dial(task, addrPort("127.0.1.1:80"), deadline, noOpts)
					assert.Equal(t, tc.at, elapsed(task))
					if err == nil {
						assert.NoError(t, s.Close(task))
					}
					return err
				})
				if tc.heal > 0 {
					task.SleepUntil(simStart.Add(tc.heal))
					require.NoError(t, p.net.Heal(task, p.server, p.cli))
				}
				err := await(task, dial)
				if tc.want == nil {
					assert.NoError(t, err)
					s, err := l.Accept(task)
					require.NoError(t, err)
					assert.NoError(t, s.Close(task))
				} else {
					assert.ErrorIs(t, err, tc.want)
				}
				return l.Close(task)
			})
		})
	}
}

// What is written while a link is cut waits, and flows once it heals.
func TestHealSendsQueuedData(t *testing.T) {
	const lat = time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, noOpts, noOpts)
		require.NoError(t, p.net.Partition(task, p.server, p.cli))
		t0 := task.Now()
		_, err := cli.Write(task, []byte("queued"))
		require.NoError(t, err)
		srv.SetReadDeadline(t0.Add(10 * time.Second))
		_, err = srv.Read(task, make([]byte, 8))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Equal(t, 10*time.Second, task.Now().Sub(t0))
		srv.SetReadDeadline(time.Time{})
		healer := asyncrt.SpawnFunc(task, func(task *asyncrt.Task) {
			task.SleepUntil(t0.Add(20 * time.Second))
			assert.NoError(t, p.net.Heal(task, p.server, p.cli))
		})
		buf := make([]byte, 8)
		k, err := srv.Read(task, buf)
		require.NoError(t, err)
		assert.Equal(t, "queued", string(buf[:k]))
		assert.Equal(t, 20*time.Second+lat, task.Now().Sub(t0))
		assert.NoError(t, healer.Wait(task))
		assert.NoError(t, cli.Close(task))
		assert.NoError(t, srv.Close(task))
		return nil
	})
	assert.EqualValues(t, 1, p.net.Stats().Partitions)
}

// A stream closed while its link is cut still delivers what it was given,
// and then its FIN, once the link heals.
func TestHealAfterCloseDeliversData(t *testing.T) {
	const lat = time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, noOpts, noOpts)
		require.NoError(t, p.net.Partition(task, p.server, p.cli))
		_, err := cli.Write(task, []byte("last words"))
		require.NoError(t, err)
		require.NoError(t, cli.Close(task))
		task.Sleep(time.Second)
		t0 := task.Now()
		require.NoError(t, p.net.Heal(task, p.cli, p.server))
		srv.SetReadDeadline(t0.Add(time.Minute))
		got, err := readAll(task, srv, 64)
		assert.NoError(t, err)
		assert.Equal(t, "last words", string(got))
		assert.Equal(t, lat, task.Now().Sub(t0))
		return srv.Close(task)
	})
}

// Loss on a TCP link delays bytes (retransmissions) but never loses them.
func TestLossDelaysButNeverLoses(t *testing.T) {
	const total = 300_000
	transfer := func(t *testing.T, loss float64) (time.Duration, simnet.Stats) {
		p := newPair(t, 11, simnet.Link{Latency: time.Millisecond, Jitter: time.Millisecond, Bandwidth: 100_000_000, Loss: loss})
		var took time.Duration
		run(t, p.rt, func(task *asyncrt.Task) error {
			cli, srv := p.connect(task, 80, simnet.StreamOptions{WriteBuffer: 8 << 10}, simnet.StreamOptions{ReadBuffer: 16 << 10})
			t0 := task.Now()
			on(task, p.cli, func(task *asyncrt.Task) struct{} {
				for off := 0; off < total; off += 1000 {
					if _, err := cli.Write(task, pattern(off, 1000)); err != nil {
						panic(err)
					}
				}
				assert.NoError(t, cli.Close(task))
				return struct{}{}
			}).Detach()
			got, err := readAll(task, srv, 4096)
			assert.NoError(t, err)
			assert.True(t, bytes.Equal(pattern(0, total), got), "the bytes arrived whole and in order")
			took = task.Now().Sub(t0)
			return srv.Close(task)
		})
		return took, p.net.Stats()
	}
	clean, cleanStats := transfer(t, 0)
	lossy, lossyStats := transfer(t, 0.2)
	assert.Zero(t, cleanStats.Retransmits)
	assert.Positive(t, lossyStats.Retransmits)
	assert.Equal(t, cleanStats.SegmentBytes, lossyStats.SegmentBytes)
	assert.EqualValues(t, total, lossyStats.SegmentBytes)
	assert.Greater(t, lossy, clean+200*time.Millisecond, "each loss costs a 200 ms timeout at least")
}

// Deadlines end reads and writes at their time exactly; setting one wakes
// a waiting task to see it.
func TestDeadlines(t *testing.T) {
	p := newPair(t, 1, simnet.Link{Latency: time.Millisecond})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, simnet.StreamOptions{WriteBuffer: 100}, simnet.StreamOptions{ReadBuffer: 100})
		t0 := task.Now()
		reader := on(task, p.server, func(task *asyncrt.Task) error {
			_, err := srv.Read(task, make([]byte, 1))
			assert.Equal(t, 5*time.Millisecond, task.Now().Sub(t0))
			return err
		})
		task.Sleep(time.Millisecond)
		srv.SetReadDeadline(t0.Add(5 * time.Millisecond))
		assert.ErrorIs(t, await(task, reader), os.ErrDeadlineExceeded)
		srv.SetReadDeadline(t0) // passed: fails at once
		_, err := srv.Read(task, make([]byte, 1))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		srv.SetReadDeadline(time.Time{})

		// The peer does not read: 100 bytes fit its receive buffer, 100
		// the send buffer, and the rest waits until the deadline.
		cli.SetWriteDeadline(t0.Add(time.Second))
		k, err := cli.Write(task, make([]byte, 1000))
		assert.Equal(t, 200, k)
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Equal(t, time.Second, task.Now().Sub(t0))
		// A bigger send buffer takes more at once.
		cli.SetWriteDeadline(time.Time{})
		cli.SetWriteBuffer(300)
		assert.Equal(t, 300, cli.WriteBuffer())
		k, err = cli.Write(task, make([]byte, 200))
		assert.Equal(t, 200, k)
		assert.NoError(t, err)
		srv.SetReadBuffer(1000)
		assert.Equal(t, 1000, srv.ReadBuffer())
		got := 0
		buf := make([]byte, 1000)
		for got < 400 {
			k, err := srv.Read(task, buf)
			require.NoError(t, err)
			got += k
		}
		assert.Equal(t, 400, got)
		assert.NoError(t, cli.Close(task))
		assert.NoError(t, srv.Close(task))
		return nil
	})
}

// A dial given up (its task aborted, or its Timeout elapsed) before the
// answer arrives must not leave the server a connection nobody will ever
// use: the late answer is met with a reset.
func TestAbandonedDialResetsServer(t *testing.T) {
	const lat = 10 * time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	run(t, p.rt, func(task *asyncrt.Task) error {
		l := listen(task, p.server, 80, 1, noOpts)
		err := await(task, on(task, p.cli, func(task *asyncrt.Task) error {
			_, err := asyncrt.Timeout(task, lat, func(task *asyncrt.Task) *simnet.Stream {
				s, err := simnet.Dial(task, addrPort("127.0.1.1:80"), time.Time{}, noOpts)
				assert.NoError(t, err)
				return s
			})
			return err
		}))
		assert.ErrorIs(t, err, asyncrt.ErrElapsed)
		srv, err := l.Accept(task)
		require.NoError(t, err)
		srv.SetReadDeadline(simStart.Add(time.Minute))
		_, err = srv.Read(task, make([]byte, 1))
		assert.ErrorIs(t, err, unix.ECONNRESET)
		assert.Equal(t, 3*lat, elapsed(task), "the answer arrives at 2×latency and finds no one; its reset takes one more")
		assert.NoError(t, srv.Close(task))
		return l.Close(task)
	})
}
