package chstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/scoring"
)

const benchRows = 10_000

// BenchmarkWriteScores writes batches of 10,000 score rows (32 regions, rising versions).
func BenchmarkWriteScores(b *testing.B) {
	s, _, _ := newStore(b)
	rows := make([]chstore.ScoreRow, benchRows)
	for i := range rows {
		rows[i] = chstore.ScoreRow{Region: fmt.Sprintf("%d0000", 11+i%32), Version: uint64(i + 1),
			AsOf: t0.Add(time.Duration(i) * time.Second), Method: "2017", ServiceModes: 87.5, ItemCoverage: 66.666667,
			GuideAccuracy: 91.25, OnlineMaturity: 70.123456, Composite: 78.884906, Grade: "medium",
			Satisfaction: ptr(82.5), PlatformLevels: 3, Integrated: true, Portals: 12, Counts: scoring.Counts{PublishedItems: 1000,
				ModesTotal: 5000, MaturityTotal: 3000, RequiredProvince: 500, CoveredProvince: 400, Applications: 123,
				Ratings: 456, RatingSum: 1500}, WindowStart: t0.AddDate(0, 0, -29), WindowEnd: t0.AddDate(0, 0, 1)}
	}
	benchWrite(b, s, func(iter int) chstore.Batch {
		for i := range rows {
			rows[i].Version = uint64(iter*benchRows + i + 1)
		}
		return chstore.Batch{MethodScores: rows}
	})
}

// BenchmarkWriteEvents writes batches of 10,000 event rows with a 200-byte payload.
func BenchmarkWriteEvents(b *testing.B) {
	s, _, _ := newStore(b)
	payload := `{"id":"zj-000000000","type":"feedback.rated","region":"330000","time":"2016-11-03T01:30:00.123456789Z",` +
		`"source":"probe/zhejiang","data":{"rating":4,"channel":"web","item_code":"A.1","level":"province"}}`
	rows := make([]chstore.EventRow, benchRows)
	for i := range rows {
		rows[i] = chstore.EventRow{Region: fmt.Sprintf("%d0000", 11+i%32), Type: "feedback.rated",
			Time: t0.Add(time.Duration(i) * time.Millisecond), IngestTime: t1, Source: "probe/zhejiang",
			ItemCode: "A.1", Level: "province", Rating: 4, Channel: "web", Payload: payload}
	}
	benchWrite(b, s, func(iter int) chstore.Batch {
		for i := range rows {
			seq := iter*benchRows + i + 1
			rows[i].ID = fmt.Sprintf("ev-%09d", seq)
			rows[i].StreamSeq = uint64(seq)
		}
		return chstore.Batch{Events: rows}
	})
}

func benchWrite(b *testing.B, s *chstore.Store, next func(iter int) chstore.Batch) {
	b.Helper()
	ctx := b.Context()
	b.ReportAllocs()
	iter := 0
	var elapsed time.Duration
	for b.Loop() {
		batch := next(iter)
		iter++
		start := time.Now()
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(iter*benchRows)/elapsed.Seconds(), "rows/s")
}
