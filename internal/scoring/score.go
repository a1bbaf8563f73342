package scoring

import "time"

// Window is what a score takes from the region's rolling window
// [Start, End): the counts of the user-experience events in it.
type Window struct {
	Start, End      time.Time
	Applications    int64 // application.completed events
	OnlineCompleted int64 // of which outcome completed and online
	Ratings         int64 // feedback.rated events
	RatingSum       int64 // sum of their ratings
	RatingsBad      int64 // of which rated 1 or 2 (差评)
	NoVisit         int64 // applications completed with no visit in person
	Timed           int64 // applications completed with promised_days and took_days
	OnTime          int64 // of which took_days <= promised_days
	// The rectifications of reviews opened in the window whose outcome is known (closed on time,
	// closed late, overdue at the watermark), and those closed on time (internal/reviews).
	RectificationsJudged, RectificationsOnTime int64
}

// Score is one region's score under one method at one watermark, and the one
// definition of a score's fields: its JSON form is the score message, and its
// fields with a chtype tag are the columns of the ClickHouse tables of scores.
// A chtype tag gives the ClickHouse type of the column named by the json tag,
// then options: ",ns" adds a column <name>_ns Int64 with the same instant in
// Unix nanoseconds; ",scores" puts the column in the scores view (and the
// latest_scores and score_history views) only, which shows method 2017's
// scores in its named columns, taken from method_scores; ",methods" puts it in the method_scores table
// only, which holds the scores of every method with their terms as arrays
// (type Terms: the columns term_names and term_values). A field without
// either option is a column of both. internal/chstore writes and reads the
// columns from these tags, and a test checks them against the schema.
// Indices are 0..100, rounded to 6 decimals; every one is computed from the
// Counts stored with it (see Spec.Evaluate).
type Score struct {
	Region string    `json:"region" chtype:"String"`            // region code
	NameZH string    `json:"name_zh"`                           // Chinese name of the unit (not stored: the views join it)
	NameEN string    `json:"name_en"`                           // English name of the unit (not stored)
	AsOf   time.Time `json:"as_of" chtype:"DateTime('UTC'),ns"` // the watermark the score is computed at, UTC
	Method string    `json:"method" chtype:"String"`            // the method's id
	// Version is the stream sequence of the event that produced this score.
	Version uint64 `json:"version" chtype:"UInt64"`

	// The sub-indices of method 2017 as named members and columns (zero in
	// the scores of other methods, whose terms are in Terms only).
	ServiceModes   float64 `json:"service_modes" chtype:"Float64,scores"`   // 100 * modes_total / (8 * published_items)
	ItemCoverage   float64 `json:"item_coverage" chtype:"Float64,scores"`   // weighted covered/required over the levels with required items
	GuideAccuracy  float64 `json:"guide_accuracy" chtype:"Float64,scores"`  // 100 * (cc + 0.8 ci) / (8 * audited_items)
	OnlineMaturity float64 `json:"online_maturity" chtype:"Float64,scores"` // 100 * (0.5 D + 0.3 O + 0.2 S) / weights present
	Composite      float64 `json:"composite" chtype:"Float64"`              // the weighted mean of the rounded scored terms, rounded
	Grade          Grade   `json:"grade" chtype:"String"`                   // band of the rounded composite
	// Satisfaction is method 2017's 100 * (rating_sum/ratings - 1) / 4, nil
	// when the window has no ratings (and in the scores of other methods).
	Satisfaction *float64 `json:"satisfaction" chtype:"Nullable(Float64),scores"`

	// PlatformLevels counts the levels joined to the provincial platform
	// from province down without a gap (0..4).
	PlatformLevels int   `json:"platform_levels" chtype:"UInt8"`
	Integrated     bool  `json:"integrated" chtype:"UInt8"` // the platform is integrated
	Portals        int64 `json:"portals" chtype:"UInt32"`   // number of portals (not scored)

	Counts

	// Terms are the values of every term of the method, in the order of its
	// Spec.Terms, for a method without named fields of its own (every method
	// but 2017, whose terms are the named fields above; Term.Value reads
	// either). In method_scores, the columns term_names and term_values hold
	// every method's terms as Term.Value gives them.
	Terms []TermValue `json:"terms,omitempty" chtype:"Terms,methods"`

	WindowStart time.Time `json:"window_start" chtype:"DateTime('UTC')"` // rolling window start, UTC
	WindowEnd   time.Time `json:"window_end" chtype:"DateTime('UTC')"`   // rolling window end (exclusive), UTC
}

// TermValue is the value of one term of a score.
type TermValue struct {
	Name  string   `json:"name"`  // Term.Name
	Value *float64 `json:"value"` // nil when the term has no value (a satisfaction without ratings)
}

// Clone returns a copy of s that shares no memory with it.
func (s Score) Clone() Score {
	s.Satisfaction = copyFloat(s.Satisfaction)
	if s.Terms != nil {
		terms := make([]TermValue, len(s.Terms))
		for i, t := range s.Terms {
			terms[i] = TermValue{Name: t.Name, Value: copyFloat(t.Value)}
		}
		s.Terms = terms
	}
	return s
}
