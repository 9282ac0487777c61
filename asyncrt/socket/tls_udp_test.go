package socket_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "orrery test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestTLSHandshakeAndEcho(t *testing.T) {
	cert, pool := selfSigned(t)
	rt := newRuntime(t, nil)
	type result struct {
		line    string
		version uint16
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		l, err := socket.ListenTCP(t, "tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer l.Close()
		srv := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			c, err := l.Accept(t)
			if err != nil {
				return err
			}
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
			defer tc.Close()
			line, err := bufio.NewReader(tc).ReadString('\n')
			if err != nil {
				return err
			}
			_, err = tc.Write([]byte("secure " + line))
			return err
		})
		c, err := socket.DialTCP(t, "tcp", l.AddrPort().String())
		if err != nil {
			panic(err)
		}
		tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			panic(err)
		}
		if _, err := tc.Write([]byte("hello\n")); err != nil {
			panic(err)
		}
		line, err := bufio.NewReader(tc).ReadString('\n')
		if err != nil {
			panic(err)
		}
		if err, _ := srv.Await(t); err != nil {
			panic(err)
		}
		return result{line, tc.ConnectionState().Version}
	})
	assert.Equal(t, "secure hello\n", r.line)
	assert.Equal(t, uint16(tls.VersionTLS13), r.version)
}

func TestUDPLoopback(t *testing.T) {
	rt := newRuntime(t, nil)
	for _, network := range []string{"udp4", "udp6"} {
		host := "127.0.0.1"
		if network == "udp6" {
			host = "[::1]"
		}
		t.Run(network, func(t *testing.T) {
			if network == "udp6" {
				skipWithoutIPv6(t)
			}
			type result struct {
				got, reply string
				from       netip.AddrPort
				deadline   error
				closed     error
			}
			r := block(t, rt, func(t *asyncrt.Task) result {
				var r result
				srv, err := socket.ListenUDP(t, network, host+":0", socket.ReadBuffer(1<<20))
				if err != nil {
					panic(err)
				}
				defer srv.Close()
				cli, err := socket.DialUDP(t, network, srv.LocalAddrPort().String())
				if err != nil {
					panic(err)
				}
				defer cli.Close()
				if _, err := cli.Send([]byte("quote 42")); err != nil {
					panic(err)
				}
				buf := make([]byte, 1500)
				n, from, err := srv.RecvFrom(buf)
				if err != nil {
					panic(err)
				}
				r.got, r.from = string(buf[:n]), from
				if _, err := srv.SendTo([]byte("ack"), from); err != nil {
					panic(err)
				}
				n, err = cli.Recv(buf)
				if err != nil {
					panic(err)
				}
				r.reply = string(buf[:n])
				srv.SetReadDeadline(t.Now().Add(10 * time.Millisecond))
				_, _, r.deadline = srv.RecvFrom(buf)
				cli.Close()
				_, r.closed = cli.Send([]byte("x"))
				return r
			})
			assert.Equal(t, "quote 42", r.got)
			assert.Equal(t, "ack", r.reply)
			assert.True(t, r.from.Addr().IsLoopback())
			assert.ErrorIs(t, r.deadline, os.ErrDeadlineExceeded)
			assert.ErrorIs(t, r.closed, net.ErrClosed)
		})
	}
}

func TestUDPPacketConnInterface(t *testing.T) {
	rt := newRuntime(t, nil)
	got := block(t, rt, func(t *asyncrt.Task) string {
		a, _ := socket.ListenUDP(t, "udp4", "127.0.0.1:0")
		b, _ := socket.ListenUDP(t, "udp4", "127.0.0.1:0")
		defer a.Close()
		defer b.Close()
		var pa net.PacketConn = a
		if _, err := pa.WriteTo([]byte("via PacketConn"), b.LocalAddr()); err != nil {
			panic(err)
		}
		buf := make([]byte, 64)
		n, from, err := b.ReadFrom(buf)
		if err != nil {
			panic(err)
		}
		if from.String() != a.LocalAddr().String() {
			panic("wrong sender " + from.String())
		}
		return string(buf[:n])
	})
	assert.Equal(t, "via PacketConn", got)
}

// The multicast options of a market-data receiver, set and read back on a
// socket bound to loopback. Nothing is ever sent to a group.
func TestUDPMulticastOptions(t *testing.T) {
	lo := loopbackInterface(t)
	hasIPv6 := ipv6Loopback()
	rt := newRuntime(t, nil)
	type result struct {
		join4, leave4, join6, leave6, badGroup, wrongFamily, badTTL error
		loop4, loop6                                                bool
		ttl4, hops6                                                 int
		broadcast                                                   bool
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		c4, err := socket.ListenUDP(t, "udp4", "127.0.0.1:0", socket.Broadcast(true), socket.ReusePort(true))
		if err != nil {
			panic(err)
		}
		defer c4.Close()
		r.join4 = c4.JoinGroup(lo, netip.MustParseAddr("239.1.2.3"))
		r.leave4 = c4.LeaveGroup(lo, netip.MustParseAddr("239.1.2.3"))
		c4.SetMulticastLoopback(false)
		r.loop4, _ = c4.MulticastLoopback()
		c4.SetMulticastTTL(7)
		r.ttl4, _ = c4.MulticastTTL()
		r.badTTL = c4.SetMulticastTTL(300)
		r.badGroup = c4.JoinGroup(lo, netip.MustParseAddr("10.0.0.1"))
		r.wrongFamily = c4.JoinGroup(lo, netip.MustParseAddr("ff02::1:3"))
		r.broadcast, _ = c4.Broadcast()
		if err := c4.SetMulticastInterface(lo); err != nil {
			panic(err)
		}

		if !hasIPv6 {
			return r
		}
		c6, err := socket.ListenUDP(t, "udp6", "[::1]:0")
		if err != nil {
			panic(err)
		}
		defer c6.Close()
		r.join6 = c6.JoinGroup(lo, netip.MustParseAddr("ff02::1:3"))
		r.leave6 = c6.LeaveGroup(lo, netip.MustParseAddr("ff02::1:3"))
		c6.SetMulticastLoopback(true)
		r.loop6, _ = c6.MulticastLoopback()
		c6.SetMulticastTTL(3)
		r.hops6, _ = c6.MulticastTTL()
		return r
	})
	assert.NoError(t, r.join4)
	assert.NoError(t, r.leave4)
	assert.False(t, r.loop4)
	assert.Equal(t, 7, r.ttl4)
	if hasIPv6 {
		assert.NoError(t, r.join6)
		assert.NoError(t, r.leave6)
		assert.True(t, r.loop6)
		assert.Equal(t, 3, r.hops6)
	}
	assert.True(t, r.broadcast)
	assert.ErrorContains(t, r.badTTL, "TTL must be within")
	assert.ErrorContains(t, r.badGroup, "not a multicast address")
	assert.ErrorContains(t, r.wrongFamily, "does not match the socket")
}

func loopbackInterface(t *testing.T) *net.Interface {
	t.Helper()
	ifs, err := net.Interfaces()
	require.NoError(t, err)
	for i := range ifs {
		if ifs[i].Flags&net.FlagLoopback != 0 {
			return &ifs[i]
		}
	}
	t.Skip("no loopback interface")
	return nil
}

// ipv6Loopback reports whether ::1 can be bound on this machine.
func ipv6Loopback() bool {
	c, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func skipWithoutIPv6(t *testing.T) {
	if !ipv6Loopback() {
		t.Skip("no IPv6 loopback on this machine")
	}
}
