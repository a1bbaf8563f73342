package scoring

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestEvaluate(t *testing.T) {
	type want struct {
		sm, ic, ga, om, comp Micro
		sat                  Micro
		hasSat               bool
		grade                Grade
	}
	tests := []struct {
		name string
		c    Counts
		want want
	}{
		{"empty: zeros, grade low, no satisfaction", Counts{}, want{grade: GradeLow}},
		{"required items but nothing published", Counts{RequiredProvince: 10},
			want{grade: GradeLow}},
		{"service modes: 12 of 16 modes", Counts{PublishedItems: 2, ModesTotal: 12},
			want{sm: 75_000_000, comp: 18_750_000, grade: GradeLow}},
		{"service modes rounds 1/3", Counts{PublishedItems: 3, ModesTotal: 8},
			// 100*8/24 = 33.3333333...
			want{sm: 33_333_333, comp: 8_333_333, grade: GradeLow}},
		{"service modes: x.xxxxxx5 exactly rounds away from zero",
			// 100*1/(8*1e6) = 0.0000125
			Counts{PublishedItems: 1_000_000, ModesTotal: 1},
			want{sm: 13, comp: 3, grade: GradeLow}},
		{"item coverage: one level only uses its own weight",
			Counts{RequiredCity: 4, CoveredCity: 3},
			want{ic: 75_000_000, comp: 18_750_000, grade: GradeLow}},
		{"item coverage: weighted over levels present",
			// (0.4*1 + 0.2*0.5) / 0.6 = 0.8333...
			Counts{RequiredProvince: 2, CoveredProvince: 2, RequiredCounty: 4, CoveredCounty: 2},
			want{ic: 83_333_333, comp: 20_833_333, grade: GradeLow}},
		{"item coverage: all four levels",
			// (0.4*1/2 + 0.3*1/3 + 0.2*1/4 + 0.1*1/5) / 1 = 0.37
			Counts{RequiredProvince: 2, CoveredProvince: 1, RequiredCity: 3, CoveredCity: 1,
				RequiredCounty: 4, CoveredCounty: 1, RequiredTownship: 5, CoveredTownship: 1},
			want{ic: 37_000_000, comp: 9_250_000, grade: GradeLow}},
		{"guide accuracy consistent",
			Counts{AuditedItems: 2, AuditCorrectConsistent: 12},
			want{ga: 75_000_000, comp: 18_750_000, grade: GradeLow}},
		{"guide accuracy: the 0.8 factor",
			// one inconsistent audit with 8 correct: 0.8
			Counts{AuditedItems: 1, AuditCorrectInconsistent: 8},
			want{ga: 80_000_000, comp: 20_000_000, grade: GradeLow}},
		{"guide accuracy: mixed",
			// (8/8 + 0.8*4/8) / 2 = 0.7
			Counts{AuditedItems: 2, AuditCorrectConsistent: 8, AuditCorrectInconsistent: 4},
			want{ga: 70_000_000, comp: 17_500_000, grade: GradeLow}},
		{"online maturity: D only",
			Counts{PublishedItems: 2, MaturityTotal: 6},
			want{om: 75_000_000, comp: 18_750_000, grade: GradeLow}},
		{"online maturity: O only",
			Counts{Applications: 4, ApplicationsOnlineCompleted: 1},
			want{om: 25_000_000, comp: 6_250_000, grade: GradeLow}},
		{"online maturity: S only, satisfaction",
			// mean rating 4: S = 0.75
			Counts{Ratings: 2, RatingSum: 8},
			want{om: 75_000_000, sat: 75_000_000, hasSat: true, comp: 18_750_000, grade: GradeLow}},
		{"online maturity: D and S",
			// (0.5*0.5 + 0.2*1) / 0.7 = 0.642857142857...
			Counts{PublishedItems: 1, MaturityTotal: 2, Ratings: 1, RatingSum: 5},
			want{om: 64_285_714, sat: 100_000_000, hasSat: true, comp: 16_071_429, grade: GradeLow}},
		{"online maturity: all terms",
			// 0.5*1 + 0.3*0.5 + 0.2*0 = 0.65
			Counts{PublishedItems: 1, MaturityTotal: 4, Applications: 2, ApplicationsOnlineCompleted: 1,
				Ratings: 3, RatingSum: 3},
			want{om: 65_000_000, sat: 0, hasSat: true, comp: 16_250_000, grade: GradeLow}},
		{"satisfaction: x.xxxxxx5 exactly",
			// 100 * 1 / (4*1e7) = 0.0000025
			Counts{Ratings: 10_000_000, RatingSum: 10_000_001},
			want{om: 3, sat: 3, hasSat: true, comp: 1, grade: GradeLow}},
		{"perfect region: very high",
			Counts{PublishedItems: 10, ModesTotal: 80, MaturityTotal: 40,
				RequiredProvince: 10, CoveredProvince: 10,
				AuditedItems: 10, AuditCorrectConsistent: 80,
				Applications: 5, ApplicationsOnlineCompleted: 5, Ratings: 5, RatingSum: 25},
			want{sm: 100_000_000, ic: 100_000_000, ga: 100_000_000, om: 100_000_000,
				sat: 100_000_000, hasSat: true, comp: 100_000_000, grade: GradeVeryHigh}},
		{"composite exactly 80: high",
			// sm 80, ic 80, ga 80, om 80
			Counts{PublishedItems: 10, ModesTotal: 64, MaturityTotal: 32,
				RequiredProvince: 5, CoveredProvince: 4,
				AuditedItems: 10, AuditCorrectInconsistent: 80},
			want{sm: 80_000_000, ic: 80_000_000, ga: 80_000_000, om: 80_000_000, comp: 80_000_000, grade: GradeHigh}},
		{"composite exactly 60: medium",
			Counts{PublishedItems: 10, ModesTotal: 48, MaturityTotal: 24,
				RequiredProvince: 5, CoveredProvince: 3,
				AuditedItems: 10, AuditCorrectConsistent: 48},
			want{sm: 60_000_000, ic: 60_000_000, ga: 60_000_000, om: 60_000_000, comp: 60_000_000, grade: GradeMedium}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			got := Evaluate(&c)
			w := tt.want
			if got.ServiceModes != w.sm || got.ItemCoverage != w.ic || got.GuideAccuracy != w.ga ||
				got.OnlineMaturity != w.om || got.Composite != w.comp || got.Grade != w.grade ||
				got.HasSatisfaction != w.hasSat || got.Satisfaction != w.sat {
				t.Fatalf("Evaluate(%+v) = %+v, want %+v", tt.c, got, w)
			}
			if ref := refEvaluate(&c); ref != got {
				t.Fatalf("Evaluate(%+v) = %+v, reference %+v", tt.c, got, ref)
			}
		})
	}
}

