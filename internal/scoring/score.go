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
}

// Score is one region's score under method 2017 at one watermark, and the one
// definition of a score's fields: its JSON form is the govpulse.scores.<region>
// message, and its fields with a chtype tag are the columns of the scores table and
// of the latest_scores and score_history views. A chtype tag gives the ClickHouse
// type of the column named by the json tag; ",ns" adds a column <name>_ns Int64
// with the same instant in Unix nanoseconds (internal/chstore writes and reads
// the columns from these tags, and a test checks them against the schema).
// Indices are 0..100, rounded to 6 decimals; every one is computed from the
// Counts stored with it (see Evaluate).
type Score struct {
	Region string    `json:"region" chtype:"String"`            // region code
	NameZH string    `json:"name_zh"`                           // Chinese name of the unit (not stored: the views join it)
	NameEN string    `json:"name_en"`                           // English name of the unit (not stored)
	AsOf   time.Time `json:"as_of" chtype:"DateTime('UTC'),ns"` // the watermark the score is computed at, UTC
	Method string    `json:"method" chtype:"String"`            // the method's id
	// Version is the stream sequence of the event that produced this score.
	Version uint64 `json:"version" chtype:"UInt64"`

	ServiceModes   float64 `json:"service_modes" chtype:"Float64"`   // 100 * modes_total / (8 * published_items)
	ItemCoverage   float64 `json:"item_coverage" chtype:"Float64"`   // weighted covered/required over the levels with required items
	GuideAccuracy  float64 `json:"guide_accuracy" chtype:"Float64"`  // 100 * (cc + 0.8 ci) / (8 * audited_items)
	OnlineMaturity float64 `json:"online_maturity" chtype:"Float64"` // 100 * (0.5 D + 0.3 O + 0.2 S) / weights present
	Composite      float64 `json:"composite" chtype:"Float64"`       // mean of the four rounded sub-indices, rounded
	Grade          Grade   `json:"grade" chtype:"String"`            // band of the rounded composite
	// Satisfaction is 100 * (rating_sum/ratings - 1) / 4, nil when the
	// window has no ratings.
	Satisfaction *float64 `json:"satisfaction" chtype:"Nullable(Float64)"`

	// PlatformLevels counts the levels joined to the provincial platform
	// from province down without a gap (0..4).
	PlatformLevels int   `json:"platform_levels" chtype:"UInt8"`
	Integrated     bool  `json:"integrated" chtype:"UInt8"` // the platform is integrated
	Portals        int64 `json:"portals" chtype:"UInt32"`   // number of portals (not scored)

	Counts

	WindowStart time.Time `json:"window_start" chtype:"DateTime('UTC')"` // rolling window start, UTC
	WindowEnd   time.Time `json:"window_end" chtype:"DateTime('UTC')"`   // rolling window end (exclusive), UTC
}

// setIndices stores the rounded indices in s.
func (s *Score) setIndices(ix *Indices) {
	s.ServiceModes = ix.ServiceModes.Float()
	s.ItemCoverage = ix.ItemCoverage.Float()
	s.GuideAccuracy = ix.GuideAccuracy.Float()
	s.OnlineMaturity = ix.OnlineMaturity.Float()
	s.Composite = ix.Composite.Float()
	s.Grade = ix.Grade
	s.Satisfaction = nil
	if ix.HasSatisfaction {
		v := ix.Satisfaction.Float()
		s.Satisfaction = &v
	}
}
