// Package explain explains the change of a unit's score over an interval of time, from the
// tables score_changes and score_causes: the terms that moved the composite and their counts, the
// events applied and the window's slide, with a short summary in Chinese and in English. The
// aggregator writes the tables (internal/engine's Output.Changes); govpulsectl explain and the
// site's /api/v1/regions/{code}/explain read them through Load.
package explain

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// Explanation is the change of one unit's score from the stored version in force at From to the
// one in force at To, and what caused it.
type Explanation struct {
	Region string    `json:"region"`
	Method string    `json:"method"`
	From   time.Time `json:"from"` // the interval asked for, (From, To]
	To     time.Time `json:"to"`
	// FromVersion and ToVersion are the versions of the scores in force at From and at To (0: none
	// was stored yet), FromAsOf and ToAsOf their as_of.
	FromVersion uint64     `json:"from_version"`
	ToVersion   uint64     `json:"to_version"`
	FromAsOf    *time.Time `json:"from_as_of"`
	ToAsOf      *time.Time `json:"to_as_of"`
	// Composite is the change of the composite; Terms those of the method's terms, in the
	// method's order, each with the counts behind it that changed.
	Composite Change       `json:"composite"`
	Terms     []TermChange `json:"terms"`
	// Steps is the number of stored versions from FromVersion to ToVersion; the causes below are
	// summed over them.
	Steps      int                `json:"steps"`
	Applied    int64              `json:"applied"`     // events of the unit applied
	Events     []engine.TypeCount `json:"events"`      // by type, in the order of events.Types
	Items      []string           `json:"items"`       // portal changes in words, at most MaxItems
	ItemsTotal int64              `json:"items_total"` // portal changes that won their key
	WindowLeft []engine.TypeCount `json:"window_left"` // events that left the rolling window
	SummaryEN  string             `json:"summary_en"`
	SummaryZH  string             `json:"summary_zh"`
}

// MaxItems is the most portal changes an Explanation lists in words.
const MaxItems = engine.MaxCauseItems

// Change is the change of one value; From or To is nil when there was no value.
type Change struct {
	From  *float64 `json:"from"`
	To    *float64 `json:"to"`
	Delta *float64 `json:"delta"`
}

// TermChange is the change of one term of the method.
type TermChange struct {
	Term    string  `json:"term"`
	Label   string  `json:"label"`    // Term with spaces
	LabelZH string  `json:"label_zh"` // the method's Chinese name of the term
	Weight  float64 `json:"weight"`   // 0: shown, not scored
	Change
	// Contribution is Weight × Delta, the term's share of the composite's delta (up to rounding).
	Contribution *float64      `json:"contribution"`
	Counts       []CountChange `json:"counts"` // the term's counts that changed
}

// CountChange is the change of one count.
type CountChange struct {
	Name  string `json:"name"`
	From  int64  `json:"from"`
	To    int64  `json:"to"`
	Delta int64  `json:"delta"`
}

// Reader reads the tables that explain changes (chstore.Store).
type Reader interface {
	VersionAt(ctx context.Context, region string, t time.Time) (uint64, bool, error)
	ScoreChanges(ctx context.Context, region string, versions ...uint64) ([]chstore.ScoreChangeRow, error)
	ScoreCauses(ctx context.Context, region string, from, to time.Time) ([]chstore.ScoreCauseRow, error)
}

