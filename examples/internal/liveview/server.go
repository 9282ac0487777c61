package liveview

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults of Config.
const (
	DefaultWriteTimeout  = 10 * time.Second
	DefaultMaxStreams    = 16
	DefaultShutdownGrace = 2 * time.Second
)

//go:embed lib
var lib embed.FS

// Config configures a Server.
type Config struct {
	// Addr is where to listen: a loopback address and port (see
	// CheckAddr); port 0 picks a free one (Server.Addr tells which).
	Addr string
	// Page is the program's page: index.html at its root and the files it
	// loads, served at /. The shared script and style sheet are at /lib/
	// (liveview.js, liveview.css).
	Page fs.FS
	// Feed is the source of snapshots: /events streams them, /snapshot
	// returns the latest.
	Feed Feed
	// Registry is served at /metrics; the server adds its own metrics to
	// it (liveview_*). Nil: a registry of the server's metrics alone.
	Registry *prometheus.Registry
	// WriteTimeout bounds each write to a browser: a stream whose browser
	// takes longer ends (default DefaultWriteTimeout).
	WriteTimeout time.Duration
	// MaxStreams bounds the streams open at once; more are refused with
	// 503 (default DefaultMaxStreams).
	MaxStreams int
	// ShutdownGrace is how long Close lets requests finish before it
	// closes their connections (default DefaultShutdownGrace).
	ShutdownGrace time.Duration
	// Logf reports what goes wrong: streams dropped, server errors
	// (default log.Printf).
	Logf func(format string, args ...any)
}

// Stats counts what the server did.
type Stats struct {
	// Streams is the number of open streams; Writing the number of them
	// inside a write to their browser right now.
	Streams, Writing int64
	// Sent counts the snapshots sent, over all streams; Skipped those a
	// stream passed over because a newer one was published before it
	// could send them.
	Sent, Skipped uint64
	// Dropped counts the streams ended because a write failed or timed
	// out; Refused those turned away at MaxStreams.
	Dropped, Refused uint64
}

// Server serves a live view over HTTP on goroutines of its own.
type Server struct {
	cfg    Config
	addr   netip.AddrPort
	srv    *http.Server
	ctx    context.Context // cancelled by Close: streams stop waiting
	cancel context.CancelFunc
	served chan struct{} // closed when Serve has returned
	serr   error         // Serve's error, read once served is closed

	mu       sync.Mutex
	active   int           // handlers running
	closing  bool          // no handler starts once set
	finished chan struct{} // closed when closing and active reaches 0

	streams, writing                atomic.Int64
	sent, skipped, dropped, refused atomic.Uint64
	closeOnce                       sync.Once
	closeErr                        error
}