func TestGradeOf(t *testing.T) {
	tests := []struct {
		c    Micro
		want Grade
	}{
		{0, GradeLow},
		{59_999_999, GradeLow},
		{60_000_000, GradeMedium},
		{79_999_999, GradeMedium},
		{80_000_000, GradeHigh},
		{89_999_999, GradeHigh},
		{90_000_000, GradeVeryHigh},
		{100_000_000, GradeVeryHigh},
	}
	for _, tt := range tests {
		if got := GradeOf(tt.c); got != tt.want {
			t.Errorf("GradeOf(%d) = %s, want %s", tt.c, got, tt.want)
		}
	}
}

// rat returns a/b.
func rat(a, b int64) *big.Rat { return big.NewRat(a, b) }

// refEvaluate is method 2017 written as the scoring specification states
// it, with decimal weights in big.Rat.
func refEvaluate(c *Counts) Indices {
	var ix Indices
	hundred := rat(100, 1)
	pct := func(x *big.Rat) Micro { return roundRatMicro(new(big.Rat).Mul(x, hundred)) }
	if c.PublishedItems > 0 {
		ix.ServiceModes = pct(new(big.Rat).Quo(rat(c.ModesTotal, c.PublishedItems), rat(8, 1)))
	}
	req := []int64{c.RequiredProvince, c.RequiredCity, c.RequiredCounty, c.RequiredTownship}
	cov := []int64{c.CoveredProvince, c.CoveredCity, c.CoveredCounty, c.CoveredTownship}
	w := []*big.Rat{rat(4, 10), rat(3, 10), rat(2, 10), rat(1, 10)}
	num, den := new(big.Rat), new(big.Rat)
	for l := range req {
		if req[l] > 0 {
			num.Add(num, new(big.Rat).Mul(w[l], rat(cov[l], req[l])))
			den.Add(den, w[l])
		}
	}
	if den.Sign() > 0 {
		ix.ItemCoverage = pct(num.Quo(num, den))
	}
	if c.AuditedItems > 0 {
		s := new(big.Rat).Add(rat(c.AuditCorrectConsistent, 8),
			new(big.Rat).Mul(rat(8, 10), rat(c.AuditCorrectInconsistent, 8)))
		ix.GuideAccuracy = pct(s.Quo(s, rat(c.AuditedItems, 1)))
	}
	num, den = new(big.Rat), new(big.Rat)
	if c.PublishedItems > 0 {
		num.Add(num, new(big.Rat).Mul(rat(5, 10), rat(c.MaturityTotal, 4*c.PublishedItems)))
		den.Add(den, rat(5, 10))
	}
	if c.Applications > 0 {
		num.Add(num, new(big.Rat).Mul(rat(3, 10), rat(c.ApplicationsOnlineCompleted, c.Applications)))
		den.Add(den, rat(3, 10))
	}
	var s *big.Rat
	if c.Ratings > 0 {
		s = new(big.Rat).Quo(new(big.Rat).Sub(rat(c.RatingSum, c.Ratings), rat(1, 1)), rat(4, 1))
		num.Add(num, new(big.Rat).Mul(rat(2, 10), s))
		den.Add(den, rat(2, 10))
		ix.Satisfaction = pct(s)
		ix.HasSatisfaction = true
	}
	if den.Sign() > 0 {
		ix.OnlineMaturity = pct(num.Quo(num, den))
	}
	sum := new(big.Rat)
	for _, m := range []Micro{ix.ServiceModes, ix.ItemCoverage, ix.GuideAccuracy, ix.OnlineMaturity} {
		sum.Add(sum, rat(int64(m), microScale))
	}
	ix.Composite = roundRatMicro(sum.Quo(sum, rat(4, 1)))
	ix.Grade = GradeOf(ix.Composite)
	return ix
}

