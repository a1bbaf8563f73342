package dlqarchive_test

import (
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/govpulse/govpulse/internal/dlqarchive"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/testwait"
)

// A dead letter ClickHouse refuses is logged, counted and acknowledged: it does not stall the
// archive, and the other letters of its batch are stored.
func TestRefusedDeadLetterDoesNotStallTheArchive(t *testing.T) {
	js, store, conn, _ := setup(t)
	ctx := t.Context()
	// A narrower column in the test database: reason codes other than these two are refused.
	if err := conn.Exec(ctx, "ALTER TABLE `"+store.Database()+"`.dlq MODIFY COLUMN reason_code Enum8('' = 0, 'invalid' = 1, 'too_late' = 2)"); err != nil {
		t.Fatal(err)
	}
	send := func(code string) {
		t.Helper()
		msg := nats.NewMsg("govpulse.dlq.ingest." + code)
		msg.Data = []byte(`{"id":"x"}`)
		msg.Header.Set(natsjs.HeaderStage, "ingest")
		msg.Header.Set(natsjs.HeaderReasonCode, code)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	send("invalid")
	send("unheard_of")
	send("too_late")
	a, err := dlqarchive.New(dlqarchive.Config{FetchWait: 100 * time.Millisecond}, js, store, nil, nil)
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
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error { return wantSeqs(seqs(), 1, 3) })
	cons, err := js.Consumer(ctx, "DLQ", dlqarchive.DefaultConsumer)
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 5*time.Second, 20*time.Millisecond, func() error { return ackFloor(ctx, cons, 3) })
	send("invalid")
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error { return wantSeqs(seqs(), 1, 3, 4) })
	stop()
}
