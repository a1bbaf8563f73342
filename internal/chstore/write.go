package chstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

// Column lists of the tables, in the order of the values that Write appends and the readers scan.
const (
	eventColumns = "region, id, type, time, time_ns, ingest_time, stream_seq, source, item_code, " +
		"level, rating, channel, outcome, payload"
	rankingColumns = "version, as_of, as_of_ns, method, rank, region, composite, grade, prev_rank, change"
	// rankingInsertColumns are the stored columns of method_rankings: as_of is computed from
	// as_of_ns when read (ALIAS, 0011_scores_views.sql).
	rankingInsertColumns = "version, as_of_ns, method, rank, region, composite, grade, prev_rank, change"
	windowColumns        = "region, metric, window_start, window_end, version, count, rating_sum, " +
		"rating_1, rating_2, rating_3, rating_4, rating_5, completed, abandoned, rejected, online_completed"
	lateEventColumns = "region, id, type, time, time_ns, stream_seq, watermark, watermark_ns, reason, " +
		"payload, recorded_at"
	dlqColumns = "stage, reason, reason_code, source, received_at, stream_seq, event_id, region, type, body"
)

// MaxPartitionsPerBlock is the most partitions one INSERT block spans. Current ClickHouse releases
// refuse a block over max_partitions_per_insert_block (100 by default); 18.16 has no such limit, so
// the Store keeps to it itself: rows of a partitioned table that span more months are sent in
// several blocks.
const MaxPartitionsPerBlock = 100

// Refused is a row that ClickHouse (or the client, for a value its column cannot hold) refused for
// good: writing it again fails the same way.
type Refused struct {
	Table string // events, late_events, dlq, windows, method_scores, method_rankings, group_rankings, score_changes, score_causes, rank_changes, inconsistencies or portal_counts
	Row   int    // the row's index in that table's slice of the Batch
	Err   error  // why, with the server's message
}

// Write stores the rows of b: per non-empty table one INSERT with an explicit column list, or
// several when the rows span more than MaxPartitionsPerBlock monthly partitions, in three waves,
// the INSERTs of a wave at once over connections of their own: events, late_events and dlq (the
// raw input); then windows, method_scores, inconsistencies, portal_counts, review_stats and
// alerts (what the events changed); then method_rankings, group_rankings, score_changes,
// score_causes and rank_changes (what depends on the scores, and the explanations). Each wave waits for the
// one before, so raw input is stored before what is derived from it, and scores before their
// rankings and explanations; a flush waits for three INSERTs in a row whatever its tables. It
// stops at the first failure and returns an error naming the table (see Classify); the waves
// before it are stored, later ones are not (of the failing wave, the other tables may be). Writing
// the same batch again is harmless (see the package documentation), so the caller retries the
// whole batch.
func (s *Store) Write(ctx context.Context, b Batch) error {
	_, err := s.write(ctx, b, nil)
	return err
}

// WriteIsolated stores the rows of b as Write does, but a block that fails with a RowError is split
// in halves, and the halves are written again, down to single rows: the rows ClickHouse refuses are
// returned, all others are stored, and the write goes on with the next table. With schemaFaults set,
// a SchemaFault is handled the same way (a failure that does not depend on the rows, such as a
// missing column, refuses every row of the block at once, without splitting). Any other failure
// (Transient, or a SchemaFault without schemaFaults) stops the write and is returned as by Write,
// with no refused rows: the caller retries the whole batch. The refused rows are in table order,
// then in row order.
func (s *Store) WriteIsolated(ctx context.Context, b Batch, schemaFaults bool) ([]Refused, error) {
	return s.write(ctx, b, &isolation{schemaFaults: schemaFaults})
}

// SplitScores returns the rows of b's score table (MethodScores, every method's scores; the view
// scores shows method 2017's) and every other row, for a caller that stores, and publishes, the
// scores before the rest: written alone, the scores take one INSERT instead of waiting for the raw
// input's. Each table keeps its slice of b, so the rows a write of either part refuses are
// numbered as in b.
func (b Batch) SplitScores() (scores, rest Batch) {
	scores = Batch{MethodScores: b.MethodScores}
	rest = b
	rest.MethodScores = nil
	return scores, rest
}

// isolation collects the refused rows of a WriteIsolated call; nil means Write.
type isolation struct {
	schemaFaults bool
	refused      []Refused
}

