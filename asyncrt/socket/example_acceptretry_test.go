package socket_test

import (
	"bufio"
	"errors"
	"fmt"
	"log"
	"net"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// An accept loop that survives running out of file descriptors. It accepts
// in a Select next to its stop token; a failed accept that leaves the
// listener usable does not complete the accept case: the AcceptRetry logs
// the first failure of a burst, pauses accepting (5 ms, doubling up to 1 s)
// and accepts again, taking the connections that queued meanwhile.
func ExampleAcceptRetry() {
	rt, _ := asyncrt.New()
	defer rt.Close()

	err := asyncrt.Run(rt, func(t *asyncrt.Task) error {
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer l.Close()

		stop := asyncrt.NewCancellationToken()
		server := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			var retry socket.AcceptRetry // 5 ms doubling to 1 s, logged with log.Printf
			stopped, accept := asyncrt.OnCancel(stop), retry.OnAccept(l)
			for {
				// The stop case first: a busy listener must not hold it off.
				if i, _ := asyncrt.Select(t, stopped, accept); i == 0 {
					return nil
				}
				if err := accept.Err(); err != nil {
					return err // net.ErrClosed, or an error that waiting will not clear
				}
				c := accept.Conn()
				_, err := fmt.Fprintln(c, "hello")
				if err := errors.Join(err, c.Close()); err != nil {
					log.Printf("greeting %v: %v", c.RemoteAddr(), err)
				}
			}
		})

		c, err := socket.DialTCP(t, "tcp", l.AddrPort().String())
		if err != nil {
			return err
		}
		defer c.Close()
		line, err := bufio.NewReader(c).ReadString('\n')
		fmt.Printf("client got: %q, %v\n", line, err)
		stop.Cancel()
		return server.Wait(t)
	})
	fmt.Println("server:", err)
	// Output:
	// client got: "hello\n", <nil>
	// server: <nil>
}

// An accept loop without a Select, ended by closing the listener (from
// any goroutine): Accept returns only connections, and the error that ends
// the loop.
func ExampleAcceptRetry_Accept() {
	rt, _ := asyncrt.New()
	defer rt.Close()

	served, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		server := asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			var retry socket.AcceptRetry
			served := 0
			for {
				c, err := retry.Accept(t, l)
				if errors.Is(err, net.ErrClosed) {
					return served
				} else if err != nil {
					log.Printf("no longer accepting: %v", err)
					return served
				}
				served++
				if err := c.Close(); err != nil {
					log.Printf("closing %v: %v", c.RemoteAddr(), err)
				}
			}
		})
		for range 3 {
			c, err := socket.DialTCP(t, "tcp", l.AddrPort().String())
			if err != nil {
				panic(err)
			}
			// Read until the server closes: it has accepted c.
			if _, err := c.Read(make([]byte, 1)); err == nil {
				panic("the server sent something")
			}
			if err := c.Close(); err != nil {
				panic(err)
			}
		}
		if err := l.Close(); err != nil {
			panic(err)
		}
		n, err := server.Await(t)
		if err != nil {
			panic(err)
		}
		return n
	})
	fmt.Println("served:", served, err)
	// Output:
	// served: 3 <nil>
}
