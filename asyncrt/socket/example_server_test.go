package socket_test

import (
	"bufio"
	"context"
	"errors"
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
// signal.NotifyContext for SIGINT and SIGTERM). A failed Accept — EMFILE
// when the process runs out of file descriptors — does not stop it: it waits
// a little and accepts again. On shutdown it stops accepting, gives the open
// connections a deadline to finish, aborts what is left, and reports.
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
		fmt.Fprintln(conn, "hello")
		line, _ := bufio.NewReader(conn).ReadString('\n')
		fmt.Print("client got: ", line)
		conn.Close()
		stop()
	}()

	err := asyncrt.Run(rt, func(t *asyncrt.Task) error {
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer l.Close()
		addr <- l.Addr().String()

		conns := asyncrt.NewJoinSet[struct{}]()
		accept, shutdown := socket.OnAccept(l), asyncrt.OnShutdown()
		for {
			if i, _ := asyncrt.Select(t, accept, shutdown); i == 1 {
				break // stop accepting
			}
			if err := accept.Err(); errors.Is(err, net.ErrClosed) {
				return err
			} else if err != nil {
				log.Printf("accept: %v (accepting again shortly)", err)
				t.Sleep(10 * time.Millisecond)
				continue
			}
			c := accept.Conn()
			conns.SpawnFunc(t, func(t *asyncrt.Task) {
				defer c.Close()
				_, _ = io.Copy(c, c) // echo until the client closes
			})
		}
		// Drain: a second for open connections, then abort the rest.
		_, err = asyncrt.Timeout(t, time.Second, func(t *asyncrt.Task) int {
			for conns.Len() > 0 {
				conns.Next(t)
			}
			return 0
		})
		if errors.Is(err, asyncrt.ErrElapsed) {
			conns.Shutdown(t)
		}
		return nil
	})
	fmt.Println("server:", err)
	fmt.Println("tasks left:", rt.Stats().LiveTasks)
	// Output:
	// client got: hello
	// server: <nil>
	// tasks left: 0
}
