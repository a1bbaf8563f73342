package aggregate

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

func TestReadinessErrListsEveryFailingConditionInOrder(t *testing.T) {
	var r readiness
	if err := r.Err(); err != nil {
		t.Fatalf("zero readiness: %v, want ready", err)
	}
	r.set(condDeadLetters, "dead letters wait")
	r.set(condConsuming, "consumer stopped")
	r.set(condStore, "clickhouse down")
	want := "consumer stopped; clickhouse down; dead letters wait"
	if err := r.Err(); err == nil || err.Error() != want {
		t.Fatalf("Err() = %v, want %q", err, want)
	}
	r.clear(condConsuming)
	r.clear(condConsuming) // clearing twice is harmless
	if err := r.Err(); err == nil || err.Error() != "clickhouse down; dead letters wait" {
		t.Fatalf("Err() = %v after clearing the consumer", err)
	}
	r.set(condStore, "clickhouse schema fault") // a condition's reason is replaced
	r.clear(condDeadLetters)
	if err := r.Err(); err == nil || err.Error() != "clickhouse schema fault" {
		t.Fatalf("Err() = %v", err)
	}
	r.clear(condStore)
	if err := r.Err(); err != nil {
		t.Fatalf("Err() = %v after clearing everything", err)
	}
}

// While ClickHouse cannot be reached, a consumer that stops and resumes does not make the service
// ready: only a successful write clears the store's condition.
func TestConsumerRestartDuringClickHouseOutageStaysNotReady(t *testing.T) {
	// ClickHouse is down: nothing listens on its address.
	opts, database, err := chstore.ParseDSN("clickhouse://127.0.0.1:1/govpulse?dial_timeout=200ms")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	store := chstore.New(conn, database, nil)

	url, srv := natstest.Start(t)
	nc, js := natstest.Connect(t, url)
	if err := natsjs.EnsureStreams(t.Context(), js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	logs := &testwait.Buffer{}
	// RetryMaxInterval is long so that, were the consumer's restart to clear readiness, the next
	// failed write would come too late to hide it.
	svc, err := New(Config{FlushInterval: 10 * time.Millisecond, RetryMaxInterval: 10 * time.Second, ShutdownTimeout: time.Second},
		js, store, slog.New(slog.NewTextHandler(logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, js, rated("o-1", time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC), events.ChannelWeb))
	runShutdownError(t, svc)

	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if err := svc.Ready(); err == nil || !strings.Contains(err.Error(), "clickhouse:") {
			return fmt.Errorf("Ready() = %v, want not ready because of ClickHouse", err)
		}
		return nil
	})
	// Let the flusher's pauses between attempts grow, so that a readiness cleared by the
	// consumer's restart would stay cleared long enough to be seen.
	testwait.For(t, 20*time.Second, 10*time.Millisecond, func() error {
		if n := strings.Count(logs.String(), "clickhouse write failed"); n < 7 {
			return fmt.Errorf("%d failed writes, want 7", n)
		}
		return nil
	})
	// The consumer stops: a message that does not come from the stream arrives in its inbox, and
	// the service starts a new consumer.
	testwait.For(t, 20*time.Second, 10*time.Millisecond, func() error {
		connz, err := srv.Connz(&server.ConnzOptions{Subscriptions: true})
		if err != nil {
			return err
		}
		for _, c := range connz.Conns {
			for _, sub := range c.Subs {
				if strings.HasPrefix(sub, "_INBOX.") && !strings.ContainsAny(sub, "*>") {
					if err := nc.Publish(sub, []byte("not from the stream")); err != nil {
						return err
					}
				}
			}
		}
		if !strings.Contains(logs.String(), "consumer stopped; resuming") {
			return fmt.Errorf("the consumer did not stop")
		}
		return nil
	})
	// Until the consumer is back, and for a while after, the service stays not ready because of
	// ClickHouse.
	deadline := time.Now().Add(3 * time.Second)
	testwait.For(t, 20*time.Second, 10*time.Millisecond, func() error {
		err := svc.Ready()
		if err == nil || !strings.Contains(err.Error(), "clickhouse:") {
			t.Fatalf("Ready() = %v during the ClickHouse outage, want not ready because of ClickHouse", err)
		}
		if strings.Contains(err.Error(), "consuming:") || time.Now().Before(deadline) {
			return fmt.Errorf("Ready() = %v", err)
		}
		return nil
	})
}

// runShutdownError runs svc in the background until the test ends; Run returns an error then,
// because the batch in hand cannot be stored while ClickHouse is down.
func runShutdownError(t *testing.T, svc *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err == nil {
			t.Errorf("Run returned nil, want an error: the batch could not be stored")
		}
	})
}
