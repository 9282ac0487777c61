package socket_test

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// serveEcho runs an echo server on its own runtime and goroutine and returns
// its address and a function that stops it.
func serveEcho(b *testing.B, builder *asyncrt.Builder) (string, func()) {
	rt, err := builder.Build()
	if err != nil {
		b.Fatal(err)
	}
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
			l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
			if err != nil {
				panic(err)
			}
			addr <- l.AddrPort().String()
			asyncrt.Spawn(t, func(t *asyncrt.Task) int { return echoServer(t, l) }).Detach()
			t.ShutdownSignal()
			l.Close()
			return 0
		})
	}()
	return <-addr, func() {
		rt.ShutdownHandle().Trigger()
		<-done
		rt.Close()
	}
}

// BenchmarkTCPEchoRTT measures the round trip of a 64-byte message over
// loopback: an echo server on one runtime, the client on another, each on
// its own goroutine and thread, with the default (parking) idle strategy.
// p50 and p99 of the round trips are reported.
func BenchmarkTCPEchoRTT(b *testing.B) {
	benchEchoRTT(b, asyncrt.NewBuilder(), asyncrt.NewBuilder())
}

// BenchmarkTCPEchoRTTSpin is TCPEchoRTT with both runtimes spinning, each
// pinned to a CPU of its own when the machine has two.
func BenchmarkTCPEchoRTTSpin(b *testing.B) {
	server, client := asyncrt.NewBuilder().Idle(asyncrt.Spin), asyncrt.NewBuilder().Idle(asyncrt.Spin)
	if runtime.NumCPU() >= 2 {
		server, client = server.PinCPU(0), client.PinCPU(1)
	}
	benchEchoRTT(b, server, client)
}

// echoRounds sends 64-byte messages on c and reads them back, once per
// benchmark iteration, recording each round trip (up to rtts' capacity).
func echoRounds(b *testing.B, c *socket.TCPConn, rtts *[]time.Duration) error {
	msg, back := make([]byte, 64), make([]byte, 64)
	for b.Loop() {
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, back); err != nil {
			return err
		}
		if len(*rtts) < cap(*rtts) {
			*rtts = append(*rtts, time.Since(start))
		}
	}
	return nil
}

func benchEchoRTT(b *testing.B, server, client *asyncrt.Builder) {
	addr, stop := serveEcho(b, server)
	defer stop()
	rt := newBenchRuntime(b, client)
	rtts := make([]time.Duration, 0, 1<<20)
	b.ReportAllocs()
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) error {
		c, err := socket.DialTCP(t, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		return echoRounds(b, c, &rtts)
	})
	if err != nil {
		b.Fatal(err)
	}
	reportPercentiles(b, rtts)
}

// BenchmarkStdlibTCPEchoRTT is the baseline: the same exchange with package
// net, a goroutine per side.
func BenchmarkStdlibTCPEchoRTT(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg, back := make([]byte, 64), make([]byte, 64)
	rtts := make([]time.Duration, 0, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, back); err != nil {
			b.Fatal(err)
		}
		if len(rtts) < cap(rtts) {
			rtts = append(rtts, time.Since(start))
		}
	}
	reportPercentiles(b, rtts)
}

// serveDiscard runs a server that reads and discards everything, on its own
// runtime and goroutine.
func serveDiscard(b *testing.B) (string, func()) {
	rt, err := asyncrt.New()
	if err != nil {
		b.Fatal(err)
	}
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
			l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
			if err != nil {
				panic(err)
			}
			addr <- l.AddrPort().String()
			asyncrt.Spawn(t, func(t *asyncrt.Task) int {
				for {
					c, err := l.Accept(t)
					if err != nil {
						return 0
					}
					asyncrt.Spawn(t, func(t *asyncrt.Task) int {
						defer c.Close()
						buf := make([]byte, 256<<10)
						for {
							if _, err := c.Read(buf); err != nil {
								return 0
							}
						}
					}).Detach()
				}
			}).Detach()
			t.ShutdownSignal()
			l.Close()
			return 0
		})
	}()
	return <-addr, func() {
		rt.ShutdownHandle().Trigger()
		<-done
		rt.Close()
	}
}

// BenchmarkTCPThroughput streams 64 KiB writes to a discarding server on
// another runtime.
func BenchmarkTCPThroughput(b *testing.B) {
	addr, stop := serveDiscard(b)
	defer stop()
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	b.SetBytes(64 << 10)
	b.ReportAllocs()
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) error {
		c, err := socket.DialTCP(t, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		chunk := make([]byte, 64<<10)
		for b.Loop() {
			if _, err := c.Write(chunk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStdlibTCPThroughput is the baseline with package net.
func BenchmarkStdlibTCPThroughput(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 256<<10)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	chunk := make([]byte, 64<<10)
	b.SetBytes(64 << 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTCPEchoRTTOneRuntime is TCPEchoRTT with the server and the client
// as tasks of one runtime: one thread, like the standard library's goroutines
// when its scheduler runs both ends on one thread.
func BenchmarkTCPEchoRTTOneRuntime(b *testing.B) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	rtts := make([]time.Duration, 0, 1<<20)
	b.ReportAllocs()
	_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) error {
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer l.Close()
		asyncrt.Spawn(t, func(t *asyncrt.Task) int { return echoServer(t, l) }).Detach()
		c, err := socket.DialTCP(t, "tcp", l.AddrPort().String())
		if err != nil {
			return err
		}
		defer c.Close()
		return echoRounds(b, c, &rtts)
	})
	if err != nil {
		b.Fatal(err)
	}
	reportPercentiles(b, rtts)
}
