package aggregate

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/natsjs"
)

// checkpointMagic starts every checkpoint; checkpointFormat is bumped whenever the framing or the
// meaning of the state changes. The engine snapshot inside carries its own version, method and
// configuration checks. Format 2 is the state of a partition that follows the watermark of the
// whole stream; a format 1 checkpoint of a partition that does not hold every unit followed its own
// watermark, and is not resumed (see loadCheckpoint).
const (
	checkpointMagic  = "GPCK"
	checkpointFormat = 2
)

// errCheckpointGap is returned when the stream no longer holds the events between the checkpoint
// and the stream's first sequence: resuming would silently skip them.
var errCheckpointGap = errors.New("aggregate: checkpoint is older than the stream")

// checkpoint is what the aggregator persists: the last stream sequence read and the engine state
// after it. Everything up to lastSeq has been stored in ClickHouse when a checkpoint is written.
type checkpoint struct {
	format    uint16 // 0 when encoding means checkpointFormat
	partition string
	lastSeq   uint64
	engine    []byte
}

// encodeCheckpoint frames a checkpoint: magic, format, partition, last sequence, engine snapshot.
func encodeCheckpoint(c checkpoint) []byte {
	b := make([]byte, 0, len(checkpointMagic)+2+2+len(c.partition)+8+len(c.engine))
	b = append(b, checkpointMagic...)
	format := c.format
	if format == 0 {
		format = checkpointFormat
	}
	b = binary.BigEndian.AppendUint16(b, format)
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.partition)))
	b = append(b, c.partition...)
	b = binary.BigEndian.AppendUint64(b, c.lastSeq)
	return append(b, c.engine...)
}

// decodeCheckpoint parses what encodeCheckpoint wrote; any other input is an error.
func decodeCheckpoint(b []byte) (checkpoint, error) {
	var c checkpoint
	if !bytes.HasPrefix(b, []byte(checkpointMagic)) {
		return c, errors.New("not a govpulse checkpoint")
	}
	b = b[len(checkpointMagic):]
	if len(b) < 4 {
		return c, errors.New("checkpoint truncated")
	}
	c.format = binary.BigEndian.Uint16(b)
	if c.format != 1 && c.format != checkpointFormat {
		return c, fmt.Errorf("checkpoint format %d, want %d", c.format, checkpointFormat)
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	b = b[4:]
	if len(b) < n+8 {
		return c, errors.New("checkpoint truncated")
	}
	c.partition = string(b[:n])
	c.lastSeq = binary.BigEndian.Uint64(b[n:])
	c.engine = b[n+8:]
	return c, nil
}

// objectName is the checkpoint's name in the object store.
func (c Config) objectName() string { return natsjs.CheckpointObject(c.Partition) }

// engineConfig is the engine configuration of this partition.
func (c Config) engineConfig() engine.Config {
	return engine.Config{
		Regions:          c.Regions,
		OutOfOrderness:   c.OutOfOrderness,
		AllowedLateness:  c.AllowedLateness,
		AppealHorizon:    c.AppealHorizon,
		MaxItemsPerLevel: c.MaxItemsPerLevel,
		PortalLimits:     c.PortalLimits,
		Methods:          c.Methods,
		Explain:          !c.NoExplain && !c.Rescore, // a re-scoring stores no explanation
		Reviews:          c.Reviews,
	}
}

// restore loads the checkpoint of the partition from checkpoints, or starts from an empty engine
// when there is no usable one. It fails when the stream lost events the checkpoint does not cover.
func (s *reader) restore(ctx context.Context, checkpoints jetstream.ObjectStore, state jetstream.StreamState) error {
	c, why := s.loadCheckpoint(ctx, checkpoints, state.LastSeq)
	if why == "" {
		if c.lastSeq+1 < state.FirstSeq {
			return fmt.Errorf("%w: it covers sequences up to %d, but the stream starts at %d: events %d..%d are gone; "+
				"restore them or delete the checkpoint %q to rebuild from what the stream holds",
				errCheckpointGap, c.lastSeq, state.FirstSeq, c.lastSeq+1, state.FirstSeq-1, s.cfg.objectName())
		}
		eng, err := engine.Restore(s.cfg.engineConfig(), c.engine)
		if err == nil {
			s.eng, s.lastSeq, s.snapshotSeq = eng, c.lastSeq, c.lastSeq
			s.lastSnapshot = time.Now()
			s.log.Info("restored checkpoint", "last_sequence", c.lastSeq, "bytes", len(c.engine))
			return nil
		}
		why = "engine state unusable: " + err.Error()
	}
	eng, err := engine.New(s.cfg.engineConfig())
	if err != nil {
		return fmt.Errorf("aggregate: new engine: %w", err)
	}
	s.eng, s.lastSeq, s.snapshotSeq = eng, 0, 0
	s.lastSnapshot = time.Now()
	if state.FirstSeq > 1 {
		s.log.Warn("rebuilding from the start of the stream, which no longer holds its first events",
			"reason", why, "first_sequence", state.FirstSeq)
	} else {
		s.log.Info("rebuilding from the start of the stream", "reason", why, "messages", state.Msgs)
	}
	return nil
}

// loadCheckpoint returns the partition's checkpoint, or a reason why there is no usable one.
func (s *reader) loadCheckpoint(ctx context.Context, checkpoints jetstream.ObjectStore, streamLastSeq uint64) (checkpoint, string) {
	data, err := checkpoints.GetBytes(ctx, s.cfg.objectName())
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return checkpoint{}, "no checkpoint"
	}
	if err != nil {
		return checkpoint{}, "checkpoint unreadable: " + err.Error()
	}
	c, err := decodeCheckpoint(data)
	switch {
	case err != nil:
		return c, "checkpoint corrupt: " + err.Error()
	case c.partition != s.cfg.Partition:
		return c, fmt.Sprintf("checkpoint of partition %q", c.partition)
	case c.format == 1 && !s.cfg.allRegions():
		return c, "checkpoint of format 1, written while the partition followed the watermark of its own units; " +
			"partitions now follow the watermark of the whole stream"
	case c.lastSeq > streamLastSeq:
		return c, fmt.Sprintf("checkpoint covers sequence %d but the stream ends at %d: the stream was created anew, "+
			"and the ClickHouse rows of the old one (higher versions) must be dropped too, or the views keep showing them", c.lastSeq, streamLastSeq)
	}
	return c, ""
}

// writeCheckpoint stores a checkpoint covering the stream up to lastSeq; the caller has stored
// every row up to lastSeq before.
func (s *flusher) writeCheckpoint(ctx context.Context, lastSeq uint64, data []byte) error {
	if _, err := s.checkpoints.PutBytes(ctx, s.cfg.objectName(), data); err != nil {
		return fmt.Errorf("aggregate: write checkpoint: %w", err)
	}
	s.metrics.checkpoints.Inc()
	s.metrics.checkpointSize.Set(float64(len(data)))
	s.metrics.checkpointAge.Set(float64(lastSeq))
	s.metrics.checkpointTime.Set(float64(time.Now().Unix()))
	return nil
}
