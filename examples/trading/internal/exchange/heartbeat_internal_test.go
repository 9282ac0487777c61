package exchange

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/trading/internal/itch"
	"github.com/orrery-go/orrery/examples/trading/internal/moldudp64"
	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
)

var simStart = time.Date(2025, 1, 2, 9, 30, 0, 0, time.UTC)

// simExchange starts an exchange without synthetic flow on a runtime under
// a simulated clock, feeding a UDP socket of the test. Nothing on that
// runtime waits for IO from outside it, so its time jumps from timer to
// timer and every send happens at an exact simulated instant.
func simExchange(t *testing.T) (*Exchange, *asyncrt.Runtime, *net.UDPConn) {
	t.Helper()
	feed, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { feed.Close() })
	x, err := New(Config{
		Instruments: 1, Session: "SIM1", Feed: feed.LocalAddr().(*net.UDPAddr).AddrPort(),
		OrderAddr: "127.0.0.1:0", SnapshotAddr: "127.0.0.1:0",
		Users: map[string]string{"ALICE": "pw"}, Heartbeat: time.Second,
	})
	require.NoError(t, err)
	rt, err := asyncrt.NewBuilder().Clock(asyncrt.NewSimClock(simStart)).Build()
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	require.NoError(t, asyncrt.Run(rt, x.Start))
	return x, rt, feed
}

// A MoldUDP64 heartbeat leaves one interval after the feed's last packet,
// however that packet fell between heartbeats. The heartbeat task used to
// wake on a one-second Interval and send only if the last packet was a
// second old: a packet 0.3 s into the session pushed the heartbeat to 2 s,
// a gap of 1.7 s.
func TestFeedHeartbeatLeavesOneIntervalAfterTheLastPacket(t *testing.T) {
	x, rt, feed := simExchange(t)
	type probe struct {
		at         time.Duration // since the session started
		heartbeats uint64
		lastSend   time.Duration
	}
	var probes []probe
	err := asyncrt.Run(rt, func(t *asyncrt.Task) error {
		start := t.Now()
		stop := asyncrt.NewCancellationToken()
		serve := asyncrt.Spawn(t, func(t *asyncrt.Task) error { return x.Serve(t, stop) })
		t.SleepUntil(start.Add(300 * time.Millisecond))
		x.setNow(t)
		x.feed.add(t, x.systemEvent(itch.EventStartOfSystemHours))
		x.feed.flush(t)
		// Probe a millisecond either side of each heartbeat that is due.
		for _, at := range []time.Duration{1299, 1301, 2299, 2301} {
			t.SleepUntil(start.Add(at * time.Millisecond))
			probes = append(probes, probe{at * time.Millisecond, x.stats.FeedHeartbeats, x.feed.lastSend.Sub(start)})
		}
		stop.Cancel()
		return serve.Wait(t)
	})
	require.NoError(t, err)
	assert.Equal(t, []probe{
		{1299 * time.Millisecond, 0, 300 * time.Millisecond},
		{1301 * time.Millisecond, 1, 1300 * time.Millisecond},
		{2299 * time.Millisecond, 1, 1300 * time.Millisecond},
		{2301 * time.Millisecond, 2, 2300 * time.Millisecond},
	}, probes)

	// On the wire: the start-of-day events, the message, two heartbeats
	// naming the next sequence number, the end-of-day events and the end
	// of the session.
	type pkt struct {
		seq   uint64
		count uint16
	}
	var got []pkt
	buf := make([]byte, 65536)
	for len(got) == 0 || got[len(got)-1].count != moldudp64.EndOfSession {
		n, err := feed.Read(buf) // every packet was sent before Run returned
		require.NoError(t, err)
		var p moldudp64.Packet
		require.NoError(t, p.Parse(buf[:n]))
		got = append(got, pkt{p.Seq, p.Count})
	}
	assert.Equal(t, []pkt{{1, 2}, {3, 1}, {4, 0}, {4, 0}, {4, 2}, {6, moldudp64.EndOfSession}}, got)
}

// A Server Heartbeat leaves one interval after the last packet the session
// wrote, and a write restarts that interval.
func TestServerHeartbeatLeavesOneIntervalAfterTheLastPacket(t *testing.T) {
	x, rt, _ := simExchange(t)
	// Connect before the runtime runs: the kernel completes the handshake
	// on its own, and Accept then finds the connection without waiting for
	// IO (under a simulated clock, time would jump meanwhile).
	client, err := net.Dial("tcp", x.OrderAddr().String())
	require.NoError(t, err)
	defer client.Close()

	var lastSent []time.Duration
	err = asyncrt.Run(rt, func(t *asyncrt.Task) error {
		conn, err := x.orderLn.Accept(t)
		if err != nil {
			return err
		}
		start := t.Now()
		s := &session{x: x, u: x.users["ALICE"], conn: conn, lastSent: start}
		if s.wake, s.wakeRx, err = asyncrt.NewChan[struct{}](t.Runtime(), 1); err != nil {
			return err
		}
		x.open.Send(1) // drop counts the session out again
		w := asyncrt.SpawnFunc(t, s.writer)
		t.SleepUntil(start.Add(300 * time.Millisecond))
		s.queue(soupbin.TypeSequencedData, []byte("reply"))
		for _, at := range []time.Duration{1299, 1301, 2299, 2301} {
			t.SleepUntil(start.Add(at * time.Millisecond))
			lastSent = append(lastSent, s.lastSent.Sub(start))
		}
		w.Abort()
		s.drop()
		x.orderLn.Close()
		x.snapLn.Close()
		x.feed.conn.Close()
		return nil
	})
	require.NoError(t, err)
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{300 * ms, 1300 * ms, 1300 * ms, 2300 * ms}, lastSent)

	// The reply, then a heartbeat per quiet second, and nothing else.
	r := soupbin.NewReader(client, 0)
	var types []byte
	for {
		typ, _, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		types = append(types, typ)
	}
	assert.Equal(t, []byte{soupbin.TypeSequencedData, soupbin.TypeServerHeartbeat, soupbin.TypeServerHeartbeat}, types)
}
