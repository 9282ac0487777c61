package server_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/bench/internal/loadgen"
	"github.com/orrery-go/orrery/bench/internal/proto"
	"github.com/orrery-go/orrery/bench/internal/server"
)

// TestMain checks that no test leaves a goroutine behind: Close must stop
// each server completely. The two goroutines ignored belong to the default
// pool of ants, a goroutine pool gnet imports: ants creates it when its
// package is initialised and keeps it for the life of the process, engine
// or no engine.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"))
}

type variant struct {
	name string
	cfg  server.Config
}

func variants() []variant {
	var vs []variant
	for _, k := range server.Kinds {
		vs = append(vs, variant{k, server.Config{Kind: k, Addr: "127.0.0.1:0"}})
	}
	return append(vs, variant{"orrery-spin", server.Config{Kind: server.KindOrrery, Addr: "127.0.0.1:0", Spin: true}})
}

func start(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestLoad runs the load generator against every server for a moment, two
// connections with eight requests in flight each: the generator checks
// every response's payload and order, and every request sent must be
// answered.
func TestLoad(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			s := start(t, v.cfg)
			res, err := loadgen.Run(loadgen.Config{
				Addr: s.Addr(), Conns: 2, Pipeline: 8, Payload: 100,
				Warmup: 20 * time.Millisecond, Duration: 200 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests == 0 || res.Sent != res.Received || res.Received < res.Requests {
				t.Fatalf("measured %d, sent %d, answered %d: want some measured, and all answered", res.Requests, res.Sent, res.Received)
			}
			if res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.P999 || res.P999 > res.Max {
				t.Fatalf("percentiles out of order: p50 %v p99 %v p99.9 %v max %v", res.P50, res.P99, res.P999, res.Max)
			}
		})
	}
}

// TestSplitAndBatchedFrames sends requests byte by byte, then many in one
// write, and reads back the exact responses: a server must handle frames
// cut anywhere and answer a batch in order.
func TestSplitAndBatchedFrames(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			s := start(t, v.cfg)
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			expect := func(seq uint64, size int) {
				t.Helper()
				frame := make([]byte, proto.HeaderSize+size)
				if _, err := io.ReadFull(r, frame); err != nil {
					t.Fatalf("response %d: %v", seq, err)
				}
				if err := proto.CheckResponse(frame, seq, size); err != nil {
					t.Fatal(err)
				}
			}
			req := proto.AppendRequest(nil, 0, 40)
			for i := range req {
				if _, err := c.Write(req[i : i+1]); err != nil {
					t.Fatal(err)
				}
			}
			expect(0, 40)
			var batch []byte
			for seq := uint64(1); seq <= 500; seq++ {
				batch = proto.AppendRequest(batch, seq, 8+int(seq%64))
			}
			if _, err := c.Write(batch); err != nil {
				t.Fatal(err)
			}
			for seq := uint64(1); seq <= 500; seq++ {
				expect(seq, 8+int(seq%64))
			}
		})
	}
}

// TestOversizedFrameClosesConnection checks that a server drops a client
// that announces a frame beyond proto.MaxPayload instead of buffering it.
// The read sees the end of the stream, or a reset if the kernel had unread
// data when the server closed.
func TestOversizedFrameClosesConnection(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			s := start(t, v.cfg)
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte{0xff, 0xff, 0xff, 0xff}); err != nil {
				t.Fatal(err)
			}
			if n, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("read %d bytes, %v: want the connection closed", n, err)
			}
		})
	}
}

// TestCloseWithOpenConnections closes each server while clients are still
// connected and idle, their handlers waiting in a read: Close must end
// those handlers (for the Orrery groups, on every runtime), return, and
// leave the clients reading the end of the stream or a reset.
func TestCloseWithOpenConnections(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			s, err := server.Start(v.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for i := range 16 { // enough that a group of two very likely gets some on each runtime
				c, err := net.Dial("tcp", s.Addr())
				if err != nil {
					s.Close()
					t.Fatal(err)
				}
				conns = append(conns, c)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				// One request answered: the connection has a handler.
				r := bufio.NewReader(c)
				if _, err := c.Write(proto.AppendRequest(nil, uint64(i), 16)); err != nil {
					s.Close()
					t.Fatal(err)
				}
				frame := make([]byte, proto.HeaderSize+16)
				if _, err := io.ReadFull(r, frame); err != nil {
					s.Close()
					t.Fatalf("conn %d: %v", i, err)
				}
			}
			closed := make(chan error, 1)
			go func() { closed <- s.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					t.Fatalf("Close: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not return within 10 s with connections open")
			}
			for i, c := range conns {
				if n, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("conn %d: read %d bytes, %v after Close: want the connection closed", i, n, err)
				}
			}
		})
	}
}
