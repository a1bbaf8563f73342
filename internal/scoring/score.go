package scoring

import "time"

// Counts are the numbers behind every index of a score, stored with it so
// that a reader can check each index by hand. The portal counts describe
// the region's state; the last four describe its rolling window.
type Counts struct {
	// PublishedItems is |Pub|, the items whose latest service state is
	// published.
	PublishedItems int64 `json:"published_items"`
	// ModesTotal is the sum over Pub of the number of modes offered.
	ModesTotal int64 `json:"modes_total"`
	// MaturityTotal is the sum over Pub of the maturity level (0..4).
	MaturityTotal int64 `json:"maturity_total"`

	// RequiredProvince and the other Required fields are |Req_l|, the
	// catalogue items with required = true at each level; the Covered
	// fields are |Req_l ∩ Pub|.
	RequiredProvince int64 `json:"required_province"`
	CoveredProvince  int64 `json:"covered_province"` // |Req_province ∩ Pub|
	RequiredCity     int64 `json:"required_city"`    // |Req_city|
	CoveredCity      int64 `json:"covered_city"`     // |Req_city ∩ Pub|
	RequiredCounty   int64 `json:"required_county"`  // |Req_county|
	CoveredCounty    int64 `json:"covered_county"`   // |Req_county ∩ Pub|
	RequiredTownship int64 `json:"required_township"`
	CoveredTownship  int64 `json:"covered_township"` // |Req_township ∩ Pub|

	// AuditedItems is |Aud|, the items of Pub that have an audit.
	AuditedItems int64 `json:"audited_items"`
	// AuditCorrectConsistent is the number of correct elements summed over
	// the audits of Aud whose guide is consistent.
	AuditCorrectConsistent int64 `json:"audit_correct_consistent"`
	// AuditCorrectInconsistent is the same sum over the inconsistent ones
	// (their accuracy counts 0.8 times).
	AuditCorrectInconsistent int64 `json:"audit_correct_inconsistent"`

	// Applications is the number of application.completed events in the
	// rolling window.
	Applications int64 `json:"applications"`
	// ApplicationsOnlineCompleted counts those with outcome completed and
	// online true.
	ApplicationsOnlineCompleted int64 `json:"applications_online_completed"`
	// Ratings is the number of feedback.rated events in the rolling window.
	Ratings int64 `json:"ratings"`
	// RatingSum is the sum of their ratings (1..5 each).
	RatingSum int64 `json:"rating_sum"`
}

func (c *Counts) required() [LevelCount]int64 {
	return [LevelCount]int64{c.RequiredProvince, c.RequiredCity, c.RequiredCounty, c.RequiredTownship}
}

func (c *Counts) covered() [LevelCount]int64 {
	return [LevelCount]int64{c.CoveredProvince, c.CoveredCity, c.CoveredCounty, c.CoveredTownship}
}

func (c *Counts) setLevels(req, cov [LevelCount]int64) {
	c.RequiredProvince, c.RequiredCity, c.RequiredCounty, c.RequiredTownship = req[0], req[1], req[2], req[3]
	c.CoveredProvince, c.CoveredCity, c.CoveredCounty, c.CoveredTownship = cov[0], cov[1], cov[2], cov[3]
}

// Window is what a score takes from the region's rolling window
// [Start, End): the counts of the user-experience events in it.
type Window struct {
	Start, End      time.Time
	Applications    int64 // application.completed events
	OnlineCompleted int64 // of which outcome completed and online
	Ratings         int64 // feedback.rated events
	RatingSum       int64 // sum of their ratings
}

// Score is one region's score under method 2017 at one watermark. Its JSON
// form is the govpulse.scores.<region> message and a row of latest_scores.
// Indices are 0..100, rounded to 6 decimals; every one is computed from the
// Counts stored with it (see Evaluate).
type Score struct {
	Region string    `json:"region"`  // region code
	NameZH string    `json:"name_zh"` // Chinese name of the unit
	NameEN string    `json:"name_en"` // English name of the unit
	AsOf   time.Time `json:"as_of"`   // the watermark the score is computed at, UTC
	Method string    `json:"method"`  // Method
	// Version is the stream sequence of the event that produced this score.
	Version uint64 `json:"version"`

	ServiceModes   float64 `json:"service_modes"`   // 100 * modes_total / (8 * published_items)
	ItemCoverage   float64 `json:"item_coverage"`   // weighted covered/required over the levels with required items
	GuideAccuracy  float64 `json:"guide_accuracy"`  // 100 * (cc + 0.8 ci) / (8 * audited_items)
	OnlineMaturity float64 `json:"online_maturity"` // 100 * (0.5 D + 0.3 O + 0.2 S) / weights present
	Composite      float64 `json:"composite"`       // mean of the four rounded sub-indices, rounded
	Grade          Grade   `json:"grade"`           // band of the rounded composite
	// Satisfaction is 100 * (rating_sum/ratings - 1) / 4, nil when the
	// window has no ratings.
	Satisfaction *float64 `json:"satisfaction"`

	// PlatformLevels counts the levels joined to the provincial platform
	// from province down without a gap (0..4).
	PlatformLevels int   `json:"platform_levels"`
	Integrated     bool  `json:"integrated"` // the platform is integrated
	Portals        int64 `json:"portals"`    // number of portals (not scored)

	Counts

	WindowStart time.Time `json:"window_start"` // rolling window start, UTC
	WindowEnd   time.Time `json:"window_end"`   // rolling window end (exclusive), UTC
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
