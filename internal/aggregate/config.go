package aggregate

import (
	"fmt"
	"time"

	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/internal/reviews"
	"github.com/govpulse/govpulse/internal/scoring"
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
	// MaxBatch is the largest number of stream messages applied between two flushes; in a
	// partition of some units batches also end at the stream sequences that are its multiples,
	// where partitions that share it meet for the ranking of all units (ranker.go). Default 50000: a batch reaches it only while the
	// flusher is still writing the previous one, and a slow ClickHouse then gets fewer, larger
	// INSERTs (each INSERT writes a part of every table it touches, at a cost per part and column
	// far above the cost per row).
	MaxBatch int
	// FlushInterval is the longest time a read message waits before its batch is handed to the
	// flusher, once the flusher is free (while it writes, the batch grows). Default 250ms.
	FlushInterval time.Duration
	// CheckpointInterval is the shortest time between two checkpoints; the reader also waits 20
	// times as long as the last checkpoint took to take (checkpointCostFactor). Default 10s.
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
	// OutOfOrderness is the watermark's bound. Default engine.DefaultOutOfOrderness (10m).
	OutOfOrderness time.Duration
	// AllowedLateness is how far behind the watermark a user-experience event still counts. Default
	// engine.DefaultAllowedLateness (7 days).
	AllowedLateness time.Duration
	// AppealHorizon is how long after a review's event time, as the watermark goes, an upheld
	// appeal still voids it; a later one is stored as a late event (reason: past the appeal
	// horizon) and the review stays in the score. Default engine.DefaultAppealHorizon (7 days).
	AppealHorizon time.Duration
	// Replicas is the number of replicas of the latest-value bucket, the checkpoint store and,
	// when the aggregator has to create it, the DLQ stream. Default 1.
	Replicas int
	// MaxItemsPerLevel is the most items (level, item_code) one region may hold at one level; a
	// portal change that would add one more is a dead letter with reason "limit". Default
	// engine.DefaultMaxItemsPerLevel (20000).
	MaxItemsPerLevel int
	// PortalLimits bound each unit's portal state: MaxPortals portals per unit and
	// MaxItemsPerPortal items (level, item_code) per portal; a portal change beyond them is a dead
	// letter with reason "limit". Default portals.DefaultMaxPortals (16) and
	// portals.DefaultMaxItemsPerPortal (80000).
	PortalLimits portals.Limits
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
	// Methods are the ids of the scoring methods computed side by side from the same state, each
	// with its own scores and ranking. Default: scoring.DefaultMethod alone. A partition that
	// does not hold every unit computes the default method only.
	Methods []string
	// Rescore makes the service re-score the stream's history under its one method: it reads
	// every message the stream held when it started, from its own checkpoint (name it with
	// RescorePartition), stores only the method's scores and rankings (method_scores and
	// method_rankings), publishes nothing, and returns from Run once it has stored them.
	Rescore bool
	// From, with Rescore, leaves out the scores and rankings whose as_of is before it (the state
	// is still built from the first event). Zero: everything.
	From time.Time
	// NoExplain turns off the tables that explain every change (score_changes, score_causes and
	// rank_changes; engine.Config.Explain). Default false: they are written.
	NoExplain bool
	// ExplainDelay is how long, under load, the explanation rows of a stored batch may wait to be
	// written together with those of later batches, in one set of INSERTs (three parts for several
	// batches instead of three per batch): a score may be queryable that long before its
	// explanation. They are written at once when the batch was cut because the input went idle on
	// a quiet pipeline (the flusher waited at least 100 ms for it; explain.go, quietWait),
	// and always before a checkpoint that covers their events, at shutdown included, so a crash
	// replays what was not stored. Default DefaultExplainDelay; ExplainNow (or any negative value)
	// writes them with every batch.
	ExplainDelay time.Duration
	// ExplainMaxRows bounds the explanation rows held (ExplainDelay): when a batch brings them to
	// this many, they are written with it. A row held takes about 250 bytes on the heap, growth of
	// the slices included (measured on the replay's stream: a score_changes row with its two values;
	// a score_causes row with its lists is larger, but there is one for 30 score_changes rows), so
	// the default DefaultExplainMaxRows holds at most about 25 MB. A batch over every unit of the
	// hierarchy brings more than that on its own and is written with its explanations.
	ExplainMaxRows int
	// Reviews configures the lifecycle of reviews (engine.Config.Reviews): the working-day
	// calendar with its local rules and the thresholds of alerts. Zero fields take the defaults
	// of internal/reviews.
	Reviews reviews.Config
}

// RescorePartition is the partition name of a re-scoring under method, which names its checkpoint.
func RescorePartition(method string) string { return "rescore-" + method }

