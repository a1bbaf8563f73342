// Package snapcodec is the byte-level encoding shared by the snapshots of the scoring state and
// of the engine: unsigned and signed varints, bytes, booleans, length-prefixed strings and times
// with nanoseconds, appended to a slice and read back by a Reader whose first error sticks.
//
// The encoding is deterministic: the same values always append the same bytes. Nothing here
// allocates more than the input holds, so corrupt input cannot cause a huge allocation.
package snapcodec

import (
	"encoding/binary"
	"fmt"
	"time"
)

// AppendUvarint appends v as an unsigned varint.
func AppendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

// AppendVarint appends v as a signed (zig-zag) varint.
func AppendVarint(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }

// AppendString appends s with its length.
func AppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendBool appends v as one byte, 0 or 1.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// AppendTime appends t as Unix seconds and nanoseconds; the location is not kept.
func AppendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// Reader reads what the Append functions wrote. After the first failure every read returns the
// zero value and Err reports the failure. A Reader is not safe for concurrent use.
type Reader struct {
	b       []byte
	err     error
	corrupt error
}

// NewReader returns a Reader of b whose errors match corrupt (the caller's sentinel).
func NewReader(b []byte, corrupt error) *Reader { return &Reader{b: b, corrupt: corrupt} }

// Err returns the first failure, or nil.
func (d *Reader) Err() error { return d.err }

// Rest returns the bytes not read yet.
func (d *Reader) Rest() []byte { return d.b }

// Len returns the number of bytes not read yet; a count read from the input that exceeds it
// cannot be genuine.
func (d *Reader) Len() int { return len(d.b) }

// Fail records a failure to decode what, unless one was recorded already.
func (d *Reader) Fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", d.corrupt, what)
	}
}

// With runs a nested decoder on the bytes not read yet and continues after what it consumed.
func (d *Reader) With(f func([]byte) ([]byte, error)) {
	if d.err != nil {
		return
	}
	rest, err := f(d.b)
	if err != nil {
		d.err = fmt.Errorf("%w: %w", d.corrupt, err)
		return
	}
	d.b = rest
}

// Uvarint reads an unsigned varint.
func (d *Reader) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.Fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Varint reads a signed varint.
func (d *Reader) Varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.Fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Byte reads one byte.
func (d *Reader) Byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.Fail("byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// Bool reads a boolean; any byte but 0 and 1 is a failure.
func (d *Reader) Bool() bool {
	switch d.Byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.Fail("bool")
	return false
}

// String reads a length-prefixed string.
func (d *Reader) String() string {
	n := d.Uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.Fail("string length")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// Time reads a time written by AppendTime, in UTC.
func (d *Reader) Time() time.Time {
	sec := d.Varint()
	nsec := d.Uvarint()
	if nsec >= 1e9 {
		d.Fail("time nanoseconds")
	}
	if d.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
