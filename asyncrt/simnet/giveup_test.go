package simnet_test

import (
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
)

// The connections a dialer gives up on, and those of a crashed host, end
// for their peers too: no peer is left waiting on a connection that is
// gone, and nothing stays open.

// A dialer whose answer is lost (the link is cut right after its request
// arrived) and which gives up at its deadline resets the connection the
// server took.
func TestAbandonedDialResetsTheServerWhenTheAnswerIsLost(t *testing.T) {
	const lat = 10 * time.Millisecond
	n, srvH, cliH, rt := serverAndClient(t, lat)
	run(t, rt, func(task *asyncrt.Task) error {
		l := listen(task, srvH, 80, 4, simnet.StreamOptions{})
		d := on(task, cliH, func(task *asyncrt.Task) error {
			_, err := simnet.Dial(task, addrPort("127.0.1.1:80"), simStart.Add(20*time.Millisecond), simnet.StreamOptions{})
			return err
		})
		task.Sleep(5 * time.Millisecond) // the request is on its way; the answer will not be
		require.NoError(t, n.Partition(task, srvH, cliH))
		assert.ErrorIs(t, await(task, d), os.ErrDeadlineExceeded)
		task.Sleep(10 * time.Millisecond)
		require.NoError(t, n.Heal(task, srvH, cliH))
		srv, err := l.Accept(task)
		require.NoError(t, err)
		srv.SetReadDeadline(task.Now().Add(time.Minute))
		_, err = srv.Read(task, make([]byte, 1))
		assert.ErrorIs(t, err, syscall.ECONNRESET, "the server's connection is reset, not left to time out")
		require.NoError(t, l.Close(task))
		require.NoError(t, srv.Close(task))
		assert.Zero(t, n.OpenSockets())
		return nil
	})
}

// A dialer aborted in the cycle its answer arrives (by an abort or a
// Timeout) closes the connection it was handed, resetting the server's end.
func TestDialAbortedAsItsAnswerArrives(t *testing.T) {
	const lat = 10 * time.Millisecond
	for _, how := range []string{"abort", "timeout"} {
		t.Run(how, func(t *testing.T) {
			n, srvH, cliH, rt := serverAndClient(t, lat)
			run(t, rt, func(task *asyncrt.Task) error {
				l := listen(task, srvH, 80, 4, simnet.StreamOptions{})
				d := on(task, cliH, func(task *asyncrt.Task) error {
					dial := func(task *asyncrt.Task) error {
						_, err := simnet.Dial(task, addrPort("127.0.1.1:80"), time.Time{}, simnet.StreamOptions{})
						return err
					}
					if how == "abort" {
						return dial(task)
					}
					_, err := asyncrt.Timeout(task, 2*lat, dial)
					return err
				})
				if how == "abort" {
					task.Sleep(15 * time.Millisecond)
					task.Sleep(5 * time.Millisecond) // wakes after the pump, which delivers the answer
					d.Abort()
				}
				v, err := d.Await(task)
				require.Error(t, errors.Join(v, err), "the dial was cut short")
				srv, err := l.Accept(task)
				require.NoError(t, err)
				require.NoError(t, l.Close(task))
				srv.SetReadDeadline(task.Now().Add(time.Minute))
				_, err = srv.Read(task, make([]byte, 1))
				assert.ErrorIs(t, err, syscall.ECONNRESET)
				require.NoError(t, srv.Close(task))
				assert.Zero(t, n.OpenSockets())
				return nil
			})
		})
	}
}

// A host that crashes while a connection it closed is still sending
// resets that connection's peer, which reads what arrived and then
// ECONNRESET, rather than waiting for a FIN that will never come.
func TestCrashResetsThePeerOfAClosedConnectionStillSending(t *testing.T) {
	p := newPair(t, 1, simnet.Link{Latency: 10 * time.Millisecond})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, simnet.StreamOptions{ReadBuffer: 1000}, simnet.StreamOptions{WriteBuffer: 100000})
		written := await(task, on(task, p.server, func(task *asyncrt.Task) int {
			k, _ := srv.Write(task, make([]byte, 50000))
			_ = srv.Close(task)
			return k
		}))
		require.Equal(t, 50000, written)
		p.server.Crash(task)
		cli.SetReadDeadline(task.Now().Add(time.Minute))
		total := 0
		var err error
		for err == nil {
			var k int
			k, err = cli.Read(task, make([]byte, 4096))
			total += k
		}
		assert.ErrorIs(t, err, syscall.ECONNRESET)
		assert.Less(t, total, 50000)
		require.NoError(t, p.server.Restart(task))
		_ = cli.Close(task)
		assert.Zero(t, p.net.OpenSockets())
		return nil
	})
}

