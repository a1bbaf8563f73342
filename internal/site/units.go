package site

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/groups"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// The units below the provincial level: their scores and the rankings of the groups of units
// (internal/groups) beside the provincial ranking, which the aggregator publishes on
// <prefix>.grouprankings.<group> and under the key group.<group> of the latest-value bucket.

// maxStreamGroups is the most groups one stream client may follow (?group=a,b).
const maxStreamGroups = 8

// GroupRanking is the body of GET /api/v1/groups/{group} and of the stream's group events: the
// latest ranking of a group of units, each entry extended as in [Ranking].
type GroupRanking struct {
	Group string `json:"group"`
	// Parent is the unit whose cities or counties the group holds; null for the provincial units
	// and the key cities.
	Parent *UnitRef `json:"parent"`
	Ranking
}

// UnitRef names a unit of the hierarchy.
type UnitRef struct {
	Region string `json:"region"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	Level  string `json:"level"` // "provincial", "prefecture" or "county"
}

// lookupUnit returns any unit of the hierarchy as a Region: a provincial unit with its ISO code,
// a unit below without one.
func lookupUnit(code string) (events.Region, bool) {
	if r, ok := events.LookupRegion(code); ok {
		return r, true
	}
	u, ok := events.LookupUnit(code)
	return events.Region{Code: u.Code, NameZH: u.NameZH, NameEN: u.NameEN}, ok
}

func unitRef(u events.Unit) UnitRef {
	return UnitRef{Region: u.Code, NameZH: u.NameZH, NameEN: u.NameEN, Level: u.Level.String()}
}

// UnitDetail is the body of GET /api/v1/units/{code}: a unit, the units above it, the groups it is
// ranked in and the units directly under it with the groups they are ranked in.
type UnitDetail struct {
	UnitRef
	Parent    string    `json:"parent"`    // the code of the unit directly above; "" for a provincial unit
	Ancestors []UnitRef `json:"ancestors"` // from the provincial unit down to the parent
	Groups    []string  `json:"groups"`    // the groups the unit is ranked in
	// ChildGroups are the groups of the units directly under it: "cities-<code>" and/or
	// "counties-<code>"; empty for a county-level unit.
	ChildGroups []string    `json:"child_groups"`
	Children    []UnitChild `json:"children"` // ordered by code
}

// UnitChild is a unit directly under another.
type UnitChild struct {
	UnitRef
	Children int `json:"children"` // the number of units directly under it
}

// groupName returns the group of a message's subject, "" when the subject is not a group's.
func (s *Server) groupName(subject string) string {
	prefix := strings.TrimSuffix(s.cfg.Names.GroupRankingsSubjects(), "*")
	return strings.TrimPrefix(subject, prefix)
}

// decodeGroupRanking decodes the ranking of a group and checks that the group is known, ranked
// beside the provincial ranking, and that its entries are members.
func decodeGroupRanking(name string, data []byte) (*scoring.Ranking, error) {
	g, ok := groups.Lookup(name)
	if !ok || name == groups.Provinces {
		return nil, fmt.Errorf("site: decode ranking of group %q: no such group", name)
	}
	var r scoring.Ranking
	if err := json.Unmarshal(data, &r, strict); err != nil {
		return nil, fmt.Errorf("site: decode ranking of group %s: %w", name, err)
	}
	for _, e := range r.Entries {
		if _, found := slices.BinarySearch(g.Members, e.Region); !found {
			return nil, fmt.Errorf("site: decode ranking %d of group %s: %q is not a member", r.Version, name, e.Region)
		}
	}
	slices.SortFunc(r.Entries, func(a, b scoring.RankEntry) int { return a.Rank - b.Rank })
	return &r, nil
}

// applyGroupRanking keeps a group's ranking newer than the one held and sends it to the streams
// that follow the group.
func (s *Server) applyGroupRanking(name string, data []byte) {
	r, err := decodeGroupRanking(name, data)
	if err != nil {
		s.invalid("group", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.groups[name]; old != nil && r.Version <= old.Version {
		return
	}
	f, err := eventFrame("group", r.Version, groupRanking(name, r, s.scoresOf(r.Method)))
	if err != nil {
		s.invalid("group", err)
		return
	}
	f.group = name
	s.groups[name], s.groupsF[name] = r, f
	s.metrics.messages.WithLabelValues("group").Inc()
	s.broadcast(f)
}

// groupRanking extends the ranking r of a group with names, sub-indices and the group's parent.
func groupRanking(name string, r *scoring.Ranking, scores map[string]*scoring.Score) *GroupRanking {
	out := &GroupRanking{Group: name, Ranking: *extend(r, scores)}
	for _, prefix := range []string{groups.CitiesOf(""), groups.CountiesOf("")} {
		if code, ok := strings.CutPrefix(name, prefix); ok {
			if u, ok := events.LookupUnit(code); ok {
				p := unitRef(u)
				out.Parent = &p
			}
		}
	}
	return out
}

// latestGroup returns the latest ranking of a group under the default method: the provincial
// ranking for groups.Provinces. Before a ranking of the group has been published (none of its
// units has had an event, or its units are split among aggregator partitions) every member is
// ranked as a unit without events, at version 0. It returns false for an unknown group.
func (s *Server) latestGroup(name string) (*GroupRanking, bool) {
	g, ok := groups.Lookup(name)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.groups[name]
	if name == groups.Provinces {
		r = s.ranking
	}
	if r == nil {
		r = groups.RankFunc(scoring.DefaultMethod, g, func(string) (float64, scoring.Grade, bool) { return 0, "", false },
			nil, 0, time.Time{})
	}
	return groupRanking(name, r, s.scoresOf(r.Method)), true
}

// scoresOf returns the latest scores under a method, nil when the site does not show it: the
// aggregator ranks the groups under its first method, which need not be the default. s.mu is held.
func (s *Server) scoresOf(method string) map[string]*scoring.Score {
	if method == scoring.DefaultMethod {
		return s.scores
	}
	if st, ok := s.others[method]; ok {
		return st.scores
	}
	return nil
}

// handleGroup answers GET /api/v1/groups/{group}.
func (s *Server) handleGroup(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name := r.PathValue("group")
	rk, ok := s.latestGroup(name)
	if !ok {
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("unknown group %q", name))
		return
	}
	s.writeJSON(w, http.StatusOK, rk)
}

// unitDetail describes the unit code, false when it is unknown.
func unitDetail(code string) (UnitDetail, bool) {
	u, ok := events.LookupUnit(code)
	if !ok {
		return UnitDetail{}, false
	}
	out := UnitDetail{UnitRef: unitRef(u), Parent: u.Parent, Ancestors: []UnitRef{}, Groups: groups.Of(code),
		ChildGroups: []string{}, Children: []UnitChild{}}
	for p := u.Parent; p != ""; {
		pu, _ := events.LookupUnit(p)
		out.Ancestors = append([]UnitRef{unitRef(pu)}, out.Ancestors...)
		p = pu.Parent
	}
	for _, name := range []string{groups.CitiesOf(code), groups.CountiesOf(code)} {
		if _, ok := groups.Lookup(name); ok {
			out.ChildGroups = append(out.ChildGroups, name)
		}
	}
	for _, c := range events.Children(code) {
		out.Children = append(out.Children, UnitChild{UnitRef: unitRef(c), Children: len(events.Children(c.Code))})
	}
	return out, true
}

// handleUnit answers GET /api/v1/units/{code}.
func (s *Server) handleUnit(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	code := r.PathValue("code")
	out, ok := unitDetail(code)
	if !ok {
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("unknown unit %q", code))
		return
	}
	s.writeJSON(w, http.StatusOK, out)
}

// streamGroups reads the stream's ?group= parameter: a comma-separated list of at most
// maxStreamGroups groups other than the provincial units (whose ranking every stream carries).
func streamGroups(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	names := strings.Split(v, ",")
	if len(names) > maxStreamGroups {
		return nil, badRequest("group: at most %d groups, got %d", maxStreamGroups, len(names))
	}
	for _, name := range names {
		if _, ok := groups.Lookup(name); !ok || name == groups.Provinces {
			return nil, badRequest("group: no group %q beside the provincial ranking (such as key-cities, cities-330000, counties-330100)", name)
		}
	}
	return names, nil
}

// resyncGroups reads the latest scores of the units below the provincial level (under every
// method shown) and the latest ranking of every group from the latest-value bucket, through one
// watcher that delivers the values held and stops. It reports false when they were not all read.
func (s *Server) resyncGroups(ctx context.Context, kv jetstream.KeyValue) bool {
	scorePrefix := strings.TrimSuffix(natsjs.ScoreKey("x"), "x")
	keys := []string{scorePrefix + "*", natsjs.GroupRankingKeys}
	for m := range s.others {
		keys = append(keys, strings.TrimSuffix(natsjs.MethodScoreKey(m, "x"), "x")+"*")
	}
	w, err := kv.WatchFiltered(ctx, keys, jetstream.IgnoreDeletes())
	if err != nil {
		s.log.Warn("latest values of cities and counties not read", "error", err)
		return false
	}
	defer func() { _ = w.Stop() }()
	groupPrefix := strings.TrimSuffix(natsjs.GroupRankingKeys, "*")
	for {
		select {
		case <-ctx.Done():
			s.log.Warn("latest values of cities and counties not read", "error", ctx.Err())
			return false
		case e, ok := <-w.Updates():
			if !ok {
				return false
			}
			if e == nil { // every value held has been delivered
				return true
			}
			if name, ok := strings.CutPrefix(e.Key(), groupPrefix); ok {
				s.applyGroupRanking(name, e.Value())
				continue
			}
			method, code, other := strings.Cut(strings.TrimPrefix(e.Key(), scorePrefix), ".")
			if !other {
				code = method
			}
			if u, ok := events.LookupUnit(code); !ok || u.Level == events.Provincial {
				continue // the provincial units' are read by resync
			}
			if other {
				s.applyMethodScore(method, e.Value())
			} else {
				s.applyScore(e.Value())
			}
		}
	}
}
