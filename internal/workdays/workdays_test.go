package workdays

import (
	"strings"
	"testing"
	"time"
)

// cst returns a time given in China Standard Time.
func cst(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t.Add(-cstOffset)
}

func TestWorkday(t *testing.T) {
	c := China(Rules{})
	cases := []struct {
		day  string
		work bool
	}{
		{"2024-03-04 10:00", true},  // Monday
		{"2024-03-09 10:00", false}, // Saturday
		{"2024-10-01 00:00", false}, // National Day
		{"2024-10-07 23:59", false}, // National Day holiday, Monday
		{"2024-09-29 08:00", true},  // Sunday made a working day
		{"2024-10-12 08:00", true},  // Saturday made a working day
		{"2025-01-26 09:00", true},  // Sunday before the Spring Festival, a working day
		{"2025-01-29 09:00", false}, // Spring Festival
		{"2016-02-08 09:00", false}, // Spring Festival 2016
		{"2027-10-01 09:00", true},  // a Friday of a year the source does not list
		{"2027-10-02 09:00", false}, // a Saturday of that year
	}
	for _, tc := range cases {
		if got := c.Workday(cst(tc.day)); got != tc.work {
			t.Errorf("Workday(%s) = %v, want %v", tc.day, got, tc.work)
		}
	}
	// 2024-10-07 23:59 CST is 15:59 UTC of the same day; 2024-10-08 00:30 CST is 2024-10-07 in UTC.
	if !c.Workday(cst("2024-10-08 00:30")) {
		t.Errorf("the day is taken in UTC, not in China Standard Time")
	}
	for y := 2016; y <= 2026; y++ {
		if !c.Covered(y) {
			t.Errorf("year %d is not covered", y)
		}
	}
	if c.Covered(2015) || c.Covered(2027) {
		t.Errorf("a year outside the source is covered")
	}
}

func TestDeadline(t *testing.T) {
	c := China(Rules{})
	cases := []struct {
		name, opened string
		days         int
		want         string
	}{
		{"ordinary week", "2024-03-04 10:00", 5, "2024-03-12 00:00"},
		{"over a weekend", "2024-03-08 17:00", 1, "2024-03-12 00:00"},
		{"across National Day", "2024-09-27 10:00", 5, "2024-10-11 00:00"},
		{"across the Spring Festival", "2025-01-24 10:00", 3, "2025-02-06 00:00"},
		{"opened on a holiday", "2024-10-03 10:00", 1, "2024-10-09 00:00"},
		{"fifteen days", "2024-04-01 09:00", 15, "2024-04-24 00:00"},
		{"zero days", "2024-03-04 10:00", 0, "2024-03-05 00:00"},
	}
	for _, tc := range cases {
		if got, want := c.Deadline(cst(tc.opened), tc.days), cst(tc.want); !got.Equal(want) {
			t.Errorf("%s: Deadline(%s, %d) = %v, want %v", tc.name, tc.opened, tc.days, got.Add(cstOffset), tc.want)
		}
	}
}

func TestLocalRules(t *testing.T) {
	rules, err := ParseRules(strings.NewReader("# a local day off and a working Saturday\n2024-03-05 off\n\n2024-03-09 work # make-up day\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := China(rules)
	if c.Workday(cst("2024-03-05 12:00")) || !c.Workday(cst("2024-03-09 12:00")) {
		t.Fatalf("local rules not applied")
	}
	// Monday 4 March, 5 days: 6, 7, 8, 9 (Saturday, working), 11.
	if got, want := c.Deadline(cst("2024-03-04 10:00"), 5), cst("2024-03-12 00:00"); !got.Equal(want) {
		t.Errorf("Deadline = %v, want %v", got, want)
	}
	// A local rule wins over the national calendar.
	c = China(Rules{Work: []time.Time{cst("2024-10-02 00:00")}})
	if !c.Workday(cst("2024-10-02 10:00")) {
		t.Errorf("local working day on a holiday not applied")
	}
	for _, bad := range []string{"2024-03-05", "2024-13-01 off", "2024-03-05 holiday", "2024-03-05 off extra"} {
		if _, err := ParseRules(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseRules(%q) accepted", bad)
		}
	}
}

func TestJudge(t *testing.T) {
	c := China(Rules{})
	opened := cst("2024-09-27 10:00") // 5 working days: deadline 2024-10-11 00:00 CST
	var never time.Time
	cases := []struct {
		name       string
		closed, wm string
		want       Status
	}{
		{"open before the deadline", "", "2024-10-10 23:59", Open},
		{"overdue at the deadline", "", "2024-10-11 00:00", Overdue},
		{"closed on the last day", "2024-10-10 23:00", "2024-10-20 00:00", ClosedOnTime},
		{"closed late", "2024-10-11 09:00", "2024-10-11 09:00", ClosedLate},
	}
	for _, tc := range cases {
		closed := never
		if tc.closed != "" {
			closed = cst(tc.closed)
		}
		if got := c.Judge(opened, 5, closed, cst(tc.wm)); got != tc.want {
			t.Errorf("%s: Judge = %v, want %v", tc.name, got, tc.want)
		}
	}
	if Overdue.String() != "overdue" || ClosedOnTime.String() != "closed_on_time" {
		t.Errorf("Status.String is wrong")
	}
}
