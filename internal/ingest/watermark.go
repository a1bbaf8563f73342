package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/retry"
	"github.com/govpulse/govpulse/pkg/events"
)

// ReasonTooLate is the rejection reason of a user-experience event older
// than the horizon (watermark minus allowed lateness) of the aggregator
// partition that holds its region: it would never count.
const ReasonTooLate = "too_late"

// lookupTimeout bounds the lookup of the latest-value bucket.
const lookupTimeout = 5 * time.Second

// mark is the watermark of one partition with its regions as a set.
type mark struct {
	natsjs.Watermark
	regions map[string]bool // nil: all regions
}

// holds reports whether the partition holds region.
func (m *mark) holds(region string) bool { return m.regions == nil || m.regions[region] }

// marks are the known watermarks by key of the latest-value bucket. A
// published marks value is never changed.
type marks map[string]*mark

// tooLate returns a too_late error for a user-experience event whose time
// is before the horizon of the partition that holds its region (the
// earliest horizon when several do), else nil. Portal changes, and events
// of regions whose partition has published no watermark, are never too
// late here; the aggregator still decides. With Config.AcceptLate nothing
// is.
func (s *Server) tooLate(ev *events.Event) error {
	if s.cfg.AcceptLate || ev.Type.Portal() {
		return nil
	}
	ms := s.marks.Load()
	if ms == nil {
		return nil
	}
	var best *mark
	for _, m := range *ms {
		if !m.holds(ev.Region) {
			continue
		}
		if best == nil || m.Horizon().Before(best.Horizon()) ||
			m.Horizon().Equal(best.Horizon()) && m.Partition < best.Partition {
			best = m
		}
	}
	if best == nil || !ev.Time.Before(best.Horizon()) {
		return nil
	}
	return &events.Error{
		Field: "time",
		Rule: fmt.Sprintf("%s is before %s, the horizon of partition %s (its watermark %s minus the allowed lateness of %s): the event would never count",
			ev.Time.UTC().Format(time.RFC3339), best.Horizon().UTC().Format(time.RFC3339), best.Partition,
			best.Watermark.Watermark.UTC().Format(time.RFC3339), time.Duration(best.AllowedLatenessSeconds)*time.Second),
		Reason: ReasonTooLate,
	}
}

// watchWatermarks keeps s.marks up to date with the watermarks the
// aggregator partitions publish in the latest-value bucket under
// natsjs.WatermarkKeys, until ctx is done. While the bucket does not exist
// (the aggregator has not started yet) or the watch fails, it retries every
// Config.CheckInterval; the last known watermarks stay in use meanwhile.
func (s *Server) watchWatermarks(ctx context.Context) error {
	last := ""
	for {
		err := s.watchOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if msg := err.Error(); msg != last { // once per distinct failure, not every retry
			s.log.Info("watermarks not watched; retrying", "error", msg, "retry_in", s.cfg.CheckInterval)
			last = msg
		}
		if !retry.Wait(ctx, s.cfg.CheckInterval) {
			return nil
		}
	}
}

// watchOnce watches the watermark keys until ctx is done or the watch
// ends; it always returns an error when ctx is not done.
func (s *Server) watchOnce(ctx context.Context) error {
	bucket := s.cfg.Names.LatestBucket
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	kv, err := s.js.KeyValue(lctx, bucket)
	cancel()
	if err != nil {
		return fmt.Errorf("ingest: watermarks: bucket %s: %w", bucket, err)
	}
	w, err := kv.Watch(ctx, natsjs.WatermarkKeys)
	if err != nil {
		return fmt.Errorf("ingest: watermarks: watch %s in %s: %w", natsjs.WatermarkKeys, bucket, err)
	}
	defer func() { _ = w.Stop() }()
	s.log.Info("watching watermarks", "bucket", bucket, "keys", natsjs.WatermarkKeys)
	known := marks{}
	if ms := s.marks.Load(); ms != nil {
		known = maps.Clone(*ms)
	}
	seen := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("ingest: watermarks: the watch ended")
			}
			if e == nil { // the initial values are in: forget keys no longer there
				for k := range known {
					if !seen[k] {
						delete(known, k)
					}
				}
			} else {
				seen[e.Key()] = true
				s.applyWatermark(known, e)
			}
			snap := maps.Clone(known)
			s.marks.Store(&snap)
			s.metrics.watermarks.Set(float64(len(snap)))
		}
	}
}

// applyWatermark records one update of a watermark key in known.
func (s *Server) applyWatermark(known marks, e jetstream.KeyValueEntry) {
	key := e.Key()
	if op := e.Operation(); op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge {
		delete(known, key)
		return
	}
	// Decoded leniently: a newer aggregator may add members.
	var wm natsjs.Watermark
	if err := json.Unmarshal(e.Value(), &wm); err != nil {
		delete(known, key)
		s.log.Warn("ignoring a watermark that does not decode", "key", key, "error", err)
		return
	}
	if wm.Partition == "" {
		wm.Partition = natsjs.WatermarkPartition(key)
	}
	m := &mark{Watermark: wm}
	if len(wm.Regions) > 0 {
		m.regions = make(map[string]bool, len(wm.Regions))
		for _, r := range wm.Regions {
			m.regions[r] = true
		}
	}
	known[key] = m
	s.log.Debug("watermark", "partition", wm.Partition, "watermark", wm.Watermark, "horizon", m.Horizon())
}
