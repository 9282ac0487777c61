package socket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
)

// socketKind says which constructor an option is given to.
type socketKind uint8

const (
	kindListenTCP socketKind = 1 << iota
	kindDialTCP
	kindUDP
	kindAll = kindListenTCP | kindDialTCP | kindUDP
)

func (k socketKind) String() string {
	switch k {
	case kindListenTCP:
		return "ListenTCP"
	case kindDialTCP:
		return "DialTCP"
	}
	return "ListenUDP and DialUDP"
}

// Option configures a socket made by [ListenTCP], [DialTCP],
// [ListenUDP] or [DialUDP]. Each option says which of them it applies to;
// given to another, or with an invalid value, it makes the call fail.
type Option struct {
	name  string
	kinds socketKind
	err   error
	apply func(*socketConfig)
}

type socketConfig struct {
	backlog        int
	backlogSet     bool // Backlog was given: the default is not the system's
	reuseAddr      bool
	reusePort      bool
	connectTimeout time.Duration
	noDelay        bool
	readBuffer     int
	writeBuffer    int
	keepAlive      time.Duration // 0: off
	linger         int           // seconds; -1: the system default
	broadcast      bool
	resolver       *net.Resolver // nil: net.DefaultResolver
}

func defaultSocketConfig() socketConfig {
	return socketConfig{backlog: listenBacklog(), reuseAddr: true, noDelay: true, linger: -1}
}

func (c *socketConfig) applyAll(kind socketKind, opts []Option) error {
	for _, o := range opts {
		if o.err != nil {
			return o.err
		}
		if o.apply == nil {
			return errors.New("socket: the zero Option")
		}
		if o.kinds&kind == 0 {
			return fmt.Errorf("socket: option %s does not apply to %v", o.name, kind)
		}
		o.apply(c)
	}
	return nil
}

func option(name string, kinds socketKind, apply func(*socketConfig)) Option {
	return Option{name: name, kinds: kinds, apply: apply}
}

func badOption(name string, format string, args ...any) Option {
	return Option{name: name, err: fmt.Errorf("socket: %s: "+format, append([]any{name}, args...)...)}
}

// Backlog sets a listener's queue of connections not yet accepted (default:
// the system's somaxconn; on a simulated network, simnet.DefaultBacklog, so
// that a simulated run does not depend on the machine).
func Backlog(n int) Option {
	if n <= 0 {
		return badOption("Backlog", "must be at least 1, got %d", n)
	}
	return option("Backlog", kindListenTCP, func(c *socketConfig) { c.backlog, c.backlogSet = n, true })
}

// ReuseAddr sets SO_REUSEADDR on a listening or bound socket (default on,
// as in package net: a restarted server can bind its port at once).
func ReuseAddr(on bool) Option {
	return option("ReuseAddr", kindListenTCP|kindUDP, func(c *socketConfig) { c.reuseAddr = on })
}

// ReusePort sets SO_REUSEPORT, letting several sockets bind one port (the
// kernel spreads connections or datagrams among them).
func ReusePort(on bool) Option {
	return option("ReusePort", kindListenTCP|kindUDP, func(c *socketConfig) { c.reusePort = on })
}

// ConnectTimeout bounds how long DialTCP waits for the connection.
func ConnectTimeout(d time.Duration) Option {
	if d <= 0 {
		return badOption("ConnectTimeout", "must be positive, got %v", d)
	}
	return option("ConnectTimeout", kindDialTCP, func(c *socketConfig) { c.connectTimeout = d })
}

// NoDelay sets TCP_NODELAY (default on, as in package net: small writes go
// out at once).
func NoDelay(on bool) Option {
	return option("NoDelay", kindDialTCP|kindListenTCP, func(c *socketConfig) { c.noDelay = on })
}

