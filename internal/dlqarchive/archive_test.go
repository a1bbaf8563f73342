package dlqarchive_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/dlqarchive"
	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/testwait"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	tokHebei = "hebei-probe-token-0123456789"
	tokOps   = "ops-token-0123456789"
)

// setup starts NATS with the streams and opens a migrated ClickHouse
// database.
func setup(t *testing.T) (jetstream.JetStream, *chstore.Store, driver.Conn, string) {
	t.Helper()
	conn, db := chtest.Open(t)
	store := chstore.New(conn, db, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	url, _ := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	content := fmt.Sprintf(`{"tokens":[
		{"source":"probe/hebei","sha256":%q,"regions":["130000"],"families":["*"]},
		{"source":"ops","sha256":%q,"regions":["*"],"families":["*"]}]}`,
		ingest.HashToken(tokHebei), ingest.HashToken(tokOps))
	if err := os.WriteFile(tokens, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return js, store, conn, tokens
}

// post sends body through an ingest server whose clock reads now.
func post(t *testing.T, js jetstream.JetStream, tokens string, now time.Time, token, body string) int {
	t.Helper()
	s, err := ingest.New(ingest.Config{TokensFile: tokens, Now: func() time.Time { return now }}, js, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec.Code
}

func feedback(id, region string, rating int, at time.Time) string {
	return fmt.Sprintf(`{"id":%q,"type":"feedback.rated","region":%q,"time":%q,"source":"x","data":{"rating":%d,"channel":"web"}}`,
		id, region, at.Format(time.RFC3339), rating)
}

func archived(t *testing.T, store *chstore.Store) []chstore.DLQRow {
	t.Helper()
	rows, err := store.DLQ(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestHebeiYesterday archives the rejections of two days and answers "what
// did Hebei's probe send wrong yesterday?" in SQL.
func TestHebeiYesterday(t *testing.T) {
	js, store, conn, tokens := setup(t)
	db := store.Database()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	yesterday := today.Add(-12 * time.Hour) // noon yesterday (UTC)
	evTime := today.Add(-48 * time.Hour)

	bad := feedback("hb-1", "130000", 9, evTime)
	other := feedback("hb-2", "330000", 5, evTime) // Zhejiang: outside the token's scope
	broken := `{"id":"hb-3","type":"feedback.rated",`
	sqlish := feedback("hb-4'); DROP TABLE dlq; --", "130000", 3, evTime)
	if code := post(t, js, tokens, yesterday, tokHebei, "["+bad+","+other+","+feedback("hb-ok", "130000", 4, evTime)+"]"); code != 202 {
		t.Fatalf("post: %d", code)
	}
	if code := post(t, js, tokens, yesterday, tokHebei, broken); code != 400 {
		t.Fatalf("post broken: %d", code)
	}
	if code := post(t, js, tokens, yesterday, tokHebei, sqlish); code != 400 {
		t.Fatalf("post sqlish: %d", code)
	}
	if code := post(t, js, tokens, today.Add(time.Hour), tokHebei, feedback("hb-5", "130000", 0, evTime)); code != 400 {
		t.Fatalf("post today: %d", code)
	}
	if code := post(t, js, tokens, yesterday, tokOps, feedback("ops-1", "999999", 3, evTime)); code != 400 {
		t.Fatalf("post ops: %d", code)
	}

	a, err := dlqarchive.New(dlqarchive.Config{FetchWait: 200 * time.Millisecond}, js, store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := testwait.Run(t, "archiver", a.Run)
	testwait.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		if n := len(archived(t, store)); n != 6 {
			return fmt.Errorf("%d archived dead letters, want 6", n)
		}
		return nil
	})

	// What did Hebei's probe send wrong yesterday?
	q := "SELECT received_at, reason_code, reason, event_id, region, body FROM `" + db + "`.dlq FINAL" +
		" WHERE source = ? AND received_at >= ? AND received_at < ? ORDER BY received_at, stream_seq"
	rows, err := conn.Query(context.Background(), q, "probe/hebei", today.Add(-24*time.Hour), today)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var codes, bodies []string
	for rows.Next() {
		var (
			at                             time.Time
			code, reason, id, region, body string
		)
		if err := rows.Scan(&at, &code, &reason, &id, &region, &body); err != nil {
			t.Fatal(err)
		}
		if !at.Equal(yesterday) || reason == "" {
			t.Errorf("row %s at %s reason %q", code, at, reason)
		}
		codes = append(codes, code)
		bodies = append(bodies, body)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"out_of_range", "forbidden", "syntax", "bad_format"}; !slices.Equal(codes, want) {
		t.Errorf("reason codes %v, want %v", codes, want)
	}
	if want := []string{bad, other, broken, sqlish}; !slices.Equal(bodies, want) {
		t.Errorf("bodies %q, want %q", bodies, want)
	}

	// Everything is acknowledged.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, "DLQ", dlqarchive.DefaultConsumer)
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 5*time.Second, 20*time.Millisecond, func() error {
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 || info.NumPending != 0 {
			return fmt.Errorf("%d pending, %d waiting for their ack", info.NumPending, info.NumAckPending)
		}
		return nil
	})
	stop()

	// Archiving everything again (a new consumer) collapses to the same rows.
	if err := js.DeleteConsumer(ctx, "DLQ", dlqarchive.DefaultConsumer); err != nil {
		t.Fatal(err)
	}
	a2, err := dlqarchive.New(dlqarchive.Config{FetchWait: 200 * time.Millisecond}, js, store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop2 := testwait.Run(t, "archiver", a2.Run)
	cons2 := func() jetstream.Consumer {
		var c jetstream.Consumer
		testwait.For(t, 5*time.Second, 20*time.Millisecond, func() error {
			c, err = js.Consumer(ctx, "DLQ", dlqarchive.DefaultConsumer)
			return err
		})
		return c
	}()
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		return ackFloor(ctx, cons2, 6)
	})
	stop2()
	if got := archived(t, store); len(got) != 6 {
		t.Errorf("%d rows after re-archiving, want 6", len(got))
	}
}

// flaky fails the first n writes, then writes through to the real store.
type flaky struct {
	*chstore.Store
	fails atomic.Int32
	calls atomic.Int32
}

func (f *flaky) WriteIsolated(ctx context.Context, b chstore.Batch, schemaFaults bool) ([]chstore.Refused, error) {
	f.calls.Add(1)
	if f.fails.Add(-1) >= 0 {
		return nil, errors.New("injected: clickhouse unavailable")
	}
	return f.Store.WriteIsolated(ctx, b, schemaFaults)
}

func TestAckOnlyAfterWrite(t *testing.T) {
	js, store, _, tokens := setup(t)
	evTime := time.Now().Add(-time.Hour)
	if code := post(t, js, tokens, time.Now(), tokHebei, feedback("f-1", "130000", 7, evTime)); code != 400 {
		t.Fatalf("post: %d", code)
	}
	w := &flaky{Store: store}
	w.fails.Store(3)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := dlqarchive.New(dlqarchive.Config{FetchWait: 200 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, js, w, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	testwait.Run(t, "archiver", a.Run)
	// While writes fail, the message stays unacknowledged.
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		if w.calls.Load() < 1 {
			return errors.New("no write attempted")
		}
		return nil
	})
	cons, err := js.Consumer(ctx, "DLQ", dlqarchive.DefaultConsumer)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := cons.Info(ctx); err != nil || (w.fails.Load() >= 0 && info.AckFloor.Stream != 0) {
		t.Fatalf("acknowledged before the write: %+v %v", info, err)
	}
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := len(archived(t, store)); n != 1 {
			return fmt.Errorf("%d rows archived, want 1", n)
		}
		return nil
	})
	testwait.For(t, 5*time.Second, 20*time.Millisecond, func() error { return ackFloor(ctx, cons, 1) })
	if w.calls.Load() < 4 {
		t.Errorf("%d write attempts, want at least 4", w.calls.Load())
	}
	row := archived(t, store)[0]
	if row.Source != "probe/hebei" || row.ReasonCode != "out_of_range" || row.EventID != "f-1" || row.StreamSeq != 1 || row.Stage != "ingest" {
		t.Errorf("row %+v", row)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := dlqarchive.New(dlqarchive.Config{}, nil, nil, nil, nil); err == nil {
		t.Error("New with nil dependencies succeeded")
	}
}

// ackFloor returns nil once cons has acknowledged the stream up to seq.
func ackFloor(ctx context.Context, cons jetstream.Consumer, seq uint64) error {
	info, err := cons.Info(ctx)
	if err != nil {
		return err
	}
	if info.AckFloor.Stream != seq {
		return fmt.Errorf("acknowledged up to %d, want %d", info.AckFloor.Stream, seq)
	}
	return nil
}

// wantSeqs returns nil when got are the stream sequences want.
func wantSeqs(got []uint64, want ...uint64) error {
	if !slices.Equal(got, want) {
		return fmt.Errorf("archived stream sequences %v, want %v", got, want)
	}
	return nil
}

// A nil registry registers nothing; a second Archiver on the registry of the first gets the
// registry's error back from New.
func TestMetricsRegistry(t *testing.T) {
	js, store, _, _ := setup(t)
	for range 2 {
		if _, err := dlqarchive.New(dlqarchive.Config{}, js, store, nil, nil); err != nil {
			t.Fatalf("New with a nil registry: %v", err)
		}
	}
	reg := prometheus.NewRegistry()
	if _, err := dlqarchive.New(dlqarchive.Config{}, js, store, nil, reg); err != nil {
		t.Fatal(err)
	}
	_, err := dlqarchive.New(dlqarchive.Config{}, js, store, nil, reg)
	var already prometheus.AlreadyRegisteredError
	if !errors.As(err, &already) {
		t.Errorf("New on a registry in use: %v, want an AlreadyRegisteredError", err)
	}
}
