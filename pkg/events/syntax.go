package events

import (
	"strconv"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of JSON objects and arrays that [Decode]
// accepts (the envelope counts as 1); the deepest valid event nests 3 levels.
// Deeper input is rejected with reason too_deep before it is decoded.
const MaxDepth = 16

// checkSyntax checks that b is valid UTF-8 and exactly one well-formed JSON
// value surrounded by optional white space, nested at most MaxDepth levels.
// It does not recurse.
func checkSyntax(b []byte) *Error {
	i := skipWS(b, 0)
	if i == len(b) {
		return newError("body", ReasonEmpty, "must be a JSON object")
	}
	var stack [MaxDepth]byte
	depth := 0
	var err *Error
	for {
		// A value starts at i.
		if i >= len(b) {
			return errEOF()
		}
		opened := false
		switch c := b[i]; {
		case c == '{' || c == '[':
			if depth == MaxDepth {
				return newError("body", ReasonTooDeep,
					"must not nest objects and arrays deeper than "+strconv.Itoa(MaxDepth)+" levels")
			}
			stack[depth] = c
			depth++
			i = skipWS(b, i+1)
			switch {
			case i >= len(b):
				return errEOF()
			case c == '{' && b[i] == '}', c == '[' && b[i] == ']':
				depth--
				i++
			case c == '{':
				if i, err = scanKey(b, i); err != nil {
					return err
				}
				opened = true
			default:
				opened = true
			}
		case c == '"':
			if i, err = scanString(b, i); err != nil {
				return err
			}
		case c == 't':
			if i, err = scanLiteral(b, i, "true"); err != nil {
				return err
			}
		case c == 'f':
			if i, err = scanLiteral(b, i, "false"); err != nil {
				return err
			}
		case c == 'n':
			if i, err = scanLiteral(b, i, "null"); err != nil {
				return err
			}
		case c == '-' || c >= '0' && c <= '9':
			if i, err = scanNumber(b, i); err != nil {
				return err
			}
		default:
			return errUnexpected(b, i)
		}
		if opened {
			i = skipWS(b, i)
			continue
		}
		// A value ended before i: close containers or go to the next element.
	after:
		for {
			i = skipWS(b, i)
			if depth == 0 {
				if i != len(b) {
					return newError("body", ReasonTrailingData,
						"must be exactly one JSON value: data after offset "+strconv.Itoa(i))
				}
				return nil
			}
			if i >= len(b) {
				return errEOF()
			}
			top := stack[depth-1]
			switch c := b[i]; {
			case c == ',':
				i = skipWS(b, i+1)
				if top == '{' {
					if i, err = scanKey(b, i); err != nil {
						return err
					}
				}
				i = skipWS(b, i)
				break after
			case top == '{' && c == '}', top == '[' && c == ']':
				depth--
				i++
			default:
				return errUnexpected(b, i)
			}
		}
	}
}

func errEOF() *Error {
	return newError("body", ReasonSyntax, "must be valid JSON: unexpected end of input")
}

func errUnexpected(b []byte, i int) *Error {
	what := "byte " + strconv.QuoteRuneToASCII(rune(b[i]))
	if b[i] >= utf8.RuneSelf {
		what = "non-ASCII byte"
	}
	return newError("body", ReasonSyntax,
		"must be valid JSON: unexpected "+what+" at offset "+strconv.Itoa(i))
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanKey scans a member name and the colon after it.
func scanKey(b []byte, i int) (int, *Error) {
	if i >= len(b) {
		return i, errEOF()
	}
	if b[i] != '"' {
		return i, errUnexpected(b, i)
	}
	i, err := scanString(b, i)
	if err != nil {
		return i, err
	}
	i = skipWS(b, i)
	if i >= len(b) {
		return i, errEOF()
	}
	if b[i] != ':' {
		return i, errUnexpected(b, i)
	}
	return i + 1, nil
}

func scanLiteral(b []byte, i int, lit string) (int, *Error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return i, errEOF()
		}
		if b[i+k] != lit[k] {
			return i, errUnexpected(b, i+k)
		}
	}
	return i + len(lit), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func scanNumber(b []byte, i int) (int, *Error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, errEOF()
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, errUnexpected(b, i)
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == start {
			if i >= len(b) {
				return i, errEOF()
			}
			return i, errUnexpected(b, i)
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == start {
			if i >= len(b) {
				return i, errEOF()
			}
			return i, errUnexpected(b, i)
		}
	}
	return i, nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func errInvalidUTF8(i int) *Error {
	return newError("body", ReasonInvalidUTF8, "must be valid UTF-8: invalid text at offset "+strconv.Itoa(i))
}

// scanString scans the string starting with the quote at b[i]: it rejects
// unescaped control characters, bad escapes, invalid UTF-8 and escaped lone
// surrogates.
// plainString marks the bytes that stand for themselves inside a JSON string: ASCII other than a
// control character, the quote and the backslash.
var plainString = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func scanString(b []byte, i int) (int, *Error) {
	i++
	for {
		// Most bytes of a string are plain ASCII: skip them with one look-up each.
		for i < len(b) && plainString[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, errEOF()
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, errEOF()
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, ok := hex4(b[i+2:])
				if !ok {
					return i, newError("body", ReasonSyntax,
						"must be valid JSON: bad \\u escape at offset "+strconv.Itoa(i))
				}
				switch {
				case r >= 0xD800 && r < 0xDC00:
					if i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
						if r2, ok := hex4(b[i+8:]); ok && r2 >= 0xDC00 && r2 < 0xE000 {
							i += 12
							continue
						}
					}
					return i, errInvalidUTF8(i)
				case r >= 0xDC00 && r < 0xE000:
					return i, errInvalidUTF8(i)
				}
				i += 6
			default:
				return i, newError("body", ReasonSyntax,
					"must be valid JSON: bad escape at offset "+strconv.Itoa(i))
			}
		case c < 0x20:
			return i, newError("body", ReasonSyntax,
				"must be valid JSON: control character in a string at offset "+strconv.Itoa(i))
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, errInvalidUTF8(i)
			}
			i += size
		}
	}
}
