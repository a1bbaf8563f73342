package chstore

import "time"

// A time.Time field whose table has a column of Unix nanoseconds beside the DateTime column (such
// as EventRow.Time: columns time and time_ns) is written to both and read back from the nanoseconds,
// so it round-trips at full precision. Other time.Time fields are stored in whole seconds (UTC).
// The zero time.Time is stored as 0 (1970-01-01T00:00:00Z) and read back as the zero time.Time.

// EventRow is a row of the events table: one accepted event, keyed by (Region, ID).
type EventRow struct {
	Region     string
	ID         string
	Type       string
	Time       time.Time // event time: columns time and time_ns
	IngestTime time.Time // when the stream stored the event (seconds)
	StreamSeq  uint64    // the event's sequence in the EVENTS stream; the highest wins on replay
	Source     string
	ItemCode   string // "" when the event names no item
	Level      string // "" when the event names no level
	Rating     uint8  // 1..5 for feedback.rated, 0 otherwise
	Channel    string // feedback.rated only
	Outcome    string // application.completed only
	Payload    string // the canonical event JSON
}

// RankingRow is a row of the method_rankings table (and of the rankings view, method 2017's): one
// rank of one ranking version.
type RankingRow struct {
	Version   uint64
	AsOf      time.Time // columns as_of and as_of_ns
	Method    string
	Rank      uint8 // 1..32
	Region    string
	Composite float64
	Grade     string
	PrevRank  uint8 // rank in the previous ranking, 0 when there was none
	Change    int16 // places moved since the previous ranking, as computed by the caller
}

// WindowRow is a row of the windows table: the aggregate of one metric of one region over one
// event-time window; a corrected result is written again with a higher version.
type WindowRow struct {
	Region          string
	Metric          string
	WindowStart     time.Time // seconds
	WindowEnd       time.Time // seconds
	Version         uint64
	Count           uint64
	RatingSum       uint64
	RatingCounts    [5]uint64 // columns rating_1 .. rating_5
	Completed       uint64
	Abandoned       uint64
	Rejected        uint64
	OnlineCompleted uint64
}

// LateEventRow is a row of the late_events table: an event too late for its window.
type LateEventRow struct {
	Region     string
	ID         string
	Type       string
	Time       time.Time // columns time and time_ns
	StreamSeq  uint64
	Watermark  time.Time // the watermark it was judged against: columns watermark and watermark_ns
	Reason     string
	Payload    string
	RecordedAt time.Time // seconds
}

// DLQRow is a row of the dlq table: a message archived from the DLQ stream.
type DLQRow struct {
	Stage      string
	Reason     string
	ReasonCode string
	Source     string
	ReceivedAt time.Time // seconds
	StreamSeq  uint64    // sequence in the DLQ stream
	EventID    string    // "" when the body was not a readable event
	Region     string
	Type       string
	Body       string // the original bytes
}

// Batch holds the rows of one flush. Write stores each non-empty slice with one INSERT.
type Batch struct {
	Events     []EventRow
	Windows    []WindowRow
	LateEvents []LateEventRow
	DLQ        []DLQRow
	// MethodScores and MethodRankings are the scores and rankings of every method (2017 included),
	// for the tables method_scores and method_rankings; the views scores and rankings show method
	// 2017's rows of them (migration 0011).
	MethodScores   []ScoreRow
	MethodRankings []RankingRow
	// ScoreChanges, ScoreCauses and RankChanges explain the changes of the scores and rankings
	// (of every method in MethodScores and MethodRankings).
	ScoreChanges []ScoreChangeRow
	ScoreCauses  []ScoreCauseRow
	RankChanges  []RankChangeRow
	// Inconsistencies and PortalCounts are the changes of the units' portal state.
	Inconsistencies []InconsistencyRow
	PortalCounts    []PortalCountsRow
	// GroupRankings are the rankings of groups of units beside the provincial units.
	GroupRankings []GroupRankingRow
	// ReviewStats and Alerts are the outputs of the lifecycle of reviews (reviews.go).
	ReviewStats []ReviewStatRow
	Alerts      []AlertRow
}

// Len returns the number of rows in b.
func (b Batch) Len() int {
	return len(b.Events) + len(b.Windows) + len(b.LateEvents) + len(b.DLQ) +
		len(b.MethodScores) + len(b.MethodRankings) + len(b.ScoreChanges) + len(b.ScoreCauses) + len(b.RankChanges) +
		len(b.Inconsistencies) + len(b.PortalCounts) +
		len(b.GroupRankings) + len(b.ReviewStats) + len(b.Alerts)
}

// dt converts a time to what a DateTime column stores.
func dt(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}

// ns converts a time to what an _ns column stores.
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromDT converts a DateTime column read back to a time.
func fromDT(t time.Time) time.Time {
	if t.Unix() == 0 {
		return time.Time{}
	}
	return t.UTC()
}

// fromNS converts an _ns column read back to a time.
func fromNS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}
