package liveview_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/internal/liveview"
)

var page = fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>test page</title>")}}

func TestCheckAddr(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080":        "127.0.0.1:8080",
		"127.0.0.1:0":           "127.0.0.1:0",
		"127.3.4.5:9":           "127.3.4.5:9",
		"[::1]:8080":            "[::1]:8080",
		"localhost:7000":        "127.0.0.1:7000",
		"[::ffff:127.0.0.1]:80": "127.0.0.1:80",
	} {
		got, err := liveview.CheckAddr(addr)
		if assert.NoError(t, err, addr) {
			assert.Equal(t, want, got.String())
		}
	}
	for addr, why := range map[string]string{
		"0.0.0.0:8080":     "not a loopback address",
		":8080":            "the host must be",
		"192.168.1.2:8080": "not a loopback address",
		"[::]:8080":        "not a loopback address",
		"example.com:80":   "the host must be",
		"127.0.0.1":        "want a loopback address and a port",
		"127.0.0.1:http":   "is not a number",
		"127.0.0.1:70000":  "is not a number",
		"[fe80::1%lo]:80":  "the host must be",
	} {
		_, err := liveview.CheckAddr(addr)
		if assert.Error(t, err, addr) {
			assert.Contains(t, err.Error(), why, addr)
		}
	}
}

func start(t *testing.T, cfg liveview.Config) *liveview.Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Page == nil {
		cfg.Page = page
	}
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	s, err := liveview.Start(cfg)
	require.NoError(t, err)
	return s
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// stream reads server-sent events.
type stream struct {
	resp *http.Response
	r    *bufio.Reader
}

func openStream(t *testing.T, url string) *stream {
	t.Helper()
	resp, err := http.Get(url + "events")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	return &stream{resp: resp, r: bufio.NewReader(resp.Body)}
}

// next returns the next event's id and data.
func (s *stream) next() (uint64, string, error) {
	var id uint64
	var data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && data != "":
			return id, data, nil
		case strings.HasPrefix(line, "id: "):
			if id, err = strconv.ParseUint(line[4:], 10, 64); err != nil {
				return 0, "", err
			}
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
}

func TestServerServesThePageTheSnapshotsAndTheMetrics(t *testing.T) {
	cell := liveview.NewCell[map[string]int]()
	reg := prometheus.NewRegistry()
	col, err := liveview.NewCollector(cell,
		liveview.Metric[map[string]int]{Name: "test_things", Help: "Things.", Kind: liveview.Gauge,
			Value: func(v map[string]int, emit func(float64, ...string)) { emit(float64(v["things"])) }},
		liveview.Metric[map[string]int]{Name: "test_latency_seconds", Help: "Latency.", Kind: liveview.Summary,
			Quantiles: func(map[string]int) (uint64, float64, map[float64]float64) {
				return 10, 0.5, map[float64]float64{0.5: 0.04, 0.99: 0.09}
			}})
	require.NoError(t, err)
	reg.MustRegister(col)
	s := start(t, liveview.Config{Feed: cell, Registry: reg})
	url := s.URL()
	assert.True(t, s.Addr().Addr().IsLoopback())
	assert.NotZero(t, s.Addr().Port(), "port 0 picked a free port")

	resp, body := get(t, url)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "test page")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'", "nothing loads from elsewhere")
	for _, asset := range []string{"lib/liveview.js", "lib/liveview.css", "lib/icon.svg"} {
		resp, _ := get(t, url+asset)
		assert.Equal(t, http.StatusOK, resp.StatusCode, asset)
	}

	// /snapshot waits for the first snapshot.
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "snapshot")
		if !assert.NoError(t, err) {
			got <- ""
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		assert.NoError(t, err)
		assert.Equal(t, "1", resp.Header.Get("X-Snapshot-Seq"))
		got <- string(b)
	}()
	cell.Publish(map[string]int{"things": 3})
	assert.JSONEq(t, `{"things":3}`, <-got)

	st := openStream(t, url)
	defer st.resp.Body.Close()
	id, data, err := st.next()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), id, "a new stream gets the latest snapshot at once")
	assert.JSONEq(t, `{"things":3}`, data)
	cell.Publish(map[string]int{"things": 4})
	id, data, err = st.next()
	require.NoError(t, err)
	assert.Equal(t, uint64(2), id)
	assert.JSONEq(t, `{"things":4}`, data)

	_, metrics := get(t, url+"metrics")
	for _, want := range []string{
		"test_things 4", `test_latency_seconds{quantile="0.99"} 0.09`, "test_latency_seconds_count 10",
		"liveview_snapshots_published_total 2", "liveview_streams 1", "liveview_events_sent_total",
	} {
		assert.Contains(t, metrics, want)
	}
	// The stream's count is final once its handler has returned: the
	// browser may read an event before the server has counted it.
	st.resp.Body.Close()
	require.NoError(t, s.Close())
	assert.Equal(t, uint64(2), s.Stats().Sent)
}

