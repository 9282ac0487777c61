// Package loadgen is the benchmark's load generator: closed-loop clients
// that keep a fixed number of requests in flight on each of many
// connections, check every response and record each request's latency.
//
// Each connection has a goroutine of its own (package net, the neutral
// choice: the generator is the same for every server). It sends Pipeline
// requests, then, each time a read returns, checks and times the responses
// in it and sends as many new requests, in one write. Latency is measured
// from just before the write that carries a request to just after the read
// that returns its response. Being closed-loop, the generator slows down
// with the server instead of queueing behind it, so the percentiles are
// those of the requests actually made (no coordinated-omission correction:
// compare servers at the same level, not with an open-loop figure).
package loadgen

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orrery-go/orrery/bench/internal/hist"
	"github.com/orrery-go/orrery/bench/internal/loopback"
	"github.com/orrery-go/orrery/bench/internal/proto"
)

// Config describes a run.
type Config struct {
	Addr     string        // server address; must be loopback
	Conns    int           // connections, all opened before the warm-up
	Pipeline int           // requests in flight per connection (1: ping-pong)
	Payload  int           // request payload bytes, MinPayload to MaxPayload
	Warmup   time.Duration // traffic before measuring, not recorded
	Duration time.Duration // measured time
	// Drain bounds the wait, after the measured time, for the answers to the
	// requests still in flight (default 5 s). With the 5 s allowed for
	// opening the connections, it bounds a run to Warmup + Duration +
	// Drain + 5 s.
	Drain time.Duration
	// OnPhase, if not nil, is called when measuring starts (PhaseMeasure)
	// and when it ends (PhaseStop): the table runner reads the server's CPU
	// time at those moments.
	OnPhase func(Phase)
}

// Phase is the stage of a run.
type Phase int32

// The phases of a run, in order.
const (
	PhaseWarmup  Phase = iota // traffic flows, nothing is recorded
	PhaseMeasure              // responses are counted and timed
	PhaseStop                 // no new requests; in-flight ones are drained
)

// Result is what a run measured.
type Result struct {
	Conns    int `json:"conns"`
	Pipeline int `json:"pipeline"`
	Payload  int `json:"payload"`
	// Measured is the length of the measured phase, and Requests the
	// responses received in it.
	Measured time.Duration `json:"measured_ns"`
	Requests uint64        `json:"requests"`
	RPS      float64       `json:"rps"`
	// Latency percentiles of the measured responses.
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p999_ns"`
	Max  time.Duration `json:"max_ns"`
	Mean time.Duration `json:"mean_ns"`
	// Sent and Received count requests and checked responses over the whole
	// run, warm-up and drain included; after a clean run they are equal.
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
}

func (c *Config) check() error {
	if err := loopback.Check(c.Addr); err != nil {
		return err
	}
	switch {
	case c.Conns < 1:
		return fmt.Errorf("loadgen: conns must be at least 1, not %d", c.Conns)
	case c.Pipeline < 1:
		return fmt.Errorf("loadgen: pipeline must be at least 1, not %d", c.Pipeline)
	case c.Payload < proto.MinPayload || c.Payload > proto.MaxPayload:
		return fmt.Errorf("loadgen: payload must be %d to %d bytes, not %d", proto.MinPayload, proto.MaxPayload, c.Payload)
	case c.Duration <= 0 || c.Warmup < 0:
		return fmt.Errorf("loadgen: duration must be positive and warmup not negative")
	}
	if c.Drain <= 0 {
		c.Drain = 5 * time.Second
	}
	return nil
}