// CheckAddr checks that addr is a loopback address and port
// ("127.0.0.1:8080", "[::1]:0"; "localhost:8080" means 127.0.0.1:8080)
// and returns it. The live view has no authentication: it must not be
// reachable from another machine.
func CheckAddr(addr string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("live view address %q: want a loopback address and a port, such as 127.0.0.1:8080 (port 0 picks a free one): %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("live view address %q: the host must be 127.0.0.1, ::1 or localhost, not a name or a zone", addr)
	}
	ip = ip.Unmap()
	if !ip.IsLoopback() {
		return netip.AddrPort{}, fmt.Errorf("live view address %q is not a loopback address: the live view has no authentication, so it listens on 127.0.0.1 or [::1] only", addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("live view address %q: port %q is not a number from 0 to 65535", addr, port)
	}
	return netip.AddrPortFrom(ip, uint16(p)), nil
}

// Start checks the configuration, binds the address and serves on
// goroutines of its own until Close.
func Start(cfg Config) (*Server, error) {
	addr, err := CheckAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Page == nil:
		return nil, errors.New("liveview: no page")
	case cfg.Feed == nil:
		return nil, errors.New("liveview: no feed")
	case cfg.WriteTimeout < 0 || cfg.MaxStreams < 0 || cfg.ShutdownGrace < 0:
		return nil, errors.New("liveview: negative timeout or stream limit")
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if _, err := fs.Stat(cfg.Page, "index.html"); err != nil {
		return nil, fmt.Errorf("liveview: the page has no index.html: %w", err)
	}
	s := &Server{cfg: cfg, served: make(chan struct{}), finished: make(chan struct{})}
	if err := cfg.Registry.Register(s); err != nil {
		return nil, fmt.Errorf("liveview: registering the server's metrics: %w", err)
	}
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		cfg.Registry.Unregister(s)
		return nil, fmt.Errorf("liveview: %w", err)
	}
	s.addr = netip.MustParseAddrPort(ln.Addr().String())
	s.ctx, s.cancel = context.WithCancel(context.Background())

	libFS, err := fs.Sub(lib, "lib")
	if err != nil {
		panic(err) // the embedded directory is there: the build put it there
	}
	errLog := log.New(logWriter{cfg.Logf}, "liveview: http: ", 0)
	mux := http.NewServeMux()
	mux.Handle("GET /lib/", http.StripPrefix("/lib/", http.FileServerFS(libFS)))
	mux.Handle("GET /", http.FileServerFS(cfg.Page))
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("GET /snapshot", s.snapshot)
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{
		ErrorLog: errLog, ErrorHandling: promhttp.ContinueOnError,
	}))
	s.srv = &http.Server{
		Handler:           s.guard(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          errLog,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serr = fmt.Errorf("liveview: serving %v: %w", s.addr, err)
			cfg.Logf("%v", s.serr)
		}
	}()
	return s, nil
}

// logWriter adapts Logf for log.Logger and promhttp.
type logWriter struct{ logf func(string, ...any) }

func (w logWriter) Write(b []byte) (int, error) {
	w.logf("%s", strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.addr }

// URL is the page's address.
func (s *Server) URL() string { return "http://" + s.addr.String() + "/" }

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Streams: s.streams.Load(), Writing: s.writing.Load(),
		Sent: s.sent.Load(), Skipped: s.skipped.Load(), Dropped: s.dropped.Load(), Refused: s.refused.Load(),
	}
}

// Close ends the streams, shuts the server down — requests in progress
// get Config.ShutdownGrace, then their connections are closed — and waits
// for every handler and the server's goroutine. It returns the server's
// error, if it failed. Closing again returns the same.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel() // streams waiting for a snapshot return
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
		err := s.srv.Shutdown(ctx)
		cancel()
		if err != nil {
			// A stream stuck in a write to a browser that does not read:
			// closing its connection fails the write.
			s.cfg.Logf("liveview: closing connections still busy after %v: %v", s.cfg.ShutdownGrace, err)
			if cerr := s.srv.Close(); cerr != nil {
				s.closeErr = fmt.Errorf("liveview: closing: %w", cerr)
			}
		}
		<-s.served
		s.mu.Lock()
		s.closing = true
		if s.active == 0 {
			close(s.finished)
		}
		s.mu.Unlock()
		<-s.finished
		s.closeErr = errors.Join(s.serr, s.closeErr)
	})
	return s.closeErr
}

// guard refuses requests not addressed to a loopback name (another site's
// page reaching this server through DNS rebinding), sets the headers every
// answer carries, and counts the handlers running, so that Close can wait
// for them.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "this server answers requests to 127.0.0.1, [::1] or localhost only", http.StatusMisdirectedRequest)
			return
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		s.active++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.active--
			if s.closing && s.active == 0 {
				close(s.finished)
			}
			s.mu.Unlock()
		}()
		if r.URL.Path != "/events" {
			// A browser that does not read holds a handler until then;
			// a stream sets a deadline for each of its writes instead.
			if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
				s.cfg.Logf("liveview: %s %s: %v", r.Method, r.URL.Path, err)
			}
		}
		hd := w.Header()
		// Nothing loads from anywhere but this server: the browser
		// enforces it, and reports any attempt as an error.
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

