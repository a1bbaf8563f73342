package scoring

import (
	"reflect"
	"strings"
)

// Spec describes a scoring method as a value: its id and its terms, in the
// order they are shown. Storage, messages, the site and govpulsectl iterate
// over a method's terms and the fields of its score instead of naming them.
// A Spec is immutable and safe for concurrent use.
type Spec struct {
	ID    string // the method's id, stored with every score and ranking
	Terms []Term // the indices of a score, in display order
}

// Term is one index of a score: a sub-index of the composite or an index
// shown beside it.
type Term struct {
	Name    string  // the score's JSON member and column, such as "service_modes"
	Label   string  // a short English label for narrow tables, such as "modes"
	Weight  float64 // its weight in the composite; 0 when it is shown, not scored
	Formula string  // how the value follows from the counts, for readers
	// Counts are the names of the counts it is computed from (the JSON
	// members and columns of the score's counts).
	Counts []string
	// Value returns the term's value in a score; nil when it has none (a
	// satisfaction without ratings).
	Value func(*Score) *float64
	// LabelZH is its Chinese name, such as "服务方式完备度", for summaries
	// in Chinese; empty means Name.
	LabelZH string
}

// Scored reports whether the term is part of the composite.
func (t Term) Scored() bool { return t.Weight > 0 }

// Lookup returns the method with the given id.
func Lookup(id string) (*Spec, bool) {
	if id == Method {
		return &method2017, true
	}
	return nil, false
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
