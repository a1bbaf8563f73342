package scoring

// Method is the id of the scoring method this package implements. It is
// stored with every score and ranking; a later method is a new id and a new
// file, never an edit of this one.
const Method = "2017"

// method2017 describes the terms of method 2017; its formulas are Evaluate.
var method2017 = newSpec(Spec{
	ID:   Method,
	Name: "省级政府网上政务服务能力 (2017)",
	Terms: []Term{
		{Name: "service_modes", Label: "modes", LabelZH: "服务方式完备度", units: 1,
			Formula: "100 × modes_total / (8 × published_items)",
			Counts:  []string{"modes_total", "published_items"},
			Value:   termValue("service_modes", func(s *Score) *float64 { v := s.ServiceModes; return &v })},
		{Name: "item_coverage", Label: "coverage", LabelZH: "服务事项覆盖度", units: 1,
			Formula: "100 × Σ w × covered / required ÷ Σ w, over the levels with required items (w = 0.4, 0.3, 0.2, 0.1)",
			Counts: []string{"required_province", "covered_province", "required_city", "covered_city",
				"required_county", "covered_county", "required_township", "covered_township"},
			Value: termValue("item_coverage", func(s *Score) *float64 { v := s.ItemCoverage; return &v })},
		{Name: "guide_accuracy", Label: "guide", LabelZH: "办事指南准确度", units: 1,
			Formula: "100 × (audit_correct_consistent + 0.8 × audit_correct_inconsistent) / (8 × audited_items)",
			Counts:  []string{"audited_items", "audit_correct_consistent", "audit_correct_inconsistent"},
			Value:   termValue("guide_accuracy", func(s *Score) *float64 { v := s.GuideAccuracy; return &v })},
		{Name: "online_maturity", Label: "online", LabelZH: "在线服务成熟度", units: 1,
			Formula: "100 × (0.5 D + 0.3 O + 0.2 S) ÷ the weights present; D = maturity_total / (4 × published_items), " +
				"O = applications_online_completed / applications, S = (rating_sum − ratings) / (4 × ratings)",
			Counts: []string{"maturity_total", "published_items", "applications_online_completed", "applications", "rating_sum", "ratings"},
			Value:  termValue("online_maturity", func(s *Score) *float64 { v := s.OnlineMaturity; return &v })},
		{Name: "satisfaction", Label: "satisfaction", LabelZH: "满意度",
			Formula: "100 × (rating_sum / ratings − 1) / 4 (shown, not scored)",
			Counts:  []string{"rating_sum", "ratings"},
			Value:   termValue("satisfaction", func(s *Score) *float64 { return copyFloat(s.Satisfaction) })},
	},
	Bands: []Band{{Grade: GradeVeryHigh, Min: 90}, {Grade: GradeHigh, Min: 80}, {Grade: GradeMedium, Min: 60},
		{Grade: GradeLow}},
	Source: "the 2017 report (scoring.md): four sub-indices of equal weight; bands 90, 80 and 60",
	evaluate: func(c Counts) termResults {
		ix := Evaluate(&c)
		return termResults{{ix.ServiceModes, true}, {ix.ItemCoverage, true}, {ix.GuideAccuracy, true},
			{ix.OnlineMaturity, true}, {ix.Satisfaction, ix.HasSatisfaction}}
	},
	columns: func(res termResults) namedTerms {
		return namedTerms{serviceModes: res[0].Value.Float(), itemCoverage: res[1].Value.Float(),
			guideAccuracy: res[2].Value.Float(), onlineMaturity: res[3].Value.Float(),
			satisfaction: res[4].Value.Float(), hasSatisfaction: res[4].OK}
	},
})

// namedTerms are the values of the named fields of Score (method 2017's
// sub-indices and satisfaction).
type namedTerms struct {
	serviceModes, itemCoverage, guideAccuracy, onlineMaturity, satisfaction float64
	hasSatisfaction                                                         bool
}

