package aggregate

import (
	"errors"
	"fmt"
	"time"

	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/pkg/events"
)

// Config configures a Service. The zero value of every field means its default.
type Config struct {
	// Partition names the partition: it names the checkpoint object. Default "all".
	Partition string
	// Regions lists the region codes of the partition. Default: all 32 units.
	Regions []string
	// Names are the NATS subjects, streams and buckets. Default: natsjs defaults.
	Names natsjs.Names
	// MaxBatch is the largest number of stream messages applied between two flushes; batches also
	// end at the stream sequences that are its multiples, where partitions that share it meet for
	// the ranking of all units (ranker.go). Default 10000.
	MaxBatch int
	// FlushInterval is the longest time a read message waits before it is flushed. Default 250ms.
	FlushInterval time.Duration
	// CheckpointInterval is the shortest time between two checkpoints. Default 10s.
	CheckpointInterval time.Duration
	// ShutdownTimeout bounds the final flush and checkpoint at shutdown. Default 30s.
	ShutdownTimeout time.Duration
	// RetryMaxInterval is the longest pause between two attempts to write to ClickHouse. Default 10s.
	RetryMaxInterval time.Duration
	// SchemaFaultGrace is how long a ClickHouse schema fault (a missing table or column, say during
	// a migration) is retried before the rows it refuses are dead-lettered. Default 5m.
	SchemaFaultGrace time.Duration
	// Prefetch is how many stream messages the consumer buffers ahead. Default 2000.
	Prefetch int
	// OutOfOrderness is the watermark's bound. Default 10m.
	OutOfOrderness time.Duration
	// AllowedLateness is how far behind the watermark a user-experience event still counts. Default 7 days.
	AllowedLateness time.Duration
	// Replicas is the number of replicas of the latest-value bucket, the checkpoint store and,
	// when the aggregator has to create it, the DLQ stream. Default 1.
	Replicas int
	// MaxItemsPerLevel is the most items (level, item_code) one region may hold at one level; a
	// portal change that would add one more is a dead letter with reason "limit". Default
	// engine.DefaultMaxItemsPerLevel (20000).
	MaxItemsPerLevel int
	// MaxAhead is ingest's rule for event times (events.CheckTime): how far an event time may be
	// ahead of the time the stream stored the message. Default 5m, as ingest's.
	MaxAhead time.Duration
	// ClockTolerance is added to MaxAhead: ingest judges against its own clock, the aggregator
	// against the stream's timestamp, and the two clocks may differ by this much. Default 1m.
	ClockTolerance time.Duration
	// DeadLetterBacklog is the most dead letters kept in memory while the DLQ stream cannot take
	// them (at most 64 MiB of their bytes in any case); when it is full the aggregator stops
	// consuming until they are written. Default 10000.
	DeadLetterBacklog int
}

func (c Config) withDefaults() Config {
	if c.Partition == "" {
		c.Partition = "all"
	}
	if len(c.Regions) == 0 {
		for _, r := range events.Regions() {
			c.Regions = append(c.Regions, r.Code)
		}
	}
	c.Names = c.Names.WithDefaults()
	if c.MaxBatch == 0 {
		c.MaxBatch = 10000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = 250 * time.Millisecond
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = 10 * time.Second
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.RetryMaxInterval == 0 {
		c.RetryMaxInterval = 10 * time.Second
	}
	if c.SchemaFaultGrace == 0 {
		c.SchemaFaultGrace = 5 * time.Minute
	}
	if c.Prefetch == 0 {
		c.Prefetch = 2000
	}
	if c.OutOfOrderness == 0 {
		c.OutOfOrderness = 10 * time.Minute
	}
	if c.AllowedLateness == 0 {
		c.AllowedLateness = 7 * 24 * time.Hour
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.MaxItemsPerLevel == 0 {
		c.MaxItemsPerLevel = engine.DefaultMaxItemsPerLevel
	}
	if c.MaxAhead == 0 {
		c.MaxAhead = DefaultMaxAhead
	}
	if c.ClockTolerance == 0 {
		c.ClockTolerance = DefaultClockTolerance
	}
	if c.DeadLetterBacklog == 0 {
		c.DeadLetterBacklog = DefaultDeadLetterBacklog
	}
	return c
}

// Defaults of Config.
const (
	DefaultMaxAhead          = 5 * time.Minute
	DefaultClockTolerance    = time.Minute
	DefaultDeadLetterBacklog = 10000
)

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	seen := make(map[string]bool, len(c.Regions))
	for _, r := range c.Regions {
		if _, ok := events.LookupRegion(r); !ok {
			errs = append(errs, fmt.Errorf("region %q is not one of the assessed units", r))
		}
		if seen[r] {
			errs = append(errs, fmt.Errorf("region %q is listed twice", r))
		}
		seen[r] = true
	}
	if c.MaxItemsPerLevel < 1 {
		errs = append(errs, errors.New("max items per level must be at least 1"))
	}
	if c.MaxAhead < 0 || c.ClockTolerance < 0 {
		errs = append(errs, errors.New("max ahead and clock tolerance must not be negative"))
	}
	if c.DeadLetterBacklog < 1 {
		errs = append(errs, errors.New("dead letter backlog must be at least 1"))
	}
	if c.MaxBatch < 1 {
		errs = append(errs, errors.New("max batch must be at least 1"))
	}
	if c.FlushInterval < 0 || c.CheckpointInterval < 0 || c.ShutdownTimeout < 0 || c.RetryMaxInterval < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if c.SchemaFaultGrace < 0 {
		errs = append(errs, errors.New("schema fault grace must not be negative"))
	}
	if c.OutOfOrderness < 0 || c.AllowedLateness < 0 {
		errs = append(errs, errors.New("out-of-orderness and allowed lateness must not be negative"))
	}
	if c.Prefetch < 1 {
		errs = append(errs, errors.New("prefetch must be at least 1"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("aggregate: config: %w", err)
	}
	return nil
}

// allRegions reports whether the partition holds every assessed unit.
func (c Config) allRegions() bool { return len(c.Regions) == len(events.Regions()) }
