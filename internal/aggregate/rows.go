package aggregate

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/explain"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// rows converts the pending batch to ClickHouse rows, in a deterministic order. Every method's
// scores and rankings go to method_scores and method_rankings (the views scores and rankings show
// method 2017's). The ranking table holds rankings of all 32 units only: a partial partition's
// ranking is published, not stored.
func (p *pending) rows(withRanking bool) chstore.Batch {
	b := chstore.Batch{Events: p.events, LateEvents: p.late}
	if len(p.scores) > 0 {
		b.MethodScores = make([]chstore.ScoreRow, 0, len(p.scores))
	}
	for _, k := range sortedKeys(p.scores) {
		b.MethodScores = append(b.MethodScores, p.scores[k]) // a score is its row (chstore.ScoreRow)
	}
	if withRanking {
		for _, method := range sortedKeys(p.rankings) {
			b.MethodRankings = append(b.MethodRankings, rankingRows(p.rankings[method])...)
		}
	}
	members := 0
	for _, rk := range p.groups {
		members += len(rk.Entries)
	}
	if members > 0 {
		b.GroupRankings = make([]chstore.GroupRankingRow, 0, members)
	}
	for _, group := range sortedKeys(p.groups) {
		b.GroupRankings = chstore.AppendGroupRankingRows(b.GroupRankings, group, p.groups[group])
	}
	for _, k := range slices.SortedFunc(maps.Keys(p.windows), func(a, b windowKey) int {
		return cmp.Or(cmp.Compare(a.region, b.region), cmp.Compare(a.metric, b.metric), cmp.Compare(a.start, b.start))
	}) {
		b.Windows = append(b.Windows, windowRow(p.windows[k]))
	}
	// A batch over every unit holds hundreds of thousands of change rows: sized once, not grown.
	terms := 0
	for i := range p.changes {
		terms += len(p.changes[i].Terms)
	}
	if len(p.changes) > 0 {
		b.ScoreChanges = make([]chstore.ScoreChangeRow, 0, terms)
		b.ScoreCauses = make([]chstore.ScoreCauseRow, 0, len(p.changes))
	}
	for i := range p.changes {
		b.ScoreChanges, b.ScoreCauses = explain.AppendRows(b.ScoreChanges, b.ScoreCauses, &p.changes[i])
	}
	if withRanking {
		for i := range p.rankChanges {
			b.RankChanges = append(b.RankChanges, explain.RankRow(&p.rankChanges[i]))
		}
	}
	b.Inconsistencies = p.inconsistencies // an inconsistency is its row (chstore.InconsistencyRow)
	for _, region := range sortedKeys(p.portalMeasures) {
		b.PortalCounts = append(b.PortalCounts, p.portalMeasures[region])
	}
	for _, k := range slices.SortedFunc(maps.Keys(p.reviewStats), func(a, b reviewKey) int {
		return cmp.Or(cmp.Compare(a.region, b.region), cmp.Compare(a.period, b.period), cmp.Compare(a.start, b.start))
	}) {
		b.ReviewStats = append(b.ReviewStats, p.reviewStats[k])
	}
	b.Alerts = p.alerts // an alert is its row
	return b
}

// rescoreRows keeps of b what a re-scoring stores: the scores and rankings of its method in the
// method tables, those with as_of before from left out.
func rescoreRows(b chstore.Batch, from time.Time) chstore.Batch {
	out := chstore.Batch{}
	for _, sc := range b.MethodScores {
		if !sc.AsOf.Before(from) {
			out.MethodScores = append(out.MethodScores, sc)
		}
	}
	for _, r := range b.MethodRankings {
		if !r.AsOf.Before(from) {
			out.MethodRankings = append(out.MethodRankings, r)
		}
	}
	return out
}

// eventRow is the events-table row of an event read at stream sequence seq.
func eventRow(ev *events.Event, seq uint64, stored time.Time, payload string) chstore.EventRow {
	row := chstore.EventRow{
		Region: ev.Region, ID: ev.ID, Type: string(ev.Type), Time: ev.Time, IngestTime: stored,
		StreamSeq: seq, Source: ev.Source, Payload: payload,
	}
	switch d := ev.Data.(type) {
	case *events.CatalogItemData:
		row.ItemCode, row.Level = d.ItemCode, string(d.Level)
	case *events.ServicePublishedData:
		row.ItemCode, row.Level = d.ItemCode, string(d.Level)
	case *events.ServiceWithdrawnData:
		row.ItemCode, row.Level = d.ItemCode, string(d.Level)
	case *events.GuideAuditedData:
		row.ItemCode, row.Level = d.ItemCode, string(d.Level)
	case *events.FeedbackRatedData:
		row.ItemCode, row.Level = d.ItemCode, string(d.Level)
		row.Rating, row.Channel = uint8(d.Rating), string(d.Channel)
	case *events.ApplicationCompletedData:
		row.ItemCode, row.Level, row.Outcome = d.ItemCode, string(d.Level), string(d.Outcome)
	}
	return row
}

// lateRow is the late_events row of an event judged too late against watermark wm.
func lateRow(ev *events.Event, seq uint64, wm time.Time, reason, payload string, stored time.Time) chstore.LateEventRow {
	return chstore.LateEventRow{
		Region: ev.Region, ID: ev.ID, Type: string(ev.Type), Time: ev.Time, StreamSeq: seq,
		Watermark: wm, Reason: reason, Payload: payload, RecordedAt: stored,
	}
}

func rankingRows(r *scoring.Ranking) []chstore.RankingRow {
	rows := make([]chstore.RankingRow, 0, len(r.Entries))
	for _, e := range r.Entries {
		rows = append(rows, chstore.RankingRow{
			Version: r.Version, AsOf: r.AsOf, Method: r.Method, Rank: uint8(e.Rank), Region: e.Region,
			Composite: e.Composite, Grade: string(e.Grade), PrevRank: uint8(e.PrevRank), Change: int16(e.Change),
		})
	}
	return rows
}

func windowRow(w engine.WindowRow) chstore.WindowRow {
	row := chstore.WindowRow{
		Region: w.Region, Metric: w.Metric, WindowStart: w.Start, WindowEnd: w.End, Version: w.Version,
		Count: uint64(w.Count), RatingSum: uint64(w.RatingSum), Completed: uint64(w.Completed),
		Abandoned: uint64(w.Abandoned), Rejected: uint64(w.Rejected), OnlineCompleted: uint64(w.OnlineCompleted),
	}
	for i, n := range w.Ratings {
		row.RatingCounts[i] = uint64(n)
	}
	return row
}

// appendRows returns dst with the rows of src after its own, table by table. Every field of
// chstore.Batch is a table's rows, so it appends them all by reflection: a table added to the
// batch is merged too.
func appendRows(dst, src chstore.Batch) chstore.Batch {
	d, sv := reflect.ValueOf(&dst).Elem(), reflect.ValueOf(src)
	for i := range d.NumField() {
		if sv.Field(i).Len() > 0 {
			d.Field(i).Set(reflect.AppendSlice(d.Field(i), sv.Field(i)))
		}
	}
	return dst
}