// The weights, checklists and bands of method 2017. Weights are kept in
// tenths so that every formula is evaluated in integers.
const (
	// ModeCount is the size of the mode checklist.
	ModeCount = 8
	// ElementCount is the number of guide elements an audit judges.
	ElementCount = 8
	// MaxMaturity is the highest maturity level (entirely online).
	MaxMaturity = 4

	// inconsistentTenths is the factor 0.8 applied to the accuracy of an
	// audit whose guide is not consistent, in tenths.
	inconsistentTenths = 8
	consistentTenths   = 10

	// Weights of the online maturity terms D, O and S in tenths.
	weightDepth        = 5
	weightOnline       = 3
	weightSatisfaction = 2

	// Grade bands on the rounded composite, in micro-units.
	bandVeryHigh Micro = 90 * microScale
	bandHigh     Micro = 80 * microScale
	bandMedium   Micro = 60 * microScale
)

// levelWeight returns the item coverage weight of level index l (province,
// city, county, township, as in events.Levels), in tenths: 0.4, 0.3, 0.2,
// 0.1.
func levelWeight(l int) int64 { return int64(LevelCount - l) }

// LevelCount is the number of administrative levels.
const LevelCount = 4

// Grade is the band of a composite.
type Grade string

// The grades of method 2017.
const (
	GradeVeryHigh Grade = "very_high" // composite >= 90
	GradeHigh     Grade = "high"      // composite >= 80
	GradeMedium   Grade = "medium"    // composite >= 60
	GradeLow      Grade = "low"       // otherwise
)

// GradeOf returns the grade of a rounded composite given in micro-units.
func GradeOf(composite Micro) Grade {
	switch {
	case composite >= bandVeryHigh:
		return GradeVeryHigh
	case composite >= bandHigh:
		return GradeHigh
	case composite >= bandMedium:
		return GradeMedium
	default:
		return GradeLow
	}
}

// Indices are the rounded results of method 2017 for one set of counts, in
// micro-units.
type Indices struct {
	ServiceModes    Micro
	ItemCoverage    Micro
	GuideAccuracy   Micro
	OnlineMaturity  Micro
	Composite       Micro
	Satisfaction    Micro // valid only when HasSatisfaction
	HasSatisfaction bool  // false when the window has no ratings
	Grade           Grade
}

// Evaluate computes the sub-indices, composite, grade and satisfaction of
// method 2017 from the counts, exactly, rounding each to 6 decimals half
// away from zero (rule 9). Counts must be non-negative and consistent
// (covered <= required, correct sums <= 8 per audited item, ratings between
// 1 and 5); it allocates nothing unless an intermediate product exceeds 128
// bits.
func Evaluate(c *Counts) Indices {
	var ix Indices
	var ts terms

	// service_modes = 100 * mean over Pub of |modes| / 8.
	if c.PublishedItems > 0 {
		ts = terms{}
		ts.add(c.ModesTotal, c.PublishedItems, ModeCount, 1)
		ix.ServiceModes = percentMicro(&ts)
	}

	// item_coverage = 100 * sum_l w_l |Req_l ∩ Pub| / |Req_l| / sum_l w_l,
	// over the levels with required items.
	ts = terms{}
	req, cov := c.required(), c.covered()
	for l := 0; l < LevelCount; l++ {
		if req[l] > 0 {
			ts.add(cov[l], req[l], 1, levelWeight(l))
		}
	}
	ix.ItemCoverage = percentMicro(&ts)

	// guide_accuracy = 100 * mean over Aud of a_i, a_i = correct/8, times
	// 0.8 when not consistent = 100 * (10*cc/(8|Aud|) + 8*ci/(8|Aud|)) / 10.
	if c.AuditedItems > 0 {
		ts = terms{div: consistentTenths}
		ts.add(c.AuditCorrectConsistent, c.AuditedItems, ElementCount, consistentTenths)
		ts.add(c.AuditCorrectInconsistent, c.AuditedItems, ElementCount, inconsistentTenths)
		ix.GuideAccuracy = percentMicro(&ts)
	}

	// online_maturity = 100 * (0.5 D + 0.3 O + 0.2 S) / (weights present),
	// D = maturity total / (4 |Pub|), O = online completed / applications,
	// S = (rating sum - ratings) / (4 ratings).
	ts = terms{}
	if c.PublishedItems > 0 {
		ts.add(c.MaturityTotal, c.PublishedItems, MaxMaturity, weightDepth)
	}
	if c.Applications > 0 {
		ts.add(c.ApplicationsOnlineCompleted, c.Applications, 1, weightOnline)
	}
	if c.Ratings > 0 {
		ts.add(c.RatingSum-c.Ratings, c.Ratings, 4, weightSatisfaction)
	}
	ix.OnlineMaturity = percentMicro(&ts)

	// satisfaction = 100 * S = 100 * (mean rating - 1) / 4.
	if c.Ratings > 0 {
		ts = terms{}
		ts.add(c.RatingSum-c.Ratings, c.Ratings, 4, 1)
		ix.Satisfaction = percentMicro(&ts)
		ix.HasSatisfaction = true
	}

	ix.Composite = mean4Micro(ix.ServiceModes, ix.ItemCoverage, ix.GuideAccuracy, ix.OnlineMaturity)
	ix.Grade = GradeOf(ix.Composite)
	return ix
}

