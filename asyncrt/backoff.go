package asyncrt

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// ErrBackoffExhausted is wrapped by the error Backoff.Wait returns when the
// retries are used up or the deadline has passed.
var ErrBackoffExhausted = errors.New("asyncrt: backoff exhausted")

// BackoffConfig describes a retry schedule: the delays grow from Initial by
// Multiplier up to Max, each spread by ±Jitter (a fraction), until
// MaxRetries waits have been made or Deadline (or MaxElapsed after the first
// wait) has passed. Zero values mean: Initial 100 ms, Max 30 s, Multiplier
// 2, no jitter, no limit.
type BackoffConfig struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
	MaxRetries int
	Deadline   time.Time
	MaxElapsed time.Duration
	// Seed, when not zero, makes the jitter reproducible.
	Seed uint64
}

// Backoff sleeps between the attempts of a retry loop:
//
//	for {
//		err := connect(t)
//		if err == nil {
//			break
//		}
//		if err := b.Wait(t, err); err != nil {
//			return err // wraps ErrBackoffExhausted and the last error
//		}
//	}
//
// A Backoff is used by one task at a time.
type Backoff struct {
	cfg      BackoffConfig
	rng      *rand.Rand
	attempts int
	delay    time.Duration
	started  time.Time
}

// NewBackoff checks cfg and returns a Backoff.
func NewBackoff(cfg BackoffConfig) (*Backoff, error) {
	if cfg.Initial == 0 {
		cfg.Initial = 100 * time.Millisecond
	}
	if cfg.Max == 0 {
		cfg.Max = 30 * time.Second
	}
	if cfg.Multiplier == 0 {
		cfg.Multiplier = 2
	}
	switch {
	case cfg.Initial < 0 || cfg.Max < 0:
		return nil, fmt.Errorf("asyncrt: backoff delays must be positive, got initial %v, max %v", cfg.Initial, cfg.Max)
	case cfg.Initial > cfg.Max:
		return nil, fmt.Errorf("asyncrt: backoff initial delay %v exceeds the maximum %v", cfg.Initial, cfg.Max)
	case cfg.Multiplier < 1 || math.IsNaN(cfg.Multiplier) || math.IsInf(cfg.Multiplier, 0):
		return nil, fmt.Errorf("asyncrt: backoff multiplier must be at least 1, got %v", cfg.Multiplier)
	case cfg.Jitter < 0 || cfg.Jitter > 1 || math.IsNaN(cfg.Jitter):
		return nil, fmt.Errorf("asyncrt: backoff jitter must be within [0, 1], got %v", cfg.Jitter)
	case cfg.MaxRetries < 0 || cfg.MaxElapsed < 0:
		return nil, errors.New("asyncrt: backoff limits must not be negative")
	}
	b := &Backoff{cfg: cfg}
	if cfg.Seed != 0 {
		b.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	}
	b.Reset()
	return b, nil
}

// Reset starts the schedule over, after a success.
func (b *Backoff) Reset() {
	b.attempts, b.delay, b.started = 0, b.cfg.Initial, time.Time{}
}

// Attempts returns the number of waits since the last Reset.
func (b *Backoff) Attempts() int { return b.attempts }

// Next returns the delay the next Wait would sleep, before jitter.
func (b *Backoff) Next() time.Duration { return b.delay }

// Wait sleeps the next delay after a failed attempt whose error was err. When
// the schedule is used up, or the delay would end past the deadline, it
// returns at once with an error wrapping both ErrBackoffExhausted and err.
// An aborted or timed-out task unwinds from the sleep.
func (b *Backoff) Wait(t *Task, err error) error {
	t.check("Backoff.Wait")
	now := t.Now()
	if b.started.IsZero() {
		b.started = now
	}
	d := b.jittered(b.delay)
	deadline := b.cfg.Deadline
	if b.cfg.MaxElapsed > 0 {
		if dl := b.started.Add(b.cfg.MaxElapsed); deadline.IsZero() || dl.Before(deadline) {
			deadline = dl
		}
	}
	if b.cfg.MaxRetries > 0 && b.attempts >= b.cfg.MaxRetries ||
		!deadline.IsZero() && now.Add(d).After(deadline) {
		return fmt.Errorf("%w after %d retries: %w", ErrBackoffExhausted, b.attempts, err)
	}
	b.attempts++
	b.delay = min(time.Duration(float64(b.delay)*b.cfg.Multiplier), b.cfg.Max)
	t.Sleep(d)
	return nil
}

func (b *Backoff) jittered(d time.Duration) time.Duration {
	if b.cfg.Jitter == 0 {
		return d
	}
	f := rand.Float64()
	if b.rng != nil {
		f = b.rng.Float64()
	}
	return time.Duration(float64(d) * (1 + b.cfg.Jitter*(2*f-1)))
}
