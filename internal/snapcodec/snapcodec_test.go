package snapcodec

import (
	"errors"
	"testing"
	"time"
)

var errTest = errors.New("test: corrupt")

func TestRoundTrip(t *testing.T) {
	when := time.Date(2016, 12, 31, 23, 59, 59, 999999999, time.UTC)
	b := AppendUvarint(nil, 1<<40)
	b = AppendVarint(b, -12345)
	b = append(b, 7)
	b = AppendBool(b, true)
	b = AppendString(b, "浙江省")
	b = AppendTime(b, when)
	d := NewReader(b, errTest)
	if got := d.Uvarint(); got != 1<<40 {
		t.Errorf("Uvarint = %d", got)
	}
	if got := d.Varint(); got != -12345 {
		t.Errorf("Varint = %d", got)
	}
	if got := d.Byte(); got != 7 {
		t.Errorf("Byte = %d", got)
	}
	if !d.Bool() {
		t.Error("Bool = false")
	}
	if got := d.String(); got != "浙江省" {
		t.Errorf("String = %q", got)
	}
	if got := d.Time(); !got.Equal(when) {
		t.Errorf("Time = %v", got)
	}
	if d.Err() != nil || d.Len() != 0 {
		t.Errorf("after reading everything: err %v, %d bytes left", d.Err(), d.Len())
	}
}

func TestCorruptInput(t *testing.T) {
	inner := errors.New("inner")
	for _, tc := range []struct {
		name  string
		input []byte
		read  func(*Reader)
	}{
		{"uvarint of nothing", nil, func(d *Reader) { d.Uvarint() }},
		{"unterminated uvarint", []byte{0x80, 0x80}, func(d *Reader) { d.Uvarint() }},
		{"varint of nothing", nil, func(d *Reader) { d.Varint() }},
		{"byte of nothing", nil, func(d *Reader) { d.Byte() }},
		{"bool 2", []byte{2}, func(d *Reader) { d.Bool() }},
		{"string longer than the input", []byte{2, 'a'}, func(d *Reader) { _ = d.String() }},
		{"huge string length", AppendUvarint(nil, 1<<62), func(d *Reader) { _ = d.String() }},
		{"time with 1e9 nanoseconds", AppendUvarint(AppendVarint(nil, 0), 1e9), func(d *Reader) { d.Time() }},
		{"nested decoder fails", []byte{1}, func(d *Reader) { d.With(func([]byte) ([]byte, error) { return nil, inner }) }},
	} {
		d := NewReader(tc.input, errTest)
		tc.read(d)
		if !errors.Is(d.Err(), errTest) {
			t.Errorf("%s: %v, want the corrupt sentinel", tc.name, d.Err())
		}
		// The first failure sticks: later reads return zero values and keep it.
		first := d.Err()
		if v := d.Uvarint(); v != 0 || d.Err() != first {
			t.Errorf("%s: read after failure gave %d, %v", tc.name, v, d.Err())
		}
	}
}
