package asyncrt_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

func TestCancellationTree(t *testing.T) {
	const n = 10_000
	root := asyncrt.NewCancellationToken()
	tokens := []*asyncrt.CancellationToken{root}
	rng := rand.New(rand.NewPCG(4, 2))
	// A random tree, with one long chain in it for depth.
	for i := 1; i < n; i++ {
		parent := tokens[rng.IntN(len(tokens))]
		if i < n/4 {
			parent = tokens[i-1]
		}
		tokens = append(tokens, parent.Child())
	}
	// Cancel a subtree first: its parent stays alive.
	sub := tokens[n/2]
	sub.Cancel()
	assert.True(t, sub.IsCancelled())
	assert.False(t, root.IsCancelled())
	ctx := root.Context()
	assert.NoError(t, ctx.Err())

	root.Cancel()
	root.Cancel() // idempotent
	for i, tok := range tokens {
		require.True(t, tok.IsCancelled(), "token %d", i)
	}
	assert.ErrorIs(t, ctx.Err(), context.Canceled)
	assert.True(t, root.Child().IsCancelled(), "a child of a cancelled token is born cancelled")
	assert.ErrorIs(t, tokens[42].Context().Err(), context.Canceled)
}

func TestCancelledChildLeavesItsParent(t *testing.T) {
	root := asyncrt.NewCancellationToken()
	for range 1000 {
		root.Child().Cancel()
	}
	assert.Zero(t, asyncrt.TokenChildren(root), "cancelled children are forgotten")
}

func TestCancelledWakesTasksAcrossRuntimes(t *testing.T) {
	rtA := newRuntime(t, nil)
	rtB := newRuntime(t, nil)
	tok := asyncrt.NewCancellationToken()
	child := tok.Child()
	results := make(chan string, 2)
	// Each runtime tells when its eleven tasks all wait on the token.
	waiting := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	for i, rt := range []*asyncrt.Runtime{rtA, rtB} {
		go func() {
			v, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) string {
				var hs []asyncrt.JoinHandle[int]
				waiters := 0
				for range 10 {
					hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int { waiters++; child.Cancelled(t); return 1 }))
				}
				whenWaiting(t, &waiters, 11, waiting[i])
				waiters++
				child.Cancelled(t)
				n := 0
				for _, h := range hs {
					v, _ := h.Await(t)
					n += v
				}
				if n != 10 || asyncrt.ExternalWaits(t.Runtime()) != 0 {
					return "wrong"
				}
				return "woken"
			})
			if err != nil {
				v = err.Error()
			}
			results <- v
		}()
	}
	<-waiting[0]
	<-waiting[1]
	assert.Equal(t, 22, asyncrt.TokenWaiters(child), "every task waits on the token")
	tok.Cancel() // from a plain goroutine
	assert.Equal(t, "woken", <-results)
	assert.Equal(t, "woken", <-results)
	assert.Zero(t, asyncrt.TokenWaiters(child))
}

func TestCancelledReturnsAtOnceAndUnwindsCleanly(t *testing.T) {
	rt := newRuntime(t, nil)
	err := block(t, rt, func(t *asyncrt.Task) error {
		tok := asyncrt.NewCancellationToken()
		_, err := asyncrt.Timeout(t, time.Millisecond, func(t *asyncrt.Task) int { tok.Cancelled(t); return 0 })
		if !errors.Is(err, asyncrt.ErrElapsed) {
			return err
		}
		if asyncrt.TokenWaiters(tok) != 0 || asyncrt.ExternalWaits(t.Runtime()) != 0 {
			return errors.New("registration left")
		}
		tok.Cancel()
		tok.Cancelled(t) // already cancelled
		// A Go library sees the same cancellation.
		_, err = asyncrt.GoContext(t, func(ctx context.Context) (int, error) {
			<-tok.Context().Done()
			return 0, nil
		})
		return err
	})
	assert.NoError(t, err)
}

