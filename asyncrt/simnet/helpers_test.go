package simnet_test

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
)

// simStart is where every test's simulated clock starts.
var simStart = time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC)

// newNetwork returns a network made with cfg, failing the test on error.
func newNetwork(tb testing.TB, cfg simnet.Config) *simnet.Network {
	tb.Helper()
	n, err := simnet.New(cfg)
	require.NoError(tb, err)
	return n
}

// addHost adds a host named name at addr to n.
func addHost(tb testing.TB, n *simnet.Network, name, addr string) *simnet.Host {
	tb.Helper()
	h, err := n.AddHost(name, netip.MustParseAddr(addr), nil)
	require.NoError(tb, err)
	return h
}

// build builds a runtime on n with a simulated clock, closes it when the
// test ends and then checks that none of its goroutines is left behind.
func build(tb testing.TB, n *simnet.Network) (*asyncrt.Runtime, *asyncrt.SimClock) {
	tb.Helper()
	before := goleak.IgnoreCurrent()
	clock := asyncrt.NewSimClock(simStart)
	rt, err := asyncrt.NewBuilder().Clock(clock).Network(n).Build()
	require.NoError(tb, err)
	tb.Cleanup(func() {
		rt.Close()
		goleak.VerifyNone(tb, before)
	})
	return rt, clock
}

// run runs body as rt's root task, then lets what is in flight settle and
// checks that no task is left behind: the hosts' tasks have all ended and
// the network's pump has exited with nothing left to deliver.
func run(tb testing.TB, rt *asyncrt.Runtime, body func(t *asyncrt.Task) error) {
	tb.Helper()
	err := asyncrt.Run(rt, func(t *asyncrt.Task) error {
		if err := body(t); err != nil {
			return err
		}
		return settle(t)
	})
	require.NoError(tb, err)
	st := rt.Stats()
	require.Zero(tb, st.LiveTasks, "live tasks after the run")
	require.Zero(tb, st.PendingTimers, "pending timers after the run")
	require.Zero(tb, st.Registrations, "registrations after the run")
}

// settle sleeps until t is the runtime's only task: everything in flight
// has been delivered and the pump has exited. Nothing in a test takes
// longer than an hour of simulated time to settle.
func settle(t *asyncrt.Task) error {
	for range 3600 {
		if t.Runtime().Stats().LiveTasks == 1 {
			return nil
		}
		t.Sleep(time.Second)
	}
	return fmt.Errorf("tasks left behind: %v", t.Runtime().Tasks())
}

// on spawns fn on host h.
func on[T any](t *asyncrt.Task, h *simnet.Host, fn func(*asyncrt.Task) T) asyncrt.JoinHandle[T] {
	return asyncrt.Spawn(t, fn, asyncrt.InNode(h.Node()))
}

// await awaits h, panicking (failing the run) if the task did not return.
func await[T any](t *asyncrt.Task, h asyncrt.JoinHandle[T]) T {
	v, err := h.Await(t)
	if err != nil {
		panic(fmt.Sprintf("awaiting a task: %v", err))
	}
	return v
}

// listen opens a listener on h at port (on h's address).
func listen(t *asyncrt.Task, h *simnet.Host, port uint16, backlog int, opts simnet.StreamOptions) *simnet.Listener {
	return await(t, on(t, h, func(t *asyncrt.Task) *simnet.Listener {
		l, err := simnet.Listen(t, netip.AddrPortFrom(h.Addr(), port), backlog, opts)
		if err != nil {
			panic(err)
		}
		return l
	}))
}

// elapsed returns the simulated time since the start of the run.
func elapsed(t *asyncrt.Task) time.Duration { return t.Now().Sub(simStart) }

// readAll reads s until EOF (or another error), returning what it read
// and the error (nil for EOF).
func readAll(t *asyncrt.Task, s *simnet.Stream, chunk int) ([]byte, error) {
	var out []byte
	buf := make([]byte, chunk)
	for {
		k, err := s.Read(t, buf)
		out = append(out, buf[:k]...)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
	}
}

// pattern returns n bytes that differ from one offset to the next, from
// offset off of an endless stream.
func pattern(off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		x := uint32(off + i)
		b[i] = byte(x*2654435761>>24) ^ byte(x)
	}
	return b
}

// addrPort is netip.MustParseAddrPort.
func addrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