// ReadBuffer sets the socket's receive buffer (SO_RCVBUF) in bytes.
func ReadBuffer(bytes int) Option {
	if bytes <= 0 {
		return badOption("ReadBuffer", "must be positive, got %d", bytes)
	}
	return option("ReadBuffer", kindAll, func(c *socketConfig) { c.readBuffer = bytes })
}

// WriteBuffer sets the socket's send buffer (SO_SNDBUF) in bytes.
func WriteBuffer(bytes int) Option {
	if bytes <= 0 {
		return badOption("WriteBuffer", "must be positive, got %d", bytes)
	}
	return option("WriteBuffer", kindAll, func(c *socketConfig) { c.writeBuffer = bytes })
}

// KeepAlive turns on TCP keep-alive probes every period.
func KeepAlive(period time.Duration) Option {
	if period < time.Second {
		return badOption("KeepAlive", "period must be at least 1s, got %v", period)
	}
	return option("KeepAlive", kindDialTCP|kindListenTCP, func(c *socketConfig) { c.keepAlive = period })
}

// Linger sets SO_LINGER: how long Close waits for unsent data (0 resets the
// connection at Close).
func Linger(d time.Duration) Option {
	if d < 0 {
		return badOption("Linger", "must not be negative, got %v", d)
	}
	return option("Linger", kindDialTCP|kindListenTCP, func(c *socketConfig) { c.linger = int(d / time.Second) })
}

// Broadcast sets SO_BROADCAST on a UDP socket.
func Broadcast(on bool) Option {
	return option("Broadcast", kindUDP, func(c *socketConfig) { c.broadcast = on })
}

// Resolver sets the resolver that looks up host names and service names
// (nil, the default: net.DefaultResolver), for every constructor. Lookups
// run on a goroutine (asyncrt.GoContext), never on the runtime's thread, and
// the context they get is cancelled when the calling task stops waiting for
// them: aborted, or cut off by an asyncrt.Timeout or TimeoutAt. The call
// then unwinds at once; the lookup's own work ends when the resolver honours
// the cancellation (Go's resolver returns at once and gives its queries in
// flight up when the connections its Dial returned fail, or at their
// timeout).
func Resolver(r *net.Resolver) Option {
	return option("Resolver", kindAll, func(c *socketConfig) { c.resolver = r })
}

func listenBacklog() int {
	data, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && n > 0 {
			return min(n, 1<<16-1)
		}
	}
	return 4096
}

// setSockopts applies the options that are plain socket options.
func setSockopts(fd int, c *socketConfig, tcp bool) error {
	set := func(level, opt, v int, name string) error {
		if err := unix.SetsockoptInt(fd, level, opt, v); err != nil {
			return os.NewSyscallError("setsockopt "+name, err)
		}
		return nil
	}
	if c.readBuffer > 0 {
		if err := set(unix.SOL_SOCKET, unix.SO_RCVBUF, c.readBuffer, "SO_RCVBUF"); err != nil {
			return err
		}
	}
	if c.writeBuffer > 0 {
		if err := set(unix.SOL_SOCKET, unix.SO_SNDBUF, c.writeBuffer, "SO_SNDBUF"); err != nil {
			return err
		}
	}
	if !tcp {
		return nil
	}
	return setTCPOpts(fd, c)
}

func setTCPOpts(fd int, c *socketConfig) error {
	if c.noDelay {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			return os.NewSyscallError("setsockopt TCP_NODELAY", err)
		}
	}
	if c.keepAlive > 0 {
		if err := setKeepAlive(fd, true, c.keepAlive); err != nil {
			return err
		}
	}
	if c.linger >= 0 {
		if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: int32(c.linger)}); err != nil {
			return os.NewSyscallError("setsockopt SO_LINGER", err)
		}
	}
	return nil
}

