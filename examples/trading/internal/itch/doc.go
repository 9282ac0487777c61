// Package itch encodes and decodes a subset of the NASDAQ TotalView-ITCH 5.0
// market data messages.
//
// The layouts follow the "Nasdaq TotalView-ITCH 5.0" specification. Every
// message except [EndOfSnapshot] starts with an 11-byte header: the message
// type, the Stock Locate and Tracking Number (each a uint16), and a 6-byte
// Timestamp holding nanoseconds since midnight. All integers are big-endian.
// Alpha fields are left-justified and padded with spaces. Prices are uint32
// values with four implied decimal places.
//
// [EndOfSnapshot] is the GLIMPSE snapshot terminator ('G'): a type byte
// followed by a 20-character ASCII sequence number, right-justified and
// padded on the left with spaces.
//
// Each message type has a fixed size, given by the XxxLen constants and
// [Len]. Decode methods take exactly one message of their type, never
// retain the input slice and do not allocate when they succeed. Besides the
// type and length they check the enumerated fields (Buy/Sell indicators,
// event codes, the snapshot sequence number) but not the Stock field.
// AppendTo methods append the encoded message to a slice and do not
// allocate when that slice has enough spare capacity; they do not validate,
// use Validate for that.
package itch
