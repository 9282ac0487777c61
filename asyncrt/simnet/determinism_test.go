package simnet_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
)

// scenarioRun is what one run of the scenario saw.
type scenarioRun struct {
	digest   uint64
	stats    simnet.Stats
	received map[string][]byte // by receiver
	events   []string          // what happened when, in order
}

// scenario runs a server and three clients over jittery, lossy links with
// a partition and a crash, all chosen from the seed, and records what the
// tasks saw and when.
func scenario(t *testing.T, seed uint64) scenarioRun {
	link := simnet.Link{Latency: time.Millisecond, Jitter: 2 * time.Millisecond, Bandwidth: 10_000_000,
		Loss: 0.05, Duplicate: 0.05, Reorder: 0.1}
	n := newNetwork(t, simnet.Config{Seed: seed, Link: link})
	server := addHost(t, n, "server", "127.0.1.1")
	var clients []*simnet.Host
	for i := range 3 {
		clients = append(clients, addHost(t, n, fmt.Sprintf("client%d", i), fmt.Sprintf("127.0.2.%d", i+1)))
	}
	rt, _ := build(t, n)
	r := scenarioRun{received: make(map[string][]byte)}
	note := func(t *asyncrt.Task, format string, args ...any) {
		r.events = append(r.events, fmt.Sprintf("%v ", elapsed(t))+fmt.Sprintf(format, args...))
	}
	run(t, rt, func(task *asyncrt.Task) error {
		l := listen(task, server, 80, 8, noOpts)
		feed := udp(task, server, netip.AddrPort{}, netip.AddrPort{}, 0)
		// The server echoes every connection, and sends a datagram to the
		// client's port 9000 for every chunk.
		conns := asyncrt.NewJoinSet[struct{}]()
		acceptor := on(task, server, func(task *asyncrt.Task) struct{} {
			for {
				s, err := l.Accept(task)
				if err != nil {
					return struct{}{}
				}
				conns.SpawnFunc(task, func(task *asyncrt.Task) {
					buf := make([]byte, 1500)
					for {
						k, err := s.Read(task, buf)
						if err != nil {
							note(task, "server %v: %v", s.RemoteAddr(), err)
							_ = s.Close(task)
							return
						}
						if _, err := s.Write(task, buf[:k]); err != nil {
							_ = s.Close(task)
							return
						}
						_, _ = feed.SendTo(task, buf[:min(k, 32)], netip.AddrPortFrom(s.RemoteAddr().Addr(), 9000))
					}
				})
			}
		})
		var done []asyncrt.JoinHandle[struct{}]
		for i, c := range clients {
			name := c.Name()
			pc := udp(task, c, addrPort("0.0.0.0:9000"), netip.AddrPort{}, 0)
			on(task, c, func(task *asyncrt.Task) struct{} {
				buf := make([]byte, 64)
				for {
					k, _, err := pc.RecvFrom(task, buf)
					if err != nil {
						return struct{}{}
					}
					r.received[name+"/udp"] = append(r.received[name+"/udp"], buf[:k]...)
				}
			}).Detach()
			done = append(done, on(task, c, func(task *asyncrt.Task) struct{} {
				defer func() { _ = pc.Close() }()
				task.Sleep(time.Duration(n.Rand().IntN(1000)) * time.Microsecond)
				s, err := simnet.Dial(task, addrPort("127.0.1.1:80"), time.Time{}, noOpts)
				if err != nil {
					note(task, "%s dial: %v", name, err)
					return struct{}{}
				}
				note(task, "%s connected", name)
				reader := asyncrt.Spawn(task, func(task *asyncrt.Task) struct{} {
					got, err := readAll(task, s, 700)
					r.received[name] = got
					note(task, "%s read %d bytes: %v", name, len(got), err)
					return struct{}{}
				})
				for j := range 20 + 10*i {
					if _, err := s.Write(task, pattern(1000*j, 100+n.Rand().IntN(3000))); err != nil {
						note(task, "%s write: %v", name, err)
						break
					}
					task.Sleep(time.Duration(n.Rand().IntN(5000)) * time.Microsecond)
				}
				_ = s.CloseWrite(task)
				await(task, reader)
				_ = s.Close(task)
				return struct{}{}
			}))
		}
		// Faults, chosen from the seed.
		task.Sleep(time.Duration(10+n.Rand().IntN(20)) * time.Millisecond)
		cutAt := n.Rand().IntN(len(clients))
		cut := clients[cutAt]
		require.NoError(t, n.Partition(task, server, cut))
		note(task, "partition %s", cut.Name())
		task.Sleep(time.Duration(n.Rand().IntN(50)) * time.Millisecond)
		crashed := clients[(cutAt+1+n.Rand().IntN(len(clients)-1))%len(clients)] // one that is connected
		crashed.Crash(task)
		note(task, "crash %s", crashed.Name())
		task.Sleep(time.Duration(100+n.Rand().IntN(300)) * time.Millisecond)
		require.NoError(t, n.Heal(task, server, cut))
		note(task, "heal %s", cut.Name())
		for _, h := range done {
			_, _ = h.Await(task)
		}
		require.NoError(t, l.Close(task))
		await(task, acceptor)
		conns.Shutdown(task)
		require.NoError(t, feed.Close())
		note(task, "end")
		return nil
	})
	r.digest, r.stats = n.Digest(), n.Stats()
	return r
}

