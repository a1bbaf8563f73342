package site

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// Ranking is the body of GET /api/v1/ranking and of the stream's ranking events: the NATS ranking
// message with each entry extended by the unit's names and its latest sub-indices.
type Ranking struct {
	Version uint64         `json:"version"`
	AsOf    time.Time      `json:"as_of"`
	Method  string         `json:"method"`
	Entries []RankingEntry `json:"ranking"`
}

// RankingEntry is one unit's place in a [Ranking]: the fields of the NATS message (rank, region,
// composite, grade, prev_rank, change) and the names and sub-indices of the unit's latest score.
type RankingEntry struct {
	scoring.RankEntry
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	SubIndices
	// Terms are the values of every term of the ranking's method in the unit's latest score, in
	// the method's order (empty when no score of the unit is known yet): the sub-indices of any
	// method.
	Terms []scoring.TermValue `json:"terms"`
}

// SubIndices are the four sub-indices of a score (0..100) and its satisfaction (null when the
// window has no ratings), with the version of the score they come from (0 when no score of the
// unit is known yet).
type SubIndices struct {
	ServiceModes   float64  `json:"service_modes"`
	ItemCoverage   float64  `json:"item_coverage"`
	GuideAccuracy  float64  `json:"guide_accuracy"`
	OnlineMaturity float64  `json:"online_maturity"`
	Satisfaction   *float64 `json:"satisfaction"`
	ScoreVersion   uint64   `json:"score_version"`
}

func subIndices(sc *scoring.Score) SubIndices {
	if sc == nil {
		return SubIndices{}
	}
	if sc.Method != scoring.Method {
		return SubIndices{ScoreVersion: sc.Version} // the sub-indices of other methods are in Terms
	}
	return SubIndices{ServiceModes: sc.ServiceModes, ItemCoverage: sc.ItemCoverage, GuideAccuracy: sc.GuideAccuracy,
		OnlineMaturity: sc.OnlineMaturity, Satisfaction: sc.Satisfaction, ScoreVersion: sc.Version}
}

// strict decodes the messages of the aggregator, which are built from the same types.
var strict = json.RejectUnknownMembers(true)

// decodeRanking decodes a ranking message and checks what the site relies on.
func decodeRanking(data []byte) (*scoring.Ranking, error) {
	var r scoring.Ranking
	if err := json.Unmarshal(data, &r, strict); err != nil {
		return nil, fmt.Errorf("site: decode ranking: %w", err)
	}
	for _, e := range r.Entries {
		if _, ok := events.LookupRegion(e.Region); !ok {
			return nil, fmt.Errorf("site: decode ranking %d: unknown region %q", r.Version, e.Region)
		}
	}
	slices.SortFunc(r.Entries, func(a, b scoring.RankEntry) int { return a.Rank - b.Rank })
	return &r, nil
}

// decodeScore decodes a score message and checks its region.
func decodeScore(data []byte) (*scoring.Score, error) {
	var sc scoring.Score
	if err := json.Unmarshal(data, &sc, strict); err != nil {
		return nil, fmt.Errorf("site: decode score: %w", err)
	}
	if _, ok := events.LookupUnit(sc.Region); !ok {
		return nil, fmt.Errorf("site: decode score %d: unknown unit %q", sc.Version, sc.Region)
	}
	return &sc, nil
}

// extend returns r with names and sub-indices from scores.
func extend(r *scoring.Ranking, scores map[string]*scoring.Score) *Ranking {
	out := &Ranking{Version: r.Version, AsOf: r.AsOf, Method: r.Method, Entries: make([]RankingEntry, len(r.Entries))}
	for i, e := range r.Entries {
		reg, _ := events.LookupUnit(e.Region)
		sc := scores[e.Region]
		out.Entries[i] = RankingEntry{RankEntry: e, NameZH: reg.NameZH, NameEN: reg.NameEN, SubIndices: subIndices(sc),
			Terms: termValues(r.Method, sc)}
	}
	return out
}

// termValues returns the terms of method in sc as Term.Value reads them; empty when sc is nil.
func termValues(method string, sc *scoring.Score) []scoring.TermValue {
	out := []scoring.TermValue{}
	spec, ok := scoring.Lookup(method)
	if !ok || sc == nil {
		return out
	}
	for _, t := range spec.Terms {
		out = append(out, scoring.TermValue{Name: t.Name, Value: t.Value(sc)})
	}
	return out
}

// frame is one Server-Sent Event, encoded once for every client.
type frame struct {
	region     string // the score's region; "" for a ranking or a comment
	provincial bool   // the score's region is a provincial unit
	group      string // the group of a group's ranking; "" for any other event
	version    uint64
	data       []byte // the whole event, ending with a blank line
}

// eventFrame encodes an event of the given name with id version and v as its JSON data.
func eventFrame(name string, version uint64, v any) (*frame, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("site: encode %s %d: %w", name, version, err)
	}
	b := make([]byte, 0, len(data)+64)
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\nid: "...)
	b = strconv.AppendUint(b, version, 10)
	b = append(b, "\ndata: "...)
	b = append(b, data...) // compact JSON holds no newline
	b = append(b, "\n\n"...)
	return &frame{version: version, data: b}, nil
}

// heartbeat is the comment that keeps an idle stream open.
const heartbeat = ": heartbeat\n\n"
