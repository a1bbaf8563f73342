package workdays

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// cstOffset is the offset of China Standard Time from UTC.
const cstOffset = 8 * time.Hour

// Rules are local changes on top of the national calendar: days made days off and days made
// working days, as dates in China Standard Time (only the date of each time counts).
type Rules struct {
	Off  []time.Time
	Work []time.Time
}

// ParseRules reads local rules, one a line: "2024-05-06 off" or "2024-05-11 work"; blank lines and
// text after # are ignored.
func ParseRules(r io.Reader) (Rules, error) {
	var rules Rules
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return Rules{}, fmt.Errorf("workdays rules: line %d: want a date and off or work", n)
		}
		d, err := time.Parse(time.DateOnly, f[0])
		if err != nil {
			return Rules{}, fmt.Errorf("workdays rules: line %d: %w", n, err)
		}
		d = d.Add(-cstOffset) // midnight in China Standard Time
		switch f[1] {
		case "off":
			rules.Off = append(rules.Off, d)
		case "work":
			rules.Work = append(rules.Work, d)
		default:
			return Rules{}, fmt.Errorf("workdays rules: line %d: %q is neither off nor work", n, f[1])
		}
	}
	if err := sc.Err(); err != nil {
		return Rules{}, fmt.Errorf("workdays rules: %w", err)
	}
	return rules, nil
}

// Calendar tells working days apart from days off. It is immutable and safe for concurrent use.
type Calendar struct {
	years map[int]bool
	off   map[int32]bool
	work  map[int32]bool
}

// China returns the national calendar (weekends, public holidays, adjusted working days) with
// the local rules applied over it; a local rule wins over the national calendar.
func China(local Rules) *Calendar {
	years, off, work := chinaData()
	c := &Calendar{years: map[int]bool{}, off: map[int32]bool{}, work: map[int32]bool{}}
	for _, y := range years {
		c.years[y] = true
	}
	for _, d := range off {
		c.off[d] = true
	}
	for _, d := range work {
		c.work[d] = true
	}
	for _, t := range local.Off {
		d := dayOf(t)
		c.off[d], c.work[d] = true, false
	}
	for _, t := range local.Work {
		d := dayOf(t)
		c.work[d], c.off[d] = true, false
	}
	return c
}

// Covered reports whether the national calendar lists the holidays of year; in a year it does not
// list, only weekends (and local rules) are days off.
func (c *Calendar) Covered(year int) bool { return c.years[year] }

// dayOf returns the date of t in China Standard Time as yyyymmdd.
func dayOf(t time.Time) int32 {
	y, m, d := t.UTC().Add(cstOffset).Date()
	return int32(y*10000 + int(m)*100 + d)
}

// Workday reports whether the day of t (in China Standard Time) is a working day.
func (c *Calendar) Workday(t time.Time) bool {
	d := dayOf(t)
	switch {
	case c.work[d]:
		return true
	case c.off[d]:
		return false
	}
	wd := t.UTC().Add(cstOffset).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// startOfDay returns midnight, China Standard Time, of the day of t, in UTC.
func startOfDay(t time.Time) time.Time {
	l := t.UTC().Add(cstOffset)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC).Add(-cstOffset)
}

// Deadline returns the end of the days-th working day after the day of opened (the day of opening
// does not count): midnight, China Standard Time, at the start of the next day, in UTC. A
// rectification closed before it is on time. days < 1 gives the end of the day of opened.
func (c *Calendar) Deadline(opened time.Time, days int) time.Time {
	d := startOfDay(opened)
	for n := 0; n < days; {
		d = d.Add(24 * time.Hour)
		if c.Workday(d) {
			n++
		}
	}
	return d.Add(24 * time.Hour)
}

// Status is the state of a rectification against its deadline.
type Status int

// The statuses.
const (
	Open         Status = iota // not closed, deadline not reached
	Overdue                    // not closed at the deadline
	ClosedOnTime               // closed before the deadline
	ClosedLate                 // closed at or after the deadline
)

// String returns "open", "overdue", "closed_on_time" or "closed_late".
func (s Status) String() string {
	switch s {
	case Open:
		return "open"
	case Overdue:
		return "overdue"
	case ClosedOnTime:
		return "closed_on_time"
	case ClosedLate:
		return "closed_late"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Judge returns the status at watermark wm (event time) of a rectification opened at opened with a
// deadline of days working days, closed at closed (the zero time when not closed). It never reads
// the clock.
func (c *Calendar) Judge(opened time.Time, days int, closed, wm time.Time) Status {
	dl := c.Deadline(opened, days)
	if !closed.IsZero() {
		if closed.Before(dl) {
			return ClosedOnTime
		}
		return ClosedLate
	}
	if wm.Before(dl) {
		return Open
	}
	return Overdue
}
