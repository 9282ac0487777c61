// Package ouch encodes and decodes a subset of the NASDAQ OUCH 4.2 order
// entry messages.
//
// The layouts follow the "O*U*C*H Version 4.2" specification. Messages
// start with a one-byte type. All integers are big-endian. Alpha fields are
// left-justified and padded with spaces. Prices are uint32 values with four
// implied decimal places; outbound timestamps are uint64 nanoseconds since
// midnight.
//
// Inbound messages ([EnterOrder], [ReplaceOrder], [CancelOrder]) travel from
// the client to the exchange, outbound messages ([SystemEvent], [Accepted],
// [Replaced], [Canceled], [Executed], [Rejected]) the other way. The two
// directions reuse type letters ('U' is both Replace Order and Replaced),
// so sizes are given per direction by [InboundLen] and [OutboundLen].
//
// Decode methods take exactly one message of their type, never retain the
// input slice and do not allocate when they succeed. They check the fields
// whose values the codec itself depends on (order tokens, sides, order
// states, liquidity flags and event codes); business checks such as a known
// stock or a valid price are left to the caller. AppendTo methods append the
// encoded message to a slice and do not allocate when that slice has enough
// spare capacity; they do not validate, use Validate for that.
//
// Every code the package defines is the specification's. Where this
// project's exchange answers a request that OUCH 4.2 would silently ignore,
// it does so with a code of the specification; see [RejectOther].
package ouch
