package simnet_test

import (
	"math"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
)

func TestLinkValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		link simnet.Link
		want []string // every part of the error
	}{
		{"negative latency", simnet.Link{Latency: -time.Millisecond}, []string{"latency -1ms is negative"}},
		{"negative jitter", simnet.Link{Jitter: -1}, []string{"jitter -1ns is negative"}},
		{"negative bandwidth", simnet.Link{Bandwidth: -5}, []string{"bandwidth -5 is negative"}},
		{"negative reorder delay", simnet.Link{ReorderDelay: -time.Second}, []string{"reorder delay -1s is negative"}},
		{"loss above 1", simnet.Link{Loss: 1.5}, []string{"loss 1.5 is not a probability in [0, 1]"}},
		{"negative loss", simnet.Link{Loss: -0.1}, []string{"loss -0.1 is not a probability in [0, 1]"}},
		{"NaN loss", simnet.Link{Loss: math.NaN()}, []string{"loss NaN is not a probability in [0, 1]"}},
		{"NaN duplicate", simnet.Link{Duplicate: math.NaN()}, []string{"duplicate NaN is not a probability"}},
		{"infinite reorder", simnet.Link{Reorder: math.Inf(1)}, []string{"reorder +Inf is not a probability"}},
		{"loss of every packet", simnet.Link{Loss: 1}, []string{"loss 1 would lose every packet", "use Network.Partition"}},
		{"all at once", simnet.Link{Latency: -1, Bandwidth: -1, Duplicate: 2},
			[]string{"latency -1ns is negative", "bandwidth -1 is negative", "duplicate 2 is not a probability"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := simnet.New(simnet.Config{Link: tc.link})
			require.Error(t, err)
			assert.Nil(t, n)
			assert.Contains(t, err.Error(), "simnet: Config.Link: ")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}

			n = newNetwork(t, simnet.Config{})
			a := addHost(t, n, "a", "127.0.1.1")
			b := addHost(t, n, "b", "127.0.1.2")
			err = n.SetLink(a, b, tc.link)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "simnet: SetLink(a, b): ")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}

	// The edges of the valid range.
	for _, l := range []simnet.Link{
		{},
		{Latency: time.Second, Jitter: time.Millisecond, Bandwidth: 1, Loss: 0.999, Duplicate: 1, Reorder: 1, ReorderDelay: time.Second},
	} {
		n, err := simnet.New(simnet.Config{Link: l})
		require.NoError(t, err)
		a := addHost(t, n, "a", "127.0.1.1")
		b := addHost(t, n, "b", "127.0.1.2")
		require.NoError(t, n.SetLink(a, b, l))
	}
}

