package events

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
)

// Region is one of the 32 assessed units.
type Region struct {
	Code   string // six digits, e.g. "330000"
	NameZH string // e.g. "浙江省"
	NameEN string // e.g. "Zhejiang"
	ISO    string // ISO 3166-2 code, e.g. "CN-ZJ"; "" when there is none
}

//go:embed regions.csv
var regionsCSV string

// regionTable is the parsed, read-only region list and its index by code.
type regionTable struct {
	list   []Region
	byCode map[string]int
}

// loadRegions parses the embedded list once; the result is never modified.
var loadRegions = sync.OnceValue(func() *regionTable {
	t, err := parseRegions(regionsCSV)
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return t
})

func parseRegions(s string) (*regionTable, error) {
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = 4
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("events: parse regions: %w", err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != "code,name_zh,name_en,iso_3166_2" {
		return nil, fmt.Errorf("events: parse regions: missing header")
	}
	t := &regionTable{byCode: make(map[string]int, len(recs)-1)}
	for i, rec := range recs[1:] {
		code := rec[0]
		if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
			return nil, fmt.Errorf("events: parse regions: line %d: bad code %q", i+2, code)
		}
		if _, dup := t.byCode[code]; dup {
			return nil, fmt.Errorf("events: parse regions: line %d: duplicate code %q", i+2, code)
		}
		t.byCode[code] = len(t.list)
		t.list = append(t.list, Region{Code: code, NameZH: rec[1], NameEN: rec[2], ISO: rec[3]})
	}
	return t, nil
}

// Regions returns the 32 regions in the order of the region list (by code).
// The slice is a fresh copy that the caller may modify.
func Regions() []Region {
	l := loadRegions().list
	out := make([]Region, len(l))
	copy(out, l)
	return out
}

// LookupRegion returns the region with the given code.
func LookupRegion(code string) (Region, bool) {
	t := loadRegions()
	i, ok := t.byCode[code]
	if !ok {
		return Region{}, false
	}
	return t.list[i], true
}

// internRegion returns the canonical code string for b when b is the code of
// a unit of the hierarchy (Units); it does not allocate.
func internRegion(b []byte) (string, bool) {
	t := loadUnits()
	i, ok := t.byCode[string(b)]
	if !ok {
		return "", false
	}
	return t.list[i].Code, true
}
