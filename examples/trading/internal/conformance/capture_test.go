package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ports are the loopback ports of one run: the exchange's order-entry and
// snapshot listeners, the engine's feed socket, and the test's own
// sentinel socket, whose datagrams mark the start and the end of the
// capture.
type ports struct {
	order, snapshot, feed, sentinel int
}

// freePorts picks unused loopback ports. The sentinel socket stays bound
// (the test receives its datagrams, so none bounces); the others are
// released for the example to bind, which it does a moment later.
func freePorts() (ports, *net.UDPConn, error) {
	lo := net.IPv4(127, 0, 0, 1)
	var p ports
	order, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: lo})
	if err != nil {
		return p, nil, fmt.Errorf("pick the order-entry port: %w", err)
	}
	defer order.Close()
	snap, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: lo})
	if err != nil {
		return p, nil, fmt.Errorf("pick the snapshot port: %w", err)
	}
	defer snap.Close()
	feed, err := net.ListenUDP("udp4", &net.UDPAddr{IP: lo})
	if err != nil {
		return p, nil, fmt.Errorf("pick the feed port: %w", err)
	}
	defer feed.Close()
	sentinel, err := net.ListenUDP("udp4", &net.UDPAddr{IP: lo})
	if err != nil {
		return p, nil, fmt.Errorf("bind the sentinel socket: %w", err)
	}
	p = ports{
		order:    order.Addr().(*net.TCPAddr).Port,
		snapshot: snap.Addr().(*net.TCPAddr).Port,
		feed:     feed.LocalAddr().(*net.UDPAddr).Port,
		sentinel: sentinel.LocalAddr().(*net.UDPAddr).Port,
	}
	return p, sentinel, nil
}

// filter is the capture filter: the example's ports and the sentinel's.
func (p ports) filter() string {
	return fmt.Sprintf("tcp port %d or tcp port %d or udp port %d or udp port %d", p.order, p.snapshot, p.feed, p.sentinel)
}

// errNoCapture reports that this machine does not let the test capture.
var errNoCapture = errors.New("capture not permitted")

// capture is dumpcap capturing loopback traffic into a pcap file. The test
// reads dumpcap's output as it comes, so it knows when a packet has been
// captured: it sends a sentinel datagram and waits to see it, instead of
// guessing how long dumpcap takes to open the interface or to hand over
// the last packets.
type capture struct {
	cmd      *exec.Cmd
	stderr   bytes.Buffer // read only after cmd.Wait
	path     string
	sentinel *net.UDPConn
	to       *net.UDPAddr
	marks    chan string // sentinel payloads, as captured
	header   chan struct{}
	done     chan error // the reader's end: nil at the end of dumpcap's output
	stopped  bool
}

// sentinelPrefix starts every sentinel payload.
const sentinelPrefix = "orrery-conformance-mark:"

// startCapture starts dumpcap on lo with filter f, writing to path, and
// returns once dumpcap has written its file header: it has then opened the
// interface and set the filter.
func startCapture(dumpcap, path, f string, sentinel *net.UDPConn) (*capture, error) {
	c := &capture{
		path: path, sentinel: sentinel, to: sentinel.LocalAddr().(*net.UDPAddr),
		marks: make(chan string, 16), header: make(chan struct{}), done: make(chan error, 1),
	}
	// -P: classic pcap, simple to scan; -B: a 64 MiB kernel buffer, so
	// bursts of the feed are not dropped; -q: no packet counts on stderr
	// while running.
	c.cmd = exec.Command(dumpcap, "-i", "lo", "-f", f, "-P", "-w", "-", "-q", "-B", "64")
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("dumpcap: %w", err)
	}
	file, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("capture file: %w", err)
	}
	if err := c.cmd.Start(); err != nil {
		file.Close()
		return nil, fmt.Errorf("start dumpcap: %w", err)
	}
	go func() { c.done <- c.read(out, file) }()
	select {
	case <-c.header:
		return c, nil
	case err := <-c.done:
		werr := c.cmd.Wait()
		msg := strings.TrimSpace(c.stderr.String())
		if regexp.MustCompile(`(?i)permission|not permitted|capabilit`).MatchString(msg) {
			return nil, fmt.Errorf("%w: dumpcap: %s", errNoCapture, msg)
		}
		return nil, fmt.Errorf("dumpcap stopped before capturing (%v, %v): %s", err, werr, msg)
	case <-time.After(30 * time.Second):
		c.kill()
		return nil, fmt.Errorf("dumpcap wrote no file header in 30 s: %s", c.stderr.String())
	}
}

