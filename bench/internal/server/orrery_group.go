package server

import (
	"errors"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// startOrreryGroup serves with the Orrery server's handler (answerOrrery) on
// a group of n runtimes through socket.ServeGroup: each runtime has its own
// SO_REUSEPORT listener on the same address, and the kernel spreads the
// connections among them. Each runtime has the default settings but the
// idle strategy, as in startOrrery, and a root that waits for its shutdown
// signal so that the group is driven while it serves.
func startOrreryGroup(addr string, n int, spin bool) (*Server, error) {
	g, err := asyncrt.NewGroup(n, func(_ int, b *asyncrt.Builder) {
		if spin {
			b.Idle(asyncrt.Spin)
		}
	})
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		done <- g.Run(func(t *asyncrt.Task, _ int) error {
			t.ShutdownSignal()
			return nil
		})
	}()
	// stopRuntimes ends the roots, waits for Run and closes the group, which
	// aborts whatever tasks are left.
	stopRuntimes := func() error {
		for i := range g.Len() {
			g.Runtime(i).ShutdownHandle().Trigger()
		}
		err := <-done
		g.Close()
		return err
	}
	gs, err := socket.ServeGroup(g, "tcp", addr,
		func(_ *asyncrt.Task, c *socket.TCPConn) { answerOrrery(c) }, // ServeGroup closes c
		socket.NoDelay(true))
	if err != nil {
		return nil, errors.Join(err, stopRuntimes())
	}
	return &Server{addr: gs.Addr().String(), stop: func() error {
		cerr := gs.Close() // the listeners and every open connection
		rerr := stopRuntimes()
		return errors.Join(cerr, rerr, gs.Wait()) // the accept loops' errors, if any
	}}, nil
}
