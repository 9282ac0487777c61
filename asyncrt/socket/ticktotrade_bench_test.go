package socket_test

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// The tick-to-trade floor: only the system calls a trading engine makes
// between a market-data packet and the order it causes. A goroutine sends a
// UDP datagram stamped with the time just before the send; the receiver
// reads it and writes a 49-byte message (an OUCH Enter Order in its
// SoupBinTCP frame) on a TCP connection; the latency is from the stamp to
// the write's return. The receiver is a plain goroutine (the Go floor) or a
// task on a runtime, parking or spinning. The sender waits for each order
// to be written before the next packet, so the receiver goes idle between
// packets, as it does between a feed's bursts.

const orderSize = 49

// tcpSink accepts one connection and discards what it reads; it returns
// the address and a function that waits for the connection's end.
func tcpSink(b *testing.B) (string, func()) {
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
	sink, sinkDone := tcpSink(b)
	out, err := net.Dial("tcp", sink)
	if err != nil {
		b.Fatal(err)
	}
	in, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ack, stop := make(chan struct{}, 1), make(chan struct{})
	lat := make([]time.Duration, 0, 1<<20)
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
			select {
			case <-stop:
				return
			default:
			}
			if _, err := out.Write(order); err != nil {
				b.Error(err)
				return
			}
			if len(lat) < cap(lat) && n >= 8 {
				lat = append(lat, time.Since(epoch)-time.Duration(binary.LittleEndian.Uint64(buf)))
			}
			ack <- struct{}{}
		}
	}()
	b.ReportAllocs()
	feed(b, in.LocalAddr().String(), epoch, ack, stop)
	<-done
	in.Close()
	out.Close()
	sinkDone()
	reportPercentiles(b, lat)
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
		b.Run(mode.name, func(b *testing.B) {
			rt := newBenchRuntime(b, mode.builder())
			sink, sinkDone := tcpSink(b)
			ack, stop := make(chan struct{}, 1), make(chan struct{})
			addr := make(chan string, 1)
			lat := make([]time.Duration, 0, 1<<20)
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
						select {
						case <-stop:
							return nil
						default:
						}
						if _, err := out.Write(order); err != nil {
							return err
						}
						if len(lat) < cap(lat) && n >= 8 {
							lat = append(lat, time.Since(epoch)-time.Duration(binary.LittleEndian.Uint64(buf)))
						}
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
			reportPercentiles(b, lat)
		})
	}
}
