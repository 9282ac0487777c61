package loadgen

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRefusesNonLoopback checks that the generator never dials out of the
// machine.
func TestRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"192.0.2.1:9000", "example.com:80", "[2001:db8::1]:9000"} {
		cfg := Config{Addr: addr, Conns: 1, Pipeline: 1, Payload: 32, Duration: time.Millisecond}
		if _, err := Run(cfg); err == nil {
			t.Errorf("Run(%s) dialled a non-loopback address", addr)
		}
	}
}

// TestDetectsWrongResponses runs the generator against a plain echo server,
// which sends each request back untransformed: every response is wrong,
// and the run must say so.
func TestDetectsWrongResponses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	_, err = Run(Config{Addr: ln.Addr().String(), Conns: 2, Pipeline: 4, Payload: 32,
		Warmup: 10 * time.Millisecond, Duration: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "sequence number") {
		t.Fatalf("Run against an echo server: %v, want a wrong sequence number reported", err)
	}
}
