// Package scoring implements the scoring methods: the portal state of a
// region (last writer wins per key) and, per method (a Spec: method "2017"
// with four sub-indices, method2017.go; method "2022" with five dimensions,
// method2022.go), the sub-indices, the composite, the grade and the
// ranking. Below, method 2017.
//
// The package is pure: it reads no clock and does no I/O. A Region keeps
// the catalogue entry, the service and the guide audit of every
// (level, item_code) as three last-writer-wins keys, and the platform as one
// key, and maintains the aggregates behind the formulas incrementally, so
// that applying an event and scoring a region are O(1).
//
// Every index is computed exactly from integer counts (Counts) and rounded
// to 6 decimal places half away from zero (type Micro); the composite is the
// mean of the four rounded sub-indices, rounded the same way, and the grade
// and the ranking use the rounded composite. A score therefore carries the
// counts that let a reader check each of its numbers by hand:
//
//	service_modes   = 100 * modes_total / (8 * published_items)
//	item_coverage   = 100 * Σ w_l covered_l/required_l / Σ w_l   (levels with required_l > 0; w = .4 .3 .2 .1)
//	guide_accuracy  = 100 * (audit_correct_consistent + 0.8 * audit_correct_inconsistent) / (8 * audited_items)
//	online_maturity = 100 * (0.5 D + 0.3 O + 0.2 S) / (weights of the terms present)
//	                  D = maturity_total / (4 * published_items)
//	                  O = applications_online_completed / applications
//	                  S = (rating_sum / ratings - 1) / 4
//	composite       = (service_modes + item_coverage + guide_accuracy + online_maturity) / 4
//
// each 0 when its denominator is 0. A later method is a new file and a new
// id, never an edit of an earlier one; docs/method.md gives method 2022's
// formulas.
//
// Score is the one definition of a score's fields: its json tags are the NATS
// message, its chtype tags the ClickHouse columns (internal/chstore derives
// its rows from them). Spec describes a method as a value (its terms, their
// weights, formulas and counts; Lookup by id), so that the code that shows a
// score iterates over the terms instead of naming them.
package scoring