func TestAddHost(t *testing.T) {
	n := newNetwork(t, simnet.Config{})
	a, err := n.AddHost("a", netip.MustParseAddr("127.0.1.1"), nil)
	require.NoError(t, err)
	assert.Equal(t, "a", a.Name())
	assert.Equal(t, netip.MustParseAddr("127.0.1.1"), a.Addr())
	assert.Same(t, n, a.Network())
	assert.True(t, a.Up())
	assert.Equal(t, "a(127.0.1.1)", a.String())
	assert.Equal(t, "a", a.Node().Name())
	assert.Same(t, a, a.Node().Value())
	assert.Nil(t, a.Node().World())

	for _, tc := range []struct {
		name, addr string
		want       string
	}{
		{"b", "10.0.0.1", `simnet: AddHost("b", 10.0.0.1): a simulated host's address must be in 127.0.0.0/8`},
		{"b", "192.168.1.1", "must be in 127.0.0.0/8"},
		{"b", "::1", "must be in 127.0.0.0/8"},
		{"b", "::ffff:127.0.1.9", "must be in 127.0.0.0/8"},
		{"b", "127.0.0.1", `simnet: AddHost("b", 127.0.0.1): 127.0.0.1 is every host's own loopback`},
		{"b", "127.0.1.1", `simnet: AddHost("b", 127.0.1.1): the address belongs to host "a"`},
		{"a", "127.0.1.2", `simnet: AddHost("a"): a host of that name exists`},
		{"", "127.0.1.2", "simnet: AddHost: the host needs a name"},
	} {
		h, err := n.AddHost(tc.name, netip.MustParseAddr(tc.addr), nil)
		assert.Nil(t, h, "%s %s", tc.name, tc.addr)
		if assert.Error(t, err, "%s %s", tc.name, tc.addr) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	h, err := n.AddHost("b", netip.Addr{}, nil)
	assert.Nil(t, h)
	assert.ErrorContains(t, err, "must be in 127.0.0.0/8")

	b, err := n.AddHost("b", netip.MustParseAddr("127.255.255.254"), nil)
	require.NoError(t, err)
	assert.Equal(t, []*simnet.Host{a, b}, n.Hosts())
	assert.Same(t, b, n.Host(netip.MustParseAddr("127.255.255.254")))
	assert.Nil(t, n.Host(netip.MustParseAddr("127.0.1.3")))
}

func TestLinkChecks(t *testing.T) {
	n := newNetwork(t, simnet.Config{})
	a := addHost(t, n, "a", "127.0.1.1")
	b := addHost(t, n, "b", "127.0.1.2")
	other := newNetwork(t, simnet.Config{})
	x := addHost(t, other, "x", "127.0.1.3")

	assert.EqualError(t, n.SetLink(a, x, simnet.Link{}), "simnet: SetLink(a, x): a host of another network")
	assert.EqualError(t, n.SetLink(x, a, simnet.Link{}), "simnet: SetLink(x, a): a host of another network")
	assert.EqualError(t, n.SetLink(a, a, simnet.Link{}), "simnet: SetLink(a, a): a host has no link to itself")
	assert.EqualError(t, n.SetLink(a, nil, simnet.Link{}), "simnet: SetLink: a nil host")
	assert.False(t, n.Partitioned(a, a))
	assert.False(t, n.Partitioned(a, nil))

	rt, _ := build(t, n)
	run(t, rt, func(task *asyncrt.Task) error {
		assert.EqualError(t, n.Partition(task, a, x), "simnet: Partition(a, x): a host of another network")
		assert.EqualError(t, n.Partition(task, b, b), "simnet: Partition(b, b): a host has no link to itself")
		assert.EqualError(t, n.Heal(task, x, b), "simnet: Heal(x, b): a host of another network")
		assert.EqualError(t, n.Heal(task, a, a), "simnet: Heal(a, a): a host has no link to itself")
		assert.EqualError(t, n.Partition(task, nil, b), "simnet: Partition: a nil host")
		assert.Zero(t, n.Stats().Partitions)

		// Partitioning twice counts once; healing a link that is not cut
		// does nothing.
		require.NoError(t, n.Heal(task, a, b))
		require.NoError(t, n.Partition(task, a, b))
		require.NoError(t, n.Partition(task, b, a))
		assert.True(t, n.Partitioned(a, b))
		assert.True(t, n.Partitioned(b, a))
		assert.EqualValues(t, 1, n.Stats().Partitions)
		require.NoError(t, n.Heal(task, b, a))
		assert.False(t, n.Partitioned(a, b))

		// Another network's fault injection from this runtime's task:
		// that network is attached to no runtime.
		y, err := other.AddHost("y", netip.MustParseAddr("127.0.1.4"), nil)
		assert.NoError(t, err)
		msg := panicMessage(func() { _ = other.Partition(task, x, y) })
		assert.Equal(t, "simnet: Partition on a network attached to no runtime: build the runtime with asyncrt.Builder.Network first", msg)
		return nil
	})
}

func TestAttachTwice(t *testing.T) {
	n := newNetwork(t, simnet.Config{})
	rt, _ := build(t, n)
	assert.Same(t, n, rt.Network())
	assert.Same(t, rt, n.Runtime())

	rt2, err := asyncrt.NewBuilder().Clock(asyncrt.NewSimClock(simStart)).Network(n).Build()
	assert.Nil(t, rt2)
	require.Error(t, err)
	assert.Equal(t, "asyncrt: attaching the network: simnet: the network is attached to a runtime already; a network serves one runtime", err.Error())
	assert.Same(t, rt, n.Runtime(), "the failed build leaves the network on its runtime")

	// A task of another runtime may not inject faults into the network.
	a := addHost(t, n, "a", "127.0.1.1")
	b := addHost(t, n, "b", "127.0.1.2")
	other, err := asyncrt.New()
	require.NoError(t, err)
	defer other.Close()
	msg, err := asyncrt.BlockOn(other, func(t *asyncrt.Task) string {
		return panicMessage(func() { _ = n.Partition(t, a, b) })
	})
	require.NoError(t, err)
	assert.Equal(t, "simnet: Partition called by a task of another runtime than the network's", msg)
}

func TestSocketsNeedAHost(t *testing.T) {
	n := newNetwork(t, simnet.Config{})
	a := addHost(t, n, "a", "127.0.1.1")
	rt, _ := build(t, n)
	run(t, rt, func(task *asyncrt.Task) error {
		assert.Nil(t, simnet.HostOf(task))
		assert.Same(t, n, simnet.For(task))
		_, err := simnet.Listen(task, addrPort("0.0.0.0:80"), 1, simnet.StreamOptions{})
		assert.ErrorContains(t, err, "simnet: listen from a task on no simulated host")
		_, err = simnet.Dial(task, addrPort("127.0.1.1:80"), time.Time{}, simnet.StreamOptions{})
		assert.ErrorContains(t, err, "simnet: dial from a task on no simulated host")
		_, err = simnet.ListenPacket(task, addrPort("0.0.0.0:80"), netip.AddrPort{}, 0)
		assert.ErrorContains(t, err, "spawn the task on one with asyncrt.InNode(host.Node())")

		await(task, on(task, a, func(task *asyncrt.Task) struct{} {
			assert.Same(t, a, simnet.HostOf(task))
			// Children stay on the host.
			assert.Same(t, a, await(task, asyncrt.Spawn(task, simnet.HostOf)))
			// A host binds its own address, loopback and the unspecified
			// address only.
			_, err := simnet.Listen(task, addrPort("127.0.1.2:80"), 1, simnet.StreamOptions{})
			assert.ErrorContains(t, err, "simnet: listen 127.0.1.2 on host a(127.0.1.1): cannot assign requested address")
			l, err := simnet.Listen(task, addrPort("127.0.1.1:80"), 1, simnet.StreamOptions{})
			if !assert.NoError(t, err) {
				return struct{}{}
			}
			_, err = simnet.Listen(task, addrPort("0.0.0.0:80"), 1, simnet.StreamOptions{})
			assert.ErrorContains(t, err, "bind: address already in use")
			assert.NoError(t, l.Close(task))
			assert.ErrorIs(t, l.Close(task), net.ErrClosed)
			l, err = simnet.Listen(task, addrPort("0.0.0.0:0"), 1, simnet.StreamOptions{})
			if !assert.NoError(t, err) {
				return struct{}{}
			}
			assert.Equal(t, addrPort("0.0.0.0:32768"), l.Addr())
			assert.NoError(t, l.Close(task))
			return struct{}{}
		}))
		return nil
	})
	// Other runtimes have no simulated network.
	plain, err := asyncrt.New()
	require.NoError(t, err)
	defer plain.Close()
	got, err := asyncrt.BlockOn(plain, simnet.For)
	require.NoError(t, err)
	assert.Nil(t, got)
}

// panicMessage runs fn and returns what it panicked with, as a string.
func panicMessage(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmtAny(r)
		}
	}()
	fn()
	return ""
}

func fmtAny(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case error:
		return v.Error()
	}
	return "non-string panic"
}
