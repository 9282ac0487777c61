package conformance

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// feedFields are the columns asked of tshark for the feed.
var feedFields = []string{
	"frame.number", "frame.time_epoch", "udp.payload",
	"moldudp64.session", "moldudp64.sequence", "moldudp64.count", "moldudp64.msglen", "moldudp64.msgdata",
	"moldudp64.msglen.invalid", "moldudp64.count.invalid", "moldudp64.end_of_session_extra", "moldudp64.request",
	"_ws.malformed", "_ws.expert.message",
}

// feedPacket checks one MoldUDP64 packet from tshark's fields: see
// feedFields for the columns.
func (c *checker) feedPacket(cols []string) error {
	if len(cols) != len(feedFields) {
		return fmt.Errorf("feed: %d columns, want %d: %q", len(cols), len(feedFields), cols)
	}
	col := func(name string) string {
		for i, f := range feedFields {
			if f == name {
				return cols[i]
			}
		}
		panic("no column " + name)
	}
	num, err := strconv.Atoi(col("frame.number"))
	if err != nil {
		return fmt.Errorf("feed: frame number %q: %w", col("frame.number"), err)
	}
	at, err := epoch(col("frame.time_epoch"))
	if err != nil {
		return err
	}
	c.feedPackets++
	c.gap(num, "feed", &c.lastFeed, at)
	if c.ended {
		c.fail(num, "MoldUDP64 packet after the End of Session")
	}
	pkt, err := hex.DecodeString(col("udp.payload"))
	if err != nil {
		return fmt.Errorf("feed frame %d: payload: %w", num, err)
	}
	if col("moldudp64.session") == "" && col("moldudp64.count") == "" {
		c.fail(num, "the MoldUDP64 dissector did not decode the %d-byte datagram", len(pkt))
		return nil
	}
	if len(pkt) < moldHeaderLen {
		c.fail(num, "MoldUDP64 packet of %d bytes, shorter than its header", len(pkt))
		return nil
	}
	// The dissector's header fields are the header's bytes.
	seq, count := binary.BigEndian.Uint64(pkt[10:18]), binary.BigEndian.Uint16(pkt[18:20])
	if count != moldHeartbeat && count != moldEndOfSession {
		if !c.lastFeedData.IsZero() {
			c.maxFeedDataGap = max(c.maxFeedDataGap, at.Sub(c.lastFeedData))
		}
		c.lastFeedData = at
	}
	if col("moldudp64.session") != string(pkt[:10]) || col("moldudp64.sequence") != strconv.FormatUint(seq, 10) ||
		col("moldudp64.count") != strconv.Itoa(int(count)) {
		c.fail(num, "MoldUDP64 header %q/%s/%s decoded from %x", col("moldudp64.session"), col("moldudp64.sequence"), col("moldudp64.count"), pkt[:20])
	}
	if err := alpha(pkt[:10], false); err != nil {
		c.fail(num, "MoldUDP64 session: %v", err)
	} else if err := rightJustified(bytes.TrimRight(pkt[:10], " "), isAlnum, false); err != nil {
		c.fail(num, "MoldUDP64 session: %v", err)
	}
	// Wireshark's findings. The dissector takes any 20-byte packet with a
	// non-zero count for a re-request, and so notes (a comment, not an
	// error) "Number of Requested Messages" on every End of Session: that
	// note alone is expected there.
	eos := count == moldEndOfSession && len(pkt) == moldHeaderLen
	for _, f := range []string{"moldudp64.msglen.invalid", "moldudp64.count.invalid", "moldudp64.end_of_session_extra", "_ws.malformed"} {
		if col(f) != "" {
			c.fail(num, "Wireshark reports %s", f)
		}
	}
	if col("moldudp64.request") != "" && !eos {
		c.fail(num, "Wireshark takes the packet for a re-request")
	}
	for _, msg := range strings.Split(col("_ws.expert.message"), ";") {
		if msg != "" && !(eos && msg == "Number of Requested Messages") {
			c.fail(num, "Wireshark expert info: %s", msg)
		}
	}
	// Sequence numbers: a data packet carries the next one, a heartbeat or
	// End of Session names it. With drops the feed skips some on purpose,
	// but never goes back.
	wantSeq := func(s uint64) {
		switch {
		case c.nextSeq == 0 && !c.drops && s != 1:
			c.fail(num, "the feed starts at sequence number %d, not 1", s)
		case c.nextSeq != 0 && !c.drops && s != c.nextSeq:
			c.fail(num, "MoldUDP64 sequence number %d, want %d", s, c.nextSeq)
		case c.nextSeq != 0 && s < c.nextSeq:
			c.fail(num, "MoldUDP64 sequence number %d goes back from %d", s, c.nextSeq)
		}
	}
	switch count {
	case moldHeartbeat, moldEndOfSession:
		name := "heartbeat"
		if count == moldEndOfSession {
			name, c.ended = "end of session", true
		}
		c.mold[name]++
		if len(pkt) != moldHeaderLen {
			c.fail(num, "MoldUDP64 %s of %d bytes, want %d", name, len(pkt), moldHeaderLen)
		}
		wantSeq(seq)
		c.nextSeq = max(c.nextSeq, seq)
		return nil
	}
	c.mold["data"]++
	wantSeq(seq)
	c.nextSeq = seq + uint64(count)
	lens, datas := strings.Split(col("moldudp64.msglen"), ";"), strings.Split(col("moldudp64.msgdata"), ";")
	if len(lens) != int(count) || len(datas) != int(count) {
		c.fail(num, "MoldUDP64 Message Count %d, the dissector found %d blocks", count, len(lens))
		return nil
	}
	off := moldHeaderLen
	for i := range lens {
		msg, err := hex.DecodeString(datas[i])
		if err != nil {
			return fmt.Errorf("feed frame %d: message %d: %w", num, i, err)
		}
		if off+2+len(msg) > len(pkt) || int(binary.BigEndian.Uint16(pkt[off:])) != len(msg) ||
			lens[i] != strconv.Itoa(len(msg)) || !bytes.Equal(pkt[off+2:off+2+len(msg)], msg) {
			c.fail(num, "MoldUDP64 message block %d: length %s, %d bytes, not the packet's", i, lens[i], len(msg))
			return nil
		}
		off += 2 + len(msg)
		typ, err := itchMessage(msg, c.instruments, c.stocks, false)
		if err != nil {
			c.fail(num, "ITCH message %d of the packet (sequence %d): %v", i, seq+uint64(i), err)
		}
		c.itchFeed[typ]++
	}
	if off != len(pkt) {
		c.fail(num, "%d bytes after the last message block", len(pkt)-off)
	}
	return nil
}
