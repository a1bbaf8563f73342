package dlqarchive_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/dlqarchive"
	"github.com/govpulse/govpulse/internal/testwait"
)

// The archiver drops the months of the dlq table older than the retention, and keeps the others.
func TestRetentionDropsOldMonths(t *testing.T) {
	js, store, _, _ := setup(t)
	now := time.Now().UTC()
	rows := []chstore.DLQRow{
		{Stage: "ingest", ReasonCode: "invalid", ReceivedAt: now.AddDate(0, -8, 0), StreamSeq: 1},
		{Stage: "ingest", ReasonCode: "invalid", ReceivedAt: now.AddDate(0, -5, 0), StreamSeq: 2},
		{Stage: "ingest", ReasonCode: "invalid", ReceivedAt: now.AddDate(0, 0, -1), StreamSeq: 3},
		{Stage: "ingest", ReasonCode: "invalid", ReceivedAt: now, StreamSeq: 4},
	}
	if err := store.Write(t.Context(), chstore.Batch{DLQ: rows}); err != nil {
		t.Fatal(err)
	}
	a, err := dlqarchive.New(dlqarchive.Config{FetchWait: 200 * time.Millisecond, RetentionInterval: 100 * time.Millisecond}, js, store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := testwait.Run(t, "archiver", a.Run)
	seqs := func() []uint64 {
		var out []uint64
		for _, r := range archived(t, store) {
			out = append(out, r.StreamSeq)
		}
		slices.Sort(out)
		return out
	}
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error { return wantSeqs(seqs(), 3, 4) })
	stop()
}

// With KeepForever nothing is dropped.
func TestRetentionKeepForever(t *testing.T) {
	js, store, _, _ := setup(t)
	old := chstore.DLQRow{Stage: "ingest", ReasonCode: "invalid", ReceivedAt: time.Date(2016, 11, 3, 0, 0, 0, 0, time.UTC), StreamSeq: 1}
	if err := store.Write(t.Context(), chstore.Batch{DLQ: []chstore.DLQRow{old}}); err != nil {
		t.Fatal(err)
	}
	dropped := make(chan struct{})
	a, err := dlqarchive.New(dlqarchive.Config{FetchWait: 100 * time.Millisecond, RetentionInterval: 10 * time.Millisecond,
		Retention: dlqarchive.KeepForever}, js, spy{store, dropped}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := testwait.Run(t, "archiver", a.Run)
	select {
	case <-dropped:
		t.Error("the archiver dropped months with Retention: KeepForever")
	case <-time.After(300 * time.Millisecond):
	}
	stop()
	if n := len(archived(t, store)); n != 1 {
		t.Errorf("%d rows left, want 1", n)
	}
}

// spy reports every call of DropMonthsBefore.
type spy struct {
	*chstore.Store
	dropped chan struct{}
}

func (s spy) DropMonthsBefore(ctx context.Context, table string, cutoff time.Time) ([]string, error) {
	select {
	case s.dropped <- struct{}{}:
	default:
	}
	return s.Store.DropMonthsBefore(ctx, table, cutoff)
}
