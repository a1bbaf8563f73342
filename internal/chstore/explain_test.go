package chstore_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
)

// TestExplainRoundTrip writes the three tables that explain changes twice, the second time with a
// finer step for one version (as after a crash), and reads back the finest rows.
func TestExplainRoundTrip(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := t.Context()
	at := func(h int) time.Time { return time.Date(2016, 12, 1, h, 0, 0, 123, time.UTC) }
	f := func(v float64) *float64 { return &v }
	coarse := chstore.Batch{
		ScoreChanges: []chstore.ScoreChangeRow{
			{Method: "2017", Region: "330000", Version: 5, Term: "composite", To: f(40), AsOf: at(1)},
			{Method: "2017", Region: "330000", Version: 9, Term: "composite", FromVersion: 5, From: f(40), To: f(42), Delta: f(2), AsOf: at(3)},
		},
		ScoreCauses: []chstore.ScoreCauseRow{
			{Method: "2017", Region: "330000", Version: 5, AsOf: at(1), FirstSeq: 1, LastSeq: 5, Applied: 2,
				EventTypes: []string{"feedback.rated"}, EventCounts: []uint64{2}},
			{Method: "2017", Region: "330000", Version: 9, FromVersion: 5, AsOf: at(3), FirstSeq: 6, LastSeq: 9, Applied: 2,
				EventTypes: []string{"service.published"}, EventCounts: []uint64{2}, Items: []string{"province/A published"}, ItemsTotal: 2,
				WindowTypes: []string{"feedback.rated"}, WindowLeft: []int64{-1}},
		},
		RankChanges: []chstore.RankChangeRow{
			{Method: "2017", Version: 9, FromVersion: 5, AsOf: at(3), Region: "330000", OldRank: 3, NewRank: 2,
				Passed: []string{"110000"}, PassedTerms: []string{"service_modes"}},
			{Method: "2017", Version: 9, FromVersion: 5, AsOf: at(3), Region: "110000", OldRank: 2, NewRank: 3,
				PassedBy: []string{"330000"}, PassedByTerms: []string{"service_modes"}},
		},
	}
	fine := chstore.Batch{
		ScoreChanges: []chstore.ScoreChangeRow{
			{Method: "2017", Region: "330000", Version: 9, Term: "composite", FromVersion: 7, From: f(41), To: f(42), Delta: f(1), AsOf: at(3)},
		},
		ScoreCauses: []chstore.ScoreCauseRow{
			{Method: "2017", Region: "330000", Version: 9, FromVersion: 7, AsOf: at(3), FirstSeq: 8, LastSeq: 9, Applied: 1,
				EventTypes: []string{"service.published"}, EventCounts: []uint64{1}, ItemsTotal: 1},
		},
		RankChanges: []chstore.RankChangeRow{
			{Method: "2017", Version: 9, FromVersion: 7, AsOf: at(3), Region: "330000", OldRank: 3, NewRank: 2,
				Passed: []string{"110000"}, PassedTerms: []string{"service_modes"}},
		},
	}
	for _, b := range []chstore.Batch{coarse, coarse, fine} {
		if err := s.Write(ctx, b); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	changes, err := s.ScoreChanges(ctx, "330000", 5, 9)
	if err != nil {
		t.Fatal(err)
	}
	want := []chstore.ScoreChangeRow{coarse.ScoreChanges[0], fine.ScoreChanges[0]}
	if !reflect.DeepEqual(changes, want) {
		t.Fatalf("score changes\n got %+v\nwant %+v", changes, want)
	}
	causes, err := s.ScoreCauses(ctx, "330000", at(1), at(3))
	if err != nil {
		t.Fatal(err)
	}
	wantCause := fine.ScoreCauses[0]
	wantCause.Items, wantCause.WindowTypes, wantCause.WindowLeft = []string{}, []string{}, []int64{}
	if len(causes) != 1 || !reflect.DeepEqual(causes[0], wantCause) {
		t.Fatalf("causes\n got %+v\nwant %+v", causes, wantCause)
	}
	v, ok, err := s.VersionAt(ctx, "330000", at(2))
	if err != nil || !ok || v != 5 {
		t.Fatalf("VersionAt = %d, %v, %v; want 5", v, ok, err)
	}
	if _, ok, err := s.VersionAt(ctx, "330000", at(0)); err != nil || ok {
		t.Fatalf("VersionAt before the first = %v, %v", ok, err)
	}
	ranks, err := s.RankChanges(ctx, time.Time{}, at(4))
	if err != nil {
		t.Fatal(err)
	}
	wantRank := fine.RankChanges[0]
	wantRank.PassedBy, wantRank.PassedByTerms = []string{}, []string{}
	if len(ranks) != 1 || !reflect.DeepEqual(ranks[0], wantRank) {
		t.Fatalf("rank changes\n got %+v\nwant %+v", ranks, wantRank)
	}
}
