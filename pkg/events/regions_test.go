package events_test

import (
	"encoding/csv"
	"os"
	"testing"

	"github.com/govpulse/govpulse/pkg/events"
)

func TestRegions(t *testing.T) {
	f, err := os.Open("regions.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	regions := events.Regions()
	if len(regions) != 32 || len(recs) != 33 {
		t.Fatalf("%d regions, %d CSV records", len(regions), len(recs))
	}
	for i, r := range regions {
		rec := recs[i+1]
		if r.Code != rec[0] || r.NameZH != rec[1] || r.NameEN != rec[2] || r.ISO != rec[3] {
			t.Errorf("region %d = %+v, CSV %v", i, r, rec)
		}
		got, ok := events.LookupRegion(r.Code)
		if !ok || got != r {
			t.Errorf("LookupRegion(%q) = %+v, %v", r.Code, got, ok)
		}
		if i > 0 && regions[i-1].Code >= r.Code {
			t.Errorf("regions not in code order at %d", i)
		}
	}
	if zj, _ := events.LookupRegion("330000"); zj.NameZH != "浙江省" || zj.NameEN != "Zhejiang" || zj.ISO != "CN-ZJ" {
		t.Errorf("Zhejiang = %+v", zj)
	}
	for _, code := range []string{"", "330001", "33000", "CN-ZJ", "Zhejiang"} {
		if _, ok := events.LookupRegion(code); ok {
			t.Errorf("LookupRegion(%q) found a region", code)
		}
	}
	regions[0].Code = "changed"
	if events.Regions()[0].Code != "110000" {
		t.Errorf("Regions() shares its slice")
	}
}
