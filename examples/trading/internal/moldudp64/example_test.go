package moldudp64_test

import (
	"fmt"

	"github.com/orrery-go/orrery/examples/trading/internal/moldudp64"
)

func ExampleBuilder() {
	session, err := moldudp64.NewSession("TODAY")
	if err != nil {
		panic(err)
	}
	b, err := moldudp64.NewBuilder(session, 1400)
	if err != nil {
		panic(err)
	}
	b.Reset(41)
	for _, msg := range []string{"first", "second", "third"} {
		if err := b.Add([]byte(msg)); err != nil {
			panic(err) // errors.Is(err, moldudp64.ErrFull): send and Reset
		}
	}
	pkt := b.Bytes()

	var p moldudp64.Packet
	if err := p.Parse(pkt); err != nil {
		panic(err)
	}
	fmt.Printf("session %s, %d messages, %d bytes\n", p.Session, p.Count, len(pkt))
	for seq := p.Seq; ; seq++ {
		msg, ok := p.Next()
		if !ok {
			break
		}
		fmt.Printf("%d: %s\n", seq, msg)
	}
	fmt.Println("next:", p.NextSeq())
	// Output:
	// session TODAY, 3 messages, 42 bytes
	// 41: first
	// 42: second
	// 43: third
	// next: 44
}
