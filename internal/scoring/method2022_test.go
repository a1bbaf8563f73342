package scoring

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

// randomCounts2022 returns consistent counts with the counts of method 2022
// set too.
func randomCounts2022(rng *rand.Rand, scale int64) Counts {
	c := randomCounts(rng, scale)
	part := func(of int64) int64 { return rng.Int64N(of + 1) }
	c.RatingsBad = part(c.Ratings)
	completed := part(c.Applications)
	c.ApplicationsNoVisit = part(completed)
	if rng.IntN(3) > 0 {
		c.ApplicationsTimed = part(completed)
		c.ApplicationsOnTime = part(c.ApplicationsTimed)
	}
	if rng.IntN(3) > 0 {
		c.RectificationsJudged = part(c.RatingsBad)
		c.RectificationsOnTime = part(c.RectificationsJudged)
	}
	return c
}

// ref2022 is method 2022 written as docs/method.md states it, with decimal
// weights in big.Rat: the five dimensions, satisfaction and the composite.
func ref2022(c *Counts) (map[string]*Micro, Micro) {
	hundred := rat(100, 1)
	pct := func(x *big.Rat) Micro { return roundRatMicro(new(big.Rat).Mul(x, hundred)) }
	weighted := func(parts [][2]*big.Rat) Micro { // (weight, value) of the present parts
		num, den := new(big.Rat), new(big.Rat)
		for _, p := range parts {
			num.Add(num, new(big.Rat).Mul(p[0], p[1]))
			den.Add(den, p[0])
		}
		if den.Sign() == 0 {
			return 0
		}
		return pct(num.Quo(num, den))
	}
	var eff, hand [][2]*big.Rat
	var sat *Micro
	if c.Ratings > 0 {
		s := new(big.Rat).Quo(new(big.Rat).Sub(rat(c.RatingSum, c.Ratings), rat(1, 1)), rat(4, 1))
		eff = append(eff, [2]*big.Rat{rat(4, 10), s}, [2]*big.Rat{rat(2, 10), new(big.Rat).Sub(rat(1, 1), rat(c.RatingsBad, c.Ratings))})
		v := pct(s)
		sat = &v
	}
	if c.Applications > 0 {
		eff = append(eff, [2]*big.Rat{rat(2, 10), rat(c.ApplicationsNoVisit, c.Applications)})
	}
	if c.ApplicationsTimed > 0 {
		eff = append(eff, [2]*big.Rat{rat(2, 10), rat(c.ApplicationsOnTime, c.ApplicationsTimed)})
	}
	if c.RectificationsJudged > 0 {
		eff = append(eff, [2]*big.Rat{rat(2, 10), rat(c.RectificationsOnTime, c.RectificationsJudged)})
	}
	if c.PublishedItems > 0 {
		hand = append(hand, [2]*big.Rat{rat(6, 10), rat(c.MaturityTotal, 4*c.PublishedItems)})
	}
	if c.Applications > 0 {
		hand = append(hand, [2]*big.Rat{rat(4, 10), rat(c.ApplicationsOnlineCompleted, c.Applications)})
	}
	ix := refEvaluate(c) // the three dimensions of 2017
	v := map[string]Micro{
		"online_effectiveness": weighted(eff), "online_handling": weighted(hand),
		"service_modes": ix.ServiceModes, "item_coverage": ix.ItemCoverage, "guide_accuracy": ix.GuideAccuracy,
	}
	weights := map[string]*big.Rat{"online_effectiveness": rat(30, 100), "online_handling": rat(25, 100),
		"service_modes": rat(15, 100), "item_coverage": rat(15, 100), "guide_accuracy": rat(15, 100)}
	sum := new(big.Rat)
	out := map[string]*Micro{"satisfaction": sat}
	for name, m := range v {
		sum.Add(sum, new(big.Rat).Mul(weights[name], rat(int64(m), microScale)))
		out[name] = &m
	}
	return out, roundRatMicro(sum)
}

