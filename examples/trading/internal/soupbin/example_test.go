package soupbin_test

import (
	"fmt"

	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
)

func ExampleNext() {
	// The server accepts a login and sends one sequenced message.
	stream, err := soupbin.LoginAccepted{Session: "TODAY", Seq: 1}.AppendTo(nil)
	if err != nil {
		panic(err)
	}
	stream, err = soupbin.AppendPacket(stream, soupbin.TypeSequencedData, []byte("hello"))
	if err != nil {
		panic(err)
	}

	// The client parses the packets at the front of its buffer.
	buf := stream
	for {
		typ, payload, n, err := soupbin.Next(buf, 0)
		if err != nil {
			panic(err)
		}
		if n == 0 {
			break // need more bytes
		}
		buf = buf[n:]
		switch typ {
		case soupbin.TypeLoginAccepted:
			a, err := soupbin.ParseLoginAccepted(payload)
			if err != nil {
				panic(err)
			}
			fmt.Printf("logged into %s, next message %d\n", a.Session, a.Seq)
		case soupbin.TypeSequencedData:
			fmt.Printf("message %q\n", payload)
		}
	}
	fmt.Println(len(stream), "bytes,", len(buf), "left")
	// Output:
	// logged into TODAY, next message 1
	// message "hello"
	// 41 bytes, 0 left
}
