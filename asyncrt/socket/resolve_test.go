package socket_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
)

// silentDNS is a DNS server on 127.0.0.1 that never answers, and a Go
// resolver whose every query goes to it, whatever the system's
// configuration names: nothing leaves the machine.
//
// Each context the resolver dials with is sent on dialed. The connection
// Dial returns closes once that context is done, as a transport that honours
// cancellation does: Go's resolver does not watch its context while it
// reads an answer, so this is what ends its goroutines as soon as a lookup
// is cancelled (and the test leaves none behind).
type silentDNS struct {
	resolver *net.Resolver
	dialed   chan context.Context
	mu       sync.Mutex
	closed   []chan struct{} // one per connection dialed, closed with it
}

func newSilentDNS(t *testing.T) *silentDNS {
	t.Helper()
	srv, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	d := &silentDNS{dialed: make(chan context.Context, 64)}
	d.resolver = &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			var dialer net.Dialer
			c, err := dialer.DialContext(ctx, "udp4", srv.LocalAddr().String())
			if err != nil {
				return nil, err
			}
			closed := make(chan struct{})
			d.mu.Lock()
			d.closed = append(d.closed, closed)
			d.mu.Unlock()
			context.AfterFunc(ctx, func() {
				c.Close()
				close(closed)
			})
			select {
			case d.dialed <- ctx:
			default:
			}
			return c, nil
		},
	}
	t.Cleanup(func() {
		d.waitClosed()
		srv.Close()
	})
	return d
}

// waitClosed waits until the connections dialed so far are closed. Each
// closes when its context ends: cancelled, or at the resolver's timeout.
func (d *silentDNS) waitClosed() {
	d.mu.Lock()
	closed := slices.Clone(d.closed)
	d.mu.Unlock()
	for _, ch := range closed {
		<-ch
	}
}

// done waits until ctx is done and returns its error; the bound only stops a
// failing test from hanging.
func done(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
		return errors.New("the lookup's context was not cancelled")
	}
}

// A Timeout around DialTCP (or DialUDP) cuts the name lookup off and
// cancels its context. The runtime runs on a simulated clock, and a task
// keeps it busy until the resolver has dialed: the deadline can only pass
// while the lookup is under way, which makes the test exact.
func TestTimeoutCancelsLookup(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			dns := newSilentDNS(t)
			clock := asyncrt.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			rt := newRuntime(t, asyncrt.NewBuilder().Clock(clock))
			type result struct {
				err     error
				elapsed time.Duration
				lookup  context.Context
			}
			r := block(t, rt, func(t *asyncrt.Task) result {
				var r result
				watcher := asyncrt.Spawn(t, func(t *asyncrt.Task) context.Context {
					giveUp := time.Now().Add(10 * time.Second) // only for a failing test
					for time.Now().Before(giveUp) {
						select {
						case ctx := <-dns.dialed:
							return ctx
						default:
							t.Yield() // ready, so simulated time stands still
						}
					}
					return nil
				})
				start := t.Now()
				_, r.err = asyncrt.Timeout(t, time.Second, func(t *asyncrt.Task) error {
					opt := socket.Resolver(dns.resolver)
					var err error
					if network == "tcp" {
						_, err = socket.DialTCP(t, "tcp", "name.invalid:80", opt)
					} else {
						_, err = socket.DialUDP(t, "udp", "name.invalid:53", opt)
					}
					return err
				})
				r.elapsed = t.Now().Sub(start)
				r.lookup, _ = watcher.Await(t)
				return r
			})
			assert.ErrorIs(t, r.err, asyncrt.ErrElapsed)
			assert.Equal(t, time.Second, r.elapsed)
			require.NotNil(t, r.lookup, "the resolver never dialed")
			assert.ErrorIs(t, done(r.lookup), context.Canceled)
			dns.waitClosed()
		})
	}
}

// Aborting a task that waits for a lookup cancels the lookup.
func TestAbortCancelsLookup(t *testing.T) {
	dns := newSilentDNS(t)
	rt := newRuntime(t, nil)
	type result struct {
		err    error
		lookup context.Context
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		dialer := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
			_, err := socket.DialTCP(t, "tcp", "another-name.invalid:80", socket.Resolver(dns.resolver))
			return err
		})
		r.lookup, _ = asyncrt.Go(t, func() (context.Context, error) {
			select {
			case ctx := <-dns.dialed:
				return ctx, nil
			case <-time.After(10 * time.Second):
				return nil, nil
			}
		})
		dialer.Abort()
		_, r.err = dialer.Await(t)
		return r
	})
	assert.ErrorIs(t, r.err, asyncrt.ErrAborted)
	require.NotNil(t, r.lookup, "the resolver never dialed")
	assert.ErrorIs(t, done(r.lookup), context.Canceled)
	dns.waitClosed()
}

// The Resolver option is accepted by every constructor; nil means the
// default resolver.
func TestResolverOption(t *testing.T) {
	rt := newRuntime(t, nil)
	errs := block(t, rt, func(t *asyncrt.Task) []error {
		opt := socket.Resolver(nil)
		l, err := socket.ListenTCP(t, "tcp4", "127.0.0.1:0", opt)
		if err != nil {
			return []error{err}
		}
		defer l.Close()
		c, err := socket.DialTCP(t, "tcp4", l.AddrPort().String(), opt)
		if err == nil {
			c.Close()
		}
		u, uerr := socket.ListenUDP(t, "udp4", "127.0.0.1:0", opt)
		if uerr == nil {
			u.Close()
		}
		return []error{err, uerr}
	})
	for _, err := range errs {
		assert.NoError(t, err)
	}
}
