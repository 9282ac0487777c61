package simnet_test

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// An echo server and a client on two simulated hosts, 5 ms apart (plus up
// to 1 ms of jitter). The code on the hosts is plain package socket code:
// it would run unchanged on real sockets. Under the simulated clock the
// run takes microseconds of wall time, its times are exact, and the same
// seed replays it event for event.
func Example() {
	a, err := echo(1, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := echo(1, false)
	c, _ := echo(2, false)
	fmt.Println("same seed, same digest:", a == b)
	fmt.Println("another seed, another digest:", a != c)
	// Output:
	// listening on 127.0.1.1:7000
	// connected from 127.0.1.2 after 12ms
	// echo "hello" after 22ms
	// same seed, same digest: true
	// another seed, another digest: true
}

// echo runs the example's simulation and returns its digest.
func echo(seed uint64, show bool) (uint64, error) {
	say := func(format string, args ...any) {
		if show {
			fmt.Printf(format, args...)
		}
	}
	net, err := simnet.New(simnet.Config{Seed: seed, Link: simnet.Link{Latency: 5 * time.Millisecond, Jitter: time.Millisecond}})
	if err != nil {
		return 0, err
	}
	server, _ := net.AddHost("server", netip.MustParseAddr("127.0.1.1"), nil)
	client, _ := net.AddHost("client", netip.MustParseAddr("127.0.1.2"), nil)
	clock := asyncrt.NewSimClock(time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC))
	rt, err := asyncrt.NewBuilder().Clock(clock).Network(net).Build()
	if err != nil {
		return 0, err
	}
	defer rt.Close()

	talk := func(t *asyncrt.Task) error { // runs on the client
		start := t.Now()
		c, err := socket.DialTCP(t, "tcp", "127.0.1.1:7000")
		if err != nil {
			return err
		}
		defer c.Close()
		say("connected from %v after %v\n", c.LocalAddrPort().Addr(), t.Now().Sub(start).Round(time.Millisecond))
		if _, err := io.WriteString(c, "hello\n"); err != nil {
			return err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		say("echo %q after %v\n", strings.TrimSpace(line), t.Now().Sub(start).Round(time.Millisecond))
		return c.CloseWrite()
	}
	serve := func(t *asyncrt.Task) error { // runs on the server
		l, err := socket.ListenTCP(t, "tcp", "127.0.1.1:7000")
		if err != nil {
			return err
		}
		defer l.Close()
		say("listening on %v\n", l.AddrPort())
		// Now that the server listens, start the client on its host.
		client := asyncrt.Spawn(t, talk, asyncrt.InNode(client.Node()))
		c, err := l.Accept(t)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := io.Copy(c, c); err != nil { // echo until the client closes its side
			return err
		}
		return client.Wait(t)
	}
	err = asyncrt.Run(rt, func(t *asyncrt.Task) error {
		return asyncrt.Spawn(t, serve, asyncrt.InNode(server.Node())).Wait(t)
	})
	return net.Digest(), err
}
