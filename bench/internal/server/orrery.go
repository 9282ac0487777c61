package server

import (
	"errors"
	"log"
	"net"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
	"github.com/orrery-go/orrery/bench/internal/proto"
)

// startOrrery serves on one runtime, with its default settings but the idle
// strategy: a task accepts, and each connection gets a task of its own,
// written as straight-line blocking code.
func startOrrery(addr string, spin bool) (*Server, error) {
	b := asyncrt.NewBuilder()
	if spin {
		b = b.Idle(asyncrt.Spin)
	}
	rt, err := b.Build()
	if err != nil {
		return nil, err
	}
	type listening struct {
		addr string
		err  error
	}
	ready := make(chan listening, 1)
	done := make(chan error, 1)
	go func() {
		_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) error {
			l, err := socket.ListenTCP(t, "tcp", addr, socket.NoDelay(true))
			if err != nil {
				ready <- listening{err: err}
				return err
			}
			defer l.Close()
			ready <- listening{addr: l.AddrPort().String()}
			asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { acceptOrrery(t, l) }, asyncrt.Named("accept")).Detach()
			t.ShutdownSignal()
			return nil
		})
		done <- err
	}()
	r := <-ready
	if r.err != nil {
		<-done
		rt.Close()
		return nil, r.err
	}
	return &Server{addr: r.addr, stop: func() error {
		rt.ShutdownHandle().Trigger()
		err := <-done
		rt.Close() // aborts the accept loop and the connections' tasks; their defers close the sockets
		return err
	}}, nil
}

func acceptOrrery(t *asyncrt.Task, l *socket.TCPListener) {
	// EMFILE and the like: logged once per burst, accepting paused 5 ms
	// doubling to 1 s, the backlog taken when descriptors come back.
	retry := socket.AcceptRetry{Log: func(format string, args ...any) { log.Printf("orrery server: "+format, args...) }}
	for {
		c, err := retry.Accept(t, l)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			log.Printf("orrery server: no longer accepting: %v", err)
			return
		}
		asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
			defer c.Close()
			answerOrrery(c)
		}, asyncrt.Named("conn")).Detach()
	}
}

// answerOrrery answers one connection until it ends or breaks the protocol:
// each Read takes whatever has arrived, every complete request in it is
// answered, and the answers leave in one Write. The buffers are the
// connection's own and reused for every read. Closing c is the caller's
// part (the single runtime's connection task, or socket.ServeGroup).
func answerOrrery(c *socket.TCPConn) {
	in := make([]byte, proto.BufferSize)
	out := make([]byte, 0, 4<<10)
	filled := 0
	for {
		n, err := c.Read(in[filled:])
		if err != nil {
			return
		}
		filled += n
		var used int
		out, used, err = proto.AppendResponses(out[:0], in[:filled])
		if err != nil {
			return
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
		filled = copy(in, in[used:filled])
	}
}