func TestServerAnswersLoopbackNamesOnly(t *testing.T) {
	cell := liveview.NewCell[int]()
	s := start(t, liveview.Config{Feed: cell})
	defer func() { assert.NoError(t, s.Close()) }()
	for host, want := range map[string]int{
		s.Addr().String(): http.StatusOK,
		fmt.Sprintf("localhost:%d", s.Addr().Port()): http.StatusOK,
		"evil.example:80": http.StatusMisdirectedRequest,
		"10.0.0.1":        http.StatusMisdirectedRequest,
	} {
		req, err := http.NewRequest("GET", s.URL(), nil)
		require.NoError(t, err)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, host)
	}
}

func TestStreamsBeyondTheLimitAreRefused(t *testing.T) {
	cell := liveview.NewCell[int]()
	cell.Publish(1)
	s := start(t, liveview.Config{Feed: cell, MaxStreams: 1})
	defer func() { assert.NoError(t, s.Close()) }()
	first := openStream(t, s.URL())
	defer first.resp.Body.Close()
	_, _, err := first.next()
	require.NoError(t, err)
	resp, _ := get(t, s.URL()+"events")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, uint64(1), s.Stats().Refused)
}

func TestStartRefusesABadConfig(t *testing.T) {
	cell := liveview.NewCell[int]()
	for name, cfg := range map[string]liveview.Config{
		"not loopback": {Addr: "0.0.0.0:0", Page: page, Feed: cell},
		"no page":      {Addr: "127.0.0.1:0", Feed: cell},
		"no index":     {Addr: "127.0.0.1:0", Page: fstest.MapFS{}, Feed: cell},
		"no feed":      {Addr: "127.0.0.1:0", Page: page},
	} {
		_, err := liveview.Start(cfg)
		assert.Error(t, err, name)
	}
	// A port in use: the error says so, and nothing is left running.
	s := start(t, liveview.Config{Feed: cell})
	defer func() { assert.NoError(t, s.Close()) }()
	_, err := liveview.Start(liveview.Config{Addr: s.Addr().String(), Page: page, Feed: cell})
	assert.ErrorIs(t, err, syscall.EADDRINUSE)
}

func TestCloseEndsOpenStreams(t *testing.T) {
	cell := liveview.NewCell[int]()
	cell.Publish(1)
	s := start(t, liveview.Config{Feed: cell})
	st := openStream(t, s.URL())
	defer st.resp.Body.Close()
	_, _, err := st.next()
	require.NoError(t, err)
	// The stream waits for a snapshot that never comes: Close ends it,
	// without waiting for the shutdown grace, and joins its goroutine.
	require.NoError(t, s.Close())
	_, _, err = st.next()
	assert.ErrorIs(t, err, io.EOF)
	assert.Zero(t, s.Stats().Streams)
	assert.NoError(t, s.Close(), "closing again")
}

