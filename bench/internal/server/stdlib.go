package server

import (
	"bufio"
	"context"
	"errors"
	"log"
	"net"
	"sync"
	"time"

	"github.com/orrery-go/orrery/bench/internal/proto"
)

// stdlibServer is the idiomatic Go server: net.Listen, a goroutine per
// connection, bufio on both sides.
type stdlibServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

func startStdlib(addr string) (*Server, error) {
	// Keep-alive probes off, as on the other servers (package net turns
	// them on by default); TCP_NODELAY is package net's default.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &stdlibServer{ln: ln, conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.accept()
	return &Server{addr: ln.Addr().String(), stop: s.close}, nil
}

func (s *stdlibServer) accept() {
	defer s.wg.Done()
	var pause time.Duration // as net/http.Server.Serve: 5 ms doubling to 1 s
	for {
		c, err := s.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // EMFILE and the like: package net does not pause
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			log.Printf("stdlib server: %v; accepting again in %v", err, pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// serve answers one connection. Responses collect in the bufio.Writer and
// are flushed only before a read that may block, that is when no complete
// request is left in the bufio.Reader: pipelined requests that arrive
// together are answered with one write, as on the other servers.
func (s *stdlibServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, proto.BufferSize)
	w := bufio.NewWriterSize(c, proto.BufferSize)
	for {
		if r.Buffered() < proto.HeaderSize && w.Flush() != nil {
			return
		}
		hdr, err := r.Peek(proto.HeaderSize)
		if err != nil {
			return
		}
		n, err := proto.FrameLen(hdr)
		if err != nil {
			return
		}
		if r.Buffered() < n && w.Flush() != nil {
			return
		}
		frame, err := r.Peek(n)
		if err != nil {
			return
		}
		// AvailableBuffer lets the response be built in the writer's own
		// buffer, without a copy.
		if _, err := w.Write(proto.AppendResponse(w.AvailableBuffer(), frame)); err != nil {
			return
		}
		r.Discard(n)
	}
}

func (s *stdlibServer) close() error {
	err := s.ln.Close()
	s.mu.Lock()
	s.done = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}
