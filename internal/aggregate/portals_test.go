package aggregate

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

// TestInconsistenciesBetweenPortals runs a scenario of Zhejiang's portals (the main portal "",
// "app" and "mini") that opens and closes an inconsistency of every kind (published against
// withdrawn, a differing field, a differing guide verdict, a third portal joining) through the
// aggregator, with real NATS and ClickHouse, and compares the stored rows and measures and the
// published messages with hand-worked expectations.
func TestInconsistenciesBetweenPortals(t *testing.T) {
	svc, js, store, conn := setupWithConn(t, Config{FlushInterval: 100 * time.Millisecond})
	ctx := t.Context()
	var (
		mu       sync.Mutex
		messages = map[string]portals.Inconsistency{} // by key and opening version: the last message
	)
	sub, err := js.Conn().Subscribe(natsjs.Names{}.InconsistencySubject("330000"), func(m *nats.Msg) {
		var c portals.Inconsistency
		if err := json.Unmarshal(m.Data, &c); err != nil {
			t.Errorf("message %s: %v", m.Data, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		k := fmt.Sprintf("%s|%s|%s|%d", c.ItemCode, c.PortalA, c.PortalB, c.OpenedVersion)
		if old, ok := messages[k]; !ok || c.Version >= old.Version {
			messages[k] = c
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	stream, at := portalScenario()
	for _, e := range stream[:13] {
		publish(t, js, e)
	}
	f := func(name, a, b string) []portals.Field { return []portals.Field{{Name: name, A: a, B: b}} }
	row := func(code, a, b string, fields []portals.Field, opened, openedAt, closed, closedAt int) portals.Inconsistency {
		c := portals.Inconsistency{Region: "330000", Level: "city", ItemCode: code, PortalA: a, PortalB: b, Fields: fields,
			OpenedAt: at(openedAt), OpenedVersion: uint64(opened), Version: uint64(max(opened, closed))}
		if closed != 0 {
			c.ClosedAt, c.ClosedVersion = at(closedAt), uint64(closed)
		}
		return c
	}
	want := []portals.Inconsistency{
		row("A1", "", "app", f("published", "published", "withdrawn"), 3, 2, 4, 3),
		row("A1", "", "app", f("maturity", "3", "2"), 5, 4, 6, 5),
		row("A1", "", "app", f("guide.fees", "missing", "correct"), 8, 7, 9, 8),
		row("A1", "", "app", f("department", "d", "other"), 13, 12, 0, 0),
		row("A1", "", "mini", f("published", "published", "absent"), 10, 9, 11, 10),
		row("A1", "app", "mini", f("published", "published", "absent"), 10, 9, 11, 10),
		row("A1", "app", "mini", f("department", "other", "d"), 13, 12, 0, 0),
		row("B2", "", "mini", f("published", "absent", "published"), 10, 9, 12, 11),
		row("B2", "app", "mini", f("published", "absent", "published"), 10, 9, 12, 11),
	}
	stop := testwait.Run(t, "aggregator", svc.Run)
	defer stop()
	testwait.For(t, 30*time.Second, 50*time.Millisecond, func() error {
		got, err := store.Inconsistencies(ctx, "330000")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("stored\n%s\nwant\n%s", render(got), render(want))
		}
		return nil
	})
	testwait.For(t, 10*time.Second, 50*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, w := range want {
			k := fmt.Sprintf("%s|%s|%s|%d", w.ItemCode, w.PortalA, w.PortalB, w.OpenedVersion)
			if got := messages[k]; !reflect.DeepEqual(got, w) {
				return fmt.Errorf("last message of %s: %+v, want %+v", k, got, w)
			}
		}
		return nil
	})

	var open uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM `"+store.Database()+"`.open_inconsistencies").Scan(&open); err != nil {
		t.Fatal(err)
	}
	if open != 2 {
		t.Errorf("open_inconsistencies holds %d rows, want 2", open)
	}
	ms, err := store.PortalMeasures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Closed: 1+1+1 minutes (A1 with app), 1+1 (A1 with mini), 2+2 (B2): 9 minutes over 7.
	wantM := portals.Measures{Region: "330000", Portals: 3, PublishedItems: 1, MultiPortalItems: 1, Open: 2,
		InconsistentItems: 1, Share: 1, Closed: 7, MeanOpenSeconds: 9 * 60 / 7.0, Version: 13}
	if len(ms) != 1 || math.Abs(ms[0].MeanOpenSeconds-wantM.MeanOpenSeconds) > 1e-9 {
		t.Fatalf("portal_measures %+v, want %+v", ms, wantM)
	}
	ms[0].MeanOpenSeconds = wantM.MeanOpenSeconds
	if ms[0] != wantM {
		t.Errorf("portal_measures %+v, want %+v", ms[0], wantM)
	}
}

// portalScenario returns the stream of TestInconsistenciesBetweenPortals (Zhejiang's portals "",
// "app" and "mini"; event i has stream sequence i) and the event time of its minute m.
func portalScenario() (stream []*events.Event, at func(m int) time.Time) {
	t0 := time.Date(2016, 12, 1, 2, 0, 0, 0, time.UTC)
	at = func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	n := 0
	ev := func(m int, d events.Payload) *events.Event {
		n++
		return &events.Event{ID: fmt.Sprintf("p-%02d", n), Type: d.EventType(), Region: "330000", Time: at(m),
			Source: "test", Data: d}
	}
	pub := func(m int, portal, code, dept string, maturity int) *events.Event {
		return ev(m, &events.ServicePublishedData{ItemCode: code, Level: events.LevelCity, Name: "企业设立登记",
			Department: dept, Modes: []events.Mode{events.Modes()[0]}, Maturity: maturity, Portal: portal})
	}
	wd := func(m int, portal, code string) *events.Event {
		return ev(m, &events.ServiceWithdrawnData{ItemCode: code, Level: events.LevelCity, Portal: portal})
	}
	audit := func(m int, portal string, fees events.Verdict) *events.Event {
		d := &events.GuideAuditedData{ItemCode: "A1", Level: events.LevelCity, Consistent: true, Portal: portal}
		for i := range d.Elements {
			d.Elements[i] = events.Correct
		}
		d.Elements[events.ElementFees.Index()] = fees
		return ev(m, d)
	}
	return []*events.Event{
		pub(0, "", "A1", "d", 3),          // 1
		pub(1, "app", "A1", "d", 3),       // 2: the same description
		wd(2, "app", "A1"),                // 3: opens published/withdrawn
		pub(3, "app", "A1", "d", 3),       // 4: closes it
		pub(4, "app", "A1", "d", 2),       // 5: opens maturity 3/2
		pub(5, "app", "A1", "d", 3),       // 6: closes it
		audit(6, "", events.Missing),      // 7
		audit(7, "app", events.Correct),   // 8: opens guide.fees missing/correct
		audit(8, "", events.Correct),      // 9: closes it
		pub(9, "mini", "B2", "d", 1),      // 10: a third portal joins: four open
		pub(10, "mini", "A1", "d", 3),     // 11: closes the two of A1
		wd(11, "mini", "B2"),              // 12: closes the two of B2 (nobody publishes it)
		pub(12, "app", "A1", "other", 3),  // 13: opens department against "" and "mini"
		pub(13, "mini", "A1", "other", 3), // 14: closes it against "app", opens it against ""
	}, at
}

// A replay after a crash publishes no change of an inconsistency twice: the aggregator stops at
// sequence 7 (its checkpoint), runs on to 13, and then finds the checkpoint of 7 again, as after a
// crash that lost the later checkpoint. It replays 8..13, whose changes were published already, and
// then applies 14. Every change of an inconsistency reaches NATS exactly once, the last message of
// each inconsistency is its stored row, and the unit's portal measures in the latest-value bucket
// are at version 14.
func TestInconsistenciesArePublishedOnceAcrossAReplay(t *testing.T) {
	cfg := Config{FlushInterval: 10 * time.Millisecond, MaxBatch: 2}
	svc, js, store, _ := setupWithConn(t, cfg)
	ctx := t.Context()
	type change struct {
		item, a, b      string
		opened, version uint64
	}
	var (
		mu    sync.Mutex
		seen  = map[change]int{}
		last  = map[change]portals.Inconsistency{} // by change with version 0
		total int
	)
	sub, err := js.Conn().Subscribe(natsjs.Names{}.InconsistencySubject("330000"), func(m *nats.Msg) {
		var c portals.Inconsistency
		if err := json.Unmarshal(m.Data, &c); err != nil {
			t.Errorf("message %s: %v", m.Data, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		k := change{c.ItemCode, c.PortalA, c.PortalB, c.OpenedVersion, c.Version}
		seen[k]++
		total++
		k.version = 0
		if old, ok := last[k]; !ok || c.Version > old.Version {
			last[k] = c
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	checkpoints, err := natsjs.EnsureCheckpointStore(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// measuresAt waits until the stored measures and the latest-value bucket are at version.
	measuresAt := func(version uint64) {
		t.Helper()
		testwait.For(t, 30*time.Second, 20*time.Millisecond, func() error {
			ms, err := store.PortalMeasures(ctx)
			if err != nil {
				return err
			}
			if len(ms) != 1 || ms[0].Version != version {
				return fmt.Errorf("portal_measures %+v, want version %d", ms, version)
			}
			entry, err := kv.Get(ctx, natsjs.PortalsKey("330000"))
			if err != nil {
				return err
			}
			var m portals.Measures
			if err := json.Unmarshal(entry.Value(), &m); err != nil || m.Version != version {
				return fmt.Errorf("%s: %s (%v), want version %d", natsjs.PortalsKey("330000"), entry.Value(), err, version)
			}
			return nil
		})
	}
	stream, _ := portalScenario()
	run := func(svc *Service, upTo uint64) {
		t.Helper()
		stop := testwait.Run(t, "aggregator", svc.Run)
		measuresAt(upTo)
		stop()
	}

	for _, e := range stream[:7] {
		publish(t, js, e)
	}
	run(svc, 7)
	at7, err := checkpoints.GetBytes(ctx, natsjs.CheckpointObject("all"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range stream[7:13] {
		publish(t, js, e)
	}
	run(newService(t, cfg, js, store), 13)
	mu.Lock()
	before := total
	mu.Unlock()
	if before == 0 {
		t.Fatal("no inconsistency published up to sequence 13")
	}
	// The crash: the checkpoint of sequence 13 is lost, the one of 7 is found.
	if _, err := checkpoints.PutBytes(ctx, natsjs.CheckpointObject("all"), at7); err != nil {
		t.Fatal(err)
	}
	publish(t, js, stream[13])
	run(newService(t, cfg, js, store), 14)

	got, err := store.Inconsistencies(ctx, "330000")
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(last) != len(got) {
			return fmt.Errorf("messages of %d inconsistencies, %d stored", len(last), len(got))
		}
		for _, row := range got {
			k := change{row.ItemCode, row.PortalA, row.PortalB, row.OpenedVersion, 0}
			if !reflect.DeepEqual(last[k], row) {
				return fmt.Errorf("last message of %+v: %+v, stored %+v", k, last[k], row)
			}
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for k, n := range seen {
		if n != 1 {
			t.Errorf("change %+v published %d times", k, n)
		}
	}
	// Sequence 14 changes two inconsistencies of A1: "app"|"mini" closes, ""|"mini" opens.
	if total-before != 2 {
		t.Errorf("%d messages after the replay, want the 2 changes of sequence 14", total-before)
	}
}

// newService returns another aggregator over the same stream and database, as after a restart.
func newService(t *testing.T, cfg Config, js jetstream.JetStream, store *chstore.Store) *Service {
	t.Helper()
	svc, err := New(cfg, js, store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func render(cs []portals.Inconsistency) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %s %q|%q %v open %d@%s closed %d@%s v%d\n", c.ItemCode, c.PortalA, c.PortalB, c.Fields,
			c.OpenedVersion, c.OpenedAt.Format(time.TimeOnly), c.ClosedVersion, c.ClosedAt.Format(time.TimeOnly), c.Version)
	}
	return b.String()
}

// A producer that invents portals or items fills its unit's portal state only up to the bounds
// configured (PortalLimits): the event that would add one more portal, or one more item of a
// portal, is a dead letter with reason limit and its reason in words, and is not applied to method
// 2017 either; a known item of a known portal still is.
func TestPortalsOverTheLimitAreDeadLetters(t *testing.T) {
	svc, js, store, _ := setupWithConn(t, Config{FlushInterval: 10 * time.Millisecond,
		PortalLimits: portals.Limits{MaxPortals: 3, MaxItemsPerPortal: 2}})
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	stream := []struct {
		portal, code string
		maturity     int
	}{
		{"portal-a", "A", 1}, // 1
		{"portal-b", "A", 2}, // 2
		{"portal-c", "A", 3}, // 3
		{"portal-d", "A", 4}, // 4: a fourth portal: limit
		{"portal-a", "B", 1}, // 5: portal-a's second item
		{"portal-a", "C", 2}, // 6: its third: limit
		{"portal-b", "A", 4}, // 7: a known item of a known portal: applied
	}
	for i, e := range stream {
		publish(t, js, &events.Event{ID: fmt.Sprintf("p-%02d", i+1), Type: events.ServicePublished, Region: "330000",
			Time: when.Add(time.Duration(i) * time.Minute), Source: "test",
			Data: &events.ServicePublishedData{ItemCode: e.code, Level: events.LevelProvince, Name: "n", Department: "d",
				Maturity: e.maturity, Portal: e.portal}})
	}
	testwait.Run(t, "aggregator", svc.Run)
	for _, want := range []struct {
		seq    uint64
		reason string
	}{
		{4, `region 330000 already has 3 portals, the limit: portal "portal-d" is not added`},
		{6, `portal "portal-a" of region 330000 already describes 2 items, the limit: item province/C is not added`},
	} {
		m := waitDeadLetter(t, js, events.ReasonLimit, want.seq)
		if got := m.Header.Get(natsjs.HeaderReason); got != want.reason || m.Header.Get(natsjs.HeaderEventID) != fmt.Sprintf("p-%02d", want.seq) {
			t.Errorf("dead letter of sequence %d: reason %q, headers %v; want %q", want.seq, got, m.Header, want.reason)
		}
	}
	// Method 2017: A by sequence 7 (maturity 4) and B by sequence 5 (1); nothing of C.
	if sc := zhejiangScore(t, store, 7); sc.PublishedItems != 2 || sc.MaturityTotal != 5 {
		t.Errorf("published items %d, maturity total %d; want 2 and 5", sc.PublishedItems, sc.MaturityTotal)
	}
	ms, err := store.PortalMeasures(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Portals != 3 || ms[0].PublishedItems != 2 || ms[0].Version != 7 {
		t.Errorf("portal_measures %+v", ms)
	}
}
