package socket_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

func ExampleListenTCP() {
	rt, _ := asyncrt.New()
	defer rt.Close()

	reply, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) string {
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer l.Close()
		// An echo server: a task per connection. AcceptRetry rides out the
		// failures that leave the listener usable (EMFILE...).
		asyncrt.Spawn(t, func(t *asyncrt.Task) int {
			var retry socket.AcceptRetry
			for {
				c, err := retry.Accept(t, l)
				if err != nil {
					if !errors.Is(err, net.ErrClosed) {
						log.Printf("no longer accepting: %v", err)
					}
					return 0
				}
				asyncrt.Spawn(t, func(t *asyncrt.Task) int {
					defer c.Close()
					_, _ = io.Copy(c, c) // TCPConn is an io.Reader and io.Writer in a task
					return 0
				}).Detach()
			}
		}).Detach()

		c, err := socket.DialTCP(t, "tcp", l.AddrPort().String(), socket.ConnectTimeout(time.Second))
		if err != nil {
			panic(err)
		}
		defer c.Close()
		fmt.Fprintln(c, "ping")
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	})
	fmt.Print(reply, err)
	// Output: ping
	// <nil>
}
