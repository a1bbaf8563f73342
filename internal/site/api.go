package site

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/explain"
	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// apiError is the body of every error answer of the API.
type apiError struct {
	Error string `json:"error"`
}

// errBadRequest marks a request the client must change.
var errBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadRequest}, args...)...)
}

// writeJSON answers v as JSON with the given status.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encode answer", "error", err)
		status, data = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func (s *Server) writeError(w http.ResponseWriter, status int, msg string) {
	s.writeJSON(w, status, apiError{Error: msg})
}

// query checks that r has no query parameters but the allowed ones, each at most once.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("query: %v", err)
	}
next:
	for k, v := range q {
		for _, a := range allowed {
			if k == a {
				if len(v) > 1 {
					return nil, badRequest("parameter %s given %d times", k, len(v))
				}
				continue next
			}
		}
		return nil, badRequest("unknown parameter %q", k)
	}
	return q, nil
}

// region returns the unit named by the path (any unit of the hierarchy; ISO only for a
// provincial unit), or answers 404.
func (s *Server) region(w http.ResponseWriter, r *http.Request) (events.Region, bool) {
	code := r.PathValue("code")
	reg, ok := lookupUnit(code)
	if !ok {
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("unknown region %q", code))
	}
	return reg, ok
}

// method returns the method a request names with ?method= (the default method when it names
// none), or answers 404 when the site does not show it.
func (s *Server) method(w http.ResponseWriter, q url.Values) (string, bool) {
	m := q.Get("method")
	if m == "" {
		return scoring.DefaultMethod, true
	}
	if !slices.Contains(s.cfg.Methods, m) {
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("unknown method %q (shown: %s)", m, strings.Join(s.cfg.Methods, ", ")))
		return "", false
	}
	return m, true
}

// handleRanking answers GET /api/v1/ranking[?method=].
func (s *Server) handleRanking(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "method")
	if err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	method, ok := s.method(w, q)
	if !ok {
		return
	}
	rk, _, _ := s.latestOf(method, "")
	if rk == nil {
		w.Header().Set("Retry-After", "5")
		s.writeError(w, http.StatusServiceUnavailable, "no ranking has been published yet")
		return
	}
	s.writeJSON(w, http.StatusOK, rk)
}

// MethodInfo is one method of GET /api/v1/methods: its id, name, terms and grade bands, as
// scoring.Spec describes it.
type MethodInfo struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Default bool       `json:"default"` // the method the stream carries and ?method= defaults to
	Source  string     `json:"source"`  // where its terms and bands come from, and which choices are govpulse's
	Terms   []TermInfo `json:"terms"`
	Bands   []BandInfo `json:"bands"`
}

// TermInfo is one term of a method.
type TermInfo struct {
	Name    string   `json:"name"`
	Label   string   `json:"label"`
	LabelZH string   `json:"label_zh"`
	Weight  float64  `json:"weight"` // 0 when shown, not scored
	Formula string   `json:"formula"`
	Counts  []string `json:"counts"`
}

// BandInfo is a grade band: the grade of a composite of at least Min (above Min when Above).
type BandInfo struct {
	Grade string  `json:"grade"`
	Min   float64 `json:"min"`
	Above bool    `json:"above"`
}

// handleMethods answers GET /api/v1/methods: the methods the site shows, the default first.
func (s *Server) handleMethods(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := []MethodInfo{}
	for _, id := range s.cfg.Methods {
		spec, _ := scoring.Lookup(id) // Validate checked it
		m := MethodInfo{ID: spec.ID, Name: spec.Name, Default: id == scoring.DefaultMethod, Source: spec.Source,
			Terms: []TermInfo{}, Bands: []BandInfo{}}
		for _, t := range spec.Terms {
			m.Terms = append(m.Terms, TermInfo{Name: t.Name, Label: t.Label, LabelZH: t.LabelZH, Weight: t.Weight,
				Formula: t.Formula, Counts: t.Counts})
		}
		for _, b := range spec.Bands {
			m.Bands = append(m.Bands, BandInfo{Grade: string(b.Grade), Min: b.Min, Above: b.Above})
		}
		if m.Default {
			out = append([]MethodInfo{m}, out...)
		} else {
			out = append(out, m)
		}
	}
	s.writeJSON(w, http.StatusOK, out)
}

