package windows

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
)

// Codec encodes values for snapshots. Append must be deterministic (the same value always gives
// the same bytes) and Read must undo it, returning the bytes after the value. Read must return an
// error, never panic, on input it cannot decode, and must not allocate more than the input's size
// suggests. The codecs of this package report errors that match ErrCorrupt.
type Codec[T any] interface {
	Append(dst []byte, v T) []byte
	Read(src []byte) (v T, rest []byte, err error)
}

// Integer is the constraint of IntCodec.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

// Int64Codec encodes an int64 as a zig-zag varint.
type Int64Codec struct{}

// Append appends v.
func (Int64Codec) Append(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }

// Read reads a value written by Append.
func (Int64Codec) Read(src []byte) (int64, []byte, error) { return readVarint(src, "int64") }

// IntCodec encodes any integer type as a zig-zag varint of its int64 conversion (unsigned values
// above math.MaxInt64 round-trip through their two's complement).
type IntCodec[N Integer] struct{}

// Append appends v.
func (IntCodec[N]) Append(dst []byte, v N) []byte { return binary.AppendVarint(dst, int64(v)) }

// Read reads a value written by Append; a value that does not fit N is an error.
func (IntCodec[N]) Read(src []byte) (N, []byte, error) {
	v, rest, err := readVarint(src, "integer")
	if err != nil {
		return 0, src, err
	}
	if int64(N(v)) != v {
		return 0, src, fmt.Errorf("%w: integer %d out of range", ErrCorrupt, v)
	}
	return N(v), rest, nil
}

// FloatCodec encodes a float as the 8 bytes (little endian) of its float64 bits.
type FloatCodec[N ~float32 | ~float64] struct{}

// Append appends v.
func (FloatCodec[N]) Append(dst []byte, v N) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(float64(v)))
}

// Read reads a value written by Append.
func (FloatCodec[N]) Read(src []byte) (N, []byte, error) {
	if len(src) < 8 {
		return 0, src, fmt.Errorf("%w: float: short input", ErrCorrupt)
	}
	return N(math.Float64frombits(binary.LittleEndian.Uint64(src))), src[8:], nil
}

// StringCodec encodes a string as a varint length and the bytes.
type StringCodec struct{}

// Append appends v.
func (StringCodec) Append(dst []byte, v string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// Read reads a value written by Append.
func (StringCodec) Read(src []byte) (string, []byte, error) {
	n, rest, err := readUvarint(src, "string length")
	if err != nil {
		return "", src, err
	}
	if n > uint64(len(rest)) {
		return "", src, fmt.Errorf("%w: string of %d bytes in %d", ErrCorrupt, n, len(rest))
	}
	return string(rest[:n]), rest[n:], nil
}

// MeanCodec encodes a MeanAcc: the sum with Sum, then the count.
type MeanCodec[N Number] struct{ Sum Codec[N] }

// Append appends v.
func (c MeanCodec[N]) Append(dst []byte, v MeanAcc[N]) []byte {
	dst = c.Sum.Append(dst, v.Sum)
	return binary.AppendVarint(dst, v.Count)
}

// Read reads a value written by Append.
func (c MeanCodec[N]) Read(src []byte) (MeanAcc[N], []byte, error) {
	var v MeanAcc[N]
	var err error
	rest := src
	if v.Sum, rest, err = c.Sum.Read(rest); err != nil {
		return v, src, fmt.Errorf("mean sum: %w", err)
	}
	if v.Count, rest, err = readVarint(rest, "mean count"); err != nil {
		return v, src, err
	}
	return v, rest, nil
}

// ExtremumCodec encodes an Extremum: a byte 0 when it is not valid, else 1 and the value.
type ExtremumCodec[T cmp.Ordered] struct{ Value Codec[T] }

// Append appends v. The value of an invalid Extremum is not written.
func (c ExtremumCodec[T]) Append(dst []byte, v Extremum[T]) []byte {
	if !v.Valid {
		return append(dst, 0)
	}
	return c.Value.Append(append(dst, 1), v.Value)
}

// Read reads a value written by Append.
func (c ExtremumCodec[T]) Read(src []byte) (Extremum[T], []byte, error) {
	var v Extremum[T]
	valid, rest, err := readBool(src, "extremum")
	if err != nil || !valid {
		return v, rest, err
	}
	if v.Value, rest, err = c.Value.Read(rest); err != nil {
		return v, src, fmt.Errorf("extremum: %w", err)
	}
	v.Valid = true
	return v, rest, nil
}

// CountsCodec encodes the Counts of a Histogram: the number of buckets up to the last non-zero one,
// then each of them as a varint.
type CountsCodec struct{}

// Append appends v.
func (CountsCodec) Append(dst []byte, v Counts) []byte {
	n := len(v)
	for n > 0 && v[n-1] == 0 {
		n--
	}
	dst = append(dst, byte(n))
	for _, c := range v[:n] {
		dst = binary.AppendVarint(dst, c)
	}
	return dst
}

// Read reads a value written by Append.
func (CountsCodec) Read(src []byte) (Counts, []byte, error) {
	var v Counts
	if len(src) == 0 || int(src[0]) > len(v) {
		return v, src, fmt.Errorf("%w: histogram bucket count", ErrCorrupt)
	}
	n := int(src[0])
	rest := src[1:]
	for i := range n {
		var err error
		if v[i], rest, err = readVarint(rest, "histogram bucket"); err != nil {
			return Counts{}, src, err
		}
	}
	return v, rest, nil
}

// FractionCodec encodes a Fraction as two varints.
type FractionCodec struct{}

// Append appends v.
func (FractionCodec) Append(dst []byte, v Fraction) []byte {
	return binary.AppendVarint(binary.AppendVarint(dst, v.Num), v.Den)
}

// Read reads a value written by Append.
func (FractionCodec) Read(src []byte) (Fraction, []byte, error) {
	var v Fraction
	var err error
	rest := src
	if v.Num, rest, err = readVarint(rest, "fraction numerator"); err != nil {
		return v, src, err
	}
	if v.Den, rest, err = readVarint(rest, "fraction denominator"); err != nil {
		return v, src, err
	}
	return v, rest, nil
}

func readVarint(src []byte, what string) (int64, []byte, error) {
	v, n := binary.Varint(src)
	if n <= 0 {
		return 0, src, fmt.Errorf("%w: %s: bad varint", ErrCorrupt, what)
	}
	return v, src[n:], nil
}

func readUvarint(src []byte, what string) (uint64, []byte, error) {
	v, n := binary.Uvarint(src)
	if n <= 0 {
		return 0, src, fmt.Errorf("%w: %s: bad varint", ErrCorrupt, what)
	}
	return v, src[n:], nil
}

func readBool(src []byte, what string) (bool, []byte, error) {
	if len(src) == 0 || src[0] > 1 {
		return false, src, fmt.Errorf("%w: %s: bad flag", ErrCorrupt, what)
	}
	return src[0] == 1, src[1:], nil
}

// readCount reads an element count and checks that the input can hold that many elements of at
// least minSize bytes each, so that a corrupt count never causes a large allocation.
func readCount(src []byte, minSize int, what string) (int, []byte, error) {
	n, rest, err := readUvarint(src, what)
	if err != nil {
		return 0, src, err
	}
	if n > uint64(len(rest)/minSize) {
		return 0, src, fmt.Errorf("%w: %s %d exceeds the input", ErrCorrupt, what, n)
	}
	return int(n), rest, nil
}
