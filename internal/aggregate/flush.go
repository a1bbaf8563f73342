package aggregate

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/scoring"
)

// pending is everything read since the last successful flush: the rows of the stream messages
// and the engine outputs drained so far. A failed flush keeps it, so nothing drained is lost.
type pending struct {
	messages    int // stream messages read since the last flush
	events      []chstore.EventRow
	late        []chstore.LateEventRow
	deadLetters []deadLetter
	scores      map[string]scoring.Score
	ranking     *scoring.Ranking
	windows     map[windowKey]engine.WindowRow
}

type windowKey struct {
	region, metric string
	start          int64
}

// merge adds a drained engine output; later versions replace earlier ones.
func (p *pending) merge(out engine.Output) {
	for _, sc := range out.Scores {
		if p.scores == nil {
			p.scores = make(map[string]scoring.Score)
		}
		p.scores[sc.Region] = sc
	}
	if out.Ranking != nil {
		p.ranking = out.Ranking
	}
	for _, w := range out.Windows {
		if p.windows == nil {
			p.windows = make(map[windowKey]engine.WindowRow)
		}
		p.windows[windowKey{w.Region, w.Metric, w.Start.UnixNano()}] = w
	}
}

func (p *pending) reset() {
	p.messages = 0
	p.events = p.events[:0]
	p.late = p.late[:0]
	p.deadLetters = p.deadLetters[:0]
	clear(p.scores)
	p.ranking = nil
	clear(p.windows)
}

// flush stores what was read, then publishes the new scores and ranking. It retries ClickHouse
// with exponential backoff until it succeeds or ctx is done (consumption waits meanwhile, which
// bounds memory); it returns an error only in the second case, keeping the batch.
func (s *Service) flush(ctx context.Context) error {
	if s.batch.messages == 0 {
		return nil
	}
	start := time.Now()
	s.batch.merge(s.eng.Drain())
	b := s.batch.rows()
	attempt := func() error {
		err := s.store.Write(ctx, b)
		if err != nil {
			s.metrics.storeErrors.Inc()
			s.setNotReady("clickhouse: " + err.Error())
		}
		return err
	}
	notify := func(err error, wait time.Duration) {
		s.log.Warn("clickhouse write failed; consumption paused", "error", err, "retry_in", wait, "rows", b.Len())
	}
	if err := backoff.RetryNotify(attempt, backoff.WithContext(s.newBackoff(), ctx), notify); err != nil {
		return fmt.Errorf("aggregate: store batch: %w", err)
	}
	s.setReady()
	s.countRows(b)
	s.publish(ctx)
	s.metrics.flushes.Inc()
	s.metrics.flushSeconds.Observe(time.Since(start).Seconds())
	if wm, ok := s.eng.Watermark(); ok {
		s.metrics.watermark.Set(float64(wm.UnixNano()) / 1e9)
	}
	s.log.Debug("flushed", "messages", s.batch.messages, "last_sequence", s.lastSeq, "rows", b.Len(), "took", time.Since(start))
	s.batch.reset()
	return nil
}

func (s *Service) countRows(b chstore.Batch) {
	for table, n := range map[string]int{
		"events": len(b.Events), "scores": len(b.Scores), "rankings": len(b.Rankings),
		"windows": len(b.Windows), "late_events": len(b.LateEvents),
	} {
		if n > 0 {
			s.metrics.flushRows.WithLabelValues(table).Add(float64(n))
		}
	}
}

// publish sends, after the rows are stored, each new score to <prefix>.scores.<region>, the new
// ranking to <prefix>.rankings, both to the latest-value bucket, and the dead letters to the DLQ
// stream. A version that was already published (a replay after a restart) is not sent again.
// Failures are logged and counted: the rows are stored, and the next change publishes again.
func (s *Service) publish(ctx context.Context) {
	nc := s.js.Conn()
	for _, region := range sortedKeys(s.batch.scores) {
		sc := s.batch.scores[region]
		key := "scores." + region
		if sc.Version <= s.published[key] {
			continue
		}
		data, err := json.Marshal(sc)
		if err != nil {
			s.publishFailed("encode score", err)
			continue
		}
		if err := nc.Publish(s.cfg.Names.ScoreSubject(region), data); err != nil {
			s.publishFailed("publish score", err)
		}
		s.putLatest(ctx, key, sc.Version, data)
	}
	if r := s.batch.ranking; r != nil && r.Version > s.published["ranking"] {
		data, err := json.Marshal(r)
		if err != nil {
			s.publishFailed("encode ranking", err)
		} else {
			if err := nc.Publish(s.cfg.Names.RankingsSubject(), data); err != nil {
				s.publishFailed("publish ranking", err)
			}
			s.putLatest(ctx, "ranking", r.Version, data)
		}
	}
	for _, dl := range s.batch.deadLetters {
		s.sendDeadLetter(ctx, dl)
	}
}

// putLatest stores data under key in the latest-value bucket and remembers its version.
func (s *Service) putLatest(ctx context.Context, key string, version uint64, data []byte) {
	if _, err := s.kv.Put(ctx, key, data); err != nil {
		s.publishFailed("put "+key, err)
		return
	}
	s.published[key] = version
}

func (s *Service) publishFailed(what string, err error) {
	s.metrics.publishErrors.Inc()
	s.log.Warn("publication failed", "what", what, "error", err)
}

// loadPublished reads the versions already in the latest-value bucket, so that a replay after a
// restart does not publish older values over newer ones.
func (s *Service) loadPublished(ctx context.Context) error {
	keys := []string{"ranking"}
	for _, r := range s.cfg.Regions {
		keys = append(keys, "scores."+r)
	}
	for _, key := range keys {
		entry, err := s.kv.Get(ctx, key)
		if err == jetstream.ErrKeyNotFound {
			continue
		}
		if err != nil {
			return fmt.Errorf("aggregate: read latest %s: %w", key, err)
		}
		var v struct {
			Version uint64 `json:"version"`
		}
		if json.Unmarshal(entry.Value(), &v) == nil {
			s.published[key] = v.Version
		}
	}
	return nil
}

// deadLetter is a stream message the aggregator could not use, for the DLQ stream.
type deadLetter struct {
	reason, code string
	seq          uint64
	data         []byte
	eventID      string
	region, typ  string
}

// sendDeadLetter publishes dl to <prefix>.dlq.aggregate.<code>, deduplicated by stream sequence.
func (s *Service) sendDeadLetter(ctx context.Context, dl deadLetter) {
	msg := nats.NewMsg(s.cfg.Names.DLQSubject("aggregate", dl.code))
	msg.Data = dl.data
	msg.Header.Set(jetstream.MsgIDHeader, "aggregate-"+s.cfg.Partition+"-"+strconv.FormatUint(dl.seq, 10))
	msg.Header.Set("Govpulse-Stage", "aggregate")
	msg.Header.Set("Govpulse-Reason", dl.reason)
	msg.Header.Set("Govpulse-Reason-Code", dl.code)
	msg.Header.Set("Govpulse-Stream-Seq", strconv.FormatUint(dl.seq, 10))
	msg.Header.Set("Govpulse-Received-At", time.Now().UTC().Format(time.RFC3339Nano))
	for k, v := range map[string]string{"Govpulse-Event-Id": dl.eventID, "Govpulse-Region": dl.region, "Govpulse-Type": dl.typ} {
		if v != "" {
			msg.Header.Set(k, v)
		}
	}
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		s.publishFailed("dead letter", err)
	}
}
