package socket_test

import (
	"encoding/binary"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// The tick-to-trade floor: only the system calls a trading engine makes
// between a market-data packet and the order it causes. A goroutine sends a
// UDP datagram stamped with the time just before the send; the receiver
// reads it and writes a 49-byte message (an OUCH Enter Order in its
// SoupBinTCP frame) on a TCP connection to a sink. p50-ns and p99-ns are
// from the read's return to the write's return, as the trading example
// measures its tick-to-trade; e2e-p50-ns and e2e-p99-ns from the stamp, so
// they include waking the receiver. The receiver is a plain goroutine (the
// Go floor) or a task on a runtime. The sender waits for each order to be
// written before the next packet, so the receiver and the sink go idle
// between packets, as they do between a feed's bursts.
//
// The sink is a goroutine (GoSink) or a task on a runtime of its own that
// parks between orders (ParkedSink), as the trading example's exchange
// does: the order's write then wakes a thread asleep in epoll_wait, and
// the kernel may run that thread on the writer's CPU before the write
// returns, which is part of what a tick-to-trade costs on one machine.

const orderSize = 49

// A sink accepts one connection and discards what it reads; it returns
// the address and a function that waits for the connection's end.
type sink func(b *testing.B) (addr string, wait func())

var sinks = []struct {
	name string
	make sink
}{{"GoSink", goSink}, {"ParkedSink", parkedSink}}

// goSink is a sink on a goroutine.
func goSink(b *testing.B) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		_, _ = io.Copy(io.Discard, c)
	}()
	return ln.Addr().String(), func() { <-done }
}

// parkedSink is a sink on a runtime of its own, which parks while no
// order comes.
func parkedSink(b *testing.B) (string, func()) {
	rt := newBenchRuntime(b, asyncrt.NewBuilder())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() {
		_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) error {
			ln, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
			if err != nil {
				close(addr)
				return err
			}
			defer ln.Close()
			addr <- ln.Addr().String()
			c, err := ln.Accept(t)
			if err != nil {
				return err
			}
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					if err == io.EOF {
						return nil
					}
					return err
				}
			}
		})
		done <- err
	}()
	a, ok := <-addr
	if !ok {
		b.Fatal(<-done)
	}
	return a, func() {
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
}

// feed sends one datagram to addr per benchmark iteration, stamped with
// the time since epoch, after the previous one's order was written (ack);
// then it closes stop.
func feed(b *testing.B, addr string, epoch time.Time, ack <-chan struct{}, stop chan<- struct{}) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var pkt [64]byte
	for b.Loop() {
		binary.LittleEndian.PutUint64(pkt[:], uint64(time.Since(epoch)))
		if _, err := c.Write(pkt[:]); err != nil {
			b.Fatal(err)
		}
		<-ack
	}
	b.StopTimer()
	close(stop)
	binary.LittleEndian.PutUint64(pkt[:], 0) // wakes the receiver to see stop
	_, _ = c.Write(pkt[:])
}

// BenchmarkTickToTradeFloorGo is the floor with package net: a goroutine
// reads the datagram and writes the order.
func BenchmarkTickToTradeFloorGo(b *testing.B) {
	for _, sk := range sinks {
		b.Run(sk.name, func(b *testing.B) { benchFloorGo(b, sk.make) })
	}
}

func benchFloorGo(b *testing.B, mk sink) {
	sink, sinkDone := mk(b)
	out, err := net.Dial("tcp", sink)
	if err != nil {
		b.Fatal(err)
	}
	in, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ack, stop := make(chan struct{}, 1), make(chan struct{})
	var lat latencies
	epoch := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf, order := make([]byte, 1500), make([]byte, orderSize)
		for {
			n, _, err := in.ReadFrom(buf)
			if err != nil {
				b.Error(err)
				return
			}
			read := time.Since(epoch)
			select {
			case <-stop:
				return
			default:
			}
			if _, err := out.Write(order); err != nil {
				b.Error(err)
				return
			}
			lat.add(n, buf, read, time.Since(epoch))
			ack <- struct{}{}
		}
	}()
	b.ReportAllocs()
	feed(b, in.LocalAddr().String(), epoch, ack, stop)
	<-done
	in.Close()
	out.Close()
	sinkDone()
	lat.report(b)
}

// BenchmarkTickToTradeFloor is the floor on a runtime: a task reads the
// datagram and writes the order, on a runtime that parks, one that polls
// for 50 µs before it parks, and one that spins.
func BenchmarkTickToTradeFloor(b *testing.B) {
	for _, mode := range []struct {
		name    string
		builder func() *asyncrt.Builder
	}{
		{"Park", asyncrt.NewBuilder},
		{"SpinBeforePark50us", func() *asyncrt.Builder { return asyncrt.NewBuilder().SpinBeforePark(50 * time.Microsecond) }},
		{"Spin", func() *asyncrt.Builder { return asyncrt.NewBuilder().Idle(asyncrt.Spin) }},
	} {
		for _, sk := range sinks {
			b.Run(mode.name+"/"+sk.name, func(b *testing.B) { benchFloorRuntime(b, mode.builder(), sk.make) })
		}
	}
}

// benchFloorRuntime runs the floor with a task of a runtime built by
// builder as the receiver.
func benchFloorRuntime(b *testing.B, builder *asyncrt.Builder, mk sink) {
	rt := newBenchRuntime(b, builder)
	sink, sinkDone := mk(b)
	ack, stop := make(chan struct{}, 1), make(chan struct{})
	addr := make(chan string, 1)
	var lat latencies
	epoch := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) error {
			out, err := socket.DialTCP(t, "tcp", sink, socket.NoDelay(true))
			if err != nil {
				return err
			}
			defer out.Close()
			in, err := socket.ListenUDP(t, "udp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer in.Close()
			addr <- in.LocalAddr().String()
			buf, order := make([]byte, 1500), make([]byte, orderSize)
			for {
				n, err := in.Read(buf)
				if err != nil {
					return err
				}
				read := time.Since(epoch)
				select {
				case <-stop:
					return nil
				default:
				}
				if _, err := out.Write(order); err != nil {
					return err
				}
				lat.add(n, buf, read, time.Since(epoch))
				ack <- struct{}{} // buffered, and emptied before the next packet: never blocks
			}
		})
		done <- err
	}()
	to := <-addr
	b.ReportAllocs()
	feed(b, to, epoch, ack, stop)
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	sinkDone()
	lat.report(b)
}

// latencies collects both measures of each order, in time since the
// benchmark's epoch.
type latencies struct{ readToWrite, stampToWrite []time.Duration }

func (l *latencies) add(n int, pkt []byte, read, written time.Duration) {
	if n < 8 || len(l.readToWrite) >= 1<<20 {
		return
	}
	l.readToWrite = append(l.readToWrite, written-read)
	l.stampToWrite = append(l.stampToWrite, written-time.Duration(binary.LittleEndian.Uint64(pkt)))
}

func (l *latencies) report(b *testing.B) {
	reportPercentiles(b, l.readToWrite)
	if len(l.stampToWrite) > 0 {
		slices.Sort(l.stampToWrite)
		b.ReportMetric(float64(l.stampToWrite[len(l.stampToWrite)/2].Nanoseconds()), "e2e-p50-ns")
		b.ReportMetric(float64(l.stampToWrite[len(l.stampToWrite)*99/100].Nanoseconds()), "e2e-p99-ns")
	}
}
