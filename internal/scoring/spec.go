package scoring

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Spec describes a scoring method as a value: its id, its terms in the
// order they are shown, their weights and formulas, its grade bands and the
// function that evaluates them. Storage, messages, the site and govpulsectl
// iterate over a method's terms and the fields of its score instead of
// naming them; every method is one file of this package (method2017.go,
// method2022.go) and one schema migration. A Spec is immutable and safe for
// concurrent use.
type Spec struct {
	ID    string // the method's id, stored with every score and ranking
	Name  string // what the assessment calls the index, for readers
	Terms []Term // the indices of a score, in display order
	// Bands are the grade bands of the composite, from the highest grade
	// down; a composite below every band has the grade of the last one.
	Bands []Band
	// Source says where the method's terms and bands come from and which
	// choices are govpulse's own.
	Source string

	// evaluate computes the rounded value of every term (in the order of
	// Terms; OK false for a term without a value) from the counts.
	evaluate func(c Counts) termResults
	// columns stores a method's own fields of Score, if it has any (method
	// 2017's named columns); nil for a method whose terms are only in
	// Score.Terms.
	columns func(res termResults) namedTerms
	// weightSum is the sum of the integer weights of the scored terms.
	weightSum int64
	// window has bit i set when a term names windowCounts[i]; a score of
	// the method has the other window counts zero.
	window uint16
}

// Term is one index of a score: a sub-index of the composite or an index
// shown beside it.
type Term struct {
	Name    string  // the score's term name (and, for method 2017, its JSON member and column), such as "service_modes"
	Label   string  // a short English label for narrow tables, such as "modes"
	LabelZH string  // the index's Chinese name, such as "服务方式完备度"
	Weight  float64 // its weight in the composite; 0 when it is shown, not scored
	Formula string  // how the value follows from the counts, for readers
	// Counts are the names of the counts it is computed from (the JSON
	// members and columns of the score's counts).
	Counts []string
	// Value returns the term's value in a score; nil when it has none (a
	// satisfaction without ratings).
	Value func(*Score) *float64

	// units is the term's weight as an integer; Weight = units / the sum of
	// the units of the method's terms.
	units int64
}

// Scored reports whether the term is part of the composite.
func (t Term) Scored() bool { return t.Weight > 0 }

// Band is a grade band: a composite is of Grade when it is at least Min
// (above Min when Above).
type Band struct {
	Grade Grade
	Min   float64
	Above bool // the band starts strictly above Min
}

// TermResult is the rounded value of one term; OK is false when the term
// has no value (a satisfaction without ratings).
type TermResult struct {
	Value Micro
	OK    bool
}

// maxTerms bounds the terms of a method, so that a method's results are an
// array that needs no allocation.
const maxTerms = 8

// termResults holds the results of a method's terms, in the order of its
// Terms.
type termResults [maxTerms]TermResult

// methods lists every method govpulse implements, oldest first.
var methods = []*Spec{&method2017, &method2022}

// DefaultMethod is the id of the method the aggregator computes when none
// is configured, and the one latest_scores, latest_ranking and the
// un-suffixed NATS subjects and keys serve.
const DefaultMethod = Method

// Lookup returns the method with the given id.
func Lookup(id string) (*Spec, bool) {
	for _, m := range methods {
		if m.ID == id {
			return m, true
		}
	}
	return nil, false
}

// Methods returns the ids of every method, oldest first.
func Methods() []string {
	ids := make([]string, len(methods))
	for i, m := range methods {
		ids[i] = m.ID
	}
	return ids
}