// Load explains the change of region's score over (from, to] from the stored tables.
func Load(ctx context.Context, r Reader, region string, from, to time.Time) (*Explanation, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("explain: interval from %s to %s: the end is before the start", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	v1, ok1, err := r.VersionAt(ctx, region, from)
	if err != nil {
		return nil, fmt.Errorf("explain %s: %w", region, err)
	}
	v2, ok2, err := r.VersionAt(ctx, region, to)
	if err != nil {
		return nil, fmt.Errorf("explain %s: %w", region, err)
	}
	var versions []uint64
	if ok1 {
		versions = append(versions, v1)
	}
	if ok2 {
		versions = append(versions, v2)
	}
	var rows []chstore.ScoreChangeRow
	if len(versions) > 0 {
		if rows, err = r.ScoreChanges(ctx, region, versions...); err != nil {
			return nil, fmt.Errorf("explain %s: %w", region, err)
		}
	}
	causes, err := r.ScoreCauses(ctx, region, from, to)
	if err != nil {
		return nil, fmt.Errorf("explain %s: %w", region, err)
	}
	var start, end []chstore.ScoreChangeRow
	for _, row := range rows {
		if ok1 && row.Version == v1 {
			start = append(start, row)
		}
		if ok2 && row.Version == v2 {
			end = append(end, row)
		}
	}
	return Build(region, from, to, start, end, causes), nil
}

// Build explains the change of region's score over (from, to] from the score_changes rows of the
// version in force at from (start; none when there was none) and at to (end), and the
// score_causes rows of the versions in between.
func Build(region string, from, to time.Time, start, end []chstore.ScoreChangeRow, causes []chstore.ScoreCauseRow) *Explanation {
	x := &Explanation{Region: region, From: from, To: to}
	if len(end) == 0 {
		x.summarize()
		return x
	}
	x.Method, x.ToVersion = end[0].Method, end[0].Version
	toAsOf := end[0].AsOf
	x.ToAsOf = &toAsOf
	if len(start) > 0 {
		x.FromVersion = start[0].Version
		fromAsOf := start[0].AsOf
		x.FromAsOf = &fromAsOf
	}
	before, after := values(start), values(end)
	spec, _ := scoring.Lookup(x.Method)
	x.Composite = change(before, after, engine.CompositeTerm)
	if spec != nil {
		labels := termLabels(x.Method)
		for _, t := range spec.Terms {
			tc := TermChange{Term: t.Name, Label: labels[t.Name][0], LabelZH: labels[t.Name][1],
				Weight: t.Weight, Change: change(before, after, t.Name)}
			if d := tc.Delta; d != nil && t.Scored() {
				c := t.Weight * *d
				tc.Contribution = &c
			}
			for _, name := range t.Counts {
				f, tv := count(before, name), count(after, name)
				if f != tv {
					tc.Counts = append(tc.Counts, CountChange{Name: name, From: f, To: tv, Delta: tv - f})
				}
			}
			x.Terms = append(x.Terms, tc)
		}
	}
	x.addCauses(causes)
	x.summarize()
	return x
}

// values maps the terms of score_changes rows to their to_value.
func values(rows []chstore.ScoreChangeRow) map[string]*float64 {
	m := make(map[string]*float64, len(rows))
	for _, r := range rows {
		m[r.Term] = r.To
	}
	return m
}

func change(before, after map[string]*float64, term string) Change {
	c := Change{From: before[term], To: after[term]}
	if c.From != nil && c.To != nil {
		d := round6(*c.To - *c.From)
		c.Delta = &d
	}
	return c
}

// round6 rounds a difference of two values of 6 decimals to 6 decimals, removing the binary
// representation error of the subtraction.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// count returns a count's value, 0 when there is none (no score yet).
func count(m map[string]*float64, name string) int64 {
	if v := m[name]; v != nil {
		return int64(*v)
	}
	return 0
}

// addCauses sums the causes of the chain of stored steps that leads from ToVersion back to
// FromVersion: each step names the version it started from, so that steps written twice after a
// crash (from two different previous versions) are counted once.
func (x *Explanation) addCauses(causes []chstore.ScoreCauseRow) {
	byVersion := make(map[uint64]*chstore.ScoreCauseRow, len(causes))
	for i := range causes {
		byVersion[causes[i].Version] = &causes[i]
	}
	byType := map[string]int64{}
	left := map[string]int64{}
	var chain []*chstore.ScoreCauseRow
	for v := x.ToVersion; v > x.FromVersion; {
		c, ok := byVersion[v]
		if !ok {
			break
		}
		chain = append(chain, c)
		v = c.FromVersion
	}
	slices.Reverse(chain)
	for _, c := range chain {
		x.Steps++
		x.Applied += int64(c.Applied)
		x.ItemsTotal += int64(c.ItemsTotal)
		for i, t := range c.EventTypes[:min(len(c.EventTypes), len(c.EventCounts))] {
			byType[t] += int64(c.EventCounts[i])
		}
		for i, t := range c.WindowTypes[:min(len(c.WindowTypes), len(c.WindowLeft))] {
			left[t] += c.WindowLeft[i]
		}
		for _, it := range c.Items {
			if len(x.Items) < MaxItems {
				x.Items = append(x.Items, it)
			}
		}
	}
	x.Events, x.WindowLeft = ordered(byType), ordered(left)
}

// ordered returns the non-zero counts in the order of event types (events.Types).
func ordered(m map[string]int64) []engine.TypeCount {
	var out []engine.TypeCount
	for _, t := range events.Types() {
		if n := m[string(t)]; n != 0 {
			out = append(out, engine.TypeCount{Type: string(t), Count: n})
		}
	}
	return out
}

// summarize writes the summaries: the composite's change, the terms that changed by the size of
// their contribution, then the events and the window.
func (x *Explanation) summarize() {
	if x.ToVersion == 0 {
		x.SummaryEN = x.Region + ": no score stored by " + x.To.Format(time.RFC3339)
		x.SummaryZH = x.Region + "：" + x.To.Format(time.RFC3339) + " 前没有已存储的分数"
		return
	}
	var en, zh strings.Builder
	fmt.Fprintf(&en, "%s composite %s", x.Region, fromTo(x.Composite))
	fmt.Fprintf(&zh, "%s 综合指数 %s", x.Region, fromTo(x.Composite))
	terms := slices.Clone(x.Terms)
	slices.SortStableFunc(terms, func(a, b TermChange) int {
		return cmp.Compare(math.Abs(deref(b.Contribution)), math.Abs(deref(a.Contribution)))
	})
	sep := [2]string{": ", "："}
	for _, t := range terms {
		if t.Delta == nil || *t.Delta == 0 {
			continue
		}
		counts := ""
		if len(t.Counts) > 0 {
			parts := make([]string, len(t.Counts))
			for i, c := range t.Counts {
				parts[i] = c.Name + " " + thousands(c.From) + " → " + thousands(c.To)
			}
			counts = strings.Join(parts, ", ")
		}
		en.WriteString(sep[0] + t.Label + " " + signed(*t.Delta))
		zh.WriteString(sep[1] + t.LabelZH + " " + signed(*t.Delta))
		if t.Weight == 0 {
			en.WriteString(" (not scored)")
			zh.WriteString("（不计分）")
		}
		if counts != "" {
			en.WriteString(" (" + counts + ")")
			zh.WriteString("（" + counts + "）")
		}
		sep = [2]string{", ", "，"}
	}
	byType := func(list []engine.TypeCount) string {
		parts := make([]string, len(list))
		for i, c := range list {
			parts[i] = c.Type + " " + thousands(c.Count)
		}
		return strings.Join(parts, ", ")
	}
	fmt.Fprintf(&en, "; %s events applied over %d stored versions", thousands(x.Applied), x.Steps)
	fmt.Fprintf(&zh, "；%d 个已存储版本共应用事件 %s 个", x.Steps, thousands(x.Applied))
	if len(x.Events) > 0 {
		en.WriteString(" (" + byType(x.Events) + ")")
		zh.WriteString("（" + byType(x.Events) + "）")
	}
	if x.ItemsTotal > 0 {
		fmt.Fprintf(&en, ", %s portal changes", thousands(x.ItemsTotal))
		fmt.Fprintf(&zh, "，其中门户变更 %s 项", thousands(x.ItemsTotal))
		if len(x.Items) > 0 {
			en.WriteString(" such as " + x.Items[0])
			zh.WriteString("，如 " + x.Items[0])
		}
	}
	for _, c := range x.WindowLeft {
		if c.Count > 0 {
			fmt.Fprintf(&en, "; %s %s left the %d-day window", thousands(c.Count), c.Type, engine.RollingDays)
			fmt.Fprintf(&zh, "；%s 个 %s 移出 %d 天窗口", thousands(c.Count), c.Type, engine.RollingDays)
		} else {
			// Events dated after the window's end enter it when it slides to their day.
			fmt.Fprintf(&en, "; %s %s dated ahead entered the %d-day window", thousands(-c.Count), c.Type, engine.RollingDays)
			fmt.Fprintf(&zh, "；%s 个提前到达的 %s 进入 %d 天窗口", thousands(-c.Count), c.Type, engine.RollingDays)
		}
	}
	x.SummaryEN, x.SummaryZH = en.String(), zh.String()
}

// fromTo formats a change as "+2.31 (40.12 → 42.43)", or "42.43 (first score)".
func fromTo(c Change) string {
	switch {
	case c.To == nil:
		return "none"
	case c.Delta == nil:
		return strconv.FormatFloat(*c.To, 'f', 2, 64) + " (first score)"
	}
	return signed(*c.Delta) + " (" + strconv.FormatFloat(*c.From, 'f', 2, 64) + " → " +
		strconv.FormatFloat(*c.To, 'f', 2, 64) + ")"
}

// signed formats v with a sign and 2 decimals.
func signed(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	if v >= 0 && !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
