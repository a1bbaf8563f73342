package explain_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/explain"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// TestBuildMatchesScores drains an engine at random points, stores its changes as rows, and
// explains random intervals: the composite, every term and every count must match the scores in
// force at the two ends, and the events applied those the engine applied in between.
func TestBuildMatchesScores(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const region = "330000"
	e, err := engine.New(engine.Config{Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC)
	var (
		changes []chstore.ScoreChangeRow
		causes  []chstore.ScoreCauseRow
		scores  []scoring.Score // drained scores of region, by version
		applied = map[uint64]int64{}
	)
	cur := start
	for seq := uint64(1); seq <= 3000; seq++ {
		cur = cur.Add(time.Duration(rng.IntN(40)) * time.Minute)
		reg := region
		if rng.IntN(3) == 0 {
			reg = "110000"
		}
		var d events.Payload
		code := "item-" + string(rune('a'+rng.IntN(6)))
		switch rng.IntN(6) {
		case 0:
			d = &events.ServicePublishedData{ItemCode: code, Level: events.LevelCity, Name: "n", Department: "d",
				Modes: events.Modes()[:rng.IntN(9)], Maturity: rng.IntN(5)}
		case 1:
			g := &events.GuideAuditedData{ItemCode: code, Level: events.LevelCity, Consistent: rng.IntN(2) == 0}
			for i := range g.Elements {
				g.Elements[i] = events.Verdicts()[rng.IntN(3)]
			}
			d = g
		case 2:
			d = &events.CatalogItemData{ItemCode: code, Level: events.LevelCity, Required: true}
		case 3, 4:
			d = &events.FeedbackRatedData{Rating: 1 + rng.IntN(5), Channel: events.ChannelWeb}
		default:
			d = &events.ApplicationCompletedData{ItemCode: code, Level: events.LevelCity, Outcome: events.Completed, Online: rng.IntN(2) == 0}
		}
		ev := &events.Event{ID: "e" + time.Duration(seq).String(), Type: d.EventType(), Region: reg, Time: cur, Source: "t", Data: d}
		if r := e.Apply(seq, ev); r.Outcome == engine.Applied && reg == region {
			applied[seq]++
		}
		if rng.IntN(20) == 0 || seq == 3000 {
			out := e.Drain()
			for i := range out.Changes {
				changes, causes = explain.AppendRows(changes, causes, &out.Changes[i])
			}
			for _, s := range out.Scores {
				if s.Region == region {
					scores = append(scores, s)
				}
			}
		}
	}
	end := cur
	at := func(tm time.Time) *scoring.Score {
		var s *scoring.Score
		for i := range scores {
			if !scores[i].AsOf.After(tm) {
				s = &scores[i]
			}
		}
		return s
	}
	rowsOf := func(s *scoring.Score) []chstore.ScoreChangeRow {
		if s == nil {
			return nil
		}
		var out []chstore.ScoreChangeRow
		for _, r := range changes {
			if r.Region == region && r.Version == s.Version {
				out = append(out, r)
			}
		}
		return out
	}
	spec, _ := scoring.Lookup(scoring.Method)
	for range 50 {
		a := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)))))
		b := a.Add(time.Duration(rng.Int64N(int64(end.Sub(a)) + 1)))
		sa, sb := at(a), at(b)
		if sb == nil {
			continue
		}
		var between []chstore.ScoreCauseRow
		for _, c := range causes {
			if c.Region == region && c.AsOf.After(a) && !c.AsOf.After(b) {
				between = append(between, c)
			}
		}
		x := explain.Build(region, a, b, rowsOf(sa), rowsOf(sb), between)
		if x.ToVersion != sb.Version || *x.Composite.To != sb.Composite {
			t.Fatalf("to version %d composite %v, want %d %v", x.ToVersion, *x.Composite.To, sb.Version, sb.Composite)
		}
		var fromVersion uint64
		if sa != nil {
			fromVersion = sa.Version
			if d := *x.Composite.Delta; !near(d, sb.Composite-sa.Composite) {
				t.Fatalf("composite delta %v, scores %v -> %v", d, sa.Composite, sb.Composite)
			}
			for i, term := range spec.Terms {
				tc := x.Terms[i]
				f, g := term.Value(sa), term.Value(sb)
				if f != nil && g != nil && !near(*tc.Delta, *g-*f) {
					t.Fatalf("%s delta %v, scores %v -> %v", term.Name, *tc.Delta, *f, *g)
				}
				for _, c := range tc.Counts {
					cf, _ := sa.Counts.Count(c.Name)
					cg, _ := sb.Counts.Count(c.Name)
					if c.From != cf || c.To != cg {
						t.Fatalf("count %s %d -> %d, scores %d -> %d", c.Name, c.From, c.To, cf, cg)
					}
				}
			}
		}
		var want int64
		for seq, n := range applied {
			if seq > fromVersion && seq <= sb.Version {
				want += n
			}
		}
		if x.Applied != want {
			t.Fatalf("(%s, %s]: applied %d, want %d (versions %d..%d)", a, b, x.Applied, want, fromVersion, sb.Version)
		}
		var sum int64
		for _, c := range x.Events {
			sum += c.Count
		}
		if sum != x.Applied || !strings.Contains(x.SummaryEN, "composite") || !strings.Contains(x.SummaryZH, "综合指数") {
			t.Fatalf("explanation %+v", x)
		}
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

