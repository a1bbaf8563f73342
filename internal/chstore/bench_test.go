package chstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/govpulse/govpulse/internal/benchkit"
	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
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
	benchWrite(b, s, benchRows, func(iter int) chstore.Batch {
		for i := range rows {
			rows[i].Version = uint64(iter*benchRows + i + 1)
		}
		return chstore.Batch{MethodScores: rows}
	})
}

// BenchmarkWriteEvents writes batches of 10,000 event rows with a 200-byte payload, the blocks
// compressed with LZ4 and not compressed (the default over loopback, see ParseDSN).
func BenchmarkWriteEvents(b *testing.B) {
	for _, c := range []struct {
		name   string
		method clickhouse.CompressionMethod
	}{{"compress=lz4", clickhouse.CompressionLZ4}, {"compress=none", clickhouse.CompressionNone}} {
		b.Run(c.name, func(b *testing.B) {
			conn, db := chtest.Open(b, c.method)
			s := chstore.New(conn, db, nil)
			if err := s.Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
			benchWriteEvents(b, s)
		})
	}
}

func benchWriteEvents(b *testing.B, s *chstore.Store) {
	payload := `{"id":"zj-000000000","type":"feedback.rated","region":"330000","time":"2016-11-03T01:30:00.123456789Z",` +
		`"source":"probe/zhejiang","data":{"rating":4,"channel":"web","item_code":"A.1","level":"province"}}`
	rows := make([]chstore.EventRow, benchRows)
	for i := range rows {
		rows[i] = chstore.EventRow{Region: fmt.Sprintf("%d0000", 11+i%32), Type: "feedback.rated",
			Time: t0.Add(time.Duration(i) * time.Millisecond), IngestTime: t1, Source: "probe/zhejiang",
			ItemCode: "A.1", Level: "province", Rating: 4, Channel: "web", Payload: payload}
	}
	benchWrite(b, s, benchRows, func(iter int) chstore.Batch {
		for i := range rows {
			seq := iter*benchRows + i + 1
			rows[i].ID = fmt.Sprintf("ev-%09d", seq)
			rows[i].StreamSeq = uint64(seq)
		}
		return chstore.Batch{Events: rows}
	})
}

// BenchmarkWriteScoreChanges writes batches of 100,000 score_changes rows, as a flush over every
// unit of the hierarchy writes (about 270,000): 40 terms of each of 2,500 scores (rising
// versions), one in ten without a previous value.
func BenchmarkWriteScoreChanges(b *testing.B) {
	s, _, _ := newStore(b)
	const terms, n = 40, 10 * benchRows
	rows := make([]chstore.ScoreChangeRow, n)
	for i := range rows {
		unit := i / terms
		rows[i] = chstore.ScoreChangeRow{Method: "2017", Region: fmt.Sprintf("%06d", 110101+unit*97),
			Term: fmt.Sprintf("term_%02d", i%terms), To: ptr(float64(i%1000) / 7),
			AsOf: t0.Add(time.Duration(unit) * time.Second)}
		if unit%10 != 0 {
			rows[i].From = ptr(float64(i%997) / 7)
		}
	}
	benchWrite(b, s, n, func(iter int) chstore.Batch {
		for i := range rows {
			v := uint64(iter*n/terms + i/terms + 1)
			rows[i].Version, rows[i].FromVersion = v+1, v
		}
		return chstore.Batch{ScoreChanges: rows}
	})
}

// BenchmarkWriteWindows writes batches of 10,000 hourly window rows, as a flush over every unit of
// the hierarchy writes (up to 8,000): 2,500 units, 4 metrics each, rising versions.
func BenchmarkWriteWindows(b *testing.B) {
	s, _, _ := newStore(b)
	metrics := []string{"ratings", "applications", "ratings_30d", "applications_30d"}
	rows := make([]chstore.WindowRow, benchRows)
	for i := range rows {
		start := t0.Truncate(time.Hour).Add(time.Duration(i%24) * time.Hour)
		rows[i] = chstore.WindowRow{Region: fmt.Sprintf("%06d", 110101+i/4*97), Metric: metrics[i%4], WindowStart: start,
			WindowEnd: start.Add(time.Hour), Count: uint64(i % 50), RatingSum: uint64(i % 200),
			RatingCounts: [5]uint64{1, 2, 3, 4, uint64(i % 7)}, Completed: uint64(i % 9), OnlineCompleted: uint64(i % 5)}
	}
	benchWrite(b, s, benchRows, func(iter int) chstore.Batch {
		for i := range rows {
			rows[i].Version = uint64(iter*benchRows + i + 1)
		}
		return chstore.Batch{Windows: rows}
	})
}

// benchWrite writes the batch of n rows next returns for each iteration.
func benchWrite(b *testing.B, s *chstore.Store, n int, next func(iter int) chstore.Batch) {
	b.Helper()
	ctx := b.Context()
	b.ReportAllocs()
	iter := 0
	var elapsed time.Duration
	cpu0 := benchkit.ProcessCPU(b)
	for b.Loop() {
		batch := next(iter)
		iter++
		start := time.Now()
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(iter*n)/elapsed.Seconds(), "rows/s")
	// The server's share of the time is large and swings with the load; the client's CPU per row
	// is what the encoding of the rows costs.
	b.ReportMetric(float64(benchkit.ProcessCPU(b)-cpu0)/float64(iter*n), "client-cpu-ns/row")
}
