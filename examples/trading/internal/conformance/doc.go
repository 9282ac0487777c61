// Package conformance checks the trading example's traffic against its wire
// specifications with a decoder that is not the example's own: Wireshark's.
//
// Its test (run it with ORRERY_TSHARK=1, see .ci/tshark) builds the example,
// runs the exchange and the engine as two processes on loopback while
// dumpcap captures their traffic, and decodes the capture with tshark: the
// order sessions as SoupBinTCP 3.0 carrying OUCH 4.2, the snapshot sessions
// as SoupBinTCP carrying ITCH 5.0 (and GLIMPSE's End of Snapshot), the feed
// as MoldUDP64 1.0 carrying ITCH 5.0. It does so for a normal run, a faulty
// one (dropped feed packets, cut sessions) and an idle one.
//
// The dissectors find the fields, but they label an out-of-spec code
// "Unknown" rather than mark the packet malformed, and Wireshark knows ITCH
// 2.0 and 3.0 only. So the test reads every field's bytes and checks them
// against tables written from the specifications (not from the example's
// codecs), parses the ITCH 5.0 messages inside the MoldUDP64 message
// blocks itself, and measures from the capture's timestamps that each side
// sends a heartbeat once it has been quiet for a second, and that Login
// Accepted and every reply leave at once.
//
// Environment: ORRERY_TSHARK=1 runs the test (it skips otherwise, and
// where tshark or dumpcap is missing or capture is not permitted);
// ORRERY_TSHARK_KEEP=dir keeps the captures in dir, to look into a
// failure with Wireshark; ORRERY_TSHARK_BIN=path judges that build of the
// example instead of building the current one.
package conformance
