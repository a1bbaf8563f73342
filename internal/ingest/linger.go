package ingest

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// lingerTimeout bounds the lingering read of linger.
const lingerTimeout = 2 * time.Second

// closes reports whether an answer with this status code closes the
// connection: the refusals of a request as a whole and 403.
func closes(code int) bool {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusTooManyRequests:
		return true
	}
	return false
}

// linger reads and discards what is left of the request body, at most
// twice Config.MaxBodyBytes and for at most lingerTimeout, after the answer
// has been written and flushed, as nginx's lingering close does. A client
// that sends its whole body before it reads (Python's urllib and many
// others) then finds the answer, instead of a connection reset caused by
// closing a socket with unread data. A client that asked for
// "Expect: 100-continue" was not told to continue and sends no body: it is
// not waited for.
func (s *Server) linger(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Expect"), "100-continue") || r.ContentLength == 0 {
		return
	}
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.CopyN(io.Discard, r.Body, 2*s.cfg.MaxBodyBytes)
}