func loopbackHost(hostport string) bool {
	if hostport == "" {
		return true // HTTP/1.0: no name to be tricked with
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// events streams snapshots as server-sent events: the latest at once,
// then each newer one as soon as the previous one was written, skipping
// those published meanwhile.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if n := s.streams.Add(1); n > int64(s.cfg.MaxStreams) {
		s.streams.Add(-1)
		s.refused.Add(1)
		http.Error(w, fmt.Sprintf("%d live views are open already", s.cfg.MaxStreams), http.StatusServiceUnavailable)
		return
	}
	defer s.streams.Add(-1)
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	drop := func(err error) {
		s.dropped.Add(1)
		s.cfg.Logf("liveview: stream to %s dropped: %v", r.RemoteAddr, err)
	}
	// The browser reconnects a second after losing the stream.
	buf := []byte("retry: 1000\n\n")
	if err := s.write(rc, w, buf); err != nil {
		drop(err)
		return
	}
	var last uint64
	for {
		seq, data, err := s.cfg.Feed.NextJSON(r.Context(), last)
		switch {
		case r.Context().Err() != nil, errors.Is(err, ErrClosed):
			return // the browser left, or the server or the feed stopped
		case err != nil:
			s.cfg.Logf("liveview: stream to %s: snapshot %d: %v", r.RemoteAddr, seq, err)
			return
		}
		if last > 0 && seq > last+1 {
			s.skipped.Add(seq - last - 1)
		}
		last = seq
		buf = append(buf[:0], "id: "...)
		buf = strconv.AppendUint(buf, seq, 10)
		buf = append(buf, "\ndata: "...)
		buf = append(buf, data...) // JSON holds no newline
		buf = append(buf, "\n\n"...)
		if err := s.write(rc, w, buf); err != nil {
			drop(err)
			return
		}
		s.sent.Add(1)
	}
}

// write sends b to the browser within the write timeout.
func (s *Server) write(rc *http.ResponseController, w http.ResponseWriter, b []byte) error {
	s.writing.Add(1)
	defer s.writing.Add(-1)
	if err := rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return rc.Flush()
}

// snapshot answers with the latest snapshot, waiting for the first one if
// none was published yet.
func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) {
	seq, data, err := s.cfg.Feed.NextJSON(r.Context(), 0)
	switch {
	case r.Context().Err() != nil:
		return
	case errors.Is(err, ErrClosed):
		http.Error(w, "no snapshot was published", http.StatusServiceUnavailable)
		return
	case err != nil:
		s.cfg.Logf("liveview: snapshot %d: %v", seq, err)
		http.Error(w, "the snapshot could not be encoded", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Snapshot-Seq", strconv.FormatUint(seq, 10))
	if _, err := w.Write(data); err != nil {
		s.cfg.Logf("liveview: snapshot to %s: %v", r.RemoteAddr, err)
	}
}

// The server's own metrics.
var (
	descPublished = desc("snapshots_published_total", "Snapshots the program published for the live view.")
	descStreams   = desc("streams", "Browser streams open.")
	descWriting   = desc("streams_writing", "Streams inside a write to their browser.")
	descSent      = desc("events_sent_total", "Snapshots sent to browsers, over all streams.")
	descSkipped   = desc("snapshots_skipped_total", "Snapshots a stream passed over because a newer one came before it could send them.")
	descDropped   = desc("streams_dropped_total", "Streams ended because a write to the browser failed or timed out.")
	descRefused   = desc("streams_refused_total", "Streams refused because too many were open.")
)

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("liveview_"+name, help, nil, nil)
}

// Describe implements prometheus.Collector.
func (s *Server) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPublished, descStreams, descWriting, descSent, descSkipped, descDropped, descRefused} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	st := s.Stats()
	c := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	g := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	c(descPublished, s.cfg.Feed.Seq())
	g(descStreams, st.Streams)
	g(descWriting, st.Writing)
	c(descSent, st.Sent)
	c(descSkipped, st.Skipped)
	c(descDropped, st.Dropped)
	c(descRefused, st.Refused)
}