func (s *Store) write(ctx context.Context, b Batch, iso *isolation) ([]Refused, error) {
	for _, wave := range [][]func(context.Context, *isolation) error{
		// The raw input.
		{
			writeOf(s, eventsTable, b.Events),
			writeOf(s, lateEventsTable, b.LateEvents),
			writeOf(s, dlqTable, b.DLQ),
		},
		// What the events changed: windows, scores and the portal state.
		{
			writeOf(s, windowsTable, b.Windows),
			writeOf(s, methodScoresTable, b.MethodScores),
			writeOf(s, inconsistenciesTable, b.Inconsistencies),
			writeOf(s, portalCountsTable, b.PortalCounts),
			// The outputs of the lifecycle of reviews.
			writeOf(s, reviewStatsTable, b.ReviewStats),
			writeOf(s, alertsTable, b.Alerts),
		},
		// What depends on the scores: the rankings and the explanations of both.
		{
			writeOf(s, methodRankingsTable, b.MethodRankings),
			writeOf(s, groupRankingsTable, b.GroupRankings),
			writeOf(s, scoreChangesTable, b.ScoreChanges),
			writeOf(s, scoreCausesTable, b.ScoreCauses),
			writeOf(s, rankChangesTable, b.RankChanges),
		},
	} {
		if err := atOnce(ctx, iso, wave...); err != nil {
			return nil, err
		}
	}
	if iso == nil {
		return nil, nil
	}
	return iso.refused, nil
}

