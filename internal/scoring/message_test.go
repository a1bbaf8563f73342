package scoring_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenScore is a score of method 2017 with every member set.
func goldenScore() scoring.Score {
	cst := time.FixedZone("CST", 8*3600)
	sat := 66.666667
	return scoring.Score{
		Region: "330000", NameZH: "浙江省", NameEN: "Zhejiang", AsOf: time.Date(2016, 12, 20, 11, 50, 0, 123456789, cst).UTC(),
		Method: "2017", Version: 23,
		ServiceModes: 20.833333, ItemCoverage: 71.428571, GuideAccuracy: 57.5, OnlineMaturity: 48.333333,
		Composite: 49.523809, Grade: scoring.GradeLow, Satisfaction: &sat,
		PlatformLevels: 2, Integrated: true, Portals: 12,
		Counts: scoring.Counts{
			PublishedItems: 3, ModesTotal: 5, MaturityTotal: 6,
			RequiredProvince: 2, CoveredProvince: 1, RequiredCity: 1, CoveredCity: 1,
			RequiredCounty: 4, CoveredCounty: 3, RequiredTownship: 6, CoveredTownship: 5,
			AuditedItems: 2, AuditCorrectConsistent: 6, AuditCorrectInconsistent: 4,
			Applications: 3, ApplicationsOnlineCompleted: 1, Ratings: 3, RatingSum: 11,
		},
		WindowStart: time.Date(2016, 11, 21, 0, 0, 0, 0, cst).UTC(), WindowEnd: time.Date(2016, 12, 21, 0, 0, 0, 0, cst).UTC(),
	}
}

// TestScoreMessageGolden checks that the govpulse.scores.<region> message of a method 2017 score
// is byte for byte the one in testdata (the interface specification's format).
func TestScoreMessageGolden(t *testing.T) {
	sc := goldenScore()
	got, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "score_message_2017.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.TrimSuffix(want, []byte("\n"))) {
		t.Errorf("score message:\n got %s\nwant %s", got, want)
	}
	// Without satisfaction the member is null.
	sc.Satisfaction = nil
	got, _ = json.Marshal(sc)
	if !bytes.Contains(got, []byte(`"satisfaction":null`)) {
		t.Errorf("score without ratings: %s, want satisfaction null", got)
	}
}
