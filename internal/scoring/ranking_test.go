package scoring

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRank(t *testing.T) {
	scores := []Score{
		{Region: "110000", Composite: 50, Grade: GradeLow},
		{Region: "330000", Composite: 91.2, Grade: GradeVeryHigh},
		{Region: "520000", Composite: 88, Grade: GradeHigh},
		{Region: "320000", Composite: 88, Grade: GradeHigh}, // tie: smaller code first
		{Region: "120000", Composite: 0, Grade: GradeLow},
	}
	first := Rank(scores, nil, 7, time.Date(2017, 3, 1, 2, 0, 0, 0, time.UTC))
	wantOrder := []string{"330000", "320000", "520000", "110000", "120000"}
	for i, e := range first.Entries {
		if e.Region != wantOrder[i] || e.Rank != i+1 || e.PrevRank != 0 || e.Change != 0 {
			t.Fatalf("first ranking entry %d = %+v, want region %s rank %d, no previous", i, e, wantOrder[i], i+1)
		}
	}
	scores[0].Composite = 95 // 110000 moves from 4 to 1
	second := Rank(scores, first, 8, time.Date(2017, 3, 1, 3, 0, 0, 0, time.UTC))
	want := []RankEntry{
		{1, "110000", 95, GradeLow, 4, 3},
		{2, "330000", 91.2, GradeVeryHigh, 1, -1},
		{3, "320000", 88, GradeHigh, 2, -1},
		{4, "520000", 88, GradeHigh, 3, -1},
		{5, "120000", 0, GradeLow, 5, 0},
	}
	for i, e := range second.Entries {
		if e != want[i] {
			t.Fatalf("second ranking entry %d = %+v, want %+v", i, e, want[i])
		}
	}
	if second.Version != 8 || second.Method != Method {
		t.Fatalf("ranking header: %+v", second)
	}
}

func TestLessAndCompareAgree(t *testing.T) {
	es := []RankEntry{{Region: "1", Composite: 2}, {Region: "2", Composite: 2}, {Region: "0", Composite: 1}, {Region: "3", Composite: 3}}
	for _, a := range es {
		for _, b := range es {
			if Less(a.Composite, a.Region, b.Composite, b.Region) != (Compare(a, b) < 0) {
				t.Fatalf("Less and Compare disagree on %+v, %+v", a, b)
			}
		}
	}
}

func TestJSON(t *testing.T) {
	rk := Ranking{Version: 3, AsOf: time.Date(2017, 3, 1, 2, 0, 0, 5, time.UTC), Method: Method,
		Entries: []RankEntry{{Rank: 1, Region: "330000", Composite: 91.2, Grade: GradeVeryHigh, PrevRank: 2, Change: 1}}}
	b, err := json.Marshal(rk)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":3,"as_of":"2017-03-01T02:00:00.000000005Z","method":"2017","ranking":[{"rank":1,"region":"330000","composite":91.2,"grade":"very_high","prev_rank":2,"change":1}]}`
	if string(b) != want {
		t.Fatalf("ranking JSON\n got %s\nwant %s", b, want)
	}

	s := newZJ().Score(Window{Start: t0, End: t0.Add(24 * time.Hour)}, t0, 9)
	b, err = json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(`region name_zh name_en as_of method version service_modes item_coverage
		guide_accuracy online_maturity composite grade satisfaction platform_levels integrated portals
		published_items modes_total maturity_total required_province covered_province required_city
		covered_city required_county covered_county required_township covered_township audited_items
		audit_correct_consistent audit_correct_inconsistent applications applications_online_completed
		ratings rating_sum window_start window_end`)
	if len(m) != len(fields) {
		t.Fatalf("score JSON has %d fields, want %d: %s", len(m), len(fields), b)
	}
	for _, f := range fields {
		if _, ok := m[f]; !ok {
			t.Fatalf("score JSON lacks %q: %s", f, b)
		}
	}
	if m["satisfaction"] != nil || m["as_of"] != "2017-03-01T10:00:00Z" || m["method"] != "2017" {
		t.Fatalf("score JSON values: %s", b)
	}
	var back Score
	if err := json.Unmarshal(b, &back); err != nil || back.Version != 9 || back.Satisfaction != nil {
		t.Fatalf("score JSON round trip: %v %+v", err, back)
	}
}
