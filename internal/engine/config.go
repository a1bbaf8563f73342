package engine

import (
	"fmt"
	"slices"
	"time"

	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/internal/reviews"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// Defaults of Config.
const (
	DefaultOutOfOrderness  = 10 * time.Minute
	DefaultAllowedLateness = 7 * 24 * time.Hour
	// DefaultAppealHorizon is how long after a review's event time (as the
	// watermark goes) an upheld appeal still voids it: the allowed lateness,
	// so that the record of a review is kept exactly as long as its id is
	// remembered anyway, and the steady state at 1,000,000 reviews a day
	// stays within one table of remembered ids (docs/reviews.md).
	DefaultAppealHorizon = DefaultAllowedLateness
	// DefaultMaxItemsPerLevel bounds the items of one region at one level:
	// 20,000 is ten times the largest catalogue of the 2017 assessment.
	DefaultMaxItemsPerLevel = 20000
)

// Config describes a partition. The zero value is the default single
// partition: every region, 10 minutes of out-of-orderness and 7 days of
// allowed lateness.
type Config struct {
	// Regions are the codes of the units of the partition; empty means all
	// the units of events.Regions. Order does not matter.
	Regions []string
	// OutOfOrderness is the watermark bound: W = largest event time seen
	// minus OutOfOrderness. Zero means DefaultOutOfOrderness.
	OutOfOrderness time.Duration
	// AllowedLateness is how far behind W a user-experience event may be
	// and still count. Zero means DefaultAllowedLateness.
	AllowedLateness time.Duration
	// MaxItemsPerLevel is the most items (level, item_code) one region may
	// hold at one level; a portal change that would add one more is
	// OverLimit. It bounds the portal state's memory against producers that
	// invent item codes. Zero means DefaultMaxItemsPerLevel.
	MaxItemsPerLevel int
	// PortalLimits bound each unit's portal state (internal/portals): the
	// portals of a unit and the items of a portal; a portal change beyond
	// them is OverLimit. Zero members mean portals.DefaultMaxPortals and
	// portals.DefaultMaxItemsPerPortal.
	PortalLimits portals.Limits
	// Methods are the ids of the scoring methods computed from the same
	// state, each with its own scores and ranking; empty means
	// scoring.DefaultMethod alone. The first is the method of Ranking, Part
	// and Scores' order within a region follows this order.
	Methods []string
	// Explain makes Drain return the change of every score from the unit's
	// previous drained score with its causes, and the rank changes since
	// the previous drained ranking (Output.Changes, Output.RankChanges). It
	// changes no score or ranking, and a snapshot restores under either
	// setting.
	Explain bool
	// AppealHorizon bounds retraction: an upheld appeal
	// (feedback.appeal_decided) voids its review only while the review's
	// event time is at or after W minus AppealHorizon when the second of the
	// two is applied; past it the review stays counted and the event is
	// PastAppealHorizon. The records of the reviews are kept for the longer
	// of AppealHorizon and AllowedLateness. Zero means DefaultAppealHorizon.
	AppealHorizon time.Duration
	// Reviews configures the lifecycle of reviews (好差评): the working-day calendar and the
	// thresholds of alerts. Its Window, AllowedLateness and AppealHorizon are the engine's
	// (RollingDays, AllowedLateness, AppealHorizon), whatever they say. It is not part of a snapshot's configuration: a
	// snapshot restores under other thresholds, which apply from then on.
	Reviews reviews.Config
	// IDKey keys the fingerprints by which the engine remembers applied
	// events (windows.Dedup). Zero, the default, draws a random key, which
	// producers cannot know and so cannot craft colliding ids with; set it
	// only where two engines fed the same events must give the same
	// snapshot bytes (tests). Restore keeps the key of the snapshot, and the
	// key is not part of the configuration a snapshot must match.
	IDKey [16]byte
}

// WithDefaults returns c with the defaults filled in and the regions
// sorted (a fresh slice).
func (c Config) WithDefaults() Config {
	if len(c.Regions) == 0 {
		for _, r := range events.Regions() {
			c.Regions = append(c.Regions, r.Code)
		}
	} else {
		c.Regions = slices.Clone(c.Regions)
	}
	slices.Sort(c.Regions)
	if c.OutOfOrderness == 0 {
		c.OutOfOrderness = DefaultOutOfOrderness
	}
	if c.AllowedLateness == 0 {
		c.AllowedLateness = DefaultAllowedLateness
	}
	if c.MaxItemsPerLevel == 0 {
		c.MaxItemsPerLevel = DefaultMaxItemsPerLevel
	}
	if c.AppealHorizon == 0 {
		c.AppealHorizon = DefaultAppealHorizon
	}
	c.PortalLimits = c.PortalLimits.WithDefaults()
	if len(c.Methods) == 0 {
		c.Methods = []string{scoring.DefaultMethod}
	} else {
		c.Methods = slices.Clone(c.Methods)
	}
	return c
}

// Validate reports whether c describes a partition: known, distinct region
// codes and methods, non-negative durations and non-negative limits. (Its zero
// fields mean their defaults, which are valid.)
func (c Config) Validate() error {
	if c.OutOfOrderness < 0 {
		return fmt.Errorf("engine: out-of-orderness %v: must not be negative", c.OutOfOrderness)
	}
	if c.AllowedLateness < 0 {
		return fmt.Errorf("engine: allowed lateness %v: must not be negative", c.AllowedLateness)
	}
	if c.AppealHorizon < 0 {
		return fmt.Errorf("engine: appeal horizon %v: must not be negative", c.AppealHorizon)
	}
	if c.MaxItemsPerLevel < 0 {
		return fmt.Errorf("engine: max items per level %d: must not be negative", c.MaxItemsPerLevel)
	}
	if err := c.PortalLimits.Validate(); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	for i, m := range c.Methods {
		if _, ok := scoring.Lookup(m); !ok {
			return fmt.Errorf("engine: method %q: not one of %v", m, scoring.Methods())
		}
		if slices.Contains(c.Methods[:i], m) {
			return fmt.Errorf("engine: method %q is listed twice", m)
		}
	}
	rc := c.Reviews
	rc.Window, rc.AllowedLateness = rollLength, c.AllowedLateness
	if _, err := reviews.New(rc); err != nil {
		return fmt.Errorf("engine: reviews: %w", err)
	}
	seen := make(map[string]bool, len(c.Regions))
	for _, r := range c.Regions {
		if _, ok := events.LookupRegion(r); !ok {
			return fmt.Errorf("engine: region %q: not one of the assessed units", r)
		}
		if seen[r] {
			return fmt.Errorf("engine: region %q is listed twice", r)
		}
		seen[r] = true
	}
	return nil
}

func (c Config) equal(o Config) bool {
	return slices.Equal(c.Regions, o.Regions) && c.OutOfOrderness == o.OutOfOrderness &&
		c.AllowedLateness == o.AllowedLateness && c.AppealHorizon == o.AppealHorizon && c.MaxItemsPerLevel == o.MaxItemsPerLevel &&
		c.PortalLimits == o.PortalLimits && slices.Equal(c.Methods, o.Methods)
}
