package socket_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// A server that stops gracefully. It accepts in a Select next to the
// shutdown signal, which a context fires (in a program, the context of
// signal.NotifyContext for SIGINT and SIGTERM). A failed accept that leaves
// the listener usable — EMFILE when the process runs out of file
// descriptors — does not stop it: its AcceptRetry logs the first failure of
// a burst, pauses accepting and accepts again. On shutdown it stops
// accepting, gives the open connections a deadline to finish, aborts what
// is left, and reports.
func Example_gracefulShutdown() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	rt, _ := asyncrt.NewBuilder().ShutdownOn(ctx).Build()
	defer rt.Close()

	addr := make(chan string, 1)
	go func() { // a client: one line echoed, then the server is told to stop
		conn, err := net.Dial("tcp", <-addr)
		if err != nil {
			panic(err)
		}
		defer stop()
		defer conn.Close()
		if _, err := fmt.Fprintln(conn, "hello"); err != nil {
			panic(err)
		}
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			panic(err)
		}
		fmt.Print("client got: ", line)
	}()

	err := asyncrt.Run(rt, func(t *asyncrt.Task) error {
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer l.Close()
		addr <- l.Addr().String()

		conns := asyncrt.NewJoinSet[struct{}]()
		// EMFILE and the like: log the first of a burst, pause (5 ms doubling
		// to 1 s), accept again, the connections that queued meanwhile too.
		var retry socket.AcceptRetry
		shutdown, accept := asyncrt.OnShutdown(), retry.OnAccept(l)
		for {
			if i, _ := asyncrt.Select(t, shutdown, accept); i == 0 {
				break // stop accepting
			}
			if err = accept.Err(); err != nil {
				break // net.ErrClosed, or an error that waiting will not clear
			}
			c := accept.Conn()
			conns.SpawnFunc(t, func(t *asyncrt.Task) {
				defer c.Close()
				// Echo until the client closes: a TCPConn is a net.Conn inside
				// its runtime's tasks.
				if _, err := io.Copy(c, c); err != nil {
					log.Printf("echo: %v", err)
				}
			})
		}
		// Drain: open connections get 5 s, then the rest are aborted.
		if _, late := asyncrt.Timeout(t, 5*time.Second, func(t *asyncrt.Task) int {
			for conns.Len() > 0 {
				if r, _ := conns.Next(t); r.Err != nil {
					log.Printf("connection: %v", r.Err) // it panicked
				}
			}
			return 0
		}); late != nil {
			conns.Shutdown(t)
		}
		return err
	})
	fmt.Println("server:", err)
	fmt.Println("tasks left:", rt.Stats().LiveTasks)
	// Output:
	// client got: hello
	// server: <nil>
	// tasks left: 0
}
