package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
// need. Its counts are 32 bits, as hourAcc's (a day pane of every unit is
// held for the window and the allowed lateness): one unit's ratings of a
// 30-day window stay far below 2³²/5, the bound of their sum (that would be
// 330 a second for the whole month, a third of a million times the 1,000,000
// ratings a day of every unit together spread over 3,200 units), and the
// counts saturate rather than wrap.
type rollAcc struct {
	ratings, ratingSum, applications, onlineCompleted uint32
	// The counts of method 2022: ratings of 1 or 2, and completed
	// applications without a visit, timed, and on time.
	ratingsBad, noVisit, timed, onTime uint32
}

// rolling aggregates rollAcc.
type rolling struct{}

func (rolling) Add(a rollAcc, in ux) rollAcc { return a.count(in, add32) }

// count applies op (add32 or sub32) to every count of a that input in
// touches, with the rating's value for the sum: one rule for Add and
// Subtract.
func (a rollAcc) count(in ux, op func(a, b uint32) uint32) rollAcc {
	if in.metric == metricFeedback {
		a.ratings = op(a.ratings, 1)
		a.ratingSum = op(a.ratingSum, uint32(in.rating))
		if in.rating <= 2 {
			a.ratingsBad = op(a.ratingsBad, 1)
		}
		return a
	}
	a.applications = op(a.applications, 1)
	if in.outcome != 0 {
		return a
	}
	if in.online {
		a.onlineCompleted = op(a.onlineCompleted, 1)
	}
	if in.noVisit {
		a.noVisit = op(a.noVisit, 1)
	}
	if in.timed {
		a.timed = op(a.timed, 1)
		if in.onTime {
			a.onTime = op(a.onTime, 1)
		}
	}
	return a
}

func (rolling) Merge(a, b rollAcc) rollAcc {
	return rollAcc{add32(a.ratings, b.ratings), add32(a.ratingSum, b.ratingSum),
		add32(a.applications, b.applications), add32(a.onlineCompleted, b.onlineCompleted),
		add32(a.ratingsBad, b.ratingsBad), add32(a.noVisit, b.noVisit), add32(a.timed, b.timed), add32(a.onTime, b.onTime)}
}

func (rolling) Result(a rollAcc) rollAcc { return a }

// hourAcc is the aggregate of one hourly window of one region and metric.
// Its counts are 32 bits (an hourly pane of every unit is held for the
// allowed lateness, so its size is most of the windows' memory): one unit's
// events of one metric in one hour stay far below 2³² (that would be 1.2
// million a second for the whole hour, beyond what ingest accepts), and
// the counts saturate rather than wrap. The sum of the ratings is derived
// from their histogram (sum).
type hourAcc struct {
	count                                           uint32
	ratings                                         [5]uint32
	completed, abandoned, rejected, onlineCompleted uint32
}

// sum returns the sum of the ratings.
func (a hourAcc) sum() int64 {
	var s int64
	for i, n := range a.ratings {
		s += int64(i+1) * int64(n)
	}
	return s
}

// add32 returns a+b, or the largest uint32 if that overflows.
func add32(a, b uint32) uint32 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint32
}

// sub32 returns a-b, or 0 if that would be negative.
func sub32(a, b uint32) uint32 {
	if b > a {
		return 0
	}
	return a - b
}

// hourly aggregates hourAcc.
type hourly struct{}

func (hourly) Add(a hourAcc, in ux) hourAcc { return a.count1(in, add32) }

// count1 counts one input into a with op (add32 to add it, sub32 to take it back out): the one
// place that says which counts an input touches.
func (a hourAcc) count1(in ux, op func(x, y uint32) uint32) hourAcc {
	a.count = op(a.count, 1)
	if in.metric == metricFeedback {
		a.ratings[in.rating-1] = op(a.ratings[in.rating-1], 1)
		return a
	}
	switch in.outcome {
	case 0:
		a.completed = op(a.completed, 1)
		if in.online {
			a.onlineCompleted = op(a.onlineCompleted, 1)
		}
	case 1:
		a.abandoned = op(a.abandoned, 1)
	default:
		a.rejected = op(a.rejected, 1)
	}
	return a
}

