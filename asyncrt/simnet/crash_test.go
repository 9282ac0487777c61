package simnet_test

import (
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

// A crash resets the host's connections, closes its sockets, aborts its
// tasks and loses what is sent to it; after a restart it serves again.
func TestCrashAndRestart(t *testing.T) {
	const lat = 2 * time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	run(t, p.rt, func(task *asyncrt.Task) error {
		cli, srv := p.connect(task, 80, noOpts, noOpts)
		l := listen(task, p.server, 81, 1, noOpts)
		pc := udp(task, p.server, addrPort("0.0.0.0:9000"), netip.AddrPort{}, 0)
		cliUDP := udp(task, p.cli, netip.AddrPort{}, netip.AddrPort{}, 0)

		// The server's tasks: a reader, an acceptor, a receiver and a
		// sleeper with a child.
		reader := on(task, p.server, func(task *asyncrt.Task) error {
			_, err := srv.Read(task, make([]byte, 8))
			return err
		})
		acceptor := on(task, p.server, func(task *asyncrt.Task) error {
			_, err := l.Accept(task)
			return err
		})
		receiver := on(task, p.server, func(task *asyncrt.Task) error {
			_, _, err := pc.RecvFrom(task, make([]byte, 8))
			return err
		})
		sleeper := on(task, p.server, func(task *asyncrt.Task) error {
			child := asyncrt.SpawnFunc(task, func(task *asyncrt.Task) { task.Sleep(time.Hour) })
			task.Sleep(time.Hour)
			return child.Wait(task)
		})
		clientReader := on(task, p.cli, func(task *asyncrt.Task) error {
			_, err := cli.Read(task, make([]byte, 8))
			return err
		})
		task.Yield()
		assert.Equal(t, 5, p.server.Node().Tasks())
		assert.Equal(t, 1, p.cli.Node().Tasks())

		t0 := task.Now()
		p.server.Crash(task)
		assert.False(t, p.server.Up())
		p.server.Crash(task) // down already: nothing
		assert.EqualValues(t, 1, p.net.Stats().Crashes)
		for _, h := range []asyncrt.JoinHandle[error]{reader, acceptor, receiver, sleeper} {
			_, err := h.Await(task)
			assert.ErrorIs(t, err, asyncrt.ErrAborted)
		}
		assert.Zero(t, p.server.Node().Tasks(), "every task of the host is gone")
		assert.Equal(t, t0, task.Now(), "at once")

		// The peer learns of it by a reset, a latency later.
		assert.ErrorIs(t, await(task, clientReader), unix.ECONNRESET)
		assert.Equal(t, lat, task.Now().Sub(t0))
		assert.NoError(t, cli.Close(task))

		// What is sent to the host is lost: datagrams, and connection
		// requests, which go unanswered until the dialer gives up.
		dropped := p.net.Stats().DatagramsDropped
		_, err := cliUDP.SendTo(task, []byte("anyone?"), addrPort("127.0.1.1:9000"))
		require.NoError(t, err)
		assert.Equal(t, dropped+1, p.net.Stats().DatagramsDropped)
		t1 := task.Now()
		err = await(task, on(task, p.cli, func(task *asyncrt.Task) error {
			_, err := simnet.Dial(task, addrPort("127.0.1.1:81"), t1.Add(3*time.Second), noOpts)
			return err
		}))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Equal(t, 3*time.Second, task.Now().Sub(t1))

		// The host's task can run, but it opens nothing while it is down.
		err = await(task, on(task, p.server, func(task *asyncrt.Task) error {
			_, err := simnet.Listen(task, addrPort("0.0.0.0:80"), 1, noOpts)
			return err
		}))
		assert.EqualError(t, err, "simnet: listen: host server is down")

		// Restarted, it serves again, on the same ports.
		require.NoError(t, p.server.Restart(task))
		assert.True(t, p.server.Up())
		assert.EqualError(t, p.server.Restart(task), "simnet: Restart(server): the host is up")
		t2 := task.Now()
		cli2, srv2 := p.connect(task, 80, noOpts, noOpts)
		assert.Equal(t, 2*lat, task.Now().Sub(t2))
		_, err = cli2.Write(task, []byte("again"))
		require.NoError(t, err)
		require.NoError(t, cli2.Close(task))
		got, err := readAll(task, srv2, 8)
		assert.NoError(t, err)
		assert.Equal(t, "again", string(got))
		assert.NoError(t, srv2.Close(task))
		assert.NoError(t, cliUDP.Close())
		return nil
	})
	st := p.net.Stats()
	assert.EqualValues(t, 1, st.Resets, "the client's connection")
	assert.EqualValues(t, 2, st.Connects)
}

// A host's own task may crash it: the task unwinds at its next suspension,
// and the host's dial in progress is abandoned.
func TestCrashFromOwnTask(t *testing.T) {
	const lat = 5 * time.Millisecond
	p := newPair(t, 1, simnet.Link{Latency: lat})
	run(t, p.rt, func(task *asyncrt.Task) error {
		l := listen(task, p.server, 80, 1, noOpts)
		dialer := on(task, p.cli, func(task *asyncrt.Task) error {
			_, err := simnet.Dial(task, addrPort("127.0.1.1:80"), time.Time{}, noOpts)
			return err
		})
		reachedEnd := false
		crasher := on(task, p.cli, func(task *asyncrt.Task) error {
			task.Sleep(lat) // the request has arrived; the answer is on its way
			p.cli.Crash(task)
			task.Yield()
			reachedEnd = true
			return nil
		})
		_, err := crasher.Await(task)
		assert.ErrorIs(t, err, asyncrt.ErrAborted)
		assert.False(t, reachedEnd)
		_, err = dialer.Await(task)
		assert.ErrorIs(t, err, asyncrt.ErrAborted)
		assert.Zero(t, p.cli.Node().Tasks())

		// The server's end, made when the request arrived, is reset when
		// the answer finds the client down.
		srv, err := l.Accept(task)
		require.NoError(t, err)
		srv.SetReadDeadline(simStart.Add(time.Minute))
		_, err = srv.Read(task, make([]byte, 1))
		assert.ErrorIs(t, err, unix.ECONNRESET)
		assert.NoError(t, srv.Close(task))
		assert.NoError(t, l.Close(task))
		return nil
	})
}
