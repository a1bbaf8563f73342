package ctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/ctl"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/testwait"
)

func connectNATS(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	url, _ := natstest.Start(t)
	nc, js := natstest.Connect(t, url)
	return nc, js
}

func rankingJSON(version uint64, regions ...string) []byte {
	m := ctl.RankingMessage{Version: version, AsOf: time.Date(2016, 12, 31, 12, 50, 0, 0, time.UTC), Method: "2017"}
	for i, r := range regions {
		m.Ranking = append(m.Ranking, ctl.RankingEntry{Rank: i + 1, Region: r, Composite: 90 - float64(i), Grade: "high", PrevRank: len(regions) - i, Change: len(regions) - 2*i - 1})
	}
	b, _ := json.Marshal(m)
	return b
}

func scoreJSON(region string, version uint64, modes float64) []byte {
	// Extra members of latest_scores must be ignored.
	return fmt.Appendf(nil, `{"region":%q,"name_zh":"","name_en":"","as_of":"2016-12-31T12:50:00Z","service_modes":%g,`+
		`"item_coverage":95.5,"guide_accuracy":80.25,"online_maturity":70,"composite":85.4,"grade":"high","satisfaction":null,`+
		`"platform_levels":4,"integrated":true,"published_items":120,"method":"2017","version":%d}`, region, modes, version)
}

func TestOnce(t *testing.T) {
	nc, js := connectNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := ctl.Once(ctx, nc, &out, ctl.WatchOptions{}); !errors.Is(err, ctl.ErrNoRanking) {
		t.Fatalf("no bucket: err %v, want ErrNoRanking", err)
	}
	kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ctl.Once(ctx, nc, &out, ctl.WatchOptions{}); !errors.Is(err, ctl.ErrNoRanking) {
		t.Fatalf("empty bucket: err %v, want ErrNoRanking", err)
	}
	mustPut(t, kv, "ranking", rankingJSON(7, "330000", "520000", "660000"))
	mustPut(t, kv, "scores.330000", scoreJSON("330000", 7, 88.126))
	if err := ctl.Once(ctx, nc, &out, ctl.WatchOptions{}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"version 7", "as of 2016-12-31T12:50:00Z", "method 2017",
		"Zhejiang 浙江省", "88.13", "95.50", "80.25", "70.00", "+2",
		"Guizhou 贵州省", "Xinjiang Production a… 新疆生产建设兵团", "-2",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 5 || !strings.HasPrefix(strings.TrimSpace(lines[2]), "1  330000") {
		t.Errorf("table:\n%s", got)
	}
}

func mustPut(t *testing.T, kv jetstream.KeyValue, key string, val []byte) {
	t.Helper()
	if _, err := kv.Put(context.Background(), key, val); err != nil {
		t.Fatal(err)
	}
}

func TestWatch(t *testing.T) {
	nc, js := connectNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, kv, "ranking", rankingJSON(3, "520000", "330000"))
	var out testwait.Buffer
	// The watch context has no deadline, as in the command.
	testwait.Run(t, "Watch", func(ctx context.Context) error {
		return ctl.Watch(ctx, nc, &out, ctl.WatchOptions{Interval: 10 * time.Millisecond})
	})
	// A watcher started late shows the bucket's ranking at once.
	testwait.For(t, 5*time.Second, 5*time.Millisecond, func() error {
		if !strings.Contains(out.String(), "version 3") {
			return fmt.Errorf("no ranking at version 3 in:\n%s", out.String())
		}
		return nil
	})

	// Published updates replace it; an older version does not.
	pub := func(subj string, b []byte) {
		if err := nc.Publish(subj, b); err != nil {
			t.Fatal(err)
		}
	}
	n := natsjs.Names{}
	pub(n.ScoreSubject("330000"), scoreJSON("330000", 9, 91.5))
	pub(n.RankingsSubject(), rankingJSON(9, "330000", "520000"))
	pub(n.RankingsSubject(), []byte("not json"))
	pub(n.RankingsSubject(), rankingJSON(8, "520000", "330000"))
	testwait.For(t, 5*time.Second, 5*time.Millisecond, func() error {
		s := out.String()
		if last := s[strings.LastIndex(s, "govpulse ranking"):]; !strings.Contains(last, "version 9") || !strings.Contains(last, "91.50") {
			return fmt.Errorf("last ranking is not version 9 with 91.50:\n%s", last)
		}
		return nil
	})
	s := out.String()
	if last := s[strings.LastIndex(s, "govpulse ranking"):]; strings.Contains(last, "version 8") {
		t.Errorf("an older ranking replaced a newer one:\n%s", last)
	}
	if strings.Contains(s, "\x1b[") {
		t.Error("the screen was cleared although Clear is false")
	}
}