// Counts are the numbers behind every index of a method 2017 score, stored
// with it so that a reader can check each index by hand. A new count is one
// field here, after the last one (its json and chtype tags name and type the
// column and the message member; its place is its element of the column counts
// of method_scores), and one migration adding the column (docs/architecture.md). The portal counts describe
// the region's state; the last four describe its rolling window.
type Counts struct {
	// PublishedItems is |Pub|, the items whose latest service state is
	// published.
	PublishedItems int64 `json:"published_items" chtype:"UInt64"`
	// ModesTotal is the sum over Pub of the number of modes offered.
	ModesTotal int64 `json:"modes_total" chtype:"UInt64"`
	// MaturityTotal is the sum over Pub of the maturity level (0..4).
	MaturityTotal int64 `json:"maturity_total" chtype:"UInt64"`

	// RequiredProvince and the other Required fields are |Req_l|, the
	// catalogue items with required = true at each level; the Covered
	// fields are |Req_l ∩ Pub|.
	RequiredProvince int64 `json:"required_province" chtype:"UInt64"`
	CoveredProvince  int64 `json:"covered_province" chtype:"UInt64"` // |Req_province ∩ Pub|
	RequiredCity     int64 `json:"required_city" chtype:"UInt64"`    // |Req_city|
	CoveredCity      int64 `json:"covered_city" chtype:"UInt64"`     // |Req_city ∩ Pub|
	RequiredCounty   int64 `json:"required_county" chtype:"UInt64"`  // |Req_county|
	CoveredCounty    int64 `json:"covered_county" chtype:"UInt64"`   // |Req_county ∩ Pub|
	RequiredTownship int64 `json:"required_township" chtype:"UInt64"`
	CoveredTownship  int64 `json:"covered_township" chtype:"UInt64"` // |Req_township ∩ Pub|

	// AuditedItems is |Aud|, the items of Pub that have an audit.
	AuditedItems int64 `json:"audited_items" chtype:"UInt64"`
	// AuditCorrectConsistent is the number of correct elements summed over
	// the audits of Aud whose guide is consistent.
	AuditCorrectConsistent int64 `json:"audit_correct_consistent" chtype:"UInt64"`
	// AuditCorrectInconsistent is the same sum over the inconsistent ones
	// (their accuracy counts 0.8 times).
	AuditCorrectInconsistent int64 `json:"audit_correct_inconsistent" chtype:"UInt64"`

	// Applications is the number of application.completed events in the
	// rolling window.
	Applications int64 `json:"applications" chtype:"UInt64"`
	// ApplicationsOnlineCompleted counts those with outcome completed and
	// online true.
	ApplicationsOnlineCompleted int64 `json:"applications_online_completed" chtype:"UInt64"`
	// Ratings is the number of feedback.rated events in the rolling window.
	Ratings int64 `json:"ratings" chtype:"UInt64"`
	// RatingSum is the sum of their ratings (1..5 each).
	RatingSum int64 `json:"rating_sum" chtype:"UInt64"`

	// The counts added by method 2022 (columns of method_scores only). A
	// score carries the window counts its method's terms name; the others
	// are zero (and these four are then left out of its message).

	// RatingsBad counts the ratings of 1 or 2 (不满意, 非常不满意: 差评).
	RatingsBad int64 `json:"ratings_bad,omitzero" chtype:"UInt64,methods"`
	// ApplicationsNoVisit counts the applications with outcome completed
	// and no visit in person (visits = 0).
	ApplicationsNoVisit int64 `json:"applications_no_visit,omitzero" chtype:"UInt64,methods"`
	// ApplicationsTimed counts the applications with outcome completed that
	// give promised_days and took_days.
	ApplicationsTimed int64 `json:"applications_timed,omitzero" chtype:"UInt64,methods"`
	// ApplicationsOnTime counts those of them with took_days <= promised_days.
	ApplicationsOnTime int64 `json:"applications_on_time,omitzero" chtype:"UInt64,methods"`
	// RectificationsJudged counts the rectifications (好差评 整改) opened in the rolling window
	// whose outcome is known at the watermark: closed on time, closed late or overdue (reviews
	// voided on appeal excluded; internal/reviews); RectificationsOnTime those closed on time.
	RectificationsJudged int64 `json:"rectifications_judged,omitzero" chtype:"UInt64,methods"`
	RectificationsOnTime int64 `json:"rectifications_on_time,omitzero" chtype:"UInt64,methods"`
}