// atOnce runs the writes of tables that do not depend on one another concurrently, so that their
// INSERTs do not wait for one another, each with an isolation of its own (nil without iso). It
// returns the first failure; the refused rows are reported in the order of writes, as a
// sequential write reports them.
func atOnce(ctx context.Context, iso *isolation, writes ...func(context.Context, *isolation) error) error {
	isos := make([]*isolation, len(writes))
	g, gctx := errgroup.WithContext(ctx)
	for i, w := range writes {
		if iso != nil {
			isos[i] = &isolation{schemaFaults: iso.schemaFaults}
		}
		g.Go(func() error { return w(gctx, isos[i]) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if iso != nil {
		for _, one := range isos {
			iso.refused = append(iso.refused, one.refused...)
		}
	}
	return nil
}

// table describes how the rows of one table are inserted.
type table[R any] struct {
	name  string
	month func(*R) time.Time                                  // what the table is partitioned by (toYYYYMM); nil: not partitioned
	send  func(ctx context.Context, s *Store, rows []R) error // one INSERT block
}

var (
	eventsTable     = table[EventRow]{name: "events", month: func(r *EventRow) time.Time { return r.Time }, send: insertEvents}
	lateEventsTable = table[LateEventRow]{name: "late_events", month: func(r *LateEventRow) time.Time { return r.Time },
		send: rowWise("late_events", lateEventColumns, lateEventValues)}
	dlqTable = table[DLQRow]{name: "dlq", month: func(r *DLQRow) time.Time { return r.ReceivedAt },
		send: rowWise("dlq", dlqColumns, dlqValues)}
	windowsTable = table[WindowRow]{name: "windows", month: func(r *WindowRow) time.Time { return r.WindowStart },
		send: insertWindows}
	methodScoresTable   = table[ScoreRow]{name: "method_scores", send: methodScores.insert}
	methodRankingsTable = table[RankingRow]{name: "method_rankings", send: rowWise("method_rankings", rankingInsertColumns, rankingValues)}
)

// writeOf is the write of rows to t, as a step of a wave that atOnce runs.
func writeOf[R any](s *Store, t table[R], rows []R) func(context.Context, *isolation) error {
	return func(ctx context.Context, iso *isolation) error { return writeTable(ctx, s, t, rows, iso) }
}

// writeTable sends rows in blocks of at most MaxPartitionsPerBlock partitions; with iso it
// isolates the rows of failing blocks (see WriteIsolated).
func writeTable[R any](ctx context.Context, s *Store, t table[R], rows []R, iso *isolation) error {
	if len(rows) == 0 {
		return nil
	}
	first := 0
	if iso != nil {
		first = len(iso.refused)
	}
	var months func(i int) time.Time
	if t.month != nil {
		months = func(i int) time.Time { return t.month(&rows[i]) }
	}
	for _, block := range PartitionBlocks(len(rows), months, MaxPartitionsPerBlock) {
		if err := sendBlock(ctx, s, t, rows, block, iso); err != nil {
			return err
		}
	}
	if iso != nil {
		// Blocks follow partitions; the refused rows of the table are reported in row order.
		slices.SortFunc(iso.refused[first:], func(a, b Refused) int { return a.Row - b.Row })
	}
	return nil
}

// sendBlock sends the rows at the indices of block, and with iso splits a block that fails for
// its rows until the refused rows are found.
func sendBlock[R any](ctx context.Context, s *Store, t table[R], rows []R, block []int, iso *isolation) error {
	sub := rows
	if len(block) != len(rows) {
		sub = make([]R, len(block))
		for i, j := range block {
			sub[i] = rows[j]
		}
	}
	if s.onBlock != nil {
		s.onBlock(t.name, len(sub))
	}
	err := t.send(ctx, s, sub)
	if err == nil || iso == nil {
		return err
	}
	switch class := Classify(err); {
	case class == Transient, class == SchemaFault && !iso.schemaFaults:
		return err
	case len(block) == 1 || (class == SchemaFault && errors.As(err, new(*prepareError))):
		for _, j := range block {
			iso.refused = append(iso.refused, Refused{Table: t.name, Row: j, Err: err})
		}
		return nil
	}
	half := len(block) / 2
	if err := sendBlock(ctx, s, t, rows, block[:half], iso); err != nil {
		return err
	}
	return sendBlock(ctx, s, t, rows, block[half:], iso)
}

// PartitionBlocks groups the row indices 0..n-1 into blocks that each span at most max monthly
// partitions (limit), the month of row i being month(i) as a DateTime('UTC') column stores it (toYYYYMM).
// Partitions are taken in the order of their first row, and rows keep their order within a block.
// A nil month (an unpartitioned table) or rows within limit partitions give one block of all rows.
func PartitionBlocks(n int, month func(i int) time.Time, limit int) [][]int {
	all := func() [][]int {
		block := make([]int, n)
		for i := range block {
			block[i] = i
		}
		return [][]int{block}
	}
	if month == nil || n <= limit {
		return all()
	}
	part := make(map[int]int) // yyyymm -> index in first-seen order
	keys := make([]int, n)
	for i := range n {
		k := yyyymm(month(i))
		if _, ok := part[k]; !ok {
			part[k] = len(part)
		}
		keys[i] = part[k]
	}
	if len(part) <= limit {
		return all()
	}
	blocks := make([][]int, (len(part)+limit-1)/limit)
	for i, k := range keys {
		blocks[k/limit] = append(blocks[k/limit], i)
	}
	return blocks
}

// yyyymm is toYYYYMM of t as a DateTime('UTC') column holds it: seconds since 1970 modulo 2^32.
func yyyymm(t time.Time) int {
	u := time.Unix(int64(uint32(dt(t).Unix())), 0).UTC()
	return u.Year()*100 + int(u.Month())
}

// prepareError marks a failure before any row was sent (the INSERT statement itself was refused):
// it does not depend on the rows.
type prepareError struct{ err error }

func (e *prepareError) Error() string { return e.err.Error() }
func (e *prepareError) Unwrap() error { return e.err }

// rowWise returns a send function that appends rows one by one with their values.
func rowWise[R any](name, columns string, values func(*R) []any) func(context.Context, *Store, []R) error {
	return func(ctx context.Context, s *Store, rows []R) error {
		batch, err := s.conn.PrepareBatch(s.insertContext(ctx), "INSERT INTO "+s.table(name)+" ("+columns+")")
		if err != nil {
			return fmt.Errorf("chstore: insert %s: %w", name, &prepareError{err})
		}
		for i := range rows {
			if err := batch.Append(values(&rows[i])...); err != nil {
				_ = batch.Abort()
				return fmt.Errorf("chstore: insert %s: row %d: %w", name, i, err)
			}
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("chstore: insert %s: %w", name, err)
		}
		return nil
	}
}

// insertEvents stores event rows column by column, in chunks of one INSERT (see insertChunked):
// the events table takes one row per stream message, and appending whole columns avoids boxing
// every value of every row.
func insertEvents(ctx context.Context, s *Store, rows []EventRow) error {
	n := min(len(rows), insertChunkRows)
	var (
		region, id, typ, source = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		item, level, channel    = make([]string, n), make([]string, n), make([]string, n)
		outcome, payload        = make([]string, n), make([]string, n)
		eventTime, ingestTime   = make([]time.Time, n), make([]time.Time, n)
		timeNS                  = make([]int64, n)
		seq                     = make([]uint64, n)
		rating                  = make([]uint8, n)
	)
	return insertChunked(ctx, s, "events", eventColumns, len(rows), func(lo, hi int) []any {
		k := hi - lo
		for i := range k {
			r := &rows[lo+i]
			region[i], id[i], typ[i], source[i] = r.Region, r.ID, r.Type, r.Source
			item[i], level[i], channel[i], outcome[i], payload[i] = r.ItemCode, r.Level, r.Channel, r.Outcome, r.Payload
			eventTime[i], timeNS[i], ingestTime[i] = dt(r.Time), ns(r.Time), dt(r.IngestTime)
			seq[i], rating[i] = r.StreamSeq, r.Rating
		}
		// In the order of eventColumns.
		return []any{region[:k], id[:k], typ[:k], eventTime[:k], timeNS[:k], ingestTime[:k], seq[:k], source[:k],
			item[:k], level[:k], rating[:k], channel[:k], outcome[:k], payload[:k]}
	})
}

// insertChunkRows is the number of rows insertChunked appends to the columns of an INSERT at a
// time (BenchmarkWriteScoreChanges: 4,096 allocates a third of what 16,384 does, for the same CPU).
const insertChunkRows = 4_096

// insertChunked sends n rows into table name with one INSERT, column by column, insertChunkRows
// rows at a time: values(lo, hi) returns the values of rows lo to hi-1, one typed slice per column
// in the order of the column list columns (it may reuse its slices from one call to the next).
// The client sends each chunk as a block of the INSERT and reuses the block's buffers for the
// next, instead of growing them with every row appended (by a quarter at a time, so that a large
// block allocated about five times its size); the server squashes the blocks of an INSERT into
// parts of up to min_insert_block_size_rows rows (1,048,576 by default), so the rows are stored
// in one part, as one block would be (TestScoreChangesChunked).
func insertChunked(ctx context.Context, s *Store, name, columns string, n int, values func(lo, hi int) []any) error {
	batch, err := s.conn.PrepareBatch(s.insertContext(ctx), "INSERT INTO "+s.table(name)+" ("+columns+")")
	if err != nil {
		return fmt.Errorf("chstore: insert %s: %w", name, &prepareError{err})
	}
	for lo := 0; lo < n; lo += insertChunkRows {
		hi := min(lo+insertChunkRows, n)
		for i, col := range values(lo, hi) {
			if err := batch.Column(i).Append(col); err != nil {
				_ = batch.Abort()
				return fmt.Errorf("chstore: insert %s: column %d: %w", name, i, err)
			}
		}
		if hi < n {
			if err := batch.Flush(); err != nil {
				_ = batch.Abort()
				return fmt.Errorf("chstore: insert %s: %w", name, err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("chstore: insert %s: %w", name, err)
	}
	return nil
}

// rankingValues are the values of rankingInsertColumns.
func rankingValues(r *RankingRow) []any {
	return []any{r.Version, ns(r.AsOf), r.Method, r.Rank, r.Region, r.Composite, r.Grade,
		r.PrevRank, r.Change}
}

// insertWindows stores window rows column by column, in chunks of one INSERT (see
// insertChunked): a flush over every unit holds thousands of them (the hourly windows of every unit
// with events since the last).
func insertWindows(ctx context.Context, s *Store, rows []WindowRow) error {
	n := min(len(rows), insertChunkRows)
	var (
		region, metric = make([]string, n), make([]string, n)
		start, end     = make([]time.Time, n), make([]time.Time, n)
		counts         [12][]uint64 // version, count, rating_sum, rating_1..5, completed, abandoned, rejected, online_completed
	)
	for i := range counts {
		counts[i] = make([]uint64, n)
	}
	return insertChunked(ctx, s, "windows", windowColumns, len(rows), func(lo, hi int) []any {
		k := hi - lo
		for i := range k {
			r := &rows[lo+i]
			region[i], metric[i], start[i], end[i] = r.Region, r.Metric, dt(r.WindowStart), dt(r.WindowEnd)
			counts[0][i], counts[1][i], counts[2][i] = r.Version, r.Count, r.RatingSum
			for j, c := range r.RatingCounts {
				counts[3+j][i] = c
			}
			counts[8][i], counts[9][i], counts[10][i], counts[11][i] = r.Completed, r.Abandoned, r.Rejected, r.OnlineCompleted
		}
		// In the order of windowColumns.
		cols := []any{region[:k], metric[:k], start[:k], end[:k]}
		for _, c := range counts {
			cols = append(cols, c[:k])
		}
		return cols
	})
}

func lateEventValues(r *LateEventRow) []any {
	return []any{r.Region, r.ID, r.Type, dt(r.Time), ns(r.Time), r.StreamSeq, dt(r.Watermark),
		ns(r.Watermark), r.Reason, r.Payload, dt(r.RecordedAt)}
}

func dlqValues(r *DLQRow) []any {
	return []any{r.Stage, r.Reason, r.ReasonCode, r.Source, dt(r.ReceivedAt), r.StreamSeq, r.EventID,
		r.Region, r.Type, r.Body}
}
