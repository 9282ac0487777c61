// Package socket is TCP and UDP for the tasks of an asyncrt runtime:
// listeners ([ListenTCP]), connections ([DialTCP]) and datagram sockets
// ([ListenUDP], [DialUDP]) whose waits suspend the calling task on the
// runtime's poller and never block its thread. Inside a task of its runtime
// a [TCPConn] is a net.Conn, and a [UDPConn] a net.PacketConn.
// [ServeGroup] serves one handler on every runtime of an asyncrt.Group,
// each with its own SO_REUSEPORT listener on one address.
//
// # Simulation
//
// On a runtime built with a simulated network (asyncrt.Builder.Network with
// a network of package simnet), ListenTCP, DialTCP, ListenUDP and DialUDP
// open simulated sockets instead, on the simulated host of the calling task
// (a task on no host gets an error saying so), and code written against
// this package runs on them unchanged: the same methods and Select cases
// ([OnAccept], [AcceptRetry]), the same deadlines, the same errors
// (errors.Is with io.EOF, net.ErrClosed, os.ErrDeadlineExceeded,
// syscall.ECONNREFUSED, syscall.ECONNRESET...). On a runtime without one,
// nothing changes.
//
// Nothing is looked up in simulation: an address's host is an IP literal,
// empty, or "localhost" (each host's own 127.0.0.1, or ::1 for "tcp6" and
// "udp6"), and its port a number; a host name is an error, and so is an
// IPv6 address other than ::1 and ::, the simulation being IPv4. The
// options [ReadBuffer], [WriteBuffer] and [Backlog] apply to the simulation,
// and [ConnectTimeout] is the connection request's deadline; [NoDelay],
// [KeepAlive], [Linger], [ReuseAddr], [ReusePort], [Broadcast] and
// [Resolver] are accepted and have no effect (in particular a port holds
// one socket per host: ReusePort does not let two share it, and ServeGroup
// refuses a simulated network), and so are SetKeepAlive, SetLinger,
// SetMulticastTTL and SetMulticastInterface. The getters report
// what was set (ReadBuffer and WriteBuffer the sizes the simulation uses,
// not doubled as Linux reports them). Multicast reaches the sockets of
// every host that joined the group (JoinGroup's interface plays no part);
// sending to a broadcast address is an error. CloseRead and CloseWrite
// must be called from a task of the runtime.
//
// A simulated socket is state of its runtime, to be used from the runtime's
// tasks. Close and the deadline setters stay safe from any goroutine: from
// another goroutine (or on the runtime's thread outside a task), Close
// takes effect at once for later calls, and a task the runtime spawns
// (asyncrt.TrySpawnRemote) closes the simulated socket and sets the
// deadlines when the runtime next takes remote spawns. That moment depends
// on the other goroutine's timing, so such a run is no longer reproducible.
package socket
