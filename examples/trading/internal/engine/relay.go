package engine

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// RelayCapacity is how many packets a FeedRelay holds in flight between
// its runtime and the engine's: the capacity of the cross channel that
// carries them, and the most packet buffers it ever allocates.
const RelayCapacity = 1024

// relayBufferSize is a new packet buffer's capacity: a MoldUDP64 packet
// fits in one Ethernet frame. A larger packet grows the buffer it lands in,
// once.
const relayBufferSize = 2048

// relayedPacket is a feed packet on its way from the relay to the engine,
// with t0, the latency clock (monoNow) when it was read.
type relayedPacket struct {
	buf []byte
	t0  int64
}

// FeedRelay is the feed handler of an engine split over two runtimes: on a
// runtime of its own it reads the UDP feed socket, stamps each packet with
// the engine's latency clock at read time, and sends it over a cross
// channel to the engine's runtime, which applies it to the books, runs the
// strategy and writes the orders exactly as a single runtime does. The
// tick-to-trade latency is still measured from the socket read to the
// order write, so it includes the hop from one runtime to the other.
//
// Packets travel in buffers the engine hands back over a second cross
// channel once it has applied them: the relay allocates a buffer only when
// none is free, so that in the steady state it allocates nothing per
// packet, and never more than RelayCapacity of them. When all are in
// flight, the relay waits for one (backpressure: the engine is behind, and
// the socket's buffer absorbs the burst).
//
// Make one with Engine.SplitFeed, call Listen and then Run from tasks of
// the relay's runtime, and Engine.Run (without Engine.Listen) from a task
// of the engine's.
type FeedRelay struct {
	e   *Engine
	rt  *asyncrt.Runtime // the relay's
	udp *socket.UDPConn

	out *asyncrt.CrossSender[relayedPacket] // the relay's end
	in  *asyncrt.CrossReceiver[relayedPacket]

	back    *asyncrt.CrossSender[[]byte] // the engine's end
	free    *asyncrt.CrossReceiver[[]byte]
	buffers atomic.Int64 // allocated so far
}

// SplitFeed moves e's feed handler onto feedRT, another runtime than
// engineRT, the one e runs on (and whose World e was made with). Call it
// before Listen and Run; e then reads no socket itself: Listen, and Run, on
// the returned relay take the place of e.Listen.
func (e *Engine) SplitFeed(engineRT, feedRT *asyncrt.Runtime) (*FeedRelay, error) {
	switch {
	case engineRT == nil || feedRT == nil:
		return nil, errors.New("engine: SplitFeed needs both runtimes")
	case engineRT == feedRT:
		return nil, errors.New("engine: SplitFeed needs two different runtimes")
	case e.udp != nil || e.relay != nil || e.ran:
		return nil, errors.New("engine: SplitFeed must come first, and once")
	}
	out, in, err := asyncrt.NewCrossChan[relayedPacket](engineRT, RelayCapacity)
	if err != nil {
		return nil, fmt.Errorf("engine: SplitFeed: %w", err)
	}
	back, free, err := asyncrt.NewCrossChan[[]byte](feedRT, RelayCapacity)
	if err != nil {
		return nil, fmt.Errorf("engine: SplitFeed: %w", err)
	}
	e.relay = &FeedRelay{e: e, rt: feedRT, out: out, in: in, back: back, free: free}
	return e.relay, nil
}

// Listen binds the feed socket, from a task of the relay's runtime (a
// socket belongs to the runtime that opened it).
func (r *FeedRelay) Listen(t *asyncrt.Task) error {
	if t.Runtime() != r.rt {
		return errors.New("engine: FeedRelay.Listen called from a task of another runtime than the relay's")
	}
	if r.udp != nil {
		return errors.New("engine: FeedRelay.Listen called twice")
	}
	udp, err := socket.ListenUDP(t, "udp", r.e.cfg.FeedAddr, socket.ReadBuffer(8<<20))
	if err != nil {
		return fmt.Errorf("engine: feed: %w", err)
	}
	r.udp = udp
	return nil
}

// Buffers is how many packet buffers the relay has allocated.
func (r *FeedRelay) Buffers() int { return int(r.buffers.Load()) }

// Run relays the feed to the engine until stop is cancelled, the socket is
// closed, or the engine's Run has ended; it then closes the socket and its
// end of the channel, so that the engine's receiving task ends too. Call
// it from a task of the relay's runtime, after Listen.
func (r *FeedRelay) Run(t *asyncrt.Task, stop *asyncrt.CancellationToken) error {
	if r.udp == nil {
		return errors.New("engine: FeedRelay.Run called before Listen")
	}
	if t.Runtime() != r.rt {
		return errors.New("engine: FeedRelay.Run called from a task of another runtime than the relay's")
	}
	defer r.out.Close()
	defer r.udp.Close()
	closer := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
		stop.Cancelled(t)
		r.udp.Close() // ends the Recv below
	}, asyncrt.Named("feed closer"))
	defer func() { closer.Abort(); _ = closer.Wait(t) }()

	scratch := make([]byte, 64<<10)
	for {
		n, err := r.udp.Recv(scratch)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue // a transient receive error: the sequence check covers loss
		}
		t0 := monoNow()
		buf, err := r.buffer(t)
		if err != nil {
			return nil // the engine is done
		}
		buf = append(buf[:0], scratch[:n]...)
		if err := r.out.SendTask(t, relayedPacket{buf, t0}); err != nil {
			return nil // the engine is done
		}
	}
}

// buffer returns a free packet buffer: one the engine handed back, a new
// one while fewer than RelayCapacity exist, or else the next one handed
// back.
func (r *FeedRelay) buffer(t *asyncrt.Task) ([]byte, error) {
	buf, err := r.free.TryRecv()
	switch {
	case err == nil:
		return buf, nil
	case errors.Is(err, asyncrt.ErrEmpty) && r.buffers.Load() < RelayCapacity:
		r.buffers.Add(1)
		return make([]byte, 0, relayBufferSize), nil
	case errors.Is(err, asyncrt.ErrEmpty):
		return r.free.Recv(t)
	default:
		return nil, err
	}
}

// readRelay is the engine's feed handler task when the feed is relayed:
// what readFeed does, with the packets the relay read.
func (e *Engine) readRelay(t *asyncrt.Task) {
	r := e.relay
	for {
		p, err := r.in.Recv(t)
		if err != nil {
			return
		}
		e.onPacket(t, p.buf, p.t0)
		_ = r.back.TrySend(p.buf) // never full: it holds every buffer there is
	}
}

// closeRelay closes the engine's ends of the relay's channels: the relay's
// sends fail from now on, and it stops.
func (e *Engine) closeRelay() {
	e.relay.in.Close()
	e.relay.back.Close()
}
