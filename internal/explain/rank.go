package explain

import (
	"cmp"
	"strconv"
	"strings"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/scoring"
)

// RankChange is a stored rank change with its summaries, as the site's ranking shows it on its
// change arrows.
type RankChange struct {
	Region      string `json:"region"`
	Version     uint64 `json:"version"`
	FromVersion uint64 `json:"from_version"`
	OldRank     int    `json:"old_rank"`
	NewRank     int    `json:"new_rank"`
	Passed      []Pass `json:"passed"`
	PassedBy    []Pass `json:"passed_by"`
	SummaryEN   string `json:"summary_en"`
	SummaryZH   string `json:"summary_zh"`
}

// Pass is a unit passed (or passing) and the term that did most for it ("" when none).
type Pass struct {
	Region string `json:"region"`
	Term   string `json:"term"`
}

// Rank returns the rank change of a rank_changes row, with its summaries, such as "up 2 (5 → 3):
// passed 110000 (guide accuracy), 320000 (item coverage)".
func Rank(row chstore.RankChangeRow) RankChange {
	rc := RankChange{Region: row.Region, Version: row.Version, FromVersion: row.FromVersion,
		OldRank: int(row.OldRank), NewRank: int(row.NewRank), Passed: []Pass{}, PassedBy: []Pass{}}
	for i, r := range row.Passed {
		rc.Passed = append(rc.Passed, Pass{Region: r, Term: at(row.PassedTerms, i)})
	}
	for i, r := range row.PassedBy {
		rc.PassedBy = append(rc.PassedBy, Pass{Region: r, Term: at(row.PassedByTerms, i)})
	}
	labels := termLabels(row.Method)
	list := func(ps []Pass, zh bool) string {
		parts := make([]string, len(ps))
		for i, p := range ps {
			parts[i] = p.Region
			if p.Term != "" {
				l := labels[p.Term]
				if zh {
					parts[i] += "（" + cmp.Or(l[1], p.Term) + "）"
				} else {
					parts[i] += " (" + cmp.Or(l[0], p.Term) + ")"
				}
			}
		}
		if zh {
			return strings.Join(parts, "、")
		}
		return strings.Join(parts, ", ")
	}
	n := rc.OldRank - rc.NewRank
	ranks := " (" + strconv.Itoa(rc.OldRank) + " → " + strconv.Itoa(rc.NewRank) + ")"
	var en, zh strings.Builder
	if n > 0 {
		en.WriteString("up " + strconv.Itoa(n) + ranks)
		zh.WriteString("上升 " + strconv.Itoa(n) + " 位" + ranks)
	} else {
		en.WriteString("down " + strconv.Itoa(-n) + ranks)
		zh.WriteString("下降 " + strconv.Itoa(-n) + " 位" + ranks)
	}
	if len(rc.Passed) > 0 {
		en.WriteString(": passed " + list(rc.Passed, false))
		zh.WriteString("：超过 " + list(rc.Passed, true))
	}
	if len(rc.PassedBy) > 0 {
		en.WriteString("; passed by " + list(rc.PassedBy, false))
		zh.WriteString("；被 " + list(rc.PassedBy, true) + " 超过")
	}
	rc.SummaryEN, rc.SummaryZH = en.String(), zh.String()
	return rc
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// termLabels maps the method's term names to their English and Chinese labels.
func termLabels(method string) map[string][2]string {
	m := map[string][2]string{}
	if spec, ok := scoring.Lookup(method); ok {
		for _, t := range spec.Terms {
			m[t.Name] = [2]string{strings.ReplaceAll(t.Name, "_", " "), cmp.Or(t.LabelZH, t.Name)}
		}
	}
	return m
}
