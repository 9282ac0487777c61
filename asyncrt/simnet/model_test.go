package simnet_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/simnet"
)

// checkStream runs a writer and a reader, each following its own script
// taken from ops, over a connection on a jittery, lossy link with small
// buffers chosen from seed, and checks what the reader gets against a
// model: the byte stream the writer's successful writes make, then EOF.
//
// Each byte of ops is one step: even ones the writer's, odd ones the
// reader's. A writer's step writes, sleeps, or shuts its side
// (CloseWrite); a reader's reads into a buffer of some size, sleeps, or
// reads against a short deadline. The writer ends with CloseWrite or
// Close, and the link is cut and healed a few times meanwhile.
func checkStream(t *testing.T, seed uint64, ops []byte) {
	if len(ops) > 400 {
		ops = ops[:400]
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	link := simnet.Link{
		Latency: time.Duration(1+rng.IntN(2000)) * time.Microsecond,
		Jitter:  time.Duration(rng.IntN(3000)) * time.Microsecond,
		Loss:    float64(rng.IntN(30)) / 100,
	}
	if rng.IntN(2) == 0 {
		link.Bandwidth = int64(100_000 + rng.IntN(10_000_000))
	}
	sndBuf, rcvBuf := 200+rng.IntN(4000), 200+rng.IntN(4000)
	closeAtEnd := rng.IntN(2) == 0 // the writer ends with Close, not CloseWrite
	cuts := rng.IntN(4)            // partitions during the transfer
	var wops, rops []byte
	for i, b := range ops {
		if i%2 == 0 {
			wops = append(wops, b)
		} else {
			rops = append(rops, b)
		}
	}

	p := newPair(t, seed, simnet.Link{})
	var (
		written, consumed int  // the model: bytes written, bytes read
		writing           int  // the size of the write in progress
		shut              bool // the writer called CloseWrite
		got               []byte
	)
	run(t, p.rt, func(task *asyncrt.Task) error {
		// Connected first: lost requests could make the dial time out.
		cli, srv := p.connect(task, 80, simnet.StreamOptions{WriteBuffer: sndBuf}, simnet.StreamOptions{ReadBuffer: rcvBuf})
		if err := p.net.SetLink(p.cli, p.server, link); err != nil {
			return err
		}
		writer := on(task, p.cli, func(task *asyncrt.Task) error {
			for _, b := range wops {
				arg := int(b >> 3)
				switch b & 7 {
				case 0, 1, 2, 3, 4:
					size := (arg + 1) * 37
					if b&7 == 4 {
						size *= 10
					}
					writing = size
					k, err := cli.Write(task, pattern(written, size))
					writing = 0
					if shut {
						if !assert.ErrorIs(t, err, unix.EPIPE) || !assert.Zero(t, k) {
							return err
						}
						continue
					}
					written += k
					if err != nil || !assert.Equal(t, size, k) {
						return err
					}
					// At most what both buffers hold is unread.
					if !assert.LessOrEqual(t, written-consumed, sndBuf+rcvBuf) {
						return nil
					}
				case 5, 6:
					task.Sleep(time.Duration(arg) * 100 * time.Microsecond)
				case 7:
					if err := cli.CloseWrite(task); err != nil {
						return err
					}
					shut = true
				}
			}
			if closeAtEnd {
				return cli.Close(task) // what is unsent is still delivered
			}
			return cli.CloseWrite(task)
		})
		faults := asyncrt.SpawnFunc(task, func(task *asyncrt.Task) {
			for range cuts {
				task.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
				assert.NoError(t, p.net.Partition(task, p.server, p.cli))
				task.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
				assert.NoError(t, p.net.Heal(task, p.cli, p.server))
			}
		})
		reader := on(task, p.server, func(task *asyncrt.Task) error {
			read := func(size int) error {
				buf := make([]byte, size)
				k, err := srv.Read(task, buf)
				got = append(got, buf[:k]...)
				consumed += k
				if !assert.LessOrEqual(t, consumed, written+writing, "read what was never written") {
					return errors.New("ahead of the writer")
				}
				return err
			}
			for _, b := range rops {
				arg := int(b >> 3)
				switch b & 7 {
				case 0, 1, 2, 3, 4:
					if err := read((arg + 1) * 50); err != nil {
						return err
					}
				case 5, 6:
					task.Sleep(time.Duration(arg) * 200 * time.Microsecond)
				case 7:
					srv.SetReadDeadline(task.Now().Add(time.Duration(arg) * 100 * time.Microsecond))
					err := read(1000)
					srv.SetReadDeadline(time.Time{})
					if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
						return err
					}
				}
			}
			for {
				if err := read(777); err != nil {
					return err
				}
			}
		})
		assert.NoError(t, await(task, writer))
		err := await(task, reader)
		// EOF comes once, after every byte written.
		if !errors.Is(err, io.EOF) {
			assert.ErrorIs(t, err, io.EOF, "the reader ends at EOF")
		} else if errors.Is(err, io.EOF) && !shut {
			shut = true
		}
		assert.NoError(t, faults.Wait(task))
		if !closeAtEnd {
			assert.NoError(t, cli.Close(task))
		}
		assert.NoError(t, srv.Close(task))
		return nil
	})
	assert.Equal(t, written, len(got))
	if want := pattern(0, written); !bytes.Equal(want, got) {
		at := 0
		for at < min(len(want), len(got)) && want[at] == got[at] {
			at++
		}
		t.Fatalf("the bytes read differ from the bytes written from offset %d (read %d, written %d)", at, len(got), written)
	}
	st := p.net.Stats()
	assert.EqualValues(t, written, st.SegmentBytes, "no byte lost or duplicated")
	assert.Zero(t, st.Resets)
}

// modelSeeds are scripts for the fuzz corpus and the model test.
var modelSeeds = []struct {
	seed uint64
	ops  []byte
}{
	{1, []byte{}},
	{2, []byte{0, 0, 8, 16}},
	{3, []byte{4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 7, 0}},                // big writes, a sleepy reader
	{4, []byte{0xff, 0, 0xfc, 0x0f, 0xfc, 0x17, 0xfc, 0xff, 7, 7, 0, 0}}, // writes after CloseWrite
	{5, []byte{0xf5, 0xfd, 0x04, 0xfe, 0x0c, 0x0f, 0x14, 0x0f, 0x1c, 0x07}},
	{6, []byte{0xf7, 0x04, 0xf7, 0x04, 0xf7, 0x04, 0xf7, 0x04, 0xf7, 0x04}}, // reads against deadlines
}

func FuzzStream(f *testing.F) {
	for _, s := range modelSeeds {
		f.Add(s.seed, s.ops)
	}
	f.Fuzz(checkStream)
}

// TestStreamModel checks random scripts, a bounded number of them.
func TestStreamModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 12))
	iterations := 60
	if testing.Short() {
		iterations = 10
	}
	for range iterations {
		seed := rng.Uint64()
		ops := make([]byte, rng.IntN(120))
		for i := range ops {
			ops[i] = byte(rng.Uint32())
		}
		if !t.Run("", func(t *testing.T) { checkStream(t, seed, ops) }) {
			t.Logf("failed with seed %d and ops %#v", seed, ops)
			return
		}
	}
}
