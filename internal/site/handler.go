package site

import (
	"embed"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// web holds the pages, their scripts and styles: every asset the site serves.
//
//go:embed web
var web embed.FS

// ContentSecurityPolicy is sent with every answer: only the site's own scripts, styles, images and
// connections; no inline script or style, no plugin, no framing, no form submission.
const ContentSecurityPolicy = "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler returns the site's HTTP handler: the pages, the static assets, the API, /healthz and
// /readyz. Every answer carries the security headers; methods other than GET and HEAD get 405.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page("web/index.html"))
	mux.HandleFunc("GET /region/{code}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := events.LookupUnit(r.PathValue("code")); !ok {
			http.Error(w, "unknown region", http.StatusNotFound)
			return
		}
		s.page("web/region.html")(w, r)
	})
	mux.HandleFunc("GET /units/{code}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := events.LookupUnit(r.PathValue("code")); !ok {
			http.Error(w, "unknown unit", http.StatusNotFound)
			return
		}
		s.page("web/units.html")(w, r)
	})
	mux.Handle("GET /static/", http.StripPrefix("/static/", noCache(http.FileServerFS(s.static))))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := s.Ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/ranking", s.handleRanking)
	api.HandleFunc("GET /api/v1/methods", s.handleMethods)
	api.HandleFunc("GET /api/v1/comparison", s.handleComparison)
	api.HandleFunc("GET /api/v1/regions/{code}", s.handleRegion)
	api.HandleFunc("GET /api/v1/regions/{code}/history", s.handleHistory)
	api.HandleFunc("GET /api/v1/regions/{code}/explain", s.handleExplain)
	api.HandleFunc("GET /api/v1/rank-changes", s.handleRankChanges)
	api.HandleFunc("GET /api/v1/groups/{group}", s.handleGroup)
	api.HandleFunc("GET /api/v1/units/{code}", s.handleUnit)
	api.HandleFunc("GET /api/v1/stream", s.handleStream)
	s.reviewRoutes(api)
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusNotFound, "no such API path: "+r.URL.Path)
	})
	mux.Handle("/api/", s.limit(api))
	return secure(mux)
}

// page serves an embedded page.
func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := web.ReadFile(name)
		if err != nil {
			http.Error(w, "page missing", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(b)))
	}
}

// noCache makes browsers revalidate the assets, which change with the binary.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// secure sets the security headers on every answer and refuses methods that could change
// anything: the site is read-only.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			hd.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: the site is read-only", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// limit applies the per-address rate limit and the CORS setting to the API.
func (s *Server) limit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.CORSOrigin != "" {
			w.Header().Set("Access-Control-Allow-Origin", s.cfg.CORSOrigin)
			w.Header().Add("Vary", "Origin")
		}
		if !s.limiter.allow(clientAddr(r), time.Now()) {
			s.metrics.rateLimited.Inc()
			w.Header().Set("Retry-After", "1")
			s.writeError(w, http.StatusTooManyRequests, "too many requests from this address; slow down")
			return
		}
		h.ServeHTTP(w, r)
	})
}