// The same seed gives the same run, event for event: the same digest, the
// same bytes, at the same times. Another seed gives another run.
func TestDeterminism(t *testing.T) {
	first := scenario(t, 1)
	second := scenario(t, 1)
	assert.Equal(t, first.digest, second.digest)
	assert.Equal(t, first.stats, second.stats)
	assert.Equal(t, first.events, second.events)
	assert.Equal(t, first.received, second.received)
	// The scenario did what it means to.
	st := first.stats
	assert.Positive(t, st.Retransmits)
	assert.Positive(t, st.DatagramsLost)
	assert.Positive(t, st.Datagrams)
	assert.EqualValues(t, 1, st.Partitions)
	assert.EqualValues(t, 1, st.Crashes)
	assert.Positive(t, st.Resets)
	assert.NotEmpty(t, first.received)

	other := scenario(t, 2)
	assert.NotEqual(t, first.digest, other.digest)
	assert.NotEqual(t, first.events, other.events)
}

// The network's pump is a task only while it has work: it starts with the
// first packet, and ends once nothing is open and nothing is in flight.
func TestPumpExitsWhenIdle(t *testing.T) {
	const lat = time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	live := func(t *asyncrt.Task) int { return t.Runtime().Stats().LiveTasks }
	run(t, p.rt, func(task *asyncrt.Task) error {
		base := live(task)
		srv := udp(task, p.server, addrPort("0.0.0.0:9000"), netip.AddrPort{}, 0)
		cli := udp(task, p.cli, netip.AddrPort{}, netip.AddrPort{}, 0)
		assert.Equal(t, base, live(task), "no pump before the first packet")
		_, err := cli.SendTo(task, []byte("x"), addrPort("127.0.1.1:9000"))
		require.NoError(t, err)
		assert.Equal(t, base+1, live(task), "the pump")
		// The sockets close while the datagram is on its way: the pump
		// delivers it (to no one), then ends.
		require.NoError(t, srv.Close())
		require.NoError(t, cli.Close())
		task.Sleep(lat)
		task.Yield()
		assert.Equal(t, base, live(task))
		assert.EqualValues(t, 1, p.net.Stats().DatagramsDropped)

		// A connection: the pump ends with the last FIN.
		c, s := p.connect(task, 80, noOpts, noOpts)
		require.NoError(t, c.Close(task))
		require.NoError(t, s.Close(task))
		task.Sleep(lat)
		task.Yield()
		assert.Equal(t, base, live(task))
		return nil
	})
}

// OpenSockets counts what is open, InFlight what is on its way; both are 0
// once everything is closed and delivered.
func TestOpenSocketsAndInFlight(t *testing.T) {
	n := newNetwork(t, simnet.Config{Seed: 1, Link: simnet.Link{Latency: time.Millisecond}})
	a := addHost(t, n, "a", "127.0.1.1")
	b := addHost(t, n, "b", "127.0.1.2")
	rt, _ := build(t, n)
	run(t, rt, func(t *asyncrt.Task) error {
		return asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			l, err := simnet.Listen(t, netip.MustParseAddrPort("127.0.1.1:7000"), 4, simnet.StreamOptions{})
			if err != nil {
				return err
			}
			if got := n.OpenSockets(); got != 1 {
				return fmt.Errorf("a listener: %d open sockets", got)
			}
			dial := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
				s, err := simnet.Dial(t, netip.MustParseAddrPort("127.0.1.1:7000"), time.Time{}, simnet.StreamOptions{})
				if err != nil {
					return err
				}
				if got := n.OpenSockets(); got != 3 {
					return fmt.Errorf("a listener and both ends: %d open sockets", got)
				}
				if _, err := s.Write(t, []byte("hi")); err != nil {
					return err
				}
				if got := n.InFlight(); got != 1 {
					return fmt.Errorf("after a write: %d in flight", got)
				}
				return s.Close(t)
			}, asyncrt.InNode(b.Node()))
			s, err := l.Accept(t)
			if err != nil {
				return err
			}
			if err := dial.Wait(t); err != nil {
				return err
			}
			if _, err := readAll(t, s, 64); err != nil {
				return err
			}
			if err := s.Close(t); err != nil {
				return err
			}
			return l.Close(t)
		}, asyncrt.InNode(a.Node())).Wait(t)
	})
	require.Zero(t, n.OpenSockets())
	require.Zero(t, n.InFlight())
}
