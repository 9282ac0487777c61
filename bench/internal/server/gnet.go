package server

import (
	"context"
	"fmt"
	"log"
	"net/netip"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/bench/internal/proto"
)

// gnetHandler is gnet's event handler: OnTraffic answers every complete
// request gnet has read and writes the answers with one Write.
type gnetHandler struct {
	gnet.BuiltinEventEngine
	booted chan booted
}

type booted struct {
	eng  gnet.Engine
	addr string
	err  error
}

// gnetConn is a connection's own response buffer, reused for every batch.
// It is per connection, not per handler, because in Multicore mode several
// event loops call OnTraffic at once.
type gnetConn struct{ out []byte }

func startGnet(addr string, multicore bool) (*Server, error) {
	h := &gnetHandler{booted: make(chan booted, 1)}
	done := make(chan error, 1)
	go func() {
		err := gnet.Run(h, "tcp4://"+addr,
			gnet.WithMulticore(multicore),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithReadBufferCap(proto.BufferSize),
			gnet.WithWriteBufferCap(proto.BufferSize),
			// gnet's default logger writes to stdout, where the server
			// command prints its address: log to stderr, warnings and up.
			gnet.WithLogger(quietLogger{}))
		select {
		case h.booted <- booted{err: fmt.Errorf("gnet: %v", err)}: // failed before OnBoot
		default:
		}
		done <- err
	}()
	b := <-h.booted
	if b.err != nil {
		<-done
		return nil, b.err
	}
	return &Server{addr: b.addr, stop: func() error {
		err := b.eng.Stop(context.Background())
		if runErr := <-done; err == nil {
			err = runErr
		}
		return err
	}}, nil
}

// OnBoot reports the engine and the port it listens on: gnet has no method
// for the address, so it is read from a duplicate of the listener.
func (h *gnetHandler) OnBoot(eng gnet.Engine) gnet.Action {
	b := booted{eng: eng}
	fd, err := eng.Dup()
	if err == nil {
		var sa unix.Sockaddr
		sa, err = unix.Getsockname(fd)
		unix.Close(fd)
		if in4, ok := sa.(*unix.SockaddrInet4); ok && err == nil {
			b.addr = netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port)).String()
		} else if err == nil {
			err = fmt.Errorf("gnet: listener address %v is not IPv4", sa)
		}
	}
	b.err = err
	h.booted <- b
	if err != nil {
		return gnet.Shutdown
	}
	return gnet.None
}

// OnOpen gives the connection its response buffer.
func (h *gnetHandler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	c.SetContext(&gnetConn{out: make([]byte, 0, 4<<10)})
	return nil, gnet.None
}

// OnTraffic answers every complete request received; an incomplete one
// stays in gnet's inbound buffer until the rest arrives.
func (h *gnetHandler) OnTraffic(c gnet.Conn) gnet.Action {
	st := c.Context().(*gnetConn)
	in, err := c.Peek(-1)
	if err != nil {
		return gnet.Close
	}
	out, used, err := proto.AppendResponses(st.out[:0], in)
	if err != nil {
		return gnet.Close
	}
	st.out = out
	// Discard(0) would discard everything (gnet treats n <= 0 as "all"),
	// losing a partial request.
	if used > 0 {
		if _, err := c.Discard(used); err != nil {
			return gnet.Close
		}
	}
	if len(out) > 0 {
		if _, err := c.Write(out); err != nil {
			return gnet.Close
		}
	}
	return gnet.None
}

// quietLogger is gnet's logger here: warnings and errors go to stderr,
// through package log; debug and info messages are dropped.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any)          {}
func (quietLogger) Infof(string, ...any)           {}
func (quietLogger) Warnf(format string, a ...any)  { log.Printf("gnet: warning: "+format, a...) }
func (quietLogger) Errorf(format string, a ...any) { log.Printf("gnet: error: "+format, a...) }
func (quietLogger) Fatalf(format string, a ...any) { log.Fatalf("gnet: fatal: "+format, a...) }
