package conformance

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// loginAcceptedLen is the size of a SoupBinTCP Login Accepted packet,
// length field included.
const loginAcceptedLen = 2 + 1 + 30

// splitLoginAccepted copies the pcap file in to out, splitting the TCP
// segment that carries a server's Login Accepted in two when more follows
// it: the Login Accepted alone, then the rest. The byte stream of every
// connection is unchanged; only where one segment ends moves.
//
// Why: on a Login Accepted, Wireshark's SoupBinTCP dissector (4.0, as in
// Debian 12) starts a conversation of its own from that frame on. Its TCP
// layer then takes the next frame for the start of another stream and
// forgets the message the Login Accepted's segment left unfinished, so it
// decodes the rest of the connection from the middle of a message, as
// garbage. The exchange sends Login Accepted together with what follows it
// (a whole snapshot, or the replay after a re-login), and loopback cuts
// that into 32 KiB segments: without the split most snapshots decode as
// malformed although their bytes are right.
//
// The segments that need it are found without parsing SoupBinTCP beyond
// the first packet of a server's first segment: a Length of 31 and type
// 'A'. It returns the number of segments split.
func splitLoginAccepted(in, out string, serverPorts ...int) (int, error) {
	src, err := os.Open(in)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	dst, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	n, err := resegment(bufio.NewReaderSize(src, 1<<20), dst, serverPorts)
	if cerr := dst.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return n, err
}

func resegment(r io.Reader, dst io.Writer, serverPorts []int) (int, error) {
	w := bufio.NewWriterSize(dst, 1<<20)
	hdr := make([]byte, 24)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return 0, fmt.Errorf("pcap header: %w", err)
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint32(hdr) {
	case 0xa1b2c3d4, 0xa1b23c4d:
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		return 0, fmt.Errorf("not a pcap file: magic %x", hdr[:4])
	}
	if lt := order.Uint32(hdr[20:24]); lt != 1 {
		return 0, fmt.Errorf("link type %d, want Ethernet (1), as dumpcap gives for lo", lt)
	}
	if _, err := w.Write(hdr); err != nil {
		return 0, err
	}
	isServer := func(p int) bool {
		for _, s := range serverPorts {
			if p == s {
				return true
			}
		}
		return false
	}
	seen := map[[2]int]bool{} // connections whose server has sent data
	splits := 0
	rec := make([]byte, 16)
	for {
		if _, err := io.ReadFull(r, rec); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return splits, fmt.Errorf("pcap record: %w", err)
		}
		caplen, origlen := order.Uint32(rec[8:12]), order.Uint32(rec[12:16])
		data := make([]byte, caplen)
		if _, err := io.ReadFull(r, data); err != nil {
			return splits, fmt.Errorf("pcap record: %w", err)
		}
		first, second, ok := splitAt(data, isServer, seen)
		if !ok || caplen != origlen {
			if _, err := w.Write(rec); err != nil {
				return splits, err
			}
			if _, err := w.Write(data); err != nil {
				return splits, err
			}
			continue
		}
		splits++
		for _, part := range [][]byte{first, second} {
			order.PutUint32(rec[8:12], uint32(len(part)))
			order.PutUint32(rec[12:16], uint32(len(part)))
			if _, err := w.Write(rec); err != nil {
				return splits, err
			}
			if _, err := w.Write(part); err != nil {
				return splits, err
			}
		}
	}
	return splits, w.Flush()
}

// splitAt returns the two frames a frame becomes, if it is a server's
// first data segment on a connection and starts with a Login Accepted that
// more data follows. It keeps seen up to date: a client's SYN starts a
// connection afresh.
func splitAt(frame []byte, isServer func(int) bool, seen map[[2]int]bool) (first, second []byte, ok bool) {
	const eth = 14
	if len(frame) < eth+20 || binary.BigEndian.Uint16(frame[12:14]) != 0x0800 {
		return nil, nil, false
	}
	ip := frame[eth:]
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ip[9] != 6 || ihl < 20 || total > len(ip) || total < ihl+20 {
		return nil, nil, false
	}
	tcp := ip[ihl:total]
	off := int(tcp[12]>>4) * 4
	if off < 20 || off > len(tcp) {
		return nil, nil, false
	}
	srcPort, dstPort := int(binary.BigEndian.Uint16(tcp[0:2])), int(binary.BigEndian.Uint16(tcp[2:4]))
	flags := tcp[13]
	payload := tcp[off:]
	switch {
	case isServer(dstPort) && flags&0x12 == 0x02: // the client's SYN
		delete(seen, [2]int{srcPort, dstPort})
		return nil, nil, false
	case !isServer(srcPort) || len(payload) == 0:
		return nil, nil, false
	}
	key := [2]int{dstPort, srcPort}
	if seen[key] {
		return nil, nil, false
	}
	seen[key] = true
	if len(payload) <= loginAcceptedLen || binary.BigEndian.Uint16(payload) != loginAcceptedLen-2 || payload[2] != 'A' {
		return nil, nil, false
	}
	head := eth + ihl + off // bytes before the payload
	build := func(part []byte, seqAdd uint32, flags byte) []byte {
		f := make([]byte, 0, head+len(part))
		f = append(f, frame[:head]...)
		f = append(f, part...)
		ip := f[eth:]
		binary.BigEndian.PutUint16(ip[2:4], uint16(ihl+off+len(part)))
		binary.BigEndian.PutUint16(ip[10:12], 0)
		binary.BigEndian.PutUint16(ip[10:12], ipChecksum(ip[:ihl]))
		t := ip[ihl:]
		binary.BigEndian.PutUint32(t[4:8], binary.BigEndian.Uint32(t[4:8])+seqAdd)
		t[13] = flags
		return f
	}
	const fin = 0x01 // a FIN belongs after the last byte: on the second part
	return build(payload[:loginAcceptedLen], 0, flags&^fin), build(payload[loginAcceptedLen:], loginAcceptedLen, flags), true
}

// ipChecksum is the IPv4 header checksum of h (its checksum field zero).
func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
