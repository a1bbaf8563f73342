package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/explain"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/retry"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// Ranking parts: while the units are split between partitions, each partition of some units puts
// its share of the ranking of all units (engine.RankingPart) in the latest-value bucket under
// natsjs.RankPartKey after each stored batch, and the ranker of the partition that holds the first unit
// (events.Regions()[0], 110000) merges the parts into the ranking of all units.
// rankPart is the JSON under natsjs.RankPartKey: a partition's part, taken after stream sequence Through.
type rankPart struct {
	Partition string             `json:"partition"`
	Through   uint64             `json:"through"`
	Part      engine.RankingPart `json:"part"`
}

// maxPartHistory bounds the parts the ranker keeps per partition while it waits for parts of the
// other partitions taken after the same sequence.
const maxPartHistory = 64

// ranks reports whether the partition runs the ranker: it holds the first unit but not every unit.
func (c Config) ranks() bool {
	return !c.allRegions() && slices.Contains(c.Regions, events.Regions()[0].Code)
}

// ranker stores and publishes the ranking of all units from the partitions' parts. A ranking is
// merged from parts that were all taken after the same stream sequence (engine.MergeRanking is then
// exactly the ranking one aggregator has after it); it is stored in method_rankings, then
// published on <prefix>.rankings and under the key "ranking", when its version is above the one
// published, so each version is written effectively once. Everything in it is owned by its
// goroutine.
type ranker struct {
	cfg       Config
	js        jetstream.JetStream
	kv        jetstream.KeyValue
	store     batchWriter
	log       *slog.Logger
	published uint64
	parts     map[string][]rankPart // per partition, its latest parts by increasing Through
	// last is the ranking stored last since the start, from which the next one's rank changes are
	// taken (parts carry composites only: the rank changes name no term).
	last *scoring.Ranking
}

func newRanker(s *Service, kv jetstream.KeyValue, published uint64) *ranker {
	return &ranker{cfg: s.cfg, js: s.js, kv: kv, store: s.store, log: s.log.With("role", "ranker"),
		published: published, parts: make(map[string][]rankPart)}
}

// run watches the parts until ctx is done.
func (r *ranker) run(ctx context.Context) error {
	for ctx.Err() == nil {
		err := r.watch(ctx)
		if ctx.Err() != nil {
			break
		}
		r.log.Warn("watching the ranking parts failed; retrying", "error", err)
		if !retry.Wait(ctx, r.cfg.RetryMaxInterval) {
			break
		}
	}
	return nil
}

func (r *ranker) watch(ctx context.Context) error {
	w, err := r.kv.Watch(ctx, natsjs.RankPartKeys)
	if err != nil {
		return fmt.Errorf("aggregate: watch %s: %w", natsjs.RankPartKeys, err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case entry, ok := <-w.Updates():
			if !ok {
				return errors.New("aggregate: ranking parts: watcher stopped")
			}
			if entry == nil || entry.Operation() != jetstream.KeyValuePut {
				continue
			}
			var p rankPart
			if err := json.Unmarshal(entry.Value(), &p); err != nil {
				r.log.Warn("ranking part ignored", "key", entry.Key(), "error", err)
				continue
			}
			r.add(p)
			r.emit(ctx)
		}
	}
}

// add keeps p among its partition's latest parts.
func (r *ranker) add(p rankPart) {
	list := r.parts[p.Partition]
	if n := len(list); n > 0 && list[n-1].Through >= p.Through {
		return // a replay after a restart: an older or equal cut
	}
	list = append(list, p)
	if len(list) > maxPartHistory {
		list = slices.Delete(list, 0, len(list)-maxPartHistory)
	}
	r.parts[p.Partition] = list
}

// merged returns the ranking of the newest cut that every partition has a part of, and the cut;
// false when there is none or its version is not above the one published.
func (r *ranker) merged() (*scoring.Ranking, uint64, bool) {
	var cuts []uint64
	for _, list := range r.parts {
		for _, p := range list {
			cuts = append(cuts, p.Through)
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	for i := len(cuts) - 1; i >= 0; i-- {
		var parts []engine.RankingPart
		for _, list := range r.parts {
			if j := slices.IndexFunc(list, func(p rankPart) bool { return p.Through == cuts[i] }); j >= 0 {
				parts = append(parts, list[j].Part)
			}
		}
		rk, err := engine.MergeRanking(parts)
		if err != nil {
			continue // some partition has no part of this cut
		}
		return rk, cuts[i], rk.Version > r.published
	}
	return nil, 0, false
}

// emit stores and publishes the merged ranking when its version is new.
func (r *ranker) emit(ctx context.Context) {
	rk, cut, ok := r.merged()
	if !ok {
		return
	}
	b := chstore.Batch{MethodRankings: rankingRows(rk)}
	if !r.cfg.NoExplain {
		spec, _ := scoring.Lookup(rk.Method)
		unknown := func(string) *scoring.Score { return nil }
		for _, c := range engine.RankChanges(spec, r.last, rk, unknown, unknown) {
			b.RankChanges = append(b.RankChanges, explain.RankRow(&c))
		}
	}
	notify := func(err error, wait time.Duration) {
		r.log.Warn("clickhouse write of the ranking failed", "error", err, "retry_in", wait)
	}
	if err := retry.Do(ctx, r.cfg.retryPolicy(), func() error {
		_, err := r.store.WriteIsolated(ctx, b, false)
		return err
	}, notify); err != nil {
		return // stopping: the parts stay in the bucket, and the next start merges them
	}
	data, err := json.Marshal(rk)
	if err != nil {
		r.log.Warn("encode ranking", "error", err)
		return
	}
	if err := r.js.Conn().Publish(r.cfg.Names.RankingsSubject(), data); err != nil {
		r.log.Warn("publish ranking", "error", err)
	}
	if _, err := r.kv.Put(ctx, natsjs.RankingKey, data); err != nil {
		r.log.Warn("put ranking", "error", err)
	}
	r.published, r.last = rk.Version, rk
	r.log.Debug("ranking of all units", "version", rk.Version, "through", cut)
}
