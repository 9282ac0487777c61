package engine

import (
	"fmt"
	"time"
)

// RiskLimits are the pre-trade checks every order passes before it leaves
// the engine.
type RiskLimits struct {
	// MaxPosition bounds the position an instrument could reach if every
	// open order on the side filled, in shares.
	MaxPosition int64
	// MaxOrderRate bounds new orders and replaces per second (a token
	// bucket holding one second's worth).
	MaxOrderRate int
	// PriceBand bounds how far an order's price may be from the book's
	// mid, as a fraction of it (0.05: 5%).
	PriceBand float64
}

// DefaultRiskLimits are the limits the example runs with.
var DefaultRiskLimits = RiskLimits{MaxPosition: 2000, MaxOrderRate: 5000, PriceBand: 0.05}

func (l RiskLimits) validate() error {
	switch {
	case l.MaxPosition <= 0:
		return fmt.Errorf("engine: MaxPosition = %d must be positive", l.MaxPosition)
	case l.MaxOrderRate <= 0:
		return fmt.Errorf("engine: MaxOrderRate = %d must be positive", l.MaxOrderRate)
	case !(l.PriceBand > 0 && l.PriceBand < 1):
		return fmt.Errorf("engine: PriceBand = %v, want (0, 1)", l.PriceBand)
	}
	return nil
}

// RejectReason says why the engine refused to send an order.
type RejectReason uint8

// The reasons an order is refused before it is sent.
const (
	RejectMaxPosition RejectReason = iota
	RejectOrderRate
	RejectPriceBand
	RejectNoPrice
	RejectNotConnected
	numRejectReasons
)

var rejectNames = [numRejectReasons]string{
	RejectMaxPosition:  "max position",
	RejectOrderRate:    "order rate",
	RejectPriceBand:    "price band",
	RejectNoPrice:      "no reference price",
	RejectNotConnected: "no order session",
}

func (r RejectReason) String() string {
	if r < numRejectReasons {
		return rejectNames[r]
	}
	return fmt.Sprintf("RejectReason(%d)", r)
}

// RiskError is the error of an order refused by a pre-trade check.
type RiskError struct{ Reason RejectReason }

func (e *RiskError) Error() string { return "engine: order refused: " + e.Reason.String() }

// riskErrors are preallocated, so a refusal does not allocate.
var riskErrors = func() (errs [numRejectReasons]*RiskError) {
	for i := range errs {
		errs[i] = &RiskError{Reason: RejectReason(i)}
	}
	return errs
}()

// risk applies RiskLimits and counts refusals.
type risk struct {
	limits  RiskLimits
	tokens  float64
	last    time.Time
	Rejects [numRejectReasons]uint64
}

func newRisk(l RiskLimits) risk {
	return risk{limits: l, tokens: float64(l.MaxOrderRate)}
}

func (r *risk) refuse(reason RejectReason) error {
	r.Rejects[reason]++
	return riskErrors[reason]
}

// check vets an order of qty at price on side of in, given the open
// quantity already working on that side.
func (r *risk) check(in *instrument, side byte, price, qty, open int64, now time.Time) error {
	pos := in.pos.Qty
	if side == 'B' && pos+open+qty > r.limits.MaxPosition ||
		side != 'B' && -(pos-open-qty) > r.limits.MaxPosition {
		return r.refuse(RejectMaxPosition)
	}
	mid, ok := in.book.Mid()
	if !ok {
		return r.refuse(RejectNoPrice)
	}
	if d := float64(price - mid); d > r.limits.PriceBand*float64(mid) || -d > r.limits.PriceBand*float64(mid) {
		return r.refuse(RejectPriceBand)
	}
	// The bucket refills continuously, up to one second's worth of orders.
	// Callers' clocks differ slightly (a system's tick time is when the tick
	// was due, a task's the current cycle's): time never runs back here.
	if r.last.IsZero() || now.After(r.last) {
		if !r.last.IsZero() {
			r.tokens += now.Sub(r.last).Seconds() * float64(r.limits.MaxOrderRate)
			r.tokens = min(r.tokens, float64(r.limits.MaxOrderRate))
		}
		r.last = now
	}
	if r.tokens < 1 {
		return r.refuse(RejectOrderRate)
	}
	r.tokens--
	return nil
}
