package scoring

// Method is the id of the scoring method this package implements. It is
// stored with every score and ranking; a later method is a new id and a new
// file, never an edit of this one.
const Method = "2017"

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
