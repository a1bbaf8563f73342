package events

import "time"

// parseTime parses an RFC 3339 date-time strictly (see the package
// documentation) and returns it in UTC.
func parseTime(b []byte) (time.Time, *Error) {
	const rule = "must be an RFC 3339 date-time with upper-case T and Z or a numeric offset"
	bad := func() (time.Time, *Error) { return time.Time{}, newError("time", ReasonBadFormat, rule) }
	// 2006-01-02T15:04:05 is 19 bytes, followed by [.fraction] and a zone.
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return bad()
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 59 {
		return bad()
	}
	i := 19
	nsec := 0
	if b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		n := i - start
		switch {
		case n == 0:
			return bad()
		case n > 9:
			return time.Time{}, newError("time", ReasonBadFormat, "must have at most 9 fraction digits")
		}
		for k := start; k < start+9; k++ {
			nsec *= 10
			if k < i {
				nsec += int(b[k] - '0')
			}
		}
	}
	if i >= len(b) {
		return bad()
	}
	offset := 0
	switch b[i] {
	case 'Z':
		i++
	case '+', '-':
		if len(b)-i != 6 || b[i+3] != ':' {
			return bad()
		}
		oh, okh := digits(b[i+1 : i+3])
		om, okm := digits(b[i+4 : i+6])
		if !okh || !okm || oh > 23 || om > 59 {
			return bad()
		}
		offset = oh*3600 + om*60
		if b[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return bad()
	}
	if i != len(b) {
		return bad()
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if offset != 0 {
		t = t.Add(-time.Duration(offset) * time.Second)
	}
	if err := checkTimeValue(t); err != nil {
		return time.Time{}, err
	}
	return t, nil
}

// digits parses a run of ASCII digits.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