// blob is a snapshot too large for a connection's buffers: a browser that
// does not read holds its stream inside the write.
type blob struct {
	N   int
	Pad []byte // shared by every snapshot: publishing copies nothing
}

// stalledConn opens /events with a tiny receive buffer and never reads.
func stalledConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	require.NoError(t, err)
	return conn
}

// TestStalledClientDoesNotSlowThePublisher holds one stream inside a
// write to a client that never reads, then runs the publishing task for
// a hundred periods of a simulated clock: it publishes every one of them,
// and another browser still gets the latest snapshot.
func TestStalledClientDoesNotSlowThePublisher(t *testing.T) {
	const periods = 100
	const every = 100 * time.Millisecond
	// Twice what the kernel may buffer for the server's socket.
	pad := make([]byte, 2*wmemMax(t))
	cell := liveview.NewCell[blob]()
	s := start(t, liveview.Config{Feed: cell, WriteTimeout: 10 * time.Minute, ShutdownGrace: 10 * time.Millisecond})
	cell.Publish(blob{N: -1, Pad: pad})

	stalled := stalledConn(t, s.Addr().String())
	defer stalled.Close()
	require.Eventually(t, func() bool { st := s.Stats(); return st.Streams == 1 && st.Writing == 1 },
		time.Minute, time.Millisecond, "the stream is stuck in a write")

	// A browser that reads, watching throughout.
	fast := openStream(t, s.URL())
	defer fast.resp.Body.Close()
	ids := make(chan uint64, 1024)
	go func() {
		defer close(ids)
		for {
			id, _, err := fast.next()
			if err != nil {
				return
			}
			ids <- id
		}
	}()

	clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt, err := asyncrt.NewBuilder().Clock(clock).Build()
	require.NoError(t, err)
	defer rt.Close()
	published := make(chan int, 1)
	go func() {
		n, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
			stop := asyncrt.NewCancellationToken()
			asyncrt.After(t, periods*every+every/2, func(*asyncrt.Task) struct{} { stop.Cancel(); return struct{}{} })
			return liveview.Publish(t, cell, every, stop, func(*asyncrt.Task) blob { return blob{N: 1, Pad: pad} })
		})
		assert.NoError(t, err)
		published <- n
	}()
	select {
	case n := <-published:
		assert.Equal(t, periods+1, n, "one snapshot at the start and one a period: none held up")
	case <-time.After(5 * time.Minute): // a failure's bound, not a measure
		t.Fatal("the publisher was held up by a client that does not read")
	}
	last := cell.Seq()
	assert.Equal(t, uint64(periods+2), last)

	received := 0
	for id := range ids {
		received++
		if id == last {
			break
		}
	}
	assert.Positive(t, received, "the reading browser got the latest snapshot")
	assert.GreaterOrEqual(t, s.Stats().Writing, int64(1), "the stalled stream is still inside its first write")

	fast.resp.Body.Close()
	for range ids { // the reader ends with its stream
	}
	require.NoError(t, s.Close(), "Close ends the stalled stream too, and joins every handler")
	st := s.Stats()
	assert.Equal(t, uint64(received), st.Sent, "the stalled stream sent nothing; the other what it received")
	assert.Equal(t, uint64(1), st.Dropped, "the stalled stream was dropped, and said so")
	assert.Zero(t, st.Streams)
	t.Logf("%d snapshots published; the reading browser received %d and skipped %d", last, received, st.Skipped)
}

// wmemMax is the most the kernel buffers for a TCP socket's sending side
// (net.ipv4.tcp_wmem's maximum), or 4 MiB if unknown.
func wmemMax(t *testing.T) int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem")
	if err != nil {
		t.Logf("tcp_wmem: %v; assuming 4 MiB", err)
		return 4 << 20
	}
	f := strings.Fields(string(b))
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil || n <= 0 {
		return 4 << 20
	}
	return n
}
