package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strings"

	"github.com/govpulse/govpulse/pkg/events"
)

// format is the framing of a request body.
type format int

const (
	formatJSON   format = iota // one event or an array of events
	formatNDJSON               // one event per line
)

// errContentType is returned by parseContentType for a refused type.
var errContentType = errors.New("content type must be application/json or application/x-ndjson (charset utf-8)")

// parseContentType returns the framing that the Content-Type header names.
func parseContentType(ct string) (format, error) {
	if ct == "" {
		return 0, errContentType
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, errContentType
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return 0, errContentType
	}
	switch mt {
	case "application/json":
		return formatJSON, nil
	case "application/x-ndjson":
		return formatNDJSON, nil
	}
	return 0, errContentType
}

// errTooMany is returned by split when the body holds more elements than
// allowed.
var errTooMany = errors.New("too many events")

// errEmpty is returned by split for a body without elements.
type errEmpty struct{ what string }

func (e errEmpty) Error() string { return e.what }

// split cuts body into its elements without decoding them: the elements
// share body's memory. A JSON body that starts with '[' must be well-formed
// as a whole; otherwise split returns one element, the whole body, with the
// syntax error to report for it (bodyErr). At most max elements are
// allowed.
func split(f format, body []byte, max int) (elems [][]byte, bodyErr *events.Error, err error) {
	if f == formatNDJSON {
		return splitLines(body, max)
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, nil, errEmpty{"empty body"}
	}
	if trimmed[0] != '[' {
		// One event: events.Decode judges it, syntax included.
		return [][]byte{body}, nil, nil
	}
	if !json.Valid(body) {
		return [][]byte{body}, &events.Error{
			Field:  "body",
			Rule:   "must be one JSON event or a well-formed JSON array of events",
			Reason: events.ReasonSyntax,
		}, nil
	}
	elems, err = splitArray(trimmed, max)
	if err != nil {
		return nil, nil, err
	}
	if len(elems) == 0 {
		return nil, nil, errEmpty{"empty array"}
	}
	return elems, nil, nil
}

// splitArray returns the elements of a well-formed JSON array that starts at
// b[0]. It tracks strings and nesting only; json.Valid has checked the rest.
func splitArray(b []byte, max int) ([][]byte, error) {
	var elems [][]byte
	depth := 0
	start := -1
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth == 1 {
				continue // the opening bracket of the array
			}
		case ']', '}':
			depth--
			if depth == 0 { // the closing bracket of the array
				if start >= 0 {
					elems = append(elems, bytes.TrimRight(b[start:i], " \t\r\n"))
				}
				return elems, nil
			}
		case ',':
			if depth == 1 {
				elems = append(elems, bytes.TrimRight(b[start:i], " \t\r\n"))
				start = -1
				continue
			}
		}
		if start < 0 {
			if len(elems) >= max {
				return nil, errTooMany
			}
			start = i
		}
	}
	return elems, nil
}

// splitLines returns the non-blank lines of an NDJSON body.
func splitLines(body []byte, max int) ([][]byte, *events.Error, error) {
	var elems [][]byte
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.Trim(line, " \t\r")
		if len(line) == 0 {
			continue
		}
		if len(elems) >= max {
			return nil, nil, errTooMany
		}
		elems = append(elems, line)
	}
	if len(elems) == 0 {
		return nil, nil, errEmpty{"empty body"}
	}
	return elems, nil, nil
}

// firstBodyBuffer is the size of the first buffer a request body is read
// into; it doubles as bytes arrive, up to the body limit.
const firstBodyBuffer = 4 << 10

// errBodyTooLarge is returned by readBody for a body over the limit.
var errBodyTooLarge = errors.New("body too large")

// errBusy is returned by readBody when the buffer cannot grow within the
// memory allowed to all request bodies at once.
var errBusy = errors.New("request bodies in hand use all the memory allowed to them")

// readBody reads the body from r into a buffer that grows (doubling) as
// bytes arrive, never beyond limit+1 bytes, whatever length the request
// declares: memory follows what a client sent, not what it announced.
// Before the buffer grows by n bytes, take(n) must grant them (the caller
// gives them back when the request is done); when it does not, readBody
// returns errBusy. For a body over limit it returns its first limit+1 bytes
// and errBodyTooLarge; on another read error, what it read and the error.
func readBody(r io.Reader, limit int64, take func(n int64) bool) ([]byte, error) {
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			size := min(max(2*int64(cap(buf)), firstBodyBuffer), limit+1)
			if !take(size - int64(cap(buf))) {
				return buf, errBusy
			}
			grown := make([]byte, len(buf), size)
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case int64(len(buf)) > limit:
			return buf, errBodyTooLarge
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
}