func (hourly) Merge(a, b hourAcc) hourAcc {
	a.count = add32(a.count, b.count)
	for i := range a.ratings {
		a.ratings[i] = add32(a.ratings[i], b.ratings[i])
	}
	a.completed = add32(a.completed, b.completed)
	a.abandoned = add32(a.abandoned, b.abandoned)
	a.rejected = add32(a.rejected, b.rejected)
	a.onlineCompleted = add32(a.onlineCompleted, b.onlineCompleted)
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
	return appendInt64s(dst, int64(a.ratings), int64(a.ratingSum), int64(a.applications), int64(a.onlineCompleted),
		int64(a.ratingsBad), int64(a.noVisit), int64(a.timed), int64(a.onTime))
}

// Read reads what Append writes (varints, as when the counts were 64 bits:
// the format is unchanged); a count beyond 32 bits is corrupt.
func (rollCodec) Read(src []byte) (rollAcc, []byte, error) {
	var vs [8]int64
	rest, err := readInt64s(src, &vs[0], &vs[1], &vs[2], &vs[3], &vs[4], &vs[5], &vs[6], &vs[7])
	if err != nil {
		return rollAcc{}, src, err
	}
	var a rollAcc
	for i, p := range []*uint32{&a.ratings, &a.ratingSum, &a.applications, &a.onlineCompleted,
		&a.ratingsBad, &a.noVisit, &a.timed, &a.onTime} {
		if vs[i] < 0 || vs[i] > math.MaxUint32 {
			return rollAcc{}, src, fmt.Errorf("%w: %w: count %d", windows.ErrCorrupt, errCodec, vs[i])
		}
		*p = uint32(vs[i])
	}
	return a, rest, nil
}

type hourCodec struct{}

// Append writes the counts as varints, with the sum of the ratings after
// the count as the format has it.
func (hourCodec) Append(dst []byte, a hourAcc) []byte {
	return appendInt64s(dst, int64(a.count), a.sum(), int64(a.ratings[0]), int64(a.ratings[1]),
		int64(a.ratings[2]), int64(a.ratings[3]), int64(a.ratings[4]), int64(a.completed),
		int64(a.abandoned), int64(a.rejected), int64(a.onlineCompleted))
}

// Read reads what Append writes; a count beyond 32 bits or a sum of the
// ratings that disagrees with their histogram is corrupt.
func (hourCodec) Read(src []byte) (hourAcc, []byte, error) {
	var vs [11]int64
	rest, err := readInt64s(src, &vs[0], &vs[1], &vs[2], &vs[3], &vs[4], &vs[5], &vs[6], &vs[7],
		&vs[8], &vs[9], &vs[10])
	if err != nil {
		return hourAcc{}, src, err
	}
	var a hourAcc
	fields := []*uint32{&a.count, nil, &a.ratings[0], &a.ratings[1], &a.ratings[2], &a.ratings[3],
		&a.ratings[4], &a.completed, &a.abandoned, &a.rejected, &a.onlineCompleted}
	for i, p := range fields {
		if p == nil {
			continue
		}
		if vs[i] < 0 || vs[i] > math.MaxUint32 {
			return hourAcc{}, src, fmt.Errorf("%w: %w: count %d", windows.ErrCorrupt, errCodec, vs[i])
		}
		*p = uint32(vs[i])
	}
	if a.sum() != vs[1] {
		return hourAcc{}, src, fmt.Errorf("%w: %w: sum of ratings %d, histogram gives %d", windows.ErrCorrupt, errCodec, vs[1], a.sum())
	}
	return a, rest, nil
}

// window returns the counts of a rolling window aggregate, in w.
func (a rollAcc) window(w *scoring.Window) {
	w.Ratings, w.RatingSum, w.RatingsBad = int64(a.ratings), int64(a.ratingSum), int64(a.ratingsBad)
	w.Applications, w.OnlineCompleted = int64(a.applications), int64(a.onlineCompleted)
	w.NoVisit, w.Timed, w.OnTime = int64(a.noVisit), int64(a.timed), int64(a.onTime)
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
