package liveview

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by Cell.Next once the cell is closed and the
// caller has seen its last snapshot.
var ErrClosed = errors.New("liveview: cell closed")

// Snapshot is one published value. Its fields and Value must not be
// changed once it is published: readers on any goroutine share it.
type Snapshot[T any] struct {
	// Seq numbers the snapshots of a cell from 1, without gaps.
	Seq uint64
	// Value is what was published.
	Value T

	once sync.Once
	json []byte
	err  error
}

// JSON returns the value encoded as JSON. It is encoded once, by the
// first caller, whatever the number of readers, and never on the
// publisher's goroutine unless it asks.
func (s *Snapshot[T]) JSON() ([]byte, error) {
	s.once.Do(func() { s.json, s.err = json.Marshal(s.Value) })
	return s.json, s.err
}

// state is what the cell points to: the latest snapshot, and a channel
// closed when a newer state replaces this one. A state never changes
// once stored.
type state[T any] struct {
	snap    *Snapshot[T]
	closed  bool
	changed chan struct{}
}

func (s *state[T]) seq() uint64 {
	if s.snap == nil {
		return 0
	}
	return s.snap.Seq
}

// Cell holds the latest snapshot of a value, published from one goroutine
// (a runtime's thread) and read from any number of others. Publishing
// never blocks and never waits for a reader; readers that fall behind
// skip to the latest snapshot. The zero Cell is not usable: make one with
// NewCell. Its methods are safe for concurrent use.
type Cell[T any] struct {
	cur atomic.Pointer[state[T]]
}

// NewCell returns an empty cell.
func NewCell[T any]() *Cell[T] {
	c := &Cell[T]{}
	c.cur.Store(&state[T]{changed: make(chan struct{})})
	return c
}

// Publish makes v the latest snapshot and wakes the readers waiting for
// one, and returns it; v must not be changed afterwards. It never blocks:
// waking the readers is closing a channel. After Close it does nothing
// and returns nil.
func (c *Cell[T]) Publish(v T) *Snapshot[T] {
	next := &state[T]{changed: make(chan struct{})}
	for {
		old := c.cur.Load()
		if old.closed {
			return nil
		}
		next.snap = &Snapshot[T]{Seq: old.seq() + 1, Value: v}
		// One publisher never loops; concurrent ones take turns, each
		// with the next number.
		if c.cur.CompareAndSwap(old, next) {
			close(old.changed)
			return next.snap
		}
	}
}

// Close ends the cell: Publish does nothing from now on, and readers get
// ErrClosed once they have the last snapshot. Closing again does nothing.
func (c *Cell[T]) Close() {
	for {
		old := c.cur.Load()
		if old.closed {
			return
		}
		final := &state[T]{snap: old.snap, closed: true, changed: old.changed}
		if c.cur.CompareAndSwap(old, final) {
			close(old.changed) // no state after this one: nothing else closes it
			return
		}
	}
}

// Load returns the latest snapshot, or nil if none was published.
func (c *Cell[T]) Load() *Snapshot[T] { return c.cur.Load().snap }

// Seq returns the number of snapshots published.
func (c *Cell[T]) Seq() uint64 { return c.cur.Load().seq() }

// Next returns the latest snapshot if it is newer than the one numbered
// after (0: any), or waits for one. It returns ErrClosed once the cell is
// closed and nothing newer is left, or ctx's error.
func (c *Cell[T]) Next(ctx context.Context, after uint64) (*Snapshot[T], error) {
	for {
		s := c.cur.Load()
		if s.seq() > after {
			return s.snap, nil
		}
		if s.closed {
			return nil, ErrClosed
		}
		// A state is stored before the channel of the one it replaces is
		// closed, so no publication falls between the load and the wait.
		select {
		case <-s.changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// NextJSON is Next, encoded: it implements Feed.
func (c *Cell[T]) NextJSON(ctx context.Context, after uint64) (uint64, []byte, error) {
	s, err := c.Next(ctx, after)
	if err != nil {
		return 0, nil, err
	}
	b, err := s.JSON()
	return s.Seq, b, err
}

// Feed is a source of JSON snapshots for the server: a Cell.
type Feed interface {
	// NextJSON returns the number and JSON of the latest snapshot if it
	// is newer than after, or waits for one, as Cell.Next does.
	NextJSON(ctx context.Context, after uint64) (seq uint64, data []byte, err error)
	// Seq returns the number of snapshots published.
	Seq() uint64
}
