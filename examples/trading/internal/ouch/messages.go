package ouch

import (
	"encoding/binary"
	"fmt"
)

// EnterOrder is an Enter Order message ('O') asking the exchange to enter
// a new order.
type EnterOrder struct {
	// Token is the client's identifier for the order, unique for the day.
	Token Token
	// Side is one of the SideXxx values.
	Side   byte
	Shares uint32
	Stock  Stock
	// Price has four implied decimal places.
	Price uint32
	// TimeInForce is a lifetime in seconds or one of the TIFXxx values.
	TimeInForce      uint32
	Firm             Firm
	Display          byte
	Capacity         byte
	IntermarketSweep byte
	MinimumQuantity  uint32
	CrossType        byte
	CustomerType     byte
}

// ReplaceOrder is a Replace Order message ('U') asking the exchange to
// replace a live order with a new one.
type ReplaceOrder struct {
	// Existing is the token of the order to replace.
	Existing Token
	// Replacement is the token of the new order; it may equal Existing.
	Replacement Token
	Shares      uint32
	// Price has four implied decimal places.
	Price            uint32
	TimeInForce      uint32
	Display          byte
	IntermarketSweep byte
	MinimumQuantity  uint32
}

// CancelOrder is a Cancel Order message ('X') asking the exchange to reduce
// or cancel a live order.
type CancelOrder struct {
	Token Token
	// Shares is the intended remaining size of the order; 0 cancels it.
	Shares uint32
}

// SystemEvent is a System Event message ('S') signalling the start or end
// of the trading day.
type SystemEvent struct {
	// Timestamp is in nanoseconds since midnight.
	Timestamp uint64
	// Event is EventStartOfDay or EventEndOfDay.
	Event byte
}

// Accepted is an Accepted message ('A') acknowledging an Enter Order
// message.
type Accepted struct {
	// Timestamp is in nanoseconds since midnight.
	Timestamp uint64
	Token     Token
	// Side is one of the SideXxx values.
	Side   byte
	Shares uint32
	Stock  Stock
	// Price has four implied decimal places.
	Price       uint32
	TimeInForce uint32
	Firm        Firm
	Display     byte
	// OrderRef is the exchange's Order Reference Number for the order.
	OrderRef         uint64
	Capacity         byte
	IntermarketSweep byte
	MinimumQuantity  uint32
	CrossType        byte
	// OrderState is OrderStateLive or OrderStateDead.
	OrderState byte
	// BBOWeight is the BBO Weight Indicator, one of the BBOWeightXxx
	// values.
	BBOWeight byte
}

// Replaced is a Replaced message ('U') acknowledging a Replace Order
// message. It describes the replacement order in full: the fields a Replace
// Order message does not carry (Side, Stock, Firm, Capacity, Cross Type)
// are the replaced order's.
type Replaced struct {
	// Timestamp is in nanoseconds since midnight.
	Timestamp uint64
	// Token is the replacement order's token.
	Token Token
	// Side is one of the SideXxx values.
	Side   byte
	Shares uint32
	Stock  Stock
	// Price has four implied decimal places.
	Price       uint32
	TimeInForce uint32
	Firm        Firm
	Display     byte
	// OrderRef is the exchange's Order Reference Number for the new order.
	OrderRef         uint64
	Capacity         byte
	IntermarketSweep byte
	MinimumQuantity  uint32
	CrossType        byte
	// OrderState is OrderStateLive or OrderStateDead.
	OrderState byte
	// Previous is the token of the replaced order.
	Previous Token
	// BBOWeight is the BBO Weight Indicator, one of the BBOWeightXxx
	// values.
	BBOWeight byte
}

// Canceled is a Canceled message ('C') reporting that an order was reduced
// or canceled.
type Canceled struct {
	// Timestamp is in nanoseconds since midnight.
	Timestamp uint64
	Token     Token
	// Decrement is the number of shares removed from the order.
	Decrement uint32
	// Reason is one of the CancelXxx values.
	Reason byte
}

// Executed is an Executed message ('E') reporting an execution of an
// order.
type Executed struct {
	// Timestamp is in nanoseconds since midnight.
	Timestamp uint64
	Token     Token
	// Shares is the number of shares executed.
	Shares uint32
	// Price is the execution price, with four implied decimal places.
	Price uint32
	// Liquidity is LiquidityAdded or LiquidityRemoved.
	Liquidity byte
	// Match is the Match Number identifying the execution.
	Match uint64
}