// Comparison is the body of GET /api/v1/comparison: every unit's place under each method shown.
type Comparison struct {
	Methods []string         `json:"methods"` // the methods, the default first
	Units   []ComparisonUnit `json:"units"`   // in the order of the first method's ranking, then by code
}

// ComparisonUnit is one unit of a [Comparison].
type ComparisonUnit struct {
	Region string `json:"region"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	// Places holds the unit's place under each method, in the order of Comparison.Methods; null
	// under a method without a ranking yet.
	Places []*scoring.RankEntry `json:"places"`
}

// handleComparison answers GET /api/v1/comparison.
func (s *Server) handleComparison(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	methods := []string{scoring.DefaultMethod}
	for _, m := range s.cfg.Methods {
		if m != scoring.DefaultMethod {
			methods = append(methods, m)
		}
	}
	places := make([]map[string]scoring.RankEntry, len(methods))
	var order []string
	for i, m := range methods {
		places[i] = map[string]scoring.RankEntry{}
		if rk, _, _ := s.latestOf(m, ""); rk != nil {
			for _, e := range rk.Entries {
				places[i][e.Region] = e.RankEntry
				if i == 0 {
					order = append(order, e.Region)
				}
			}
		}
	}
	for _, reg := range events.Regions() {
		if !slices.Contains(order, reg.Code) {
			order = append(order, reg.Code)
		}
	}
	out := Comparison{Methods: methods, Units: []ComparisonUnit{}}
	for _, code := range order {
		reg, _ := events.LookupRegion(code)
		u := ComparisonUnit{Region: code, NameZH: reg.NameZH, NameEN: reg.NameEN, Places: make([]*scoring.RankEntry, len(methods))}
		for i := range methods {
			if e, ok := places[i][code]; ok {
				u.Places[i] = &e
			}
		}
		out.Units = append(out.Units, u)
	}
	s.writeJSON(w, http.StatusOK, out)
}

// RegionDetail is the body of GET /api/v1/regions/{code}.
type RegionDetail struct {
	Region string         `json:"region"`
	NameZH string         `json:"name_zh"`
	NameEN string         `json:"name_en"`
	ISO    string         `json:"iso"`
	Rank   *RankingEntry  `json:"rank"`  // the unit's entry in the latest ranking, null before one
	Score  *scoring.Score `json:"score"` // the latest score with its counts, null before one
	Terms  []Term         `json:"terms"` // each index with the counts behind it
	// Platform are the unit's platform facts from its latest score, null before one.
	Platform *Platform `json:"platform"`
	Events   []Event   `json:"events"` // the most recent events by event time, latest first
	// PortalMeasures are the unit's portal measures (internal/portals), null before its first
	// portal change; Inconsistencies its open inconsistencies between portals, the 20 most
	// recently opened first.
	PortalMeasures  *portals.Measures       `json:"portal_measures"`
	Inconsistencies []portals.Inconsistency `json:"inconsistencies"`
}

// maxInconsistencies is the most open inconsistencies GET /api/v1/regions/{code} returns.
const maxInconsistencies = 20

// Platform are the platform facts of a unit.
type Platform struct {
	Levels     int   `json:"levels"`     // levels joined from the province down without a gap (0..4)
	Integrated bool  `json:"integrated"` // the platform is integrated
	Portals    int64 `json:"portals"`    // number of portals
}

// Event is a stored event as the site shows it: its envelope and its payload's data.
type Event struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Time      time.Time      `json:"time"`
	Source    string         `json:"source"`
	ItemCode  string         `json:"item_code"`
	Level     string         `json:"level"`
	StreamSeq uint64         `json:"stream_seq"`
	Data      jsontext.Value `json:"data"` // the payload of its type, as sent
}

func eventOf(row chstore.EventRow) Event {
	e := Event{ID: row.ID, Type: row.Type, Time: row.Time, Source: row.Source, ItemCode: row.ItemCode,
		Level: row.Level, StreamSeq: row.StreamSeq, Data: jsontext.Value("null")}
	var env struct {
		Data jsontext.Value `json:"data"`
	}
	if json.Unmarshal([]byte(row.Payload), &env) == nil && len(env.Data) > 0 {
		e.Data = env.Data
	}
	return e
}

// handleRegion answers GET /api/v1/regions/{code}.
func (s *Server) handleRegion(w http.ResponseWriter, r *http.Request) {
	reg, ok := s.region(w, r)
	if !ok {
		return
	}
	q, err := query(r, "method")
	if err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	method, ok := s.method(w, q)
	if !ok {
		return
	}
	rk, sc, _ := s.latestOf(method, reg.Code)
	out := RegionDetail{Region: reg.Code, NameZH: reg.NameZH, NameEN: reg.NameEN, ISO: reg.ISO, Score: sc,
		Terms: []Term{}, Events: []Event{}}
	if rk != nil {
		for i := range rk.Entries {
			if rk.Entries[i].Region == reg.Code {
				out.Rank = &rk.Entries[i]
			}
		}
	}
	if sc != nil {
		t, err := terms(sc)
		if err != nil {
			s.log.Error("terms", "region", reg.Code, "error", err)
			s.writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		if t != nil {
			out.Terms = t
		}
		out.Platform = &Platform{Levels: sc.PlatformLevels, Integrated: sc.Integrated, Portals: sc.Portals}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.QueryTimeout)
	defer cancel()
	rows, err := s.store.RecentEvents(ctx, reg.Code, s.cfg.RecentEvents)
	if err != nil {
		s.log.Warn("recent events not read", "region", reg.Code, "error", err)
		s.writeError(w, http.StatusServiceUnavailable, "the event store is not reachable")
		return
	}
	for _, row := range rows {
		out.Events = append(out.Events, eventOf(row))
	}
	out.Inconsistencies = []portals.Inconsistency{}
	m, open, err := s.store.UnitPortals(ctx, reg.Code, maxInconsistencies)
	if err != nil {
		s.log.Warn("portal measures not read", "region", reg.Code, "error", err)
	} else {
		out.PortalMeasures = m
		out.Inconsistencies = append(out.Inconsistencies, open...)
	}
	s.writeJSON(w, http.StatusOK, out)
}

// History is the body of GET /api/v1/regions/{code}/history.
type History struct {
	Region string         `json:"region"`
	From   *time.Time     `json:"from"`   // as asked; null when open
	To     *time.Time     `json:"to"`     // as asked; null when open
	Points int            `json:"points"` // the most points asked for
	Scores []HistoryPoint `json:"history"`
}

// HistoryPoint is one score of a history.
type HistoryPoint struct {
	Version   uint64    `json:"version"`
	AsOf      time.Time `json:"as_of"`
	Composite float64   `json:"composite"`
	Grade     string    `json:"grade"`
	SubIndices
}

// historyParams reads from, to and points.
func (s *Server) historyParams(r *http.Request) (from, to time.Time, points int, err error) {
	q, err := query(r, "from", "to", "points")
	if err != nil {
		return from, to, 0, err
	}
	parse := func(name string) (time.Time, error) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, badRequest("%s: want an RFC 3339 time such as 2016-12-01T00:00:00Z, got %q", name, v)
		}
		return t.UTC(), nil
	}
	if from, err = parse("from"); err != nil {
		return
	}
	if to, err = parse("to"); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, 0, badRequest("from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	points = s.cfg.HistoryPoints
	if v := q.Get("points"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > s.cfg.MaxHistoryPoints {
			return from, to, 0, badRequest("points: want 1..%d, got %q", s.cfg.MaxHistoryPoints, v)
		}
		points = n
	}
	return from, to, points, nil
}

// handleHistory answers GET /api/v1/regions/{code}/history.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	reg, ok := s.region(w, r)
	if !ok {
		return
	}
	from, to, points, err := s.historyParams(r)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.QueryTimeout)
	defer cancel()
	rows, err := s.store.ScoreHistoryRange(ctx, reg.Code, from, to, points)
	if err != nil {
		s.log.Warn("history not read", "region", reg.Code, "error", err)
		s.writeError(w, http.StatusServiceUnavailable, "the score store is not reachable")
		return
	}
	out := History{Region: reg.Code, Points: points, Scores: make([]HistoryPoint, 0, len(rows))}
	if !from.IsZero() {
		out.From = &from
	}
	if !to.IsZero() {
		out.To = &to
	}
	for i := range rows {
		row := &rows[i] // a stored score is a scoring.Score, as a published one
		out.Scores = append(out.Scores, HistoryPoint{Version: row.Version, AsOf: row.AsOf, Composite: row.Composite,
			Grade: string(row.Grade), SubIndices: subIndices(row)})
	}
	s.writeJSON(w, http.StatusOK, out)
}

// handleStream answers GET /api/v1/stream with Server-Sent Events: first the current state from
// the version in Last-Event-ID on (everything without one), then every new ranking and score. The optional
// parameter region limits the scores to one unit.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "region", "group")
	if err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	region := q.Get("region")
	if _, ok := events.LookupUnit(region); region != "" && !ok {
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("unknown region %q", region))
		return
	}
	groups, err := streamGroups(q.Get("group"))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var after uint64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			s.writeError(w, http.StatusBadRequest, fmt.Sprintf("Last-Event-ID: want a version, got %q", v))
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	c, first := s.subscribe(region, groups, after)
	if c == nil {
		h.Del("Content-Type")
		w.Header().Set("Retry-After", "10")
		s.writeError(w, http.StatusServiceUnavailable, "too many streams or shutting down")
		return
	}
	defer s.unsubscribe(c)
	rc := http.NewResponseController(w)
	write := func(b []byte) bool {
		if err := rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		_, err := w.Write(b)
		return err == nil
	}
	w.WriteHeader(http.StatusOK)
	if !write([]byte("retry: 2000\n\n")) {
		return
	}
	for _, f := range first {
		if !write(f.data) {
			return
		}
	}
	if rc.Flush() != nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case f, ok := <-c.ch:
			if !ok {
				return
			}
			if !write(f.data) {
				return
			}
			for more := true; more; { // write what is waiting, then flush once
				select {
				case f, ok := <-c.ch:
					if !ok {
						return
					}
					if !write(f.data) {
						return
					}
				default:
					more = false
				}
			}
			if rc.Flush() != nil {
				return
			}
		}
	}
}

// clientAddr is the key of the rate limit: the address the request came from (without its port).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// DefaultExplainSpan is the interval GET /api/v1/regions/{code}/explain explains when from is not
// given: the span of the rolling window before to.
const DefaultExplainSpan = 30 * 24 * time.Hour

// handleExplain answers GET /api/v1/regions/{code}/explain?from=&to=: the change of the unit's
// score between the scores in force at from and at to (explain.Explanation). to defaults to the
// as_of of the unit's latest score (now before one), from to DefaultExplainSpan before to.
func (s *Server) handleExplain(w http.ResponseWriter, r *http.Request) {
	reg, ok := s.region(w, r)
	if !ok {
		return
	}
	q, err := query(r, "from", "to")
	if err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var from, to time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		if *p.t, err = time.Parse(time.RFC3339Nano, v); err != nil {
			s.writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: want an RFC 3339 time such as 2016-12-01T00:00:00+08:00, got %q", p.name, v))
			return
		}
	}
	if to.IsZero() {
		to = time.Now().UTC()
		if _, sc := s.latest(reg.Code); sc != nil {
			to = sc.AsOf
		}
	}
	if from.IsZero() {
		from = to.Add(-DefaultExplainSpan)
	}
	if from.After(to) {
		s.writeError(w, http.StatusBadRequest, fmt.Sprintf("from %s is after to %s", from.Format(time.RFC3339), to.Format(time.RFC3339)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.QueryTimeout)
	defer cancel()
	x, err := explain.Load(ctx, s.store, reg.Code, from, to)
	if err != nil {
		s.log.Warn("explanation not read", "region", reg.Code, "error", err)
		s.writeError(w, http.StatusServiceUnavailable, "the score store is not reachable")
		return
	}
	s.writeJSON(w, http.StatusOK, x)
}

// RankChanges is the body of GET /api/v1/rank-changes.
type RankChanges struct {
	Changes []explain.RankChange `json:"changes"` // per unit its last rank change, by region
}

// handleRankChanges answers GET /api/v1/rank-changes: the last stored rank change of every unit
// whose rank ever changed, with its summaries (the ranking's change arrows show them on hover).
func (s *Server) handleRankChanges(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.QueryTimeout)
	defer cancel()
	rows, err := s.store.LatestRankChanges(ctx)
	if err != nil {
		s.log.Warn("rank changes not read", "error", err)
		s.writeError(w, http.StatusServiceUnavailable, "the score store is not reachable")
		return
	}
	out := RankChanges{Changes: make([]explain.RankChange, 0, len(rows))}
	for _, row := range rows {
		out.Changes = append(out.Changes, explain.Rank(row))
	}
	s.writeJSON(w, http.StatusOK, out)
}