func setKeepAlive(fd int, on bool, period time.Duration) error {
	v := 0
	if on {
		v = 1
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, v); err != nil {
		return os.NewSyscallError("setsockopt SO_KEEPALIVE", err)
	}
	if on && period > 0 {
		secs := max(int(period/time.Second), 1)
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs); err != nil {
			return os.NewSyscallError("setsockopt TCP_KEEPIDLE", err)
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs); err != nil {
			return os.NewSyscallError("setsockopt TCP_KEEPINTVL", err)
		}
	}
	return nil
}

// resolve turns "host:port" into addresses for network ("tcp", "tcp4",
// "tcp6", "udp", "udp4", "udp6"). IP literals and an empty host are
// resolved at once; host names are looked up on a goroutine (GoContext), so
// the runtime's thread never blocks on DNS, and the lookup's context is
// cancelled if t is aborted or times out while it waits.
// checkNetwork refuses a network of another protocol than proto ("udp"
// given to ListenTCP, say), which the address lookup, shared by both,
// would let through.
func checkNetwork(network, proto string) error {
	switch network {
	case proto, proto + "4", proto + "6":
		return nil
	}
	return net.UnknownNetworkError(network)
}

func resolve(t *asyncrt.Task, network, address string, listen bool, r *net.Resolver) ([]netip.AddrPort, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	want4, want6 := true, true
	switch network {
	case "tcp", "udp":
	case "tcp4", "udp4":
		want6 = false
	case "tcp6", "udp6":
		want4 = false
	default:
		return nil, net.UnknownNetworkError(network)
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		p, lerr := asyncrt.GoContext(t, func(ctx context.Context) (int, error) {
			return r.LookupPort(ctx, network, portStr)
		})
		if lerr != nil {
			return nil, lerr
		}
		port = uint64(p)
	}
	if host == "" {
		if !listen {
			host = "localhost"
		} else if want4 {
			return []netip.AddrPort{netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port))}, nil
		} else {
			return []netip.AddrPort{netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port))}, nil
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Unmap().Is4() && !want4 || ip.Is6() && !ip.Is4In6() && !want6 {
			return nil, &net.AddrError{Err: "address does not match network " + network, Addr: host}
		}
		return []netip.AddrPort{netip.AddrPortFrom(ip.Unmap().WithZone(ip.Zone()), uint16(port))}, nil
	}
	ipNet := "ip"
	switch {
	case !want6:
		ipNet = "ip4"
	case !want4:
		ipNet = "ip6"
	}
	ips, err := asyncrt.GoContext(t, func(ctx context.Context) ([]netip.Addr, error) {
		return r.LookupNetIP(ctx, ipNet, host)
	})
	if err != nil {
		return nil, err
	}
	out := make([]netip.AddrPort, 0, len(ips))
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(port)))
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return out, nil
}

func interfaceIndex(zone string) (int, error) {
	if n, err := strconv.Atoi(zone); err == nil {
		return n, nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}

// newSocket makes a non-blocking socket for addr's family.
func newSocket(addr netip.Addr, typ int) (fd int, family6 bool, err error) {
	family := unix.AF_INET
	if addr.Is6() {
		family, family6 = unix.AF_INET6, true
	}
	fd, err = unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, false, os.NewSyscallError("socket", err)
	}
	return fd, family6, nil
}

// opError wraps err the way package net does, so that callers can use
// errors.Is with io.EOF, net.ErrClosed, os.ErrDeadlineExceeded or a
// syscall.Errno, and net.Error's Timeout.
func opError(op, network string, local, remote netip.AddrPort, err error) error {
	if err == nil {
		return nil
	}
	e := &net.OpError{Op: op, Net: network, Err: err}
	if local.IsValid() {
		e.Source = netAddr(network, local)
	}
	if remote.IsValid() {
		e.Addr = netAddr(network, remote)
	}
	return e
}

func netAddr(network string, ap netip.AddrPort) net.Addr {
	if strings.HasPrefix(network, "udp") {
		return net.UDPAddrFromAddrPort(ap)
	}
	return net.TCPAddrFromAddrPort(ap)
}