func TestJoinSet(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	type result struct {
		order   []int
		errs    int
		aborted int
		left    int
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		set := asyncrt.NewJoinSet[int]()
		for _, d := range []int{30, 10, 20, 40} {
			set.Spawn(t, func(t *asyncrt.Task) int {
				t.Sleep(time.Duration(d) * time.Millisecond)
				if d == 40 {
					panic("slowest fails")
				}
				return d
			})
		}
		for {
			res, ok := set.Next(t)
			if !ok {
				break
			}
			if res.Err != nil {
				r.errs++
				continue
			}
			r.order = append(r.order, res.Value)
		}
		// Abort the rest.
		for range 5 {
			set.Spawn(t, func(t *asyncrt.Task) int { t.Sleep(time.Hour); return 0 })
		}
		t.Yield()
		r.aborted = set.AbortAll()
		set.Shutdown(t)
		r.left = set.Len()
		return r
	})
	assert.Equal(t, []int{10, 20, 30}, r.order, "in the order they finish")
	assert.Equal(t, 1, r.errs)
	assert.Equal(t, 5, r.aborted)
	assert.Zero(t, r.left)
	assert.Zero(t, rt.Stats().LiveTasks)
}

func TestBackoff(t *testing.T) {
	_, err := asyncrt.NewBackoff(asyncrt.BackoffConfig{Multiplier: 0.5})
	assert.ErrorContains(t, err, "multiplier")
	_, err = asyncrt.NewBackoff(asyncrt.BackoffConfig{Jitter: 2})
	assert.ErrorContains(t, err, "jitter")
	_, err = asyncrt.NewBackoff(asyncrt.BackoffConfig{Initial: time.Minute, Max: time.Second})
	assert.ErrorContains(t, err, "exceeds the maximum")

	rt, _ := simRuntime(t, nil)
	type result struct {
		waits    []time.Duration
		final    error
		attempts int
		afterRst time.Duration
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		b, err := asyncrt.NewBackoff(asyncrt.BackoffConfig{
			Initial: 100 * time.Millisecond, Max: time.Second, MaxRetries: 6,
		})
		if err != nil {
			panic(err)
		}
		cause := errors.New("connection refused")
		for {
			start := t.Now()
			if err := b.Wait(t, cause); err != nil {
				r.final = err
				break
			}
			r.waits = append(r.waits, t.Now().Sub(start))
		}
		r.attempts = b.Attempts()
		b.Reset()
		r.afterRst = b.Next()
		return r
	})
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}, r.waits)
	assert.ErrorIs(t, r.final, asyncrt.ErrBackoffExhausted)
	assert.ErrorContains(t, r.final, "connection refused", "wraps the last error")
	assert.Equal(t, 6, r.attempts)
	assert.Equal(t, 100*ms, r.afterRst)
}

func TestBackoffJitterAndDeadline(t *testing.T) {
	rt, _ := simRuntime(t, nil)
	run := func(seed uint64) []time.Duration {
		return block(t, rt, func(t *asyncrt.Task) []time.Duration {
			b, _ := asyncrt.NewBackoff(asyncrt.BackoffConfig{
				Initial: time.Second, Max: time.Second, Jitter: 0.5, Seed: seed, MaxElapsed: 10 * time.Second,
			})
			var waits []time.Duration
			for {
				start := t.Now()
				if b.Wait(t, errors.New("x")) != nil {
					return waits
				}
				waits = append(waits, t.Now().Sub(start))
			}
		})
	}
	a, b := run(7), run(7)
	assert.Equal(t, a, b, "a seed makes the schedule reproducible")
	assert.GreaterOrEqual(t, len(a), 6, "about ten 1 s (±50%) waits fit in 10 s")
	assert.LessOrEqual(t, len(a), 20)

	delays := block(t, rt, func(t *asyncrt.Task) []time.Duration {
		b, _ := asyncrt.NewBackoff(asyncrt.BackoffConfig{Initial: time.Second, Max: time.Second, Jitter: 0.2, Seed: 3, MaxRetries: 50})
		var out []time.Duration
		for range 50 {
			start := t.Now()
			_ = b.Wait(t, errors.New("x"))
			out = append(out, t.Now().Sub(start))
		}
		return out
	})
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	assert.GreaterOrEqual(t, delays[0], 800*time.Millisecond)
	assert.LessOrEqual(t, delays[len(delays)-1], 1200*time.Millisecond)
	assert.NotEqual(t, delays[0], delays[len(delays)-1], "jitter spreads the delays")
}
