package simnet_test

import (
	"encoding/binary"
	"math"
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

// udp opens a UDP socket on h, bound to local and connected to remote if
// valid.
func udp(t *asyncrt.Task, h *simnet.Host, local, remote netip.AddrPort, readBuffer int) *simnet.PacketConn {
	return await(t, on(t, h, func(t *asyncrt.Task) *simnet.PacketConn {
		c, err := simnet.ListenPacket(t, local, remote, readBuffer)
		if err != nil {
			panic(err)
		}
		return c
	}))
}

func TestUDPExchange(t *testing.T) {
	const lat = 3 * time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	run(t, p.rt, func(task *asyncrt.Task) error {
		srv := udp(task, p.server, addrPort("0.0.0.0:9000"), netip.AddrPort{}, 0)
		cli := udp(task, p.cli, netip.AddrPort{}, netip.AddrPort{}, 0)
		assert.Equal(t, addrPort("0.0.0.0:9000"), srv.LocalAddr())
		assert.Equal(t, addrPort("0.0.0.0:32768"), cli.LocalAddr())
		assert.False(t, srv.RemoteAddr().IsValid())
		assert.Equal(t, simnet.DefaultUDPReadBuffer, srv.ReadBuffer())

		k, err := cli.SendTo(task, []byte("hello"), addrPort("127.0.1.1:9000"))
		require.NoError(t, err)
		assert.Equal(t, 5, k)
		buf := make([]byte, 3)
		k, from, err := srv.RecvFrom(task, buf)
		require.NoError(t, err)
		assert.Equal(t, "hel", string(buf[:k]), "a short buffer truncates")
		assert.Equal(t, addrPort("127.0.1.2:32768"), from, "the sender's address, not the receiver's")
		assert.Equal(t, lat, elapsed(task))
		_, err = srv.SendTo(task, []byte("back"), from)
		require.NoError(t, err)
		buf = make([]byte, 16)
		k, from, err = cli.RecvFrom(task, buf)
		require.NoError(t, err)
		assert.Equal(t, "back", string(buf[:k]))
		assert.Equal(t, addrPort("127.0.1.1:9000"), from)
		assert.Equal(t, 2*lat, elapsed(task))

		// Loopback reaches the host's own sockets at once.
		self := udp(task, p.cli, addrPort("127.0.0.1:9001"), netip.AddrPort{}, 0)
		_, err = cli.SendTo(task, []byte("me"), addrPort("127.0.0.1:9001"))
		require.NoError(t, err)
		k, from, err = self.RecvFrom(task, buf)
		require.NoError(t, err)
		assert.Equal(t, "me", string(buf[:k]))
		assert.Equal(t, addrPort("127.0.0.1:32768"), from)
		assert.Equal(t, 2*lat, elapsed(task))

		// Errors.
		_, err = cli.SendTo(task, make([]byte, 65508), addrPort("127.0.1.1:9000"))
		assert.ErrorIs(t, err, unix.EMSGSIZE)
		_, err = cli.SendTo(task, nil, addrPort("127.0.1.1:0"))
		assert.ErrorIs(t, err, unix.EINVAL)
		_, err = cli.SendTo(task, nil, netip.AddrPort{})
		assert.ErrorIs(t, err, unix.EINVAL)
		err = await(task, on(task, p.server, func(task *asyncrt.Task) error {
			_, err := simnet.ListenPacket(task, addrPort("127.0.1.1:9000"), netip.AddrPort{}, 0)
			return err
		}))
		assert.ErrorIs(t, err, unix.EADDRINUSE)
		err = await(task, on(task, p.server, func(task *asyncrt.Task) error {
			_, err := simnet.ListenPacket(task, addrPort("127.0.0.1:9005"), addrPort("127.0.1.2:0"), 0)
			return err
		}))
		assert.ErrorIs(t, err, unix.EINVAL)

		// Datagrams to a port or an address nobody has are dropped.
		before := p.net.Stats().DatagramsDropped
		_, err = cli.SendTo(task, []byte("x"), addrPort("127.0.1.1:9999"))
		assert.NoError(t, err)
		_, err = cli.SendTo(task, []byte("x"), addrPort("127.0.9.9:9000"))
		assert.NoError(t, err)
		assert.Equal(t, before+2, p.net.Stats().DatagramsDropped)

		// Deadlines.
		srv.SetReadDeadline(task.Now().Add(time.Second))
		t0 := task.Now()
		_, _, err = srv.RecvFrom(task, buf)
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Equal(t, time.Second, task.Now().Sub(t0))
		srv.SetReadDeadline(time.Time{})

		// Close wakes a waiting receiver.
		waiting := on(task, p.server, func(task *asyncrt.Task) error {
			_, _, err := srv.RecvFrom(task, buf)
			return err
		})
		task.Yield()
		assert.NoError(t, srv.Close())
		assert.ErrorIs(t, await(task, waiting), net.ErrClosed)
		assert.ErrorIs(t, srv.Close(), net.ErrClosed)
		_, err = srv.SendTo(task, []byte("x"), from)
		assert.ErrorIs(t, err, net.ErrClosed)
		assert.ErrorIs(t, srv.JoinGroup(netip.MustParseAddr("239.0.0.1")), net.ErrClosed)
		assert.NoError(t, cli.Close())
		assert.NoError(t, self.Close())
		return nil
	})
	st := p.net.Stats()
	assert.EqualValues(t, 3, st.Datagrams)
	assert.EqualValues(t, 11, st.DatagramBytes)
	assert.Zero(t, st.DatagramsLost)
}

// udpRun is what a receiver saw of a stream of numbered datagrams.
type udpRun struct {
	received, distinct, reordered, overtaken int
	stats                                    simnet.Stats
	digest                                   uint64
}

// sendNumbered sends n numbered datagrams, one every gap, over a link with
// faults, and counts what arrived and how.
func sendNumbered(t *testing.T, seed uint64, n int, gap time.Duration, link simnet.Link) udpRun {
	p := newPair(t, seed, link)
	var r udpRun
	run(t, p.rt, func(task *asyncrt.Task) error {
		srv := udp(task, p.server, addrPort("0.0.0.0:9000"), netip.AddrPort{}, 0)
		cli := udp(task, p.cli, netip.AddrPort{}, netip.AddrPort{}, 0)
		t0 := task.Now()
		on(task, p.cli, func(task *asyncrt.Task) struct{} {
			var b [8]byte
			for i := range n {
				binary.BigEndian.PutUint64(b[:], uint64(i))
				if _, err := cli.SendTo(task, b[:], addrPort("127.0.1.1:9000")); err != nil {
					panic(err)
				}
				task.Sleep(gap)
			}
			return struct{}{}
		}).Detach()
		seen := make(map[uint64]bool)
		high := -1
		buf := make([]byte, 16)
		srv.SetReadDeadline(t0.Add(time.Duration(n)*gap + time.Second))
		for {
			k, _, err := srv.RecvFrom(task, buf)
			if err != nil {
				assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
				break
			}
			require.Equal(t, 8, k)
			seq := binary.BigEndian.Uint64(buf)
			r.received++
			if !seen[seq] {
				seen[seq] = true
				r.distinct++
			}
			if task.Now().Sub(t0.Add(time.Duration(seq)*gap)) > link.Latency {
				r.reordered++ // held back
			}
			if int(seq) < high {
				r.overtaken++
			} else {
				high = int(seq)
			}
		}
		assert.NoError(t, srv.Close())
		assert.NoError(t, cli.Close())
		return nil
	})
	r.stats, r.digest = p.net.Stats(), p.net.Digest()
	return r
}

// within checks that got is within k standard deviations of the mean of a
// binomial count of n trials of probability p.
func within(t *testing.T, what string, got, n int, p, k float64) {
	t.Helper()
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	assert.InDelta(t, mean, float64(got), k*sd, "%s: %d of %d, expected %.0f ± %.0f", what, got, n, mean, k*sd)
}

// Over 10 000 datagrams, losses, duplicates and reorderings come out near
// the link's probabilities — and, as everything follows from the seed, at
// exactly the same counts on every run.
func TestUDPFaultStatistics(t *testing.T) {
	const n = 10_000
	link := simnet.Link{Latency: time.Millisecond, Loss: 0.1, Duplicate: 0.05, Reorder: 0.2, ReorderDelay: 5 * time.Millisecond}
	r := sendNumbered(t, 42, n, 100*time.Microsecond, link)
	st := r.stats
	assert.EqualValues(t, n-r.distinct, st.DatagramsLost, "every datagram lost is counted")
	assert.EqualValues(t, r.received, st.Datagrams)
	assert.EqualValues(t, 8*r.received, st.DatagramBytes)
	assert.Zero(t, st.DatagramsDropped)
	within(t, "lost", int(st.DatagramsLost), n, link.Loss, 5)
	within(t, "duplicated", r.received-r.distinct, r.distinct, link.Duplicate, 5)
	within(t, "reordered", r.reordered, r.received, link.Reorder, 5)
	assert.Positive(t, r.overtaken)
	assert.LessOrEqual(t, r.overtaken, r.reordered, "only a held-back datagram arrives after a later one")

	// The same seed gives the same run; the counts are pinned so that a
	// change in how the network draws from its seed shows.
	again := sendNumbered(t, 42, n, 100*time.Microsecond, link)
	assert.Equal(t, r, again)
	assert.Equal(t, []int{1000, 440, 1940, 1881},
		[]int{int(st.DatagramsLost), r.received - r.distinct, r.reordered, r.overtaken},
		"lost, duplicated, reordered, overtaken for seed 42")

	other := sendNumbered(t, 43, n, 100*time.Microsecond, link)
	assert.NotEqual(t, r.digest, other.digest)
	assert.NotEqual(t, r.stats, other.stats)
}

// A receive buffer that is full drops what arrives.
func TestUDPReceiveBufferOverflow(t *testing.T) {
	p := newPair(t, 1, simnet.Link{Latency: time.Millisecond})
	run(t, p.rt, func(task *asyncrt.Task) error {
		srv := udp(task, p.server, addrPort("127.0.1.1:9000"), netip.AddrPort{}, 1000)
		cli := udp(task, p.cli, netip.AddrPort{}, netip.AddrPort{}, 0)
		assert.Equal(t, 1000, srv.ReadBuffer())
		for i := range 20 {
			_, err := cli.SendTo(task, pattern(100*i, 100), addrPort("127.0.1.1:9000"))
			require.NoError(t, err)
		}
		task.Sleep(10 * time.Millisecond)
		assert.EqualValues(t, 10, p.net.Stats().DatagramsDropped)
		assert.EqualValues(t, 10, p.net.Stats().Datagrams)
		buf := make([]byte, 200)
		for i := range 10 {
			k, _, err := srv.RecvFrom(task, buf)
			require.NoError(t, err)
			assert.Equal(t, pattern(100*i, 100), buf[:k], "the first ten, in order")
		}
		// Room again; a bigger buffer takes more.
		srv.SetReadBuffer(2000)
		for i := range 25 {
			_, err := cli.SendTo(task, pattern(100*i, 100), addrPort("127.0.1.1:9000"))
			require.NoError(t, err)
		}
		task.Sleep(10 * time.Millisecond)
		assert.EqualValues(t, 30, p.net.Stats().Datagrams)
		assert.EqualValues(t, 15, p.net.Stats().DatagramsDropped)
		assert.NoError(t, srv.Close())
		assert.NoError(t, cli.Close())
		return nil
	})
}

// A connected socket sends to its peer and takes datagrams from it only.
func TestUDPConnectedFilters(t *testing.T) {
	n := newNetwork(t, simnet.Config{Link: simnet.Link{Latency: time.Millisecond}})
	a := addHost(t, n, "a", "127.0.1.1")
	b := addHost(t, n, "b", "127.0.1.2")
	c := addHost(t, n, "c", "127.0.1.3")
	rt, _ := build(t, n)
	run(t, rt, func(task *asyncrt.Task) error {
		peer := udp(task, b, addrPort("0.0.0.0:7000"), netip.AddrPort{}, 0)
		other := udp(task, b, addrPort("0.0.0.0:7001"), netip.AddrPort{}, 0)
		stranger := udp(task, c, addrPort("0.0.0.0:7000"), netip.AddrPort{}, 0)
		conn := udp(task, a, addrPort("0.0.0.0:5000"), addrPort("127.0.1.2:7000"), 0)
		assert.Equal(t, addrPort("127.0.1.1:5000"), conn.LocalAddr(), "connecting picks the host's address")
		assert.Equal(t, addrPort("127.0.1.2:7000"), conn.RemoteAddr())
		for i, s := range []*simnet.PacketConn{peer, other, stranger, peer} {
			_, err := s.SendTo(task, []byte{byte(i)}, addrPort("127.0.1.1:5000"))
			require.NoError(t, err)
		}
		task.Sleep(10 * time.Millisecond)
		assert.EqualValues(t, 2, n.Stats().DatagramsDropped, "the ones from another port and another host")
		buf := make([]byte, 4)
		for _, want := range []byte{0, 3} {
			k, from, err := conn.RecvFrom(task, buf)
			require.NoError(t, err)
			assert.Equal(t, []byte{want}, buf[:k])
			assert.Equal(t, addrPort("127.0.1.2:7000"), from)
		}
		_, err := conn.SendTo(task, []byte("hi"), conn.RemoteAddr())
		require.NoError(t, err)
		k, from, err := peer.RecvFrom(task, buf)
		require.NoError(t, err)
		assert.Equal(t, "hi", string(buf[:k]))
		assert.Equal(t, addrPort("127.0.1.1:5000"), from)

		// Connected to loopback: the socket is on loopback.
		lo := udp(task, b, netip.AddrPort{}, addrPort("127.0.0.1:7000"), 0)
		assert.Equal(t, netip.MustParseAddr("127.0.0.1"), lo.LocalAddr().Addr())
		_, err = lo.SendTo(task, []byte("lo"), lo.RemoteAddr())
		require.NoError(t, err)
		k, from, err = peer.RecvFrom(task, buf)
		require.NoError(t, err)
		assert.Equal(t, "lo", string(buf[:k]))
		assert.Equal(t, lo.LocalAddr(), from)
		for _, s := range []*simnet.PacketConn{peer, other, stranger, conn, lo} {
			assert.NoError(t, s.Close())
		}
		return nil
	})
}

// Multicast reaches the sockets of every host that joined the group on
// the port, the sender's own host included unless its loopback is off.
func TestMulticast(t *testing.T) {
	group := netip.MustParseAddr("239.1.2.3")
	dst := netip.AddrPortFrom(group, 5000)
	n := newNetwork(t, simnet.Config{Link: simnet.Link{Latency: time.Millisecond}})
	a := addHost(t, n, "a", "127.0.1.1")
	b := addHost(t, n, "b", "127.0.1.2")
	c := addHost(t, n, "c", "127.0.1.3")
	rt, _ := build(t, n)
	run(t, rt, func(task *asyncrt.Task) error {
		ra := udp(task, a, addrPort("0.0.0.0:5000"), netip.AddrPort{}, 0)
		rb := udp(task, b, netip.AddrPortFrom(group, 5000), netip.AddrPort{}, 0)
		rc := udp(task, c, addrPort("0.0.0.0:5000"), netip.AddrPort{}, 0) // never joins
		require.NoError(t, ra.JoinGroup(group))
		require.NoError(t, rb.JoinGroup(group))
		assert.Error(t, rc.JoinGroup(netip.MustParseAddr("127.0.1.1")), "not a multicast address")
		assert.ErrorIs(t, rc.LeaveGroup(group), unix.EADDRNOTAVAIL)
		sender := udp(task, a, netip.AddrPort{}, netip.AddrPort{}, 0)
		assert.True(t, sender.MulticastLoopback())

		// recv takes what each receiver has after a while.
		recv := func() (got [3][]string) {
			task.Sleep(10 * time.Millisecond)
			buf := make([]byte, 16)
			for i, r := range []*simnet.PacketConn{ra, rb, rc} {
				r.SetReadDeadline(task.Now())
				for {
					k, from, err := r.RecvFrom(task, buf)
					if err != nil {
						assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
						break
					}
					assert.Equal(t, addrPort("127.0.1.1:32768"), from)
					got[i] = append(got[i], string(buf[:k]))
				}
			}
			return got
		}

		_, err := sender.SendTo(task, []byte("loop on"), dst)
		require.NoError(t, err)
		assert.Equal(t, [3][]string{{"loop on"}, {"loop on"}, nil}, recv())

		sender.SetMulticastLoopback(false)
		assert.False(t, sender.MulticastLoopback())
		_, err = sender.SendTo(task, []byte("loop off"), dst)
		require.NoError(t, err)
		assert.Equal(t, [3][]string{nil, {"loop off"}, nil}, recv())

		sender.SetMulticastLoopback(true)
		require.NoError(t, rb.LeaveGroup(group))
		_, err = sender.SendTo(task, []byte("left"), dst)
		require.NoError(t, err)
		assert.Equal(t, [3][]string{{"left"}, nil, nil}, recv())
		for _, s := range []*simnet.PacketConn{ra, rb, rc, sender} {
			assert.NoError(t, s.Close())
		}
		return nil
	})
	assert.EqualValues(t, 4, n.Stats().Datagrams)
}

// A partition loses datagrams; a healed link carries them again.
func TestUDPPartition(t *testing.T) {
	p := newPair(t, 1, simnet.Link{Latency: time.Millisecond})
	run(t, p.rt, func(task *asyncrt.Task) error {
		srv := udp(task, p.server, addrPort("0.0.0.0:9000"), netip.AddrPort{}, 0)
		cli := udp(task, p.cli, netip.AddrPort{}, netip.AddrPort{}, 0)
		require.NoError(t, p.net.Partition(task, p.cli, p.server))
		_, err := cli.SendTo(task, []byte("cut"), addrPort("127.0.1.1:9000"))
		require.NoError(t, err)
		require.NoError(t, p.net.Heal(task, p.cli, p.server))
		_, err = cli.SendTo(task, []byte("healed"), addrPort("127.0.1.1:9000"))
		require.NoError(t, err)
		buf := make([]byte, 16)
		k, _, err := srv.RecvFrom(task, buf)
		require.NoError(t, err)
		assert.Equal(t, "healed", string(buf[:k]))
		assert.EqualValues(t, 1, p.net.Stats().DatagramsLost)
		assert.NoError(t, srv.Close())
		assert.NoError(t, cli.Close())
		return nil
	})
}