// Rejected is a Rejected message ('J') reporting that an Enter Order or
// Replace Order message was refused.
type Rejected struct {
	// Timestamp is in nanoseconds since midnight.
	Timestamp uint64
	Token     Token
	// Reason is one of the RejectXxx values.
	Reason byte
}

// Validate reports an error wrapping [ErrInvalid] if Decode would refuse
// the encoding of m: the token is blank or not printable ASCII, or the side
// is unknown.
func (m EnterOrder) Validate() error {
	if err := checkToken("EnterOrder", "order token", &m.Token); err != nil {
		return err
	}
	return checkSide("EnterOrder", m.Side)
}

// Validate reports an error wrapping [ErrInvalid] if Decode would refuse
// the encoding of m: a token is blank or not printable ASCII.
func (m ReplaceOrder) Validate() error {
	if err := checkToken("ReplaceOrder", "existing order token", &m.Existing); err != nil {
		return err
	}
	return checkToken("ReplaceOrder", "replacement order token", &m.Replacement)
}

// Validate reports an error wrapping [ErrInvalid] if Decode would refuse
// the encoding of m: the token is blank or not printable ASCII.
func (m CancelOrder) Validate() error {
	return checkToken("CancelOrder", "order token", &m.Token)
}

// Validate reports an error wrapping [ErrInvalid] if Decode would refuse
// the encoding of m: the event code is unknown.
func (m SystemEvent) Validate() error {
	if m.Event != EventStartOfDay && m.Event != EventEndOfDay {
		return fmt.Errorf("ouch: SystemEvent: event code %q: %w", m.Event, ErrInvalid)
	}
	return nil
}

// Validate reports an error wrapping [ErrInvalid] if Decode would refuse
// the encoding of m: the token is blank or not printable ASCII, or the side
// or order state is unknown.
func (m Accepted) Validate() error {
	if err := checkToken("Accepted", "order token", &m.Token); err != nil {
		return err
	}
	if err := checkSide("Accepted", m.Side); err != nil {
		return err
	}
	return checkOrderState("Accepted", m.OrderState)
}

// Validate reports an error wrapping [ErrInvalid] if Decode would refuse
// the encoding of m: a token is blank or not printable ASCII, or the side
// or order state is unknown.
func (m Replaced) Validate() error {
	if err := checkToken("Replaced", "replacement order token", &m.Token); err != nil {
		return err
	}
	if err := checkToken("Replaced", "previous order token", &m.Previous); err != nil {
		return err
	}
	if err := checkSide("Replaced", m.Side); err != nil {
		return err
	}
	return checkOrderState("Replaced", m.OrderState)
}

// Validate reports an error wrapping [ErrInvalid] if Decode would refuse
// the encoding of m: the token is blank or not printable ASCII.
func (m Canceled) Validate() error {
	return checkToken("Canceled", "order token", &m.Token)
}

// Validate reports an error wrapping [ErrInvalid] if Decode would refuse
// the encoding of m: the token is blank or not printable ASCII, or the
// liquidity flag is unknown.
func (m Executed) Validate() error {
	if err := checkToken("Executed", "order token", &m.Token); err != nil {
		return err
	}
	if m.Liquidity != LiquidityAdded && m.Liquidity != LiquidityRemoved {
		return fmt.Errorf("ouch: Executed: liquidity flag %q: %w", m.Liquidity, ErrInvalid)
	}
	return nil
}

