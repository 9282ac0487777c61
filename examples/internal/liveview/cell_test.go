package liveview_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/examples/internal/liveview"
)

// cancelled is a context that is already done: Next returns at once when
// nothing newer is there.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestCellAgainstModel runs random operations on one goroutine against a
// model of the cell: the latest value, its number, and whether it is
// closed.
func TestCellAgainstModel(t *testing.T) {
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 1))
		c := liveview.NewCell[int]()
		var (
			seq    uint64
			latest int
			closed bool
		)
		for range 200 {
			switch op := r.IntN(10); {
			case op < 5:
				v := r.Int()
				s := c.Publish(v)
				if closed {
					require.Nil(t, s, "seed %d: a closed cell takes nothing", seed)
					break
				}
				seq, latest = seq+1, v
				require.Equal(t, seq, s.Seq, "seed %d: numbers run from 1 without gaps", seed)
				require.Equal(t, v, s.Value)
			case op < 8:
				after := r.Uint64N(seq + 2)
				s, err := c.Next(cancelled(), after)
				switch {
				case seq > after:
					require.NoError(t, err, "seed %d", seed)
					require.Equal(t, seq, s.Seq, "seed %d: Next gives the latest, not the one after", seed)
					require.Equal(t, latest, s.Value)
				case closed:
					require.ErrorIs(t, err, liveview.ErrClosed, "seed %d", seed)
				default:
					require.ErrorIs(t, err, context.Canceled, "seed %d: nothing newer: Next waits", seed)
				}
			case op < 9:
				if s := c.Load(); seq == 0 {
					require.Nil(t, s)
				} else {
					require.Equal(t, seq, s.Seq)
					require.Equal(t, latest, s.Value)
				}
				require.Equal(t, seq, c.Seq())
			default:
				if r.IntN(4) == 0 { // close rarely: the rest is more interesting
					c.Close()
					closed = true
				}
			}
		}
	}
}

// TestCellConcurrentPublishersAndReaders checks what readers see while
// publishers race each other: every reader sees numbers that only grow,
// each with the value published under it, and ends with the last one.
func TestCellConcurrentPublishersAndReaders(t *testing.T) {
	const publishers, perPublisher, readers = 4, 2000, 6
	type val struct{ pub, i int }
	c := liveview.NewCell[val]()
	published := make([][]uint64, publishers) // seqs of each publisher's values, in order
	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Go(func() {
			for i := range perPublisher {
				s := c.Publish(val{p, i})
				published[p] = append(published[p], s.Seq)
			}
		})
	}
	type seen struct {
		seq uint64
		v   val
	}
	saw := make([][]seen, readers)
	var reads sync.WaitGroup
	for r := range readers {
		reads.Go(func() {
			var after uint64
			for {
				s, err := c.Next(context.Background(), after)
				if errors.Is(err, liveview.ErrClosed) {
					return
				}
				if !assert.NoError(t, err) {
					return
				}
				saw[r] = append(saw[r], seen{s.Seq, s.Value})
				after = s.Seq
			}
		})
	}
	pubs.Wait()
	c.Close()
	reads.Wait()

	total := uint64(publishers * perPublisher)
	owner := make(map[uint64]val, total)
	for p, seqs := range published {
		require.Len(t, seqs, perPublisher)
		for i, s := range seqs {
			_, dup := owner[s]
			require.False(t, dup, "a number is given once: %d", s)
			if i > 0 {
				require.Greater(t, s, seqs[i-1], "a publisher's values are numbered in its order")
			}
			owner[s] = val{p, i}
		}
	}
	for s := uint64(1); s <= total; s++ {
		_, ok := owner[s]
		require.True(t, ok, "numbers have no gaps: %d is missing", s)
	}
	for r, list := range saw {
		require.NotEmpty(t, list, "reader %d", r)
		for i, x := range list {
			require.Equal(t, owner[x.seq], x.v, "reader %d: the value published under %d", r, x.seq)
			if i > 0 {
				require.Greater(t, x.seq, list[i-1].seq, "reader %d: numbers only grow", r)
			}
		}
		require.Equal(t, total, list[len(list)-1].seq, "reader %d: the last value is never missed", r)
	}
}

// counted counts its encodings.
type counted struct{ n *atomic.Int32 }

func (c counted) MarshalJSON() ([]byte, error) {
	c.n.Add(1)
	return []byte(`{"ok":true}`), nil
}

func TestSnapshotIsEncodedOnce(t *testing.T) {
	var n atomic.Int32
	c := liveview.NewCell[counted]()
	c.Publish(counted{&n})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			seq, b, err := c.NextJSON(context.Background(), 0)
			assert.NoError(t, err)
			assert.Equal(t, uint64(1), seq)
			assert.JSONEq(t, `{"ok":true}`, string(b))
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), n.Load(), "eight readers, one encoding")
}

func TestSnapshotEncodingErrorIsReturned(t *testing.T) {
	c := liveview.NewCell[float64]()
	c.Publish(math.NaN())
	_, _, err := c.NextJSON(context.Background(), 0)
	var unsupported *json.UnsupportedValueError
	assert.ErrorAs(t, err, &unsupported, "JSON has no NaN: the reader is told")
}

func TestNextEndsWithItsContext(t *testing.T) {
	c := liveview.NewCell[int]()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Next(ctx, 0)
		done <- err
	}()
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

func TestCloseWakesWaitingReaders(t *testing.T) {
	c := liveview.NewCell[int]()
	c.Publish(7)
	done := make(chan error, 1)
	go func() {
		_, err := c.Next(context.Background(), 1) // nothing newer: waits
		done <- err
	}()
	c.Close()
	assert.ErrorIs(t, <-done, liveview.ErrClosed)
	assert.Nil(t, c.Publish(8), "nothing is published after Close")
	assert.Equal(t, 7, c.Load().Value, "the last snapshot stays readable")
	c.Close() // again: nothing happens
}
