package asyncrt

import (
	"errors"
	"fmt"
)

// Network is a network that a runtime's sockets use instead of the
// operating system's: package simnet's simulated network is one. It is
// chosen when the runtime is built ([Builder.Network]); code that opens
// sockets through package socket then runs on it without a line changed.
// The runtime itself only holds it ([Runtime.Network]).
type Network interface {
	// Attach is called once by [Builder.Build] with the new runtime,
	// before any task runs. A network serves one runtime; an error fails
	// the build.
	Attach(rt *Runtime) error
}

// Network sets the network the runtime's sockets use instead of the
// operating system's (see [Network]): with package simnet's and a
// [SimClock], a whole program, network included, runs deterministically.
func (b *Builder) Network(n Network) *Builder {
	if n == nil {
		b.errs = append(b.errs, errors.New("Network(nil): pass the network to use (simnet.New), or leave the option out for the operating system's"))
		return b
	}
	b.network = n
	return b
}

// Network returns the network the runtime's sockets use, set with
// [Builder.Network], or nil for the operating system's.
func (rt *Runtime) Network() Network { return rt.network }

// attachNetwork attaches the builder's network to a new runtime.
func (rt *Runtime) attachNetwork(n Network) error {
	if n == nil {
		return nil
	}
	if err := n.Attach(rt); err != nil {
		return fmt.Errorf("asyncrt: attaching the network: %w", err)
	}
	rt.network = n
	return nil
}
