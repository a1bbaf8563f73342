package site

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// scores2022 returns one score of method 2022 per unit, computed by the method from windows that
// differ per unit, so that its ranking differs from the one of scores.
func scores2022(version uint64, asOf time.Time) []scoring.Score {
	spec, _ := scoring.Lookup(scoring.Method2022)
	var out []scoring.Score
	for i, r := range events.Regions() {
		reg := scoring.NewRegion(r.Code, r.NameZH, r.NameEN)
		n := int64(i + 1)
		w := scoring.Window{Start: asOf.Add(-30 * 24 * time.Hour), End: asOf, Ratings: 32, RatingSum: 32 + 4*n,
			RatingsBad: 32 - n, Applications: 32, OnlineCompleted: n, NoVisit: 32 - n, Timed: 32, OnTime: n}
		out = append(out, spec.Score(reg, w, asOf, version))
	}
	return out
}

// publishMethod sends scores and their ranking of a method other than the default as the
// aggregator does: on the method's subjects and under its keys.
func (e *env) publishMethod(scs []scoring.Score) *scoring.Ranking {
	e.t.Helper()
	method := scs[0].Method
	send := func(subject, key string, v any) {
		data, err := json.Marshal(v)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.nc.Publish(subject, data); err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.kv.Put(context.Background(), key, data); err != nil {
			e.t.Fatal(err)
		}
	}
	for _, sc := range scs {
		send(e.names.MethodScoreSubject(method, sc.Region), natsjs.MethodScoreKey(method, sc.Region), sc)
	}
	r := scoring.RankMethod(method, scs, nil, scs[0].Version, scs[0].AsOf)
	send(e.names.MethodRankingsSubject(method), natsjs.MethodRankingKey(method), r)
	return r
}

// The site shows methods side by side: ?method= selects one on the ranking and a unit's page, each
// from its own subjects; /api/v1/methods describes them and /api/v1/comparison puts the ranks
// together. The stream and the un-suffixed API keep serving the default method.
func TestMethodsAPI(t *testing.T) {
	e := start(t, Config{Methods: []string{scoring.Method, scoring.Method2022}})
	def := e.publishAll(scores(100, t0, 0), nil)
	want := e.publishMethod(scores2022(100, t0))
	var got Ranking
	waitFor(t, 5*time.Second, func() error {
		got = Ranking{}
		if resp, body := e.get("/api/v1/ranking?method=2022", &got); resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s", resp.Status, body)
		}
		if len(got.Entries) != 32 || len(got.Entries[31].Terms) == 0 {
			return fmt.Errorf("%d entries", len(got.Entries))
		}
		return nil
	})
	spec, _ := scoring.Lookup(scoring.Method2022)
	if got.Method != "2022" || got.Version != 100 {
		t.Fatalf("ranking of method %q version %d", got.Method, got.Version)
	}
	byRegion := map[string]scoring.Score{}
	for _, sc := range scores2022(100, t0) {
		byRegion[sc.Region] = sc
	}
	for i, en := range got.Entries {
		if en.RankEntry != want.Entries[i] {
			t.Fatalf("entry %d: %+v, want %+v", i, en.RankEntry, want.Entries[i])
		}
		sc := byRegion[en.Region]
		if len(en.Terms) != len(spec.Terms) {
			t.Fatalf("%s: %d terms", en.Region, len(en.Terms))
		}
		for k, term := range spec.Terms {
			v, w := en.Terms[k].Value, term.Value(&sc)
			if en.Terms[k].Name != term.Name || (v == nil) != (w == nil) || v != nil && *v != *w {
				t.Errorf("%s: term %d %+v, want %s %v", en.Region, k, en.Terms[k], term.Name, w)
			}
		}
	}
	var plain Ranking
	e.get("/api/v1/ranking", &plain)
	if plain.Method != scoring.Method || plain.Entries[0].RankEntry != def.Entries[0] || len(plain.Entries[0].Terms) != 5 {
		t.Errorf("the default ranking: method %q, first %+v", plain.Method, plain.Entries[0])
	}
	var detail RegionDetail
	e.get("/api/v1/regions/330000?method=2022", &detail)
	if detail.Score == nil || detail.Score.Method != "2022" || len(detail.Terms) != len(spec.Terms) || detail.Rank == nil {
		t.Errorf("region under 2022: %+v", detail)
	} else if detail.Terms[0].Index != "online_effectiveness" || len(detail.Terms[0].Counts) != 9 {
		t.Errorf("region under 2022: first term %+v", detail.Terms[0])
	}
	if resp, _ := e.get("/api/v1/ranking?method=2019", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown method: %s", resp.Status)
	}

	var methods []MethodInfo
	e.get("/api/v1/methods", &methods)
	if len(methods) != 2 || methods[0].ID != "2017" || !methods[0].Default || methods[1].ID != "2022" ||
		len(methods[1].Terms) != 6 || methods[1].Terms[0].LabelZH != "在线服务成效度" || len(methods[1].Bands) != 3 ||
		!methods[1].Bands[0].Above {
		t.Errorf("methods: %+v", methods)
	}

	var cmp Comparison
	e.get("/api/v1/comparison", &cmp)
	if len(cmp.Methods) != 2 || len(cmp.Units) != 32 {
		t.Fatalf("comparison: %+v", cmp)
	}
	rank22 := map[string]int{}
	for _, en := range want.Entries {
		rank22[en.Region] = en.Rank
	}
	for i, u := range cmp.Units {
		if u.Places[0] == nil || u.Places[1] == nil || u.Places[0].Rank != i+1 || u.Places[1].Rank != rank22[u.Region] {
			t.Errorf("comparison unit %d: %+v", i, u)
		}
	}
}