// CloseRead reopens the window: a writer blocked on a full one goes on,
// and what it sends is discarded.
func TestCloseReadLetsABlockedWriterFinish(t *testing.T) {
	p := newPair(t, 1, simnet.Link{Latency: 10 * time.Millisecond})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, simnet.StreamOptions{ReadBuffer: 1000}, simnet.StreamOptions{WriteBuffer: 1000})
		w := on(task, p.server, func(task *asyncrt.Task) error {
			srv.SetWriteDeadline(task.Now().Add(10 * time.Second))
			_, err := srv.Write(task, make([]byte, 5000))
			return err
		})
		task.Sleep(100 * time.Millisecond)
		require.NoError(t, cli.CloseRead(task))
		assert.NoError(t, await(task, w))
		_, err := cli.Read(task, make([]byte, 10))
		assert.True(t, errors.Is(err, io.EOF), "reads after CloseRead see the end: %v", err)
		require.NoError(t, cli.Close(task))
		require.NoError(t, srv.Close(task))
		return nil
	})
}

// A pump a full bounded task pool refused is started by a later event once
// there is room: the network does not stop delivering for good.
func TestPumpRefusedByAFullPoolStartsLater(t *testing.T) {
	n := newNetwork(t, simnet.Config{Seed: 1, Link: simnet.Link{Latency: time.Millisecond}})
	srvH := addHost(t, n, "server", "127.0.1.1")
	cliH := addHost(t, n, "client", "127.0.1.2")
	clock := asyncrt.NewSimClock(simStart)
	rt, err := asyncrt.NewBuilder().Clock(clock).Network(n).TaskPool(3, true).Build()
	require.NoError(t, err)
	defer rt.Close()
	require.NoError(t, asyncrt.Run(rt, func(task *asyncrt.Task) error {
		l := listen(task, srvH, 80, 4, simnet.StreamOptions{})
		sleep := func(t *asyncrt.Task) { t.Sleep(time.Hour) }
		h1, h2 := asyncrt.SpawnFunc(task, sleep), asyncrt.SpawnFunc(task, sleep)
		dial := func() (*simnet.Stream, error) {
			type result struct {
				s   *simnet.Stream
				err error
			}
			r, err := asyncrt.Spawn(task, func(t *asyncrt.Task) result {
				s, err := simnet.Dial(t, addrPort("127.0.1.1:80"), t.Now().Add(30*time.Second), simnet.StreamOptions{})
				return result{s, err}
			}, asyncrt.InNode(cliH.Node())).Await(task)
			if err != nil {
				return nil, err
			}
			return r.s, r.err
		}
		_, err := dial()
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "no pump: nothing is delivered")
		h1.Abort()
		h2.Abort()
		_, _ = h1.Wait(task), h2.Wait(task)
		s, err := dial()
		require.NoError(t, err, "with room in the pool, the pump starts again")
		require.NoError(t, s.Close(task))
		return l.Close(task)
	}))
}

// serverAndClient builds a network whose links have latency lat, with a
// server host at 127.0.1.1 and a client host at 127.0.1.2, and a runtime on
// it.
func serverAndClient(t *testing.T, lat time.Duration) (n *simnet.Network, srv, cli *simnet.Host, rt *asyncrt.Runtime) {
	n = newNetwork(t, simnet.Config{Seed: 1, Link: simnet.Link{Latency: lat}})
	srv = addHost(t, n, "server", "127.0.1.1")
	cli = addHost(t, n, "client", "127.0.1.2")
	rt, _ = build(t, n)
	return n, srv, cli, rt
}
