package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/windows"
)

// Window geometry: days of China Standard Time (UTC+8).
const (
	day        = 24 * time.Hour
	cstOffset  = 8 * time.Hour
	rollDays   = RollingDays
	rollLength = rollDays * day
)

// RollingDays is the length of the rolling window of the user-experience
// counts, in UTC+8 days.
const RollingDays = 30

// dayStart returns the start of the UTC+8 calendar day that contains t.
func dayStart(t time.Time) time.Time {
	n := t.UnixNano() + int64(cstOffset)
	d := n / int64(day)
	if n%int64(day) < 0 {
		d--
	}
	return time.Unix(0, d*int64(day)-int64(cstOffset)).UTC()
}

// dayNumber returns the number of the UTC+8 calendar day that contains t.
func dayNumber(t time.Time) int64 {
	return (dayStart(t).UnixNano() + int64(cstOffset)) / int64(day)
}

// Metric indices of the hourly windows.
const (
	metricFeedback = iota
	metricApplication
	metricCount
)

// ux is one user-experience event as the windows see it.
type ux struct {
	metric  uint8
	rating  uint8 // 1..5, feedback
	outcome uint8 // 0 completed, 1 abandoned, 2 rejected
	online  bool
	noVisit bool // no visit in person
	timed   bool // promised_days and took_days given
	onTime  bool // took_days <= promised_days
}

// rollAcc is the rolling window aggregate of a region: what the scores
// need.
type rollAcc struct {
	ratings, ratingSum, applications, onlineCompleted int64
	// The counts of method 2022: ratings of 1 or 2, and completed
	// applications without a visit, timed, and on time.
	ratingsBad, noVisit, timed, onTime int64
}

// rolling aggregates rollAcc.
type rolling struct{}

func (rolling) Add(a rollAcc, in ux) rollAcc {
	if in.metric == metricFeedback {
		a.ratings++
		a.ratingSum += int64(in.rating)
		if in.rating <= 2 {
			a.ratingsBad++
		}
		return a
	}
	a.applications++
	if in.outcome != 0 {
		return a
	}
	if in.online {
		a.onlineCompleted++
	}
	if in.noVisit {
		a.noVisit++
	}
	if in.timed {
		a.timed++
		if in.onTime {
			a.onTime++
		}
	}
	return a
}

func (rolling) Merge(a, b rollAcc) rollAcc {
	return rollAcc{a.ratings + b.ratings, a.ratingSum + b.ratingSum,
		a.applications + b.applications, a.onlineCompleted + b.onlineCompleted,
		a.ratingsBad + b.ratingsBad, a.noVisit + b.noVisit, a.timed + b.timed, a.onTime + b.onTime}
}

func (rolling) Result(a rollAcc) rollAcc { return a }

// hourAcc is the aggregate of one hourly window of one region and metric.
type hourAcc struct {
	count, ratingSum                                int64
	ratings                                         [5]int64
	completed, abandoned, rejected, onlineCompleted int64
}

// hourly aggregates hourAcc.
type hourly struct{}

func (hourly) Add(a hourAcc, in ux) hourAcc {
	a.count++
	if in.metric == metricFeedback {
		a.ratingSum += int64(in.rating)
		a.ratings[in.rating-1]++
		return a
	}
	switch in.outcome {
	case 0:
		a.completed++
		if in.online {
			a.onlineCompleted++
		}
	case 1:
		a.abandoned++
	default:
		a.rejected++
	}
	return a
}

func (hourly) Merge(a, b hourAcc) hourAcc {
	a.count += b.count
	a.ratingSum += b.ratingSum
	for i := range a.ratings {
		a.ratings[i] += b.ratings[i]
	}
	a.completed += b.completed
	a.abandoned += b.abandoned
	a.rejected += b.rejected
	a.onlineCompleted += b.onlineCompleted
	return a
}

func (hourly) Result(a hourAcc) hourAcc { return a }

// errCodec is returned by the accumulator codecs for short input.
var errCodec = errors.New("engine: bad accumulator")

// int64sCodec encodes a fixed number of int64 fields as varints.
func appendInt64s(dst []byte, vs ...int64) []byte {
	for _, v := range vs {
		dst = binary.AppendVarint(dst, v)
	}
	return dst
}

func readInt64s(src []byte, vs ...*int64) ([]byte, error) {
	for _, p := range vs {
		v, n := binary.Varint(src)
		if n <= 0 {
			return src, fmt.Errorf("%w: %w", windows.ErrCorrupt, errCodec)
		}
		*p, src = v, src[n:]
	}
	return src, nil
}

type rollCodec struct{}

func (rollCodec) Append(dst []byte, a rollAcc) []byte {
	return appendInt64s(dst, a.ratings, a.ratingSum, a.applications, a.onlineCompleted,
		a.ratingsBad, a.noVisit, a.timed, a.onTime)
}

func (rollCodec) Read(src []byte) (rollAcc, []byte, error) {
	var a rollAcc
	rest, err := readInt64s(src, &a.ratings, &a.ratingSum, &a.applications, &a.onlineCompleted,
		&a.ratingsBad, &a.noVisit, &a.timed, &a.onTime)
	return a, rest, err
}

type hourCodec struct{}

func (hourCodec) Append(dst []byte, a hourAcc) []byte {
	return appendInt64s(dst, a.count, a.ratingSum, a.ratings[0], a.ratings[1], a.ratings[2], a.ratings[3],
		a.ratings[4], a.completed, a.abandoned, a.rejected, a.onlineCompleted)
}

func (hourCodec) Read(src []byte) (hourAcc, []byte, error) {
	var a hourAcc
	rest, err := readInt64s(src, &a.count, &a.ratingSum, &a.ratings[0], &a.ratings[1], &a.ratings[2],
		&a.ratings[3], &a.ratings[4], &a.completed, &a.abandoned, &a.rejected, &a.onlineCompleted)
	return a, rest, err
}

// window returns the counts of a rolling window aggregate, in w.
func (a rollAcc) window(w *scoring.Window) {
	w.Ratings, w.RatingSum, w.RatingsBad = a.ratings, a.ratingSum, a.ratingsBad
	w.Applications, w.OnlineCompleted = a.applications, a.onlineCompleted
	w.NoVisit, w.Timed, w.OnTime = a.noVisit, a.timed, a.onTime
}

// rollingConfig is the rolling window: 30 days, starting every UTC+8 day.
func rollingConfig(lateness time.Duration) windows.Config {
	return windows.Config{Size: rollLength, Hop: day, Offset: cstOffset, AllowedLateness: lateness,
		DiscardChanged: true, DiscardFinal: true}
}

// hourlyConfig is the hourly tumbling window of the windows table.
func hourlyConfig(lateness time.Duration) windows.Config {
	return windows.Config{Size: time.Hour, AllowedLateness: lateness, DiscardFinal: true}
}