// Counts returns the portal counts of the state (the window counts are
// zero).
func (r *Region) Counts() Counts {
	c := Counts{
		PublishedItems:           r.published,
		ModesTotal:               r.modes,
		MaturityTotal:            r.maturity,
		AuditedItems:             r.audited,
		AuditCorrectConsistent:   r.correctConsistent,
		AuditCorrectInconsistent: r.correctInconsistent,
	}
	c.setLevels(r.required, r.covered)
	return c
}

// windowCounts names the counts of the rolling window, in the order of the
// bits of setWindow's mask.
var windowCounts = [...]string{"applications", "applications_online_completed", "ratings", "rating_sum",
	"ratings_bad", "applications_no_visit", "applications_timed", "applications_on_time",
	"rectifications_judged", "rectifications_on_time"}

// setWindow stores the counts of the rolling window w in c: those whose bit
// is set in used (bit i for windowCounts[i]); the others are zero.
func (c *Counts) setWindow(w *Window, used uint16) {
	pick := func(i int, v int64) int64 {
		if used&(1<<i) != 0 {
			return v
		}
		return 0
	}
	c.Applications = pick(0, w.Applications)
	c.ApplicationsOnlineCompleted = pick(1, w.OnlineCompleted)
	c.Ratings = pick(2, w.Ratings)
	c.RatingSum = pick(3, w.RatingSum)
	c.RatingsBad = pick(4, w.RatingsBad)
	c.ApplicationsNoVisit = pick(5, w.NoVisit)
	c.ApplicationsTimed = pick(6, w.Timed)
	c.ApplicationsOnTime = pick(7, w.OnTime)
	c.RectificationsJudged = pick(8, w.RectificationsJudged)
	c.RectificationsOnTime = pick(9, w.RectificationsOnTime)
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

// copyFloat returns a copy of *f, or nil.
func copyFloat(f *float64) *float64 {
	if f == nil {
		return nil
	}
	v := *f
	return &v
}