// ParseMethods parses a comma-separated list of method ids ("2017,2022"):
// known ids, none twice, at least one. Spaces around ids are ignored.
func ParseMethods(list string) ([]string, error) {
	var ids []string
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		if _, ok := Lookup(id); !ok {
			return nil, fmt.Errorf("scoring: method %q: not one of %s", id, strings.Join(Methods(), ", "))
		}
		if slices.Contains(ids, id) {
			return nil, fmt.Errorf("scoring: method %q is listed twice", id)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Grade returns the grade of a rounded composite in micro-units under the
// method's bands.
func (sp *Spec) Grade(composite Micro) Grade {
	for _, b := range sp.Bands {
		min := Micro(b.Min * microScale)
		if composite > min || !b.Above && composite == min {
			return b.Grade
		}
	}
	return sp.Bands[len(sp.Bands)-1].Grade
}

// Evaluate computes the rounded value of every term (in the order of
// Terms) and the composite, the mean of the rounded scored terms weighted
// by their weights, rounded half away from zero, exactly.
func (sp *Spec) Evaluate(c *Counts) ([]TermResult, Micro) {
	res, composite := sp.evaluateMicro(c)
	return res[:len(sp.Terms)], composite
}

// evaluateMicro is Evaluate without allocating.
func (sp *Spec) evaluateMicro(c *Counts) (termResults, Micro) {
	res := sp.evaluate(*c) // by value: an indirect call would move the counts to the heap
	var num int64
	for i, t := range sp.Terms {
		if t.units > 0 && res[i].OK {
			num += t.units * int64(res[i].Value)
		}
	}
	q, r := num/sp.weightSum, num%sp.weightSum
	if 2*r >= sp.weightSum {
		q++
	}
	return res, Micro(q)
}

// Score computes the score of region r under the method from its state and
// the counts of its rolling window, at watermark asOf, with the given
// version.
func (sp *Spec) Score(r *Region, w Window, asOf time.Time, version uint64) Score {
	s := Score{
		Region:         r.code,
		NameZH:         r.nameZH,
		NameEN:         r.nameEN,
		AsOf:           asOf.UTC(),
		Method:         sp.ID,
		Version:        version,
		PlatformLevels: r.PlatformLevels(),
		Integrated:     r.platform.integrated,
		Portals:        r.platform.portals,
		Counts:         r.Counts(),
		WindowStart:    w.Start.UTC(),
		WindowEnd:      w.End.UTC(),
	}
	s.Counts.setWindow(&w, sp.window)
	res, composite := sp.evaluateMicro(&s.Counts)
	s.Composite = composite.Float()
	s.Grade = sp.Grade(composite)
	if sp.columns != nil {
		n := sp.columns(res)
		s.ServiceModes, s.ItemCoverage, s.GuideAccuracy, s.OnlineMaturity = n.serviceModes, n.itemCoverage, n.guideAccuracy, n.onlineMaturity
		if n.hasSatisfaction {
			v := n.satisfaction
			s.Satisfaction = &v
		}
		return s
	}
	s.Terms = make([]TermValue, len(sp.Terms))
	for i, t := range sp.Terms {
		s.Terms[i].Name = t.Name
		if res[i].OK {
			v := res[i].Value.Float()
			s.Terms[i].Value = &v
		}
	}
	return s
}

// newSpec fills in the weights of the terms from their integer units and
// returns sp; it panics on a method without a scored term or without
// bands, which is fixed at compile time (the tests build every method).
func newSpec(sp Spec) Spec {
	for _, t := range sp.Terms {
		sp.weightSum += t.units
	}
	if sp.weightSum <= 0 || len(sp.Bands) == 0 || sp.evaluate == nil || len(sp.Terms) > maxTerms {
		panic("scoring: method " + sp.ID + " has no scored term, band or formula")
	}
	named := make(map[string]bool)
	for _, t := range sp.Terms {
		for _, c := range t.Counts {
			if _, ok := countFields[c]; !ok {
				panic("scoring: method " + sp.ID + ": term " + t.Name + " names no count " + c)
			}
			named[c] = true
		}
	}
	for i, name := range windowCounts {
		if named[name] {
			sp.window |= 1 << i
		}
	}
	for i := range sp.Terms {
		sp.Terms[i].Weight = float64(sp.Terms[i].units) / float64(sp.weightSum)
		if sp.Terms[i].Value == nil {
			sp.Terms[i].Value = termValue(sp.Terms[i].Name, nil)
		}
	}
	return sp
}

// termValue returns a Term.Value that reads the term name from a score's
// Terms and, when the score has no such term (a score read from the
// columns of method 2017 only), from fallback; nil fallback means none.
func termValue(name string, fallback func(*Score) *float64) func(*Score) *float64 {
	return func(s *Score) *float64 {
		for _, tv := range s.Terms {
			if tv.Name == name {
				return copyFloat(tv.Value)
			}
		}
		if fallback != nil {
			return fallback(s)
		}
		return nil
	}
}

// Count returns the count of the given name (its JSON member, such as
// "published_items") and whether c has one.
func (c *Counts) Count(name string) (int64, bool) {
	i, ok := countFields[name]
	if !ok {
		return 0, false
	}
	return reflect.ValueOf(c).Elem().Field(i).Int(), true
}

// AppendValues appends the counts of c to dst in the order of CountNames and
// returns the extended slice.
func (c *Counts) AppendValues(dst []int64) []int64 {
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		dst = append(dst, v.Field(i).Int())
	}
	return dst
}

// countFields maps the JSON names of the fields of Counts to their indices.
var countFields = func() map[string]int {
	t := reflect.TypeFor[Counts]()
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = i
	}
	return m
}()

// CountNames returns the names of the counts of a score (the JSON members
// and columns of Counts), in the order of their fields. The slice is a
// fresh copy.
func CountNames() []string { return append([]string(nil), countNames...) }

// countNames lists the JSON names of the fields of Counts in field order.
var countNames = func() []string {
	t := reflect.TypeFor[Counts]()
	names := make([]string, t.NumField())
	for i := range t.NumField() {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return names
}()