// read copies dumpcap's pcap stream to file and reports the sentinel
// datagrams it carries.
func (c *capture) read(out io.Reader, file *os.File) (err error) {
	defer func() {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("capture file: %w", cerr)
		}
	}()
	w := bufio.NewWriterSize(file, 1<<20)
	r := bufio.NewReaderSize(io.TeeReader(out, w), 1<<20)
	hdr := make([]byte, 24)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return fmt.Errorf("pcap file header: %w", err)
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(hdr) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		return fmt.Errorf("not a pcap stream: magic %x", hdr[:4])
	}
	close(c.header)
	rec := make([]byte, 16)
	data := make([]byte, 0, 1<<16)
	for {
		if _, err := io.ReadFull(r, rec); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("pcap record header: %w", err)
		}
		n := int(order.Uint32(rec[8:12]))
		if cap(data) < n {
			data = make([]byte, n)
		}
		data = data[:n]
		if _, err := io.ReadFull(r, data); err != nil {
			return fmt.Errorf("pcap record: %w", err)
		}
		if i := bytes.Index(data, []byte(sentinelPrefix)); i >= 0 {
			select {
			case c.marks <- string(data[i+len(sentinelPrefix):]):
			default: // nobody waits for this one
			}
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("capture file: %w", err)
	}
	return nil
}

// mark sends a sentinel datagram and waits until the capture holds it:
// every packet sent before it is then captured too, for the kernel hands
// lo's packets to the capture in the order they were sent. The datagram is
// sent again now and then in case dumpcap missed it.
func (c *capture) mark(name string) error {
	deadline := time.After(20 * time.Second)
	for {
		if _, err := c.sentinel.WriteToUDP([]byte(sentinelPrefix+name), c.to); err != nil {
			return fmt.Errorf("send sentinel %q: %w", name, err)
		}
		resend := time.After(time.Second) // dumpcap hands packets over every quarter second
		for waiting := true; waiting; {
			select {
			case got := <-c.marks:
				if got == name {
					return nil
				}
			case <-resend:
				waiting = false
			case <-deadline:
				return fmt.Errorf("sentinel %q never showed in the capture", name)
			case err := <-c.done:
				c.done <- err
				return fmt.Errorf("dumpcap stopped (%v) before sentinel %q: %s", err, name, c.stderr.String())
			}
		}
	}
}

// stop marks the end of the capture, stops dumpcap and returns the number
// of packets it says it dropped.
func (c *capture) stop() (dropped int, err error) {
	if err := c.mark("end"); err != nil {
		c.kill()
		return 0, err
	}
	c.stopped = true
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("stop dumpcap: %w", err)
	}
	rerr := <-c.done
	if err := c.cmd.Wait(); err != nil {
		return 0, fmt.Errorf("dumpcap: %w: %s", err, c.stderr.String())
	}
	if rerr != nil {
		return 0, rerr
	}
	// "Packets received/dropped on interface 'Loopback: lo': 1234/0 (...)"
	m := regexp.MustCompile(`received/dropped on interface '[^']*': *\d+/(\d+)`).FindStringSubmatch(c.stderr.String())
	if m == nil {
		return 0, fmt.Errorf("dumpcap did not report its drops: %s", c.stderr.String())
	}
	return strconv.Atoi(m[1])
}

// kill ends dumpcap after a failure.
func (c *capture) kill() {
	if c.stopped {
		return
	}
	c.stopped = true
	_ = c.cmd.Process.Kill()
	<-c.done
	_ = c.cmd.Wait()
}

// proc is one process of the example, its output kept for the report.
type proc struct {
	name  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   bytes.Buffer
	lines chan string // every output line, for waitLine
	read  chan struct{}
}

// startProc starts bin with args; the process is killed if ctx ends first.
func startProc(ctx context.Context, name, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, cmd: exec.CommandContext(ctx, bin, args...), lines: make(chan string, 1024), read: make(chan struct{})}
	p.cmd.Stderr = &lockedWriter{p}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		defer close(p.read)
		defer close(p.lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			p.mu.Lock()
			p.out.WriteString(s.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- s.Text():
			default: // nobody waits for lines any more
			}
		}
	}()
	return p, nil
}

type lockedWriter struct{ p *proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

// waitLine waits for an output line starting with prefix.
func (p *proc) waitLine(prefix string) error {
	for line := range p.lines {
		if strings.HasPrefix(line, prefix) {
			return nil
		}
	}
	return fmt.Errorf("%s ended without printing %q", p.name, prefix)
}

// wait waits for the process to end and checks that it succeeded.
func (p *proc) wait() error {
	<-p.read // Wait must not run before the output is read
	if err := p.cmd.Wait(); err != nil {
		return fmt.Errorf("%s: %w\n%s", p.name, err, p.output())
	}
	return nil
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}
