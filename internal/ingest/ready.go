package ingest

import (
	"context"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/retry"
)

// readyTimeout bounds the stream lookup of one readiness check.
const readyTimeout = 2 * time.Second

// notStarted is the readiness reason before the first check of Run.
const notStarted = "not started: the readiness checks run in Run"

// checkReadiness checks at once and then every Config.CheckInterval
// whether the server can take events (the NATS connection is up and the
// EVENTS stream exists) and records the answer for GET /readyz, until ctx
// is done. A change is logged with its reason.
func (s *Server) checkReadiness(ctx context.Context) error {
	for {
		s.setReady(s.check(ctx))
		if !retry.Wait(ctx, s.cfg.CheckInterval) {
			return nil
		}
	}
}

// check returns why the server cannot take events now, or "".
func (s *Server) check(ctx context.Context) string {
	if st := s.js.Conn().Status(); st != nats.CONNECTED {
		return "nats connection " + st.String()
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	ok, err := natsjs.StreamExists(ctx, s.js, s.cfg.Names.EventsStream)
	switch {
	case ctx.Err() != nil && err != nil:
		return "stream " + s.cfg.Names.EventsStream + ": no answer within " + readyTimeout.String()
	case err != nil:
		return err.Error()
	case !ok:
		return "stream " + s.cfg.Names.EventsStream + " not found"
	}
	return ""
}

// setReady records the outcome of a check and logs a change.
func (s *Server) setReady(reason string) {
	old := s.ready.Swap(&reason)
	if old != nil && *old == reason {
		return
	}
	if reason == "" {
		s.metrics.ready.Set(1)
		s.log.Info("ready")
		return
	}
	s.metrics.ready.Set(0)
	s.log.Warn("not ready", "reason", reason)
}

// notReady returns why the server cannot take events, or "": the reason of
// the last check, or the state of the NATS connection when it is down now.
// It makes no request to the server.
func (s *Server) notReady() string {
	if st := s.js.Conn().Status(); st != nats.CONNECTED {
		return "nats connection " + st.String()
	}
	if r := s.ready.Load(); r != nil {
		return *r
	}
	return notStarted
}

// handleReady answers GET /readyz on the main address: "ok" or "not
// ready", without the reason.
func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	if s.notReady() != "" {
		writeText(w, http.StatusServiceUnavailable, "not ready")
		return
	}
	writeText(w, http.StatusOK, "ok")
}

// handleAdminReady answers GET /readyz on the admin address, with the
// reason when not ready.
func (s *Server) handleAdminReady(w http.ResponseWriter, _ *http.Request) {
	if reason := s.notReady(); reason != "" {
		writeText(w, http.StatusServiceUnavailable, "not ready: "+reason)
		return
	}
	writeText(w, http.StatusOK, "ok")
}

// writeText writes a one-line text/plain answer.
func writeText(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(text + "\n"))
}