// Run opens the connections, runs the warm-up and the measured phase, waits
// for every request in flight to be answered, closes the connections and
// returns what it measured. It returns an error if a connection failed or a
// response was wrong; the Result then still holds what was measured.
func Run(cfg Config) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	// One deadline for all the dials, so that opening many connections to a
	// server that does not accept cannot stretch the run. TCP_NODELAY is
	// package net's default.
	d := net.Dialer{Deadline: time.Now().Add(5 * time.Second), KeepAlive: -1}
	conns := make([]*net.TCPConn, 0, cfg.Conns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range cfg.Conns {
		c, err := d.Dial("tcp", cfg.Addr)
		if err != nil {
			return Result{}, fmt.Errorf("loadgen: dial %d of %d: %w", len(conns)+1, cfg.Conns, err)
		}
		conns = append(conns, c.(*net.TCPConn))
	}

	var phase atomic.Int32
	base := time.Now()
	workers := make([]*worker, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		w := newWorker(c, &cfg, &phase, base)
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.err = w.run()
			if w.err != nil {
				c.Close() // the other connections carry on; Run reports the error
			}
		}()
	}
	// Phases are switched by timers on this goroutine; workers read the
	// phase once per read.
	time.Sleep(cfg.Warmup)
	phase.Store(int32(PhaseMeasure))
	start := time.Now()
	if cfg.OnPhase != nil {
		cfg.OnPhase(PhaseMeasure)
	}
	time.Sleep(cfg.Duration)
	phase.Store(int32(PhaseStop))
	measured := time.Since(start)
	if cfg.OnPhase != nil {
		cfg.OnPhase(PhaseStop)
	}
	// A server that stops answering cannot hold the run: reads and writes
	// still pending at the deadline fail.
	deadline := time.Now().Add(cfg.Drain)
	for _, c := range conns {
		c.SetDeadline(deadline)
	}
	wg.Wait()

	h := hist.New()
	res := Result{Conns: cfg.Conns, Pipeline: cfg.Pipeline, Payload: cfg.Payload, Measured: measured}
	var errs []error
	for i, w := range workers {
		h.Merge(w.h)
		res.Sent += w.sent
		res.Received += w.received
		if w.err != nil {
			errs = append(errs, fmt.Errorf("connection %d: %w", i, w.err))
		}
	}
	res.Requests = h.Count()
	res.RPS = float64(res.Requests) / measured.Seconds()
	res.P50 = time.Duration(h.Quantile(0.50))
	res.P99 = time.Duration(h.Quantile(0.99))
	res.P999 = time.Duration(h.Quantile(0.999))
	res.Max = time.Duration(h.Max())
	res.Mean = time.Duration(h.Mean())
	if len(errs) > 3 {
		errs = append(errs[:3], fmt.Errorf("and %d more", len(errs)-3))
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("loadgen: %w", err)
	}
	return res, nil
}

// worker drives one connection.
type worker struct {
	c      *net.TCPConn
	cfg    *Config
	phase  *atomic.Int32
	base   time.Time
	h      *hist.Histogram
	sentAt []int64 // send time of request seq, at seq % Pipeline
	wbuf   []byte
	rbuf   []byte

	sent, received uint64 // also the next request's and response's sequence numbers
	err            error
}

func newWorker(c *net.TCPConn, cfg *Config, phase *atomic.Int32, base time.Time) *worker {
	frame := proto.HeaderSize + cfg.Payload
	return &worker{
		c: c, cfg: cfg, phase: phase, base: base,
		h:      hist.New(),
		sentAt: make([]int64, cfg.Pipeline),
		wbuf:   make([]byte, 0, cfg.Pipeline*frame),
		// Room for every response in flight plus a partial one, so that a
		// read is never limited by the buffer.
		rbuf: make([]byte, max(64<<10, 2*cfg.Pipeline*frame)),
	}
}

// now is the time since the run began, in nanoseconds, on the monotonic
// clock.
func (w *worker) now() int64 { return int64(time.Since(w.base)) }

// send sends k new requests in one write.
func (w *worker) send(k int) error {
	w.wbuf = w.wbuf[:0]
	for i := range uint64(k) {
		w.wbuf = proto.AppendRequest(w.wbuf, w.sent+i, w.cfg.Payload)
	}
	t := w.now()
	for range k {
		w.sentAt[w.sent%uint64(len(w.sentAt))] = t
		w.sent++
	}
	_, err := w.c.Write(w.wbuf)
	return err
}

func (w *worker) run() error {
	if err := w.send(w.cfg.Pipeline); err != nil {
		return err
	}
	frame := proto.HeaderSize + w.cfg.Payload
	filled := 0
	for {
		ph := Phase(w.phase.Load())
		if ph == PhaseStop && w.received == w.sent {
			return nil
		}
		n, err := w.c.Read(w.rbuf[filled:])
		t := w.now()
		filled += n
		if err != nil {
			if ph == PhaseStop && errors.Is(err, net.ErrClosed) {
				err = fmt.Errorf("%w (%d requests unanswered)", err, w.sent-w.received)
			}
			return err
		}
		// The phase is read again after the read, so that a response counts
		// as measured only if it arrived during the measured phase.
		ph = Phase(w.phase.Load())
		got, off := 0, 0
		for ; filled-off >= frame; off += frame {
			if w.received == w.sent {
				return fmt.Errorf("response to request %d, which was not sent", w.received)
			}
			if err := proto.CheckResponse(w.rbuf[off:off+frame], w.received, w.cfg.Payload); err != nil {
				return err
			}
			if ph == PhaseMeasure {
				w.h.Record(t - w.sentAt[w.received%uint64(len(w.sentAt))])
			}
			w.received++
			got++
		}
		filled = copy(w.rbuf, w.rbuf[off:filled])
		if got > 0 && ph != PhaseStop {
			if err := w.send(got); err != nil {
				return err
			}
		}
	}
}
