package socket_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// An echo server on two runtimes, each on its own thread with its own
// listener on one port (SO_REUSEPORT): the kernel spreads the connections
// between them. The roots keep the runtimes going until the group shuts
// down; ServeGroup, called meanwhile from an ordinary goroutine, waits until
// both have opened their listeners.
func ExampleServeGroup() {
	g, err := asyncrt.NewGroup(2, func(i int, b *asyncrt.Builder) {
		// b.PinCPU(i): a runtime per core.
	})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	done := make(chan error, 1)
	go func() {
		done <- g.Run(func(t *asyncrt.Task, i int) error {
			t.ShutdownSignal() // serve until the group shuts down
			return nil
		})
	}()

	srv, err := socket.ServeGroup(g, "tcp", "127.0.0.1:0", func(t *asyncrt.Task, c *socket.TCPConn) {
		_, _ = io.Copy(c, c) // c is closed when the handler returns
	})
	if err != nil {
		panic(err)
	}

	for i := range 4 { // clients, from ordinary goroutines or other programs
		c, err := net.DialTimeout("tcp", srv.Addr().String(), 5*time.Second)
		if err != nil {
			panic(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "hello %d\n", i)
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			panic(err)
		}
		fmt.Print(line)
		c.Close()
	}

	// Accepted()[i] is what runtime i took; which one took each
	// connection is the kernel's choice.
	var total uint64
	for _, n := range srv.Accepted() {
		total += n
	}
	fmt.Println("accepted:", total)

	fmt.Println("close:", srv.Close(), "wait:", srv.Wait())
	g.Shutdown(5 * time.Second) // the open connections finish first
	fmt.Println("run:", <-done)
	// Output:
	// hello 0
	// hello 1
	// hello 2
	// hello 3
	// accepted: 4
	// close: <nil> wait: <nil>
	// run: <nil>
}
