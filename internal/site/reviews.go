package site

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/pkg/events"
)

// The outputs of the lifecycle of reviews (好差评, docs/reviews.md) on the site: a unit's
// review_stats and alerts, and the recent alerts of every unit.

// Limits of the review answers.
const (
	// ReviewDays is how many day rows of a unit the reviews answer holds, the newest.
	ReviewDays = 30
	// RecentAlerts is how many alert transitions the alerts answers hold, the newest.
	RecentAlerts = 50
)

// ReviewStats is a review_stats row of a unit (docs/api.md): the reviews over a period, 'rolling'
// (the 30 days ending with the watermark's day) or 'day' (UTC+8). Rates are null without a
// denominator.
type ReviewStats struct {
	Period               string    `json:"period"`
	Start                time.Time `json:"start"`
	End                  time.Time `json:"end"`
	Version              uint64    `json:"version"`
	AsOf                 time.Time `json:"as_of"`
	Reviews              uint64    `json:"reviews"`
	Bad                  uint64    `json:"bad"`
	BadRate              *float64  `json:"bad_rate"`
	Appeals              uint64    `json:"appeals"`
	AppealsUpheld        uint64    `json:"appeals_upheld"`
	RectificationsOpened uint64    `json:"rectifications_opened"`
	ClosedOnTime         uint64    `json:"closed_on_time"`
	ClosedLate           uint64    `json:"closed_late"`
	Overdue              uint64    `json:"overdue"`
	OverdueCases         []string  `json:"overdue_cases"`
	OnTimeRate           *float64  `json:"on_time_rate"`
	FollowUps            uint64    `json:"follow_ups"`
	FollowUpMean         *float64  `json:"follow_up_mean"`
}

func reviewStats(r chstore.ReviewStatRow) ReviewStats {
	cases := r.OverdueCases
	if cases == nil {
		cases = []string{}
	}
	return ReviewStats{Period: r.Period, Start: r.PeriodStart, End: r.PeriodEnd, Version: r.Version, AsOf: r.AsOf,
		Reviews: r.Reviews, Bad: r.Bad, BadRate: r.BadRate, Appeals: r.Appeals, AppealsUpheld: r.AppealsUpheld,
		RectificationsOpened: r.Opened, ClosedOnTime: r.ClosedOnTime, ClosedLate: r.ClosedLate, Overdue: r.Overdue,
		OverdueCases: cases, OnTimeRate: r.OnTimeRate, FollowUps: r.FollowUps, FollowUpMean: r.FollowUpMean}
}

// Reviews answers GET /api/v1/regions/{code}/reviews: the unit's latest rolling row (null before
// the first review), its last ReviewDays day rows and its last RecentAlerts alert transitions,
// newest first.
type Reviews struct {
	Region  string             `json:"region"`
	Rolling *ReviewStats       `json:"rolling"`
	Days    []ReviewStats      `json:"days"`
	Alerts  []chstore.AlertRow `json:"alerts"`
}

// Alerts answers GET /api/v1/alerts[?region=]: the last RecentAlerts alert transitions of every
// unit (or of one), newest first; each is the row of the alerts table, the message published on
// govpulse.alerts.<region>.
type Alerts struct {
	Alerts []chstore.AlertRow `json:"alerts"`
}

// reviewRoutes adds the review endpoints to the API.
func (s *Server) reviewRoutes(api *http.ServeMux) {
	api.HandleFunc("GET /api/v1/regions/{code}/reviews", s.handleReviews)
	api.HandleFunc("GET /api/v1/alerts", s.handleAlerts)
}

// recentAlerts returns the newest RecentAlerts of rows (ordered oldest first), newest first.
func recentAlerts(rows []chstore.AlertRow) []chstore.AlertRow {
	rows = rows[max(0, len(rows)-RecentAlerts):]
	out := slices.Clone(rows)
	slices.Reverse(out)
	for i := range out {
		if out[i].TopItems == nil {
			out[i].TopItems, out[i].TopBad = []string{}, []uint64{}
		}
	}
	return out
}

func (s *Server) handleReviews(w http.ResponseWriter, r *http.Request) {
	reg, ok := s.region(w, r)
	if !ok {
		return
	}
	if _, err := query(r); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.QueryTimeout)
	defer cancel()
	out, err := s.reviews(ctx, reg.Code)
	if err != nil {
		s.log.Warn("reviews not read", "region", reg.Code, "error", err)
		s.writeError(w, http.StatusServiceUnavailable, "the score store is not reachable")
		return
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) reviews(ctx context.Context, region string) (Reviews, error) {
	out := Reviews{Region: region, Days: []ReviewStats{}}
	rolling, err := s.store.ReviewStats(ctx, region, "rolling")
	if err != nil {
		return out, err
	}
	if n := len(rolling); n > 0 {
		rs := reviewStats(rolling[n-1])
		out.Rolling = &rs
	}
	days, err := s.store.ReviewStats(ctx, region, "day")
	if err != nil {
		return out, err
	}
	for i := len(days) - 1; i >= 0 && len(out.Days) < ReviewDays; i-- {
		out.Days = append(out.Days, reviewStats(days[i]))
	}
	alerts, err := s.store.Alerts(ctx, region)
	if err != nil {
		return out, err
	}
	out.Alerts = recentAlerts(alerts)
	return out, nil
}

func (s *Server) handleAlerts(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "region")
	if err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	region := q.Get("region")
	if _, ok := events.LookupRegion(region); region != "" && !ok {
		s.writeError(w, http.StatusNotFound, "unknown region "+region)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.QueryTimeout)
	defer cancel()
	rows, err := s.store.Alerts(ctx, region)
	if err != nil {
		s.log.Warn("alerts not read", "error", err)
		s.writeError(w, http.StatusServiceUnavailable, "the score store is not reachable")
		return
	}
	s.writeJSON(w, http.StatusOK, Alerts{Alerts: recentAlerts(rows)})
}
