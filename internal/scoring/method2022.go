package scoring

// Method2022 is the id of the five-dimension method of the 2022 report
// (一体化政务服务能力).
const Method2022 = "2022"

// Weights of method 2022, govpulse's own: the reports publish none. The
// composite weights are in hundredths, the weights inside a dimension in
// tenths, so that every formula is evaluated in integers.
const (
	// Composite weights (hundredths): effectiveness as users experience it
	// weighs most, then the depth of online handling, then the three
	// dimensions kept from 2017.
	units2022Effectiveness = 30
	units2022Handling      = 25
	units2022Modes         = 15
	units2022Coverage      = 15
	units2022Guide         = 15

	// online_handling: depth D and the share O handled entirely online.
	weight2022Depth  = 6
	weight2022Online = 4

	// online_effectiveness: satisfaction S, the share of ratings that are
	// not bad G (1 − the bad-review rate, 差评率), the share completed
	// without a visit N, the share completed within the promised time T, the
	// share of rectifications of bad reviews closed on time R (按期整改率).
	weight2022Satisfaction  = 4
	weight2022NotBad        = 2
	weight2022NoVisit       = 2
	weight2022OnTime        = 2
	weight2022Rectification = 2
)

// method2022 describes method 2022: 服务方式完备度, 服务事项覆盖度 and
// 办事指南准确度 as in 2017, 在线办理成熟度 and 在线服务成效度 from the
// window's applications and ratings (docs/method.md, "Method 2022").
var method2022 = newSpec(Spec{
	ID:   Method2022,
	Name: "一体化政务服务能力 (2022)",
	Terms: []Term{
		{Name: "online_effectiveness", Label: "effect", LabelZH: "在线服务成效度", units: units2022Effectiveness,
			Formula: "100 × (0.4 S + 0.2 G + 0.2 N + 0.2 T + 0.2 R) ÷ the weights present; S = (rating_sum − ratings) / (4 × ratings), " +
				"G = (ratings − ratings_bad) / ratings, N = applications_no_visit / applications, " +
				"T = applications_on_time / applications_timed, R = rectifications_on_time / rectifications_judged",
			Counts: []string{"rating_sum", "ratings", "ratings_bad", "applications_no_visit", "applications",
				"applications_on_time", "applications_timed", "rectifications_on_time", "rectifications_judged"}},
		{Name: "online_handling", Label: "handling", LabelZH: "在线办理成熟度", units: units2022Handling,
			Formula: "100 × (0.6 D + 0.4 O) ÷ the weights present; D = maturity_total / (4 × published_items), " +
				"O = applications_online_completed / applications",
			Counts: []string{"maturity_total", "published_items", "applications_online_completed", "applications"}},
		{Name: "service_modes", Label: "modes", LabelZH: "服务方式完备度", units: units2022Modes,
			Formula: "100 × modes_total / (8 × published_items)",
			Counts:  []string{"modes_total", "published_items"}},
		{Name: "item_coverage", Label: "coverage", LabelZH: "服务事项覆盖度", units: units2022Coverage,
			Formula: "100 × Σ w × covered / required ÷ Σ w, over the levels with required items (w = 0.4, 0.3, 0.2, 0.1)",
			Counts: []string{"required_province", "covered_province", "required_city", "covered_city",
				"required_county", "covered_county", "required_township", "covered_township"}},
		{Name: "guide_accuracy", Label: "guide", LabelZH: "办事指南准确度", units: units2022Guide,
			Formula: "100 × (audit_correct_consistent + 0.8 × audit_correct_inconsistent) / (8 × audited_items)",
			Counts:  []string{"audited_items", "audit_correct_consistent", "audit_correct_inconsistent"}},
		{Name: "satisfaction", Label: "satisfaction", LabelZH: "满意度",
			Formula: "100 × (rating_sum / ratings − 1) / 4 (shown, not scored)",
			Counts:  []string{"rating_sum", "ratings"}},
	},
	// The 2022 report: 非常高 "超过90", 高 "90-80之间", 中 below; it names no
	// lower band (docs/method.md).
	Bands: []Band{{Grade: GradeVeryHigh, Min: 90, Above: true}, {Grade: GradeHigh, Min: 80}, {Grade: GradeMedium}},
	Source: "the 2022 report (fxbaogao.com/detail/3377918): five dimensions, bands above 90, 80 to 90, below 80; " +
		"the weights and the formulas of 在线办理成熟度 and 在线服务成效度 are govpulse's",
	evaluate: evaluate2022,
})

// evaluate2022 computes the terms of method 2022, in the order of its Terms.
func evaluate2022(c Counts) termResults {
	ix := Evaluate(&c) // the three dimensions kept from 2017, and satisfaction

	var ts terms
	if c.Ratings > 0 {
		ts.add(c.RatingSum-c.Ratings, c.Ratings, 4, weight2022Satisfaction)
		ts.add(c.Ratings-c.RatingsBad, c.Ratings, 1, weight2022NotBad)
	}
	if c.Applications > 0 {
		ts.add(c.ApplicationsNoVisit, c.Applications, 1, weight2022NoVisit)
	}
	if c.ApplicationsTimed > 0 {
		ts.add(c.ApplicationsOnTime, c.ApplicationsTimed, 1, weight2022OnTime)
	}
	if c.RectificationsJudged > 0 {
		ts.add(c.RectificationsOnTime, c.RectificationsJudged, 1, weight2022Rectification)
	}
	effectiveness := percentMicro(&ts)

	ts = terms{}
	if c.PublishedItems > 0 {
		ts.add(c.MaturityTotal, c.PublishedItems, MaxMaturity, weight2022Depth)
	}
	if c.Applications > 0 {
		ts.add(c.ApplicationsOnlineCompleted, c.Applications, 1, weight2022Online)
	}
	handling := percentMicro(&ts)

	return termResults{{effectiveness, true}, {handling, true}, {ix.ServiceModes, true},
		{ix.ItemCoverage, true}, {ix.GuideAccuracy, true}, {ix.Satisfaction, ix.HasSatisfaction}}
}