// Validate reports an error wrapping [ErrInvalid] if Decode would refuse
// the encoding of m: the token is blank or not printable ASCII.
func (m Rejected) Validate() error {
	return checkToken("Rejected", "order token", &m.Token)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice.
func (m EnterOrder) AppendTo(dst []byte) []byte {
	dst = append(dst, TypeEnterOrder)
	dst = append(dst, m.Token[:]...)
	dst = append(dst, m.Side)
	dst = binary.BigEndian.AppendUint32(dst, m.Shares)
	dst = append(dst, m.Stock[:]...)
	dst = binary.BigEndian.AppendUint32(dst, m.Price)
	dst = binary.BigEndian.AppendUint32(dst, m.TimeInForce)
	dst = append(dst, m.Firm[:]...)
	dst = append(dst, m.Display, m.Capacity, m.IntermarketSweep)
	dst = binary.BigEndian.AppendUint32(dst, m.MinimumQuantity)
	return append(dst, m.CrossType, m.CustomerType)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice.
func (m ReplaceOrder) AppendTo(dst []byte) []byte {
	dst = append(dst, TypeReplaceOrder)
	dst = append(dst, m.Existing[:]...)
	dst = append(dst, m.Replacement[:]...)
	dst = binary.BigEndian.AppendUint32(dst, m.Shares)
	dst = binary.BigEndian.AppendUint32(dst, m.Price)
	dst = binary.BigEndian.AppendUint32(dst, m.TimeInForce)
	dst = append(dst, m.Display, m.IntermarketSweep)
	return binary.BigEndian.AppendUint32(dst, m.MinimumQuantity)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice.
func (m CancelOrder) AppendTo(dst []byte) []byte {
	dst = append(dst, TypeCancelOrder)
	dst = append(dst, m.Token[:]...)
	return binary.BigEndian.AppendUint32(dst, m.Shares)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice.
func (m SystemEvent) AppendTo(dst []byte) []byte {
	dst = append(dst, TypeSystemEvent)
	dst = binary.BigEndian.AppendUint64(dst, m.Timestamp)
	return append(dst, m.Event)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice.
func (m Accepted) AppendTo(dst []byte) []byte {
	dst = append(dst, TypeAccepted)
	dst = binary.BigEndian.AppendUint64(dst, m.Timestamp)
	dst = append(dst, m.Token[:]...)
	dst = append(dst, m.Side)
	dst = binary.BigEndian.AppendUint32(dst, m.Shares)
	dst = append(dst, m.Stock[:]...)
	dst = binary.BigEndian.AppendUint32(dst, m.Price)
	dst = binary.BigEndian.AppendUint32(dst, m.TimeInForce)
	dst = append(dst, m.Firm[:]...)
	dst = append(dst, m.Display)
	dst = binary.BigEndian.AppendUint64(dst, m.OrderRef)
	dst = append(dst, m.Capacity, m.IntermarketSweep)
	dst = binary.BigEndian.AppendUint32(dst, m.MinimumQuantity)
	return append(dst, m.CrossType, m.OrderState, m.BBOWeight)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice.
func (m Replaced) AppendTo(dst []byte) []byte {
	dst = append(dst, TypeReplaced)
	dst = binary.BigEndian.AppendUint64(dst, m.Timestamp)
	dst = append(dst, m.Token[:]...)
	dst = append(dst, m.Side)
	dst = binary.BigEndian.AppendUint32(dst, m.Shares)
	dst = append(dst, m.Stock[:]...)
	dst = binary.BigEndian.AppendUint32(dst, m.Price)
	dst = binary.BigEndian.AppendUint32(dst, m.TimeInForce)
	dst = append(dst, m.Firm[:]...)
	dst = append(dst, m.Display)
	dst = binary.BigEndian.AppendUint64(dst, m.OrderRef)
	dst = append(dst, m.Capacity, m.IntermarketSweep)
	dst = binary.BigEndian.AppendUint32(dst, m.MinimumQuantity)
	dst = append(dst, m.CrossType, m.OrderState)
	dst = append(dst, m.Previous[:]...)
	return append(dst, m.BBOWeight)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice.
func (m Canceled) AppendTo(dst []byte) []byte {
	dst = append(dst, TypeCanceled)
	dst = binary.BigEndian.AppendUint64(dst, m.Timestamp)
	dst = append(dst, m.Token[:]...)
	dst = binary.BigEndian.AppendUint32(dst, m.Decrement)
	return append(dst, m.Reason)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice.
func (m Executed) AppendTo(dst []byte) []byte {
	dst = append(dst, TypeExecuted)
	dst = binary.BigEndian.AppendUint64(dst, m.Timestamp)
	dst = append(dst, m.Token[:]...)
	dst = binary.BigEndian.AppendUint32(dst, m.Shares)
	dst = binary.BigEndian.AppendUint32(dst, m.Price)
	dst = append(dst, m.Liquidity)
	return binary.BigEndian.AppendUint64(dst, m.Match)
}

// AppendTo appends the encoded message to dst and returns the extended
// slice.
func (m Rejected) AppendTo(dst []byte) []byte {
	dst = append(dst, TypeRejected)
	dst = binary.BigEndian.AppendUint64(dst, m.Timestamp)
	dst = append(dst, m.Token[:]...)
	return append(dst, m.Reason)
}

// Decode decodes msg, which must be exactly one Enter Order message, into
// m. On error m is unchanged.
func (m *EnterOrder) Decode(msg []byte) error {
	if err := check("EnterOrder", msg, TypeEnterOrder, EnterOrderLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v EnterOrder
	r.copy(v.Token[:])
	v.Side = r.u8()
	v.Shares = r.u32()
	r.copy(v.Stock[:])
	v.Price = r.u32()
	v.TimeInForce = r.u32()
	r.copy(v.Firm[:])
	v.Display = r.u8()
	v.Capacity = r.u8()
	v.IntermarketSweep = r.u8()
	v.MinimumQuantity = r.u32()
	v.CrossType = r.u8()
	v.CustomerType = r.u8()
	if err := v.Validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Replace Order message, into
// m. On error m is unchanged.
func (m *ReplaceOrder) Decode(msg []byte) error {
	if err := check("ReplaceOrder", msg, TypeReplaceOrder, ReplaceOrderLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v ReplaceOrder
	r.copy(v.Existing[:])
	r.copy(v.Replacement[:])
	v.Shares = r.u32()
	v.Price = r.u32()
	v.TimeInForce = r.u32()
	v.Display = r.u8()
	v.IntermarketSweep = r.u8()
	v.MinimumQuantity = r.u32()
	if err := v.Validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Cancel Order message, into
// m. On error m is unchanged.
func (m *CancelOrder) Decode(msg []byte) error {
	if err := check("CancelOrder", msg, TypeCancelOrder, CancelOrderLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v CancelOrder
	r.copy(v.Token[:])
	v.Shares = r.u32()
	if err := v.Validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one System Event message, into
// m. On error m is unchanged.
func (m *SystemEvent) Decode(msg []byte) error {
	if err := check("SystemEvent", msg, TypeSystemEvent, SystemEventLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	v := SystemEvent{Timestamp: r.u64(), Event: r.u8()}
	if err := v.Validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Accepted message, into m.
// On error m is unchanged.
func (m *Accepted) Decode(msg []byte) error {
	if err := check("Accepted", msg, TypeAccepted, AcceptedLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v Accepted
	v.Timestamp = r.u64()
	r.copy(v.Token[:])
	v.Side = r.u8()
	v.Shares = r.u32()
	r.copy(v.Stock[:])
	v.Price = r.u32()
	v.TimeInForce = r.u32()
	r.copy(v.Firm[:])
	v.Display = r.u8()
	v.OrderRef = r.u64()
	v.Capacity = r.u8()
	v.IntermarketSweep = r.u8()
	v.MinimumQuantity = r.u32()
	v.CrossType = r.u8()
	v.OrderState = r.u8()
	v.BBOWeight = r.u8()
	if err := v.Validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Replaced message, into m.
// On error m is unchanged.
func (m *Replaced) Decode(msg []byte) error {
	if err := check("Replaced", msg, TypeReplaced, ReplacedLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v Replaced
	v.Timestamp = r.u64()
	r.copy(v.Token[:])
	v.Side = r.u8()
	v.Shares = r.u32()
	r.copy(v.Stock[:])
	v.Price = r.u32()
	v.TimeInForce = r.u32()
	r.copy(v.Firm[:])
	v.Display = r.u8()
	v.OrderRef = r.u64()
	v.Capacity = r.u8()
	v.IntermarketSweep = r.u8()
	v.MinimumQuantity = r.u32()
	v.CrossType = r.u8()
	v.OrderState = r.u8()
	r.copy(v.Previous[:])
	v.BBOWeight = r.u8()
	if err := v.Validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Canceled message, into m.
// On error m is unchanged.
func (m *Canceled) Decode(msg []byte) error {
	if err := check("Canceled", msg, TypeCanceled, CanceledLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v Canceled
	v.Timestamp = r.u64()
	r.copy(v.Token[:])
	v.Decrement = r.u32()
	v.Reason = r.u8()
	if err := v.Validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Executed message, into m.
// On error m is unchanged.
func (m *Executed) Decode(msg []byte) error {
	if err := check("Executed", msg, TypeExecuted, ExecutedLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v Executed
	v.Timestamp = r.u64()
	r.copy(v.Token[:])
	v.Shares = r.u32()
	v.Price = r.u32()
	v.Liquidity = r.u8()
	v.Match = r.u64()
	if err := v.Validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

// Decode decodes msg, which must be exactly one Rejected message, into m.
// On error m is unchanged.
func (m *Rejected) Decode(msg []byte) error {
	if err := check("Rejected", msg, TypeRejected, RejectedLen); err != nil {
		return err
	}
	r := reader{msg[1:]}
	var v Rejected
	v.Timestamp = r.u64()
	r.copy(v.Token[:])
	v.Reason = r.u8()
	if err := v.Validate(); err != nil {
		return err
	}
	*m = v
	return nil
}