// With several methods, Once shows one table per method, each from the method's own keys and with
// the method's terms.
func TestOnceShowsEveryMethod(t *testing.T) {
	nc, js := connectNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, kv, "ranking", rankingJSON(7, "330000", "520000"))
	r22 := ctl.RankingMessage{Version: 7, AsOf: time.Date(2016, 12, 31, 12, 50, 0, 0, time.UTC), Method: "2022",
		Ranking: []ctl.RankingEntry{{Rank: 1, Region: "520000", Composite: 88, Grade: "high"}, {Rank: 2, Region: "330000", Composite: 87, Grade: "high"}}}
	b, _ := json.Marshal(r22)
	mustPut(t, kv, natsjs.MethodRankingKey("2022"), b)
	mustPut(t, kv, natsjs.MethodScoreKey("2022", "520000"), []byte(`{"region":"520000","method":"2022","version":7,"composite":88,`+
		`"grade":"high","terms":[{"name":"online_effectiveness","value":91.25},{"name":"online_handling","value":80.5},`+
		`{"name":"service_modes","value":70},{"name":"item_coverage","value":60},{"name":"guide_accuracy","value":50},{"name":"satisfaction","value":null}]}`))
	var out bytes.Buffer
	if err := ctl.Once(ctx, nc, &out, ctl.WatchOptions{Methods: []string{"2017", "2022"}}); err != nil {
		t.Fatal(err)
	}
	tables := strings.Split(out.String(), "\n\n")
	if len(tables) != 2 || !strings.Contains(tables[0], "method 2017") || !strings.Contains(tables[1], "method 2022") {
		t.Fatalf("want a table of 2017 then one of 2022:\n%s", out.String())
	}
	for _, want := range []string{"effect", "handling", "91.25", "80.50"} {
		if !strings.Contains(tables[1], want) {
			t.Errorf("the 2022 table lacks %q:\n%s", want, tables[1])
		}
	}
	lines := strings.Split(tables[1], "\n")
	if len(lines) < 4 || !strings.Contains(lines[2], "520000") || !strings.Contains(lines[3], "330000") {
		t.Errorf("the 2022 table is not in the 2022 ranking's order:\n%s", tables[1])
	}
	if err := (ctl.WatchOptions{Methods: []string{"1999"}}).Validate(); err == nil {
		t.Error("an unknown method was accepted")
	}
}

// With groups, Watch shows the ranking of each group after the methods' tables, from the group's
// key and subject, with the scores of its members only.
func TestWatchGroups(t *testing.T) {
	nc, js := connectNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, kv, "ranking", rankingJSON(3, "520000", "330000"))
	mustPut(t, kv, natsjs.GroupRankingKey("key-cities"), rankingJSON(4, "440300", "320100"))
	mustPut(t, kv, "scores.440300", scoreJSON("440300", 4, 77.126))
	opts := ctl.WatchOptions{Interval: 10 * time.Millisecond, Groups: []string{"key-cities"}}
	var once bytes.Buffer
	if err := ctl.Once(ctx, nc, &once, opts); err != nil {
		t.Fatal(err)
	}
	got := once.String()
	i := strings.Index(got, "govpulse ranking of key-cities  version 4")
	if i < 0 || i < strings.Index(got, "govpulse ranking  version 3") {
		t.Fatalf("no key-city table after the provincial one:\n%s", got)
	}
	for _, want := range []string{"Shenzhen 深圳市", "Nanjing 南京市", "77.13"} {
		if !strings.Contains(got[i:], want) {
			t.Errorf("key-city table lacks %q:\n%s", want, got[i:])
		}
	}
	if err := ctl.Once(ctx, nc, &once, ctl.WatchOptions{Groups: []string{"nope"}}); err == nil {
		t.Error("unknown group: no error")
	}

	var out testwait.Buffer
	testwait.Run(t, "Watch", func(ctx context.Context) error { return ctl.Watch(ctx, nc, &out, opts) })
	testwait.For(t, 5*time.Second, 5*time.Millisecond, func() error {
		if !strings.Contains(out.String(), "key-cities  version 4") {
			return fmt.Errorf("no key-city ranking at version 4 in:\n%s", out.String())
		}
		return nil
	})
	n := natsjs.Names{}
	if err := nc.Publish(n.GroupRankingsSubject("key-cities"), rankingJSON(5, "320100", "440300")); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 5*time.Second, 5*time.Millisecond, func() error {
		s := out.String()
		last := s[strings.LastIndex(s, "govpulse ranking of key-cities"):]
		if !strings.Contains(last, "version 5") || strings.Index(last, "320100") > strings.Index(last, "440300") {
			return fmt.Errorf("last key-city ranking is not version 5 with Nanjing first:\n%s", last)
		}
		return nil
	})
}
