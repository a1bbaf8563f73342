package ingest

import (
	"encoding/json"
	"net/http"
)

// Status of one element of a request.
const (
	StatusAccepted    = "accepted"    // stored by JetStream
	StatusDuplicate   = "duplicate"   // an event with this id was already stored
	StatusRejected    = "rejected"    // invalid; written to the DLQ
	StatusUnavailable = "unavailable" // not acknowledged; retry the request
)

// Result is the outcome of one element of a request.
type Result struct {
	// Index is the position of the element in the request, from 0.
	Index int `json:"index"`
	// ID is the event id, when the element decoded.
	ID string `json:"id,omitempty"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// Reason is the reason code of a rejection: an events.Reason* value,
	// ReasonForbidden or ReasonTooLarge.
	Reason string `json:"reason,omitempty"`
	// Error says why the element was rejected or is unavailable.
	Error string `json:"error,omitempty"`
}

// Response is the body of every answer to POST /v1/events.
type Response struct {
	// Accepted counts the events JetStream stored.
	Accepted int `json:"accepted"`
	// Duplicates counts the events already stored before.
	Duplicates int `json:"duplicates"`
	// Rejected counts the invalid elements.
	Rejected int `json:"rejected"`
	// Unavailable counts the events without an acknowledgement.
	Unavailable int `json:"unavailable"`
	// Results lists every element in request order.
	Results []Result `json:"results"`
	// Error explains a refusal of the request as a whole (no or invalid
	// token, rate limit, empty body, too large, wrong content type,
	// unavailable).
	Error string `json:"error,omitempty"`

	forbidden int  // rejected elements outside the token's scope
	close     bool // close the connection after the answer
}

func (r *Response) count() {
	r.Accepted, r.Duplicates, r.Rejected, r.Unavailable = 0, 0, 0, 0
	for _, res := range r.Results {
		switch res.Status {
		case StatusAccepted:
			r.Accepted++
		case StatusDuplicate:
			r.Duplicates++
		case StatusRejected:
			r.Rejected++
		case StatusUnavailable:
			r.Unavailable++
		}
	}
}

// code returns the status code of a counted response with results.
func (r *Response) code() int {
	switch {
	case r.Unavailable > 0:
		return http.StatusServiceUnavailable
	case r.Accepted+r.Duplicates > 0:
		return http.StatusAccepted
	case r.forbidden > 0:
		return http.StatusForbidden
	default:
		return http.StatusBadRequest
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"encode response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