// TestSummary: the words of a hand-made explanation.
func TestSummary(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	at := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	row := func(version uint64, term string, v float64) chstore.ScoreChangeRow {
		return chstore.ScoreChangeRow{Method: scoring.Method, Region: "330000", Version: version, Term: term, To: f(v), AsOf: at}
	}
	start := []chstore.ScoreChangeRow{row(10, "composite", 40), row(10, "guide_accuracy", 60), row(10, "audited_items", 12),
		row(10, "ratings", 1100)}
	end := []chstore.ScoreChangeRow{row(20, "composite", 42.31), row(20, "guide_accuracy", 69.24), row(20, "audited_items", 20),
		row(20, "ratings", 1204)}
	causes := []chstore.ScoreCauseRow{
		{Method: scoring.Method, Region: "330000", Version: 15, FromVersion: 10, Applied: 3, EventTypes: []string{"guide.audited"},
			EventCounts: []uint64{3}, Items: []string{"guide of city/X re-audited: 6 → 8 correct elements"}, ItemsTotal: 3},
		{Method: scoring.Method, Region: "330000", Version: 20, FromVersion: 15, Applied: 1204, EventTypes: []string{"feedback.rated"},
			EventCounts: []uint64{1204}, WindowTypes: []string{"feedback.rated"}, WindowLeft: []int64{1100}},
		{Method: scoring.Method, Region: "330000", Version: 20, FromVersion: 12, Applied: 99}, // not on the chain
	}
	x := explain.Build("330000", at.Add(-time.Hour), at, start, end, causes[:2])
	wantEN := "330000 composite +2.31 (40.00 → 42.31): guide accuracy +9.24 (audited_items 12 → 20); " +
		"1,207 events applied over 2 stored versions (guide.audited 3, feedback.rated 1,204), 3 portal changes such as " +
		"guide of city/X re-audited: 6 → 8 correct elements; 1,100 feedback.rated left the 30-day window"
	if x.SummaryEN != wantEN {
		t.Errorf("summary\n got %s\nwant %s", x.SummaryEN, wantEN)
	}
	if !strings.HasPrefix(x.SummaryZH, "330000 综合指数 +2.31 (40.00 → 42.31)：办事指南准确度 +9.24（audited_items 12 → 20）") {
		t.Errorf("summary zh %s", x.SummaryZH)
	}
	if !slices.Equal(x.Items, causes[0].Items) || x.Steps != 2 {
		t.Errorf("items %q steps %d", x.Items, x.Steps)
	}
	if none := explain.Build("330000", at, at, nil, nil, nil); none.ToVersion != 0 || !strings.Contains(none.SummaryEN, "no score") {
		t.Errorf("no score: %+v", none)
	}
}
