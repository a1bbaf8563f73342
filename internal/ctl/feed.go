package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/govpulse/govpulse/internal/retry"
	"github.com/govpulse/govpulse/pkg/events"
)

// FeedOptions configures [Feed]. The zero value means the defaults, except
// URL, which is required.
type FeedOptions struct {
	// URL is the base URL of the ingest service ("http://127.0.0.1:8080");
	// events go to URL + "/v1/events".
	URL string
	// Batch is how many events one request carries. 0 means 500.
	Batch int
	// Rate limits the events sent per second. 0 means no limit.
	Rate int
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
	// Client sends the requests. nil means a client with a 30s timeout.
	Client *http.Client
	// InitialInterval is the first retry delay. 0 means 200ms.
	InitialInterval time.Duration
	// MaxInterval bounds the retry delay. 0 means 10s.
	MaxInterval time.Duration
	// MaxElapsed bounds how long one request is retried. 0 means 2 minutes.
	MaxElapsed time.Duration
	// MaxErrors is how many rejection messages the summary keeps. 0 means 10.
	MaxErrors int
}

// WithDefaults returns o with every zero field set to its default.
func (o FeedOptions) WithDefaults() FeedOptions {
	if o.Batch == 0 {
		o.Batch = 500
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.InitialInterval == 0 {
		o.InitialInterval = 200 * time.Millisecond
	}
	if o.MaxInterval == 0 {
		o.MaxInterval = 10 * time.Second
	}
	if o.MaxElapsed == 0 {
		o.MaxElapsed = 2 * time.Minute
	}
	if o.MaxErrors == 0 {
		o.MaxErrors = 10
	}
	return o
}

// Validate reports an invalid option.
func (o FeedOptions) Validate() error {
	if o.URL == "" {
		return errors.New("ctl: feed: the ingest URL is empty")
	}
	if !strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
		return fmt.Errorf("ctl: feed: ingest URL %q is not http(s)", o.URL)
	}
	if o.Batch < 0 || o.Rate < 0 || o.MaxErrors < 0 {
		return errors.New("ctl: feed: batch, rate and max errors may not be negative")
	}
	return nil
}

// FeedSummary counts what [Feed] sent and what ingest answered.
type FeedSummary struct {
	Events     int      // events sent
	Accepted   int      // stored by ingest
	Duplicates int      // already stored before
	Rejected   int      // invalid, with a reason
	Requests   int      // requests that got an answer
	Retries    int      // requests repeated after a 503, 5xx or connection error
	Errors     []string // the first rejection messages ("scn-330000-7: field data.rating: must be 1..5")
}

// String returns the one-line summary.
func (s FeedSummary) String() string {
	return fmt.Sprintf("fed %d events in %d requests: %d accepted, %d duplicates, %d rejected (%d retries)",
		s.Events, s.Requests, s.Accepted, s.Duplicates, s.Rejected, s.Retries)
}

