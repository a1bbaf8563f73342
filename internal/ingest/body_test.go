package ingest

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseContentType(t *testing.T) {
	tests := []struct {
		ct   string
		want format
		ok   bool
	}{
		{"application/json", formatJSON, true},
		{"application/json; charset=utf-8", formatJSON, true},
		{"Application/JSON; charset=UTF-8", formatJSON, true},
		{"application/x-ndjson", formatNDJSON, true},
		{"application/json; charset=latin1", 0, false},
		{"text/plain", 0, false},
		{"application/x-www-form-urlencoded", 0, false},
		{"", 0, false},
		{"application/json;;", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.ct, func(t *testing.T) {
			got, err := parseContentType(tt.ct)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseContentType(%q) = %v, %v", tt.ct, got, err)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name    string
		f       format
		body    string
		max     int
		want    []string
		bodyErr bool
		err     error
	}{
		{"single", formatJSON, ` {"a":1} `, 10, []string{` {"a":1} `}, false, nil},
		{"single broken", formatJSON, `{"a":`, 10, []string{`{"a":`}, false, nil},
		{"array", formatJSON, "[ {\"a\":[1,2]} ,\n{\"b\":\"],}\\\"[\"} ]", 10, []string{`{"a":[1,2]}`, `{"b":"],}\"["}`}, false, nil},
		{"array of scalars", formatJSON, `[1, "x", null]`, 10, []string{`1`, `"x"`, `null`}, false, nil},
		{"nested arrays", formatJSON, `[[1,[2]],{}]`, 10, []string{`[1,[2]]`, `{}`}, false, nil},
		{"broken array", formatJSON, `[{"a":1}, {"b":`, 10, []string{`[{"a":1}, {"b":`}, true, nil},
		{"missing comma", formatJSON, `[{"a":1} {"b":2}]`, 10, []string{`[{"a":1} {"b":2}]`}, true, nil},
		{"trailing comma", formatJSON, `[{"a":1},]`, 10, []string{`[{"a":1},]`}, true, nil},
		{"trailing data", formatJSON, `[{"a":1}] x`, 10, []string{`[{"a":1}] x`}, true, nil},
		{"empty array", formatJSON, ` [ ] `, 10, nil, false, errEmpty{"empty array"}},
		{"empty body", formatJSON, " \n", 10, nil, false, errEmpty{"empty body"}},
		{"too many", formatJSON, `[1,2,3]`, 2, nil, false, errTooMany},
		{"exactly max", formatJSON, `[1,2]`, 2, []string{"1", "2"}, false, nil},
		{"ndjson", formatNDJSON, "{\"a\":1}\r\n\n  \n{\"b\":\n", 10, []string{`{"a":1}`, `{"b":`}, false, nil},
		{"ndjson no newline", formatNDJSON, `{"a":1}`, 10, []string{`{"a":1}`}, false, nil},
		{"ndjson blank", formatNDJSON, "\n\n", 10, nil, false, errEmpty{"empty body"}},
		{"ndjson too many", formatNDJSON, "1\n2\n3\n", 2, nil, false, errTooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, bodyErr, err := split(tt.f, []byte(tt.body), tt.max)
			if !errors.Is(err, tt.err) && err != tt.err {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if (bodyErr != nil) != tt.bodyErr {
				t.Fatalf("bodyErr = %v, want %v", bodyErr, tt.bodyErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("element %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestHeaderValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\r\nb\x00c\x7f", "a  b c "},
	}
	for _, tt := range tests {
		if got := headerValue(tt.in); got != tt.want {
			t.Errorf("headerValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	if got := headerValue(string(long)); len(got) != maxHeaderValue {
		t.Errorf("len = %d", len(got))
	}
}

func TestLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"127.1.2.3:0", true},
		{"[::1]:8080", true},
		{"localhost:8080", true},
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"10.0.0.1:8080", false},
		{"example.com:80", false},
		{"nonsense", false},
	}
	for _, tt := range tests {
		if got := loopback(tt.addr); got != tt.want {
			t.Errorf("loopback(%q) = %v", tt.addr, got)
		}
	}
}

// FuzzSplit cuts arbitrary bodies into elements. It must not panic, must
// respect the element limit, and every element must be a part of the body.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{`[]`, `[1,2]`, `{"a":[1,{"b":"]"}]}`, "[\"\\\"]\"]", "a\nb\n\n", `[` + "\xff" + `]`, `[[[[`, `["a",`} {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
	}
	f.Fuzz(func(t *testing.T, ndjson bool, body []byte) {
		fm := formatJSON
		if ndjson {
			fm = formatNDJSON
		}
		elems, bodyErr, err := split(fm, body, 5)
		if err != nil {
			return
		}
		if len(elems) == 0 || len(elems) > 5 {
			t.Fatalf("%d elements", len(elems))
		}
		if bodyErr != nil && len(elems) != 1 {
			t.Fatalf("a body error with %d elements", len(elems))
		}
		for _, e := range elems {
			if len(e) == 0 || !bytes.Contains(body, e) {
				t.Fatalf("element %q is not a part of the body", e)
			}
		}
	})
}

func TestReadBody(t *testing.T) {
	broken := errors.New("connection reset")
	tests := []struct {
		name  string
		r     io.Reader
		limit int64
		want  int // bytes returned
		err   error
	}{
		{"empty", strings.NewReader(""), 10, 0, nil},
		{"under", strings.NewReader("12345"), 10, 5, nil},
		{"exactly the limit", strings.NewReader("1234567890"), 10, 10, nil},
		{"one over", strings.NewReader("12345678901"), 10, 11, errBodyTooLarge},
		{"far over: stops at limit+1", strings.NewReader(strings.Repeat("x", 100_000)), 10_000, 10_001, errBodyTooLarge},
		{"byte by byte", iotest.OneByteReader(strings.NewReader(strings.Repeat("y", 9000))), 1 << 20, 9000, nil},
		{"large, in halves", iotest.HalfReader(strings.NewReader(strings.Repeat("z", 300_000))), 1 << 20, 300_000, nil},
		{"read error", io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(broken)), 10, 3, broken},
	}
	t.Run("no memory left", func(t *testing.T) {
		left := int64(20_000)
		take := func(n int64) bool {
			if n > left {
				return false
			}
			left -= n
			return true
		}
		got, err := readBody(strings.NewReader(strings.Repeat("x", 50_000)), 1<<20, take)
		if !errors.Is(err, errBusy) || len(got) != 16<<10 {
			t.Errorf("readBody = %d bytes, %v; want 16 KiB and errBusy", len(got), err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var taken int64
			got, err := readBody(tt.r, tt.limit, func(n int64) bool { taken += n; return true })
			if len(got) != tt.want || !errors.Is(err, tt.err) {
				t.Fatalf("readBody = %d bytes, %v; want %d, %v", len(got), err, tt.want, tt.err)
			}
			if int64(cap(got)) > tt.limit+1 {
				t.Errorf("buffer of %d bytes for a limit of %d", cap(got), tt.limit)
			}
			if taken != int64(cap(got)) {
				t.Errorf("took %d bytes for a buffer of %d", taken, cap(got))
			}
		})
	}
}