// WithDefaults returns c with every zero field set to its default. The command's flags take their
// defaults from Config{}.WithDefaults().
func (c Config) WithDefaults() Config {
	if c.Partition == "" {
		c.Partition = "all"
	}
	if len(c.Regions) == 0 {
		for _, r := range events.Regions() {
			c.Regions = append(c.Regions, r.Code)
		}
	}
	if len(c.Methods) == 0 {
		c.Methods = []string{scoring.DefaultMethod}
	}
	c.Names = c.Names.WithDefaults()
	if c.MaxBatch == 0 {
		c.MaxBatch = 50000
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
		c.OutOfOrderness = engine.DefaultOutOfOrderness
	}
	if c.AllowedLateness == 0 {
		c.AllowedLateness = engine.DefaultAllowedLateness
	}
	if c.AppealHorizon == 0 {
		c.AppealHorizon = engine.DefaultAppealHorizon
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.MaxItemsPerLevel == 0 {
		c.MaxItemsPerLevel = engine.DefaultMaxItemsPerLevel
	}
	c.PortalLimits = c.PortalLimits.WithDefaults()
	if c.MaxAhead == 0 {
		c.MaxAhead = DefaultMaxAhead
	}
	if c.ClockTolerance == 0 {
		c.ClockTolerance = DefaultClockTolerance
	}
	if c.DeadLetterBacklog == 0 {
		c.DeadLetterBacklog = DefaultDeadLetterBacklog
	}
	if c.ExplainDelay == 0 {
		c.ExplainDelay = DefaultExplainDelay
	}
	if c.ExplainMaxRows == 0 {
		c.ExplainMaxRows = DefaultExplainMaxRows
	}
	return c
}

// Defaults of Config and of the command.
const (
	// DefaultAdminAddr is the command's listen address of /healthz, /readyz and /metrics.
	DefaultAdminAddr         = "127.0.0.1:8081"
	DefaultMaxAhead          = 5 * time.Minute
	DefaultClockTolerance    = time.Minute
	DefaultDeadLetterBacklog = 10000
	DefaultExplainDelay      = 2 * time.Second
	DefaultExplainMaxRows    = 100000
	// ExplainNow as Config.ExplainDelay writes the explanation rows of every batch with it.
	ExplainNow time.Duration = -1
)

// Validate reports the first setting of c (with its defaults) that cannot work, including the
// checks the engine and the NATS setup make later, so that a bad setting fails at start, not in a
// retry.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch {
	case c.MaxBatch < 1:
		return fmt.Errorf("aggregate: max batch %d: must be at least 1", c.MaxBatch)
	case c.Prefetch < 1:
		return fmt.Errorf("aggregate: prefetch %d: must be at least 1", c.Prefetch)
	case c.DeadLetterBacklog < 1:
		return fmt.Errorf("aggregate: dead letter backlog %d: must be at least 1", c.DeadLetterBacklog)
	case c.ExplainMaxRows < 1:
		return fmt.Errorf("aggregate: explain max rows %d: must be at least 1", c.ExplainMaxRows)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"flush interval", c.FlushInterval}, {"checkpoint interval", c.CheckpointInterval},
		{"shutdown timeout", c.ShutdownTimeout}, {"retry max interval", c.RetryMaxInterval},
		{"schema fault grace", c.SchemaFaultGrace}, {"max ahead", c.MaxAhead}, {"clock tolerance", c.ClockTolerance},
	} {
		if d.v < 0 {
			return fmt.Errorf("aggregate: %s %s: must not be negative", d.name, d.v)
		}
	}
	if err := natsjs.ValidateReplicas(c.Replicas); err != nil {
		return fmt.Errorf("aggregate: %w", err)
	}
	if err := c.Names.Validate(); err != nil {
		return fmt.Errorf("aggregate: %w", err)
	}
	// The partition as the engine checks it when the service starts: regions, windows, items,
	// methods.
	if err := c.engineConfig().Validate(); err != nil {
		return fmt.Errorf("aggregate: %w", err)
	}
	if _, ok := scoring.Lookup(c.Partition); ok {
		return fmt.Errorf("aggregate: partition %q: named like a scoring method, whose rankings share its subject and key", c.Partition)
	}
	switch {
	case !c.allRegions() && (len(c.Methods) != 1 || c.Methods[0] != scoring.DefaultMethod):
		return fmt.Errorf("aggregate: methods %v: a partition that does not hold every unit computes the default method %s only",
			c.Methods, scoring.DefaultMethod)
	case c.Rescore && len(c.Methods) != 1:
		return fmt.Errorf("aggregate: rescore: methods %v: one method at a time", c.Methods)
	}
	return nil
}

// allRegions reports whether the partition holds every assessed unit.
func (c Config) allRegions() bool { return len(c.Regions) == len(events.Regions()) }
