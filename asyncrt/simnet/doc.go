// Package simnet is a simulated network for deterministic simulation: hosts
// with loopback-range addresses, links with latency, jitter, bandwidth,
// loss, duplication and reordering, partitions, and host crashes and
// restarts, all driven by one seed.
//
// Build a runtime with the network and a simulated clock, add hosts, and
// run each host's work on its node:
//
//	clock := asyncrt.NewSimClock(start)
//	net, _ := simnet.New(simnet.Config{Seed: 42, Link: simnet.Link{Latency: 50 * time.Microsecond}})
//	server, _ := net.AddHost("server", netip.MustParseAddr("127.0.1.1"), nil)
//	client, _ := net.AddHost("client", netip.MustParseAddr("127.0.1.2"), nil)
//	rt, _ := asyncrt.NewBuilder().Clock(clock).Network(net).Build()
//	asyncrt.Run(rt, func(t *asyncrt.Task) error {
//		srv := asyncrt.SpawnFunc(t, serve, asyncrt.InNode(server.Node()))
//		...
//	})
//
// The tasks open sockets with package socket exactly as on real sockets
// (socket.ListenTCP, DialTCP, ListenUDP, DialUDP, multicast included); on a
// runtime built with a simulated network they are simulated, and belong to
// the host their task runs on. TCP keeps its semantics: ordered bytes,
// flow control (a writer waits while its peer does not read), half close,
// resets, connection requests retried and timing out. UDP stays datagrams
// that may be lost, duplicated or reordered, and dropped when a receive
// buffer is full.
//
// Under an asyncrt.SimClock nothing waits for real time: whenever no task
// is ready, the clock jumps to the next delivery or timer. Every random
// choice comes from the seed, so the same program, seed and inputs give
// the same run, event for event; [Network.Digest] is a hash of that run to
// print and compare. A task that reads the real clock (time.Now) or waits
// on other goroutines steps outside the simulation, and its run is no
// longer reproducible.
//
// What is simplified: a segment's loss delays it (and what follows it) by
// retransmission timeouts, rather than modelling acknowledgements; the
// receive window is known to the sender at once; packets already on a link
// when it is partitioned still arrive, and so does a reset sent across one
// (a crashed host's, or a Close with unread data), so that a peer is never
// left waiting on a connection that is gone; and there is no IPv6 beyond
// ::1, no broadcast and no path MTU.
//
// Package simnet is Linux-only (amd64 and arm64), as the rest of Orrery.
package simnet