// randomCounts returns consistent counts; scale sets their magnitude.
func randomCounts(rng *rand.Rand, scale int64) Counts {
	n := func() int64 { return rng.Int64N(scale + 1) }
	part := func(of int64) int64 { return rng.Int64N(of + 1) }
	var c Counts
	if rng.IntN(5) > 0 {
		c.PublishedItems = n()
		c.ModesTotal = part(8 * c.PublishedItems)
		c.MaturityTotal = part(4 * c.PublishedItems)
	}
	req := [LevelCount]int64{}
	cov := [LevelCount]int64{}
	for l := range req {
		if rng.IntN(3) > 0 {
			req[l] = n()
			cov[l] = part(req[l])
		}
	}
	c.setLevels(req, cov)
	if rng.IntN(4) > 0 {
		c.AuditedItems = n()
		cons := part(c.AuditedItems)
		c.AuditCorrectConsistent = part(8 * cons)
		c.AuditCorrectInconsistent = part(8 * (c.AuditedItems - cons))
	}
	if rng.IntN(3) > 0 {
		c.Applications = n()
		c.ApplicationsOnlineCompleted = part(c.Applications)
	}
	if rng.IntN(3) > 0 {
		c.Ratings = n()
		c.RatingSum = c.Ratings + part(4*c.Ratings)
	}
	return c
}

// TestEvaluateMatchesReference compares Evaluate with the specification's
// formulas in exact rationals, from tiny counts to counts whose common
// denominators overflow 64 bits.
func TestEvaluateMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 5000; i++ {
		scale := []int64{1, 3, 10, 300, 100_000, 1 << 30, 1 << 40}[rng.IntN(7)]
		c := randomCounts(rng, scale)
		got, want := Evaluate(&c), refEvaluate(&c)
		if got != want {
			t.Fatalf("Evaluate(%+v)\n got %+v\nwant %+v", c, got, want)
		}
	}
}

func TestEvaluateAllocatesNothing(t *testing.T) {
	c := Counts{PublishedItems: 200, ModesTotal: 900, MaturityTotal: 500,
		RequiredProvince: 50, CoveredProvince: 40, RequiredCity: 60, CoveredCity: 30,
		RequiredCounty: 70, CoveredCounty: 20, RequiredTownship: 20, CoveredTownship: 5,
		AuditedItems: 150, AuditCorrectConsistent: 700, AuditCorrectInconsistent: 300,
		Applications: 100_000, ApplicationsOnlineCompleted: 43_210, Ratings: 250_000, RatingSum: 876_543}
	if n := testing.AllocsPerRun(100, func() { Evaluate(&c) }); n != 0 {
		t.Fatalf("Evaluate allocates %v times per call", n)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	c := Counts{PublishedItems: 200, ModesTotal: 900, MaturityTotal: 500,
		RequiredProvince: 50, CoveredProvince: 40, RequiredCity: 60, CoveredCity: 30,
		RequiredCounty: 70, CoveredCounty: 20, RequiredTownship: 20, CoveredTownship: 5,
		AuditedItems: 150, AuditCorrectConsistent: 700, AuditCorrectInconsistent: 300,
		Applications: 100_000, ApplicationsOnlineCompleted: 43_210, Ratings: 250_000, RatingSum: 876_543}
	for b.Loop() {
		Evaluate(&c)
	}
}

// TestWorkedExample is the worked example of docs/method.md.
func TestWorkedExample(t *testing.T) {
	c := Counts{PublishedItems: 3, ModesTotal: 15, MaturityTotal: 8,
		RequiredProvince: 2, CoveredProvince: 2, RequiredCity: 1, CoveredCity: 0,
		AuditedItems: 2, AuditCorrectConsistent: 8, AuditCorrectInconsistent: 6,
		Applications: 10, ApplicationsOnlineCompleted: 4, Ratings: 4, RatingSum: 15}
	got := Evaluate(&c)
	want := Indices{ServiceModes: 62_500_000, ItemCoverage: 57_142_857, GuideAccuracy: 80_000_000,
		OnlineMaturity: 59_083_333, Composite: 64_681_548, Satisfaction: 68_750_000, HasSatisfaction: true,
		Grade: GradeMedium}
	if got != want {
		t.Fatalf("worked example:\n got %+v\nwant %+v", got, want)
	}
}
