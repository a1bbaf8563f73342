package chstore_test

import (
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
)

func TestDropMonthsBefore(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := t.Context()
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	var rows []chstore.DLQRow
	for i, when := range []time.Time{at(2016, 9, 30), at(2016, 10, 1), at(2016, 10, 31), at(2016, 11, 1), at(2016, 12, 24)} {
		rows = append(rows, chstore.DLQRow{Stage: "ingest", ReasonCode: "invalid", ReceivedAt: when, StreamSeq: uint64(i + 1)})
	}
	if err := s.Write(ctx, chstore.Batch{DLQ: rows}); err != nil {
		t.Fatal(err)
	}
	// November is not over at the cutoff: it stays, with December.
	dropped, err := s.DropMonthsBefore(ctx, "dlq", at(2016, 11, 30))
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "dropped", dropped, []string{"201609", "201610"})
	left, err := s.DLQ(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, r := range left {
		seqs = append(seqs, r.StreamSeq)
	}
	checkEqual(t, "rows left", seqs, []uint64{4, 5})
	if dropped, err := s.DropMonthsBefore(ctx, "dlq", at(2016, 11, 30)); err != nil || len(dropped) != 0 {
		t.Errorf("second drop: %v, %v; want nothing to drop", dropped, err)
	}
	if _, err := s.DropMonthsBefore(ctx, "scores", at(2016, 11, 30)); err == nil {
		t.Error("DropMonthsBefore(scores) succeeded; scores is not partitioned by month")
	}
}
