package ctl

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/govpulse/govpulse/internal/groups"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// RankingMessage is a ranking as published on govpulse.rankings and stored
// under the key "ranking" of the latest bucket.
type RankingMessage struct {
	Version uint64         `json:"version"`
	AsOf    time.Time      `json:"as_of"`
	Method  string         `json:"method"`
	Ranking []RankingEntry `json:"ranking"`
}

// RankingEntry is one row of a [RankingMessage]. PrevRank is 0 when the
// region had no rank before; Change is PrevRank - Rank (positive: up).
type RankingEntry struct {
	Rank      int     `json:"rank"`
	Region    string  `json:"region"`
	Composite float64 `json:"composite"`
	Grade     string  `json:"grade"`
	PrevRank  int     `json:"prev_rank"`
	Change    int     `json:"change"`
}

// Board is the latest ranking and scores seen. The zero value is empty and
// ready to use. It is not safe for concurrent use.
type Board struct {
	method  string // the method shown before a ranking says it; "" is scoring.DefaultMethod
	group   string // the group of units ranked (package groups); "" is the provincial units
	members map[string]bool
	ranking *RankingMessage
	scores  map[string]scoring.Score
}

// NewGroupBoard returns an empty board of the ranking of a group of units (package groups, such
// as "key-cities") under a method: it keeps the scores of the group's members only. An unknown
// group is an error.
func NewGroupBoard(group, method string) (*Board, error) {
	g, ok := groups.Lookup(group)
	if !ok {
		return nil, fmt.Errorf("ctl: unknown group %q", group)
	}
	b := &Board{method: method, group: group, members: make(map[string]bool, len(g.Members))}
	for _, m := range g.Members {
		b.members[m] = true
	}
	return b, nil
}

// SetRanking decodes a ranking message and keeps it unless a newer version
// is already known. It reports whether the board changed.
func (b *Board) SetRanking(data []byte) (bool, error) {
	var m RankingMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return false, fmt.Errorf("ctl: decode ranking: %w", err)
	}
	if b.ranking != nil && m.Version < b.ranking.Version {
		return false, nil
	}
	slices.SortFunc(m.Ranking, func(x, y RankingEntry) int { return cmp.Compare(x.Rank, y.Rank) })
	b.ranking = &m
	return true, nil
}

// SetScore decodes a score message and keeps it unless a newer version of
// the region's score is already known. It reports whether the board changed.
func (b *Board) SetScore(data []byte) (bool, error) {
	var m scoring.Score // members the board does not know are ignored
	if err := json.Unmarshal(data, &m); err != nil {
		return false, fmt.Errorf("ctl: decode score: %w", err)
	}
	if m.Region == "" {
		return false, fmt.Errorf("ctl: decode score: no region")
	}
	if b.members != nil && !b.members[m.Region] {
		return false, nil
	}
	if old, ok := b.scores[m.Region]; ok && m.Version < old.Version {
		return false, nil
	}
	if b.scores == nil {
		b.scores = map[string]scoring.Score{}
	}
	b.scores[m.Region] = m
	return true, nil
}

// Empty reports whether the board has neither a ranking nor a score.
func (b *Board) Empty() bool { return b.ranking == nil && len(b.scores) == 0 }

// rows returns the ranking to show: the latest ranking, or when none was
// seen yet, the scores ordered as the method ranks them.
func (b *Board) rows() []RankingEntry {
	if b.ranking != nil {
		return b.ranking.Ranking
	}
	var out []RankingEntry
	for _, s := range b.scores {
		out = append(out, RankingEntry{Region: s.Region, Composite: s.Composite, Grade: string(s.Grade)})
	}
	slices.SortFunc(out, func(x, y RankingEntry) int {
		if c := cmp.Compare(y.Composite, x.Composite); c != 0 {
			return c
		}
		return cmp.Compare(x.Region, y.Region)
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}

// Render writes the ranking table: rank, region (English and Chinese),
// composite, grade, the sub-indices of the method (its scored terms) and the
// change of rank.
func (b *Board) Render(w io.Writer) error {
	var sb strings.Builder
	method := cmp.Or(b.method, scoring.DefaultMethod)
	title, what := "govpulse ranking", "govpulse scores"
	if b.group != "" {
		title, what = "govpulse ranking of "+b.group, "govpulse scores of "+b.group
	}
	if r := b.ranking; r != nil {
		method = cmp.Or(r.Method, method)
		fmt.Fprintf(&sb, "%s  version %d  as of %s  method %s\n",
			title, r.Version, r.AsOf.UTC().Format(time.RFC3339), method)
	} else {
		fmt.Fprintf(&sb, "%s (no ranking published yet)  method %s\n", what, method)
	}
	var terms []scoring.Term
	if spec, ok := scoring.Lookup(method); ok {
		for _, t := range spec.Terms {
			if t.Scored() {
				terms = append(terms, t)
			}
		}
	}
	fmt.Fprintf(&sb, "%4s  %-6s  %s  %9s  %-9s", "rank", "code", pad("region", 39), "composite", "grade")
	for _, t := range terms {
		fmt.Fprintf(&sb, "  %*s", max(6, len(t.Label)), t.Label)
	}
	fmt.Fprintf(&sb, "  %6s\n", "change")
	for _, e := range b.rows() {
		name := e.Region
		if reg, ok := events.LookupRegion(e.Region); ok {
			name = truncate(reg.NameEN, 22) + " " + reg.NameZH
		} else if u, ok := events.LookupUnit(e.Region); ok {
			name = truncate(u.NameEN, 22) + " " + u.NameZH
		}
		fmt.Fprintf(&sb, "%4d  %-6s  %s  %9.3f  %-9s", e.Rank, e.Region, pad(name, 39), e.Composite, e.Grade)
		s, ok := b.scores[e.Region]
		for _, t := range terms {
			v := "-"
			if ok {
				if f := t.Value(&s); f != nil {
					v = fmt.Sprintf("%.2f", *f)
				}
			}
			fmt.Fprintf(&sb, "  %*s", max(6, len(t.Label)), v)
		}
		fmt.Fprintf(&sb, "  %6s\n", change(e))
	}
	if _, err := io.WriteString(w, sb.String()); err != nil {
		return fmt.Errorf("ctl: write table: %w", err)
	}
	return nil
}

// change formats a change of rank: "+2", "-1", "=", or "new".
func change(e RankingEntry) string {
	switch {
	case e.PrevRank == 0:
		return "new"
	case e.Change > 0:
		return fmt.Sprintf("+%d", e.Change)
	case e.Change < 0:
		return fmt.Sprintf("%d", e.Change)
	}
	return "="
}

// width returns the display width of s in a terminal: East Asian wide
// characters take two columns.
func width(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 && (r <= 0x115f || r >= 0x2e80 && r <= 0xa4cf || r >= 0xac00 && r <= 0xd7a3 ||
			r >= 0xf900 && r <= 0xfaff || r >= 0xfe30 && r <= 0xfe4f || r >= 0xff00 && r <= 0xff60 || r >= 0xffe0 && r <= 0xffe6) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// pad pads s with spaces to n display columns.
func pad(s string, n int) string {
	if w := width(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}

// truncate shortens s to at most n runes, ending with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
