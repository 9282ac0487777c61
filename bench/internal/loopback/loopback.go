// Package loopback keeps the benchmark on this machine: its servers listen
// and its load generator dials only where Check allows, so that a mistyped
// address can never put load on a network.
package loopback

import (
	"fmt"
	"net/netip"
)

// Check returns an error unless addr is "ip:port" with a loopback ip
// (127.0.0.0/8 or ::1). Host names are refused too: what they resolve to
// is not known here.
func Check(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: want a loopback ip:port such as 127.0.0.1:0: %w", addr, err)
	}
	if !ap.Addr().IsLoopback() {
		return fmt.Errorf("address %q is not a loopback address: the benchmark runs over loopback only", addr)
	}
	return nil
}
