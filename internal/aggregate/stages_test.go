package aggregate

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/scoring"
)

// appendRows appends every table of chstore.Batch, including any added later.
func TestAppendRowsAppendsEveryTable(t *testing.T) {
	var one chstore.Batch
	v := reflect.ValueOf(&one).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() != reflect.Slice {
			t.Fatalf("chstore.Batch.%s is not a table's rows", v.Type().Field(i).Name)
		}
		f.Set(reflect.MakeSlice(f.Type(), 1, 1))
	}
	got := appendRows(appendRows(chstore.Batch{}, one), one)
	g := reflect.ValueOf(got)
	for i := range g.NumField() {
		if n := g.Field(i).Len(); n != 2 {
			t.Errorf("%s: %d rows, want 2", g.Type().Field(i).Name, n)
		}
	}
	if one.Len() != v.NumField() {
		t.Fatalf("the batch appended from changed: %d rows", one.Len())
	}
}

// The jobs the rest stage takes at once are one job: rows and what they publish in order, the
// scores' refused rows numbered as in the merged rows, the newest checkpoint, the last sequence
// and watermark.
func TestMergeJobs(t *testing.T) {
	at := time.Date(2016, 12, 1, 0, 0, 0, 0, time.UTC)
	job := func(seq uint64, scores int, refused []int, checkpoint []byte, wm time.Time, ranking uint64) *flushJob {
		j := &flushJob{lastSeq: seq, checkpoint: checkpoint, watermark: wm,
			batch: &pending{messages: 10, deadLetters: []deadLetter{{seq: seq}},
				rankings: map[string]*scoring.Ranking{scoring.DefaultMethod: {Version: ranking}}}}
		j.rows.MethodScores = make([]chstore.ScoreRow, scores)
		j.rows.Events = make([]chstore.EventRow, 10)
		for _, r := range refused {
			j.refusedScores = append(j.refusedScores, chstore.Refused{Table: "method_scores", Row: r})
		}
		return j
	}
	jobs := []*flushJob{
		job(10, 3, []int{2}, []byte("a"), at, 10),
		job(20, 2, []int{0, 1}, []byte("b"), at.Add(time.Minute), 20),
		job(30, 4, []int{3}, nil, time.Time{}, 30),
	}
	m := mergeJobs(jobs)
	var rows []int
	for _, r := range m.refusedScores {
		rows = append(rows, r.Row)
	}
	switch {
	case !reflect.DeepEqual(rows, []int{2, 3, 4, 8}):
		t.Errorf("refused score rows %v, want [2 3 4 8]", rows)
	case len(m.rows.MethodScores) != 9 || len(m.rows.Events) != 30 || m.batch.messages != 30:
		t.Errorf("%d scores, %d events, %d messages; want 9, 30, 30", len(m.rows.MethodScores), len(m.rows.Events), m.batch.messages)
	case string(m.checkpoint) != "b" || m.lastSeq != 30 || !m.watermark.Equal(at.Add(time.Minute)):
		t.Errorf("checkpoint %q, last sequence %d, watermark %s", m.checkpoint, m.lastSeq, m.watermark)
	case len(m.batch.deadLetters) != 3 || m.batch.deadLetters[0].seq != 10 || m.batch.deadLetters[2].seq != 30:
		t.Errorf("dead letters %v, want those of 10, 20, 30", m.batch.deadLetters)
	case m.batch.rankings[scoring.DefaultMethod].Version != 30:
		t.Errorf("ranking version %d, want the last, 30", m.batch.rankings[scoring.DefaultMethod].Version)
	}
	if one := mergeJobs(jobs[:1]); one != jobs[0] {
		t.Error("a single job is not returned as it is")
	}
}

// The queue takes jobs up to its limit of messages (always one), then makes the scores stage wait
// until the rest stage takes them; closing it ends the rest stage with the scores stage's error.
func TestRestQueue(t *testing.T) {
	ctx := t.Context()
	q := newRestQueue(25)
	job := func(n int) *flushJob { return &flushJob{batch: &pending{messages: n}} }
	for _, n := range []int{10, 10} {
		if err := q.put(ctx, job(n)); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := q.put(short, job(10)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a job beyond the limit was queued (%v)", err)
	}
	select {
	case <-q.full:
	default:
		t.Fatal("the waiting scores stage did not signal a full queue")
	}
	put := make(chan error, 1)
	go func() { put <- q.put(ctx, job(30)) }()
	jobs, closed, err := q.take()
	if len(jobs) != 2 || closed || err != nil {
		t.Fatalf("took %d jobs, closed %v, error %v; want 2, false, nil", len(jobs), closed, err)
	}
	if err := <-put; err != nil { // one job over the limit is queued alone
		t.Fatal(err)
	}
	failed := errors.New("scores stage failed")
	q.close(failed)
	jobs, closed, err = q.take()
	if len(jobs) != 1 || !closed || !errors.Is(err, failed) {
		t.Fatalf("took %d jobs, closed %v, error %v; want 1, true, the scores stage's", len(jobs), closed, err)
	}
}