// ingestResponse is the body of a 202 or 400 answer of POST /v1/events.
type ingestResponse struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	Results    []struct {
		Index  int    `json:"index"`
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"results"`
}

// Feed posts the events of src to ingest in order, as JSON arrays of up to
// opts.Batch events, and returns what ingest answered. A request that fails
// with 503, another 5xx, 429 or a connection error is retried with
// exponential backoff (at least the Retry-After the server asks for) for up
// to opts.MaxElapsed; because ingest deduplicates by event id, a retried or
// repeated feed stores nothing twice. Feed stops at the first request that
// cannot succeed (400 without a result body, 401, 403, 413, 415, retries
// exhausted) or when ctx is done, and returns the summary so far with the
// error.
func Feed(ctx context.Context, src iter.Seq[*events.Event], opts FeedOptions) (FeedSummary, error) {
	opts = opts.WithDefaults()
	var sum FeedSummary
	if err := opts.Validate(); err != nil {
		return sum, err
	}
	endpoint := strings.TrimRight(opts.URL, "/") + "/v1/events"
	start := time.Now()
	body := make([]byte, 0, 1<<20)
	var ids []string
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		body = append(body, ']')
		if opts.Rate > 0 {
			due := start.Add(time.Duration(float64(sum.Events) / float64(opts.Rate) * float64(time.Second)))
			if err := wait(ctx, time.Until(due)); err != nil {
				return err
			}
		}
		resp, err := post(ctx, opts, endpoint, body, &sum)
		if err != nil {
			return err
		}
		sum.Events += len(ids)
		sum.Accepted += resp.Accepted
		sum.Duplicates += resp.Duplicates
		sum.Rejected += resp.Rejected
		for _, r := range resp.Results {
			if r.Status == "rejected" && len(sum.Errors) < opts.MaxErrors {
				id := r.ID
				if id == "" && r.Index >= 0 && r.Index < len(ids) {
					id = ids[r.Index]
				}
				sum.Errors = append(sum.Errors, id+": "+r.Error)
			}
		}
		body, ids = body[:0], ids[:0]
		return nil
	}
	for ev := range src {
		if len(ids) == 0 {
			body = append(body, '[')
		} else {
			body = append(body, ',')
		}
		var err error
		if body, err = ev.AppendJSON(body); err != nil {
			return sum, fmt.Errorf("ctl: feed: encode %s: %w", ev.ID, err)
		}
		ids = append(ids, ev.ID)
		if len(ids) >= opts.Batch {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	if err := flush(); err != nil {
		return sum, err
	}
	return sum, nil
}

// retryAfterError is a retryable failure with the delay the server asked
// for and, when the answer had one, its body (a 503 of ingest lists the
// events it stored before the stream stalled).
type retryAfterError struct {
	err     error
	after   time.Duration
	partial *ingestResponse
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// post sends one batch until it gets a final answer. Events that an
// earlier attempt stored (ingest answers 503 with the results so far) come
// back as duplicates of the retry; they are counted as accepted.
func post(ctx context.Context, opts FeedOptions, endpoint string, body []byte, sum *FeedSummary) (*ingestResponse, error) {
	b := retry.NewBackoff(retry.Policy{Initial: opts.InitialInterval, Max: opts.MaxInterval, MaxElapsed: opts.MaxElapsed})
	stored := map[int]bool{} // indexes accepted by an earlier attempt
	for {
		resp, err := postOnce(ctx, opts, endpoint, body)
		if err == nil {
			sum.Requests++
			for i := range resp.Results {
				if r := &resp.Results[i]; r.Status == "duplicate" && stored[r.Index] {
					r.Status = "accepted"
					resp.Duplicates--
					resp.Accepted++
				}
			}
			return resp, nil
		}
		if final, ok := retry.AsPermanent(err); ok {
			sum.Requests++
			return nil, final
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ctl: feed: %w", ctx.Err())
		}
		d, ok := b.Next()
		if !ok {
			return nil, fmt.Errorf("ctl: feed: giving up after %s: %w", opts.MaxElapsed, err)
		}
		var ra *retryAfterError
		if errors.As(err, &ra) {
			d = max(d, ra.after)
			if ra.partial != nil {
				for _, r := range ra.partial.Results {
					if r.Status == "accepted" {
						stored[r.Index] = true
					}
				}
			}
		}
		sum.Retries++
		if err := wait(ctx, d); err != nil {
			return nil, err
		}
	}
}

// postOnce sends one request. A retryable failure is returned as is (or as
// a *retryAfterError); a final one wrapped by retry.Permanent.
func postOnce(ctx context.Context, opts FeedOptions, endpoint string, body []byte) (*ingestResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, retry.Permanent(fmt.Errorf("ctl: feed: request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	if opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+opts.Token)
	}
	res, err := opts.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ctl: feed: post %s: %w", endpoint, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("ctl: feed: read answer: %w", err)
	}
	switch {
	case res.StatusCode == http.StatusAccepted || res.StatusCode == http.StatusOK || res.StatusCode == http.StatusBadRequest:
		var out ingestResponse
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, retry.Permanent(fmt.Errorf("ctl: feed: answer %d: %s: %w", res.StatusCode, snippet(raw), err))
		}
		return &out, nil
	case res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		e := &retryAfterError{
			err:   fmt.Errorf("ctl: feed: answer %d: %s", res.StatusCode, snippet(raw)),
			after: retryAfter(res.Header.Get("Retry-After")),
		}
		var partial ingestResponse
		if json.Unmarshal(raw, &partial) == nil && len(partial.Results) > 0 {
			e.partial = &partial
		}
		return nil, e
	default:
		return nil, retry.Permanent(fmt.Errorf("ctl: feed: answer %d: %s", res.StatusCode, snippet(raw)))
	}
}

// retryAfter reads a Retry-After header given in seconds (0 when absent or
// not a number of seconds).
func retryAfter(h string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// snippet returns the start of an answer body for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "..."
	}
	return s
}

// wait waits for d or until ctx is done.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if !retry.Wait(ctx, d) {
		return fmt.Errorf("ctl: feed: %w", ctx.Err())
	}
	return nil
}