// TestMethod2022MatchesReference compares method 2022 with its formulas in
// exact rationals, from tiny counts to counts whose common denominators
// overflow 64 bits.
func TestMethod2022MatchesReference(t *testing.T) {
	spec, ok := Lookup(Method2022)
	if !ok {
		t.Fatal("method 2022 not found")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 5000; i++ {
		scale := []int64{1, 3, 10, 300, 100_000, 1 << 30, 1 << 40}[rng.IntN(7)]
		c := randomCounts2022(rng, scale)
		res, composite := spec.Evaluate(&c)
		want, wantComposite := ref2022(&c)
		for k, term := range spec.Terms {
			w := want[term.Name]
			if res[k].OK != (w != nil) || w != nil && res[k].Value != *w {
				t.Fatalf("counts %+v: term %s = %+v, want %v", c, term.Name, res[k], w)
			}
		}
		if composite != wantComposite {
			t.Fatalf("counts %+v: composite %d, want %d", c, composite, wantComposite)
		}
	}
}

// TestMethod2017CompositeIsTheSpecs checks that the generic composite of a
// method (Spec.Evaluate) gives method 2017's mean of four.
func TestMethod2017CompositeIsTheSpecs(t *testing.T) {
	spec, _ := Lookup(Method)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 5000; i++ {
		c := randomCounts2022(rng, []int64{1, 10, 100_000, 1 << 40}[rng.IntN(4)])
		_, composite := spec.Evaluate(&c)
		if ix := Evaluate(&c); composite != ix.Composite || spec.Grade(composite) != ix.Grade {
			t.Fatalf("counts %+v: composite %d %s, Evaluate %d %s", c, composite, spec.Grade(composite), ix.Composite, ix.Grade)
		}
	}
}

// TestWorkedExample2022 is the worked example of docs/method.md, method 2022.
func TestWorkedExample2022(t *testing.T) {
	c := Counts{PublishedItems: 3, ModesTotal: 15, MaturityTotal: 8,
		RequiredProvince: 2, CoveredProvince: 2, RequiredCity: 1, CoveredCity: 0,
		AuditedItems: 2, AuditCorrectConsistent: 8, AuditCorrectInconsistent: 6,
		Applications: 10, ApplicationsOnlineCompleted: 4, Ratings: 4, RatingSum: 15,
		RatingsBad: 0, ApplicationsNoVisit: 3, ApplicationsTimed: 5, ApplicationsOnTime: 4}
	spec, _ := Lookup(Method2022)
	res, composite := spec.Evaluate(&c)
	want := []TermResult{{69_500_000, true}, {56_000_000, true}, {62_500_000, true}, {57_142_857, true},
		{80_000_000, true}, {68_750_000, true}}
	for i := range want {
		if res[i] != want[i] {
			t.Errorf("%s = %+v, want %+v", spec.Terms[i].Name, res[i], want[i])
		}
	}
	if composite != 64_796_429 || spec.Grade(composite) != GradeMedium {
		t.Errorf("composite %d %s, want 64796429 medium", composite, spec.Grade(composite))
	}
}

// TestWorkedExample2022Rectifications is the worked example with rectifications of bad reviews
// (docs/method.md): 3 of 4 closed on time add R = 0.75 with weight 0.2 to 在线服务成效度.
func TestWorkedExample2022Rectifications(t *testing.T) {
	c := Counts{PublishedItems: 3, ModesTotal: 15, MaturityTotal: 8,
		RequiredProvince: 2, CoveredProvince: 2, RequiredCity: 1, CoveredCity: 0,
		AuditedItems: 2, AuditCorrectConsistent: 8, AuditCorrectInconsistent: 6,
		Applications: 10, ApplicationsOnlineCompleted: 4, Ratings: 4, RatingSum: 15,
		RatingsBad: 0, ApplicationsNoVisit: 3, ApplicationsTimed: 5, ApplicationsOnTime: 4,
		RectificationsJudged: 4, RectificationsOnTime: 3}
	spec, _ := Lookup(Method2022)
	res, composite := spec.Evaluate(&c)
	// (0.4 × 0.6875 + 0.2 × 1 + 0.2 × 0.3 + 0.2 × 0.8 + 0.2 × 0.75) / 1.2 = 0.7041666…
	if res[0] != (TermResult{70_416_667, true}) {
		t.Errorf("online_effectiveness = %+v, want 70.416667", res[0])
	}
	// (30 × 70.416667 + 25 × 56 + 15 × 62.5 + 15 × 57.142857 + 15 × 80) / 100
	if composite != 65_071_429 {
		t.Errorf("composite %d, want 65.071429", composite)
	}
}

func TestGradeBands(t *testing.T) {
	m17, _ := Lookup(Method)
	m22, _ := Lookup(Method2022)
	tests := []struct {
		spec      *Spec
		composite Micro
		want      Grade
	}{
		{m17, 100_000_000, GradeVeryHigh},
		{m17, 90_000_000, GradeVeryHigh}, // 2017: at least 90
		{m17, 89_999_999, GradeHigh},
		{m17, 80_000_000, GradeHigh},
		{m17, 79_999_999, GradeMedium},
		{m17, 60_000_000, GradeMedium},
		{m17, 59_999_999, GradeLow},
		{m17, 0, GradeLow},
		{m22, 100_000_000, GradeVeryHigh},
		{m22, 90_000_001, GradeVeryHigh},
		{m22, 90_000_000, GradeHigh}, // 2022: very high is above 90 ("超过90")
		{m22, 80_000_000, GradeHigh},
		{m22, 79_999_999, GradeMedium},
		{m22, 0, GradeMedium}, // the 2022 report has no band below medium
	}
	for _, tt := range tests {
		if got := tt.spec.Grade(tt.composite); got != tt.want {
			t.Errorf("method %s: Grade(%d) = %s, want %s", tt.spec.ID, tt.composite, got, tt.want)
		}
	}
	for c := Micro(0); c <= 100_000_000; c += 999_999 {
		if m17.Grade(c) != GradeOf(c) {
			t.Fatalf("method 2017: Grade(%d) = %s, GradeOf %s", c, m17.Grade(c), GradeOf(c))
		}
	}
}

func TestParseMethods(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"2017", []string{"2017"}, false},
		{"2017,2022", []string{"2017", "2022"}, false},
		{" 2022 , 2017 ", []string{"2022", "2017"}, false},
		{"2017,2017", nil, true},
		{"2019", nil, true},
		{"", nil, true},
		{"2017,", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseMethods(tt.in)
		if (err != nil) != tt.wantErr || !tt.wantErr && len(got) != len(tt.want) {
			t.Errorf("ParseMethods(%q) = %v, %v", tt.in, got, err)
			continue
		}
		for i := range tt.want {
			if got[i] != tt.want[i] {
				t.Errorf("ParseMethods(%q) = %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}

// TestSpecScoreAllocates checks that scoring a region allocates only the terms of a method
// without named fields (method 2017: its satisfaction only, as before).
func TestSpecScoreAllocates(t *testing.T) {
	r := NewRegion("330000", "浙江省", "Zhejiang")
	w := Window{Applications: 10, OnlineCompleted: 4, Ratings: 4, RatingSum: 15, RatingsBad: 1, NoVisit: 3, Timed: 5, OnTime: 4}
	for id, want := range map[string]float64{Method: 1, Method2022: 1 + 6} {
		spec, _ := Lookup(id)
		if n := testing.AllocsPerRun(100, func() { spec.Score(r, w, time.Unix(0, 0), 1) }); n > want {
			t.Errorf("method %s: Score allocates %v times, want at most %v", id, n, want)
		}
	}
}

func BenchmarkSpecScore(b *testing.B) {
	r := NewRegion("330000", "浙江省", "Zhejiang")
	w := Window{Applications: 10, OnlineCompleted: 4, Ratings: 4, RatingSum: 15, RatingsBad: 1, NoVisit: 3, Timed: 5, OnTime: 4}
	for _, id := range Methods() {
		spec, _ := Lookup(id)
		b.Run(id, func(b *testing.B) {
			for b.Loop() {
				spec.Score(r, w, time.Unix(0, 0), 1)
			}
		})
	}
}
