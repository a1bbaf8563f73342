package natsjs

import "strings"

// Default names of the JetStream resources. A deployment may prefix or rename
// them through [Names].
const (
	DefaultPrefix          = "govpulse"
	DefaultEventsStream    = "EVENTS"
	DefaultDLQStream       = "DLQ"
	DefaultLatestBucket    = "govpulse_latest"
	DefaultCheckpointStore = "govpulse_checkpoints"
)

// Names holds the subject prefix and the names of the streams, bucket and
// object store. The zero value means the defaults; call [Names.WithDefaults]
// before use. Names is a value type and safe for concurrent use.
type Names struct {
	// Prefix is the first token of every subject ("govpulse").
	Prefix string
	// EventsStream is the stream of accepted events ("EVENTS").
	EventsStream string
	// DLQStream is the stream of rejected input ("DLQ").
	DLQStream string
	// LatestBucket is the KV bucket of the latest scores ("govpulse_latest").
	LatestBucket string
	// CheckpointStore is the object store of checkpoints ("govpulse_checkpoints").
	CheckpointStore string
}

// WithDefaults returns n with every empty field set to its default.
func (n Names) WithDefaults() Names {
	if n.Prefix == "" {
		n.Prefix = DefaultPrefix
	}
	if n.EventsStream == "" {
		n.EventsStream = DefaultEventsStream
	}
	if n.DLQStream == "" {
		n.DLQStream = DefaultDLQStream
	}
	if n.LatestBucket == "" {
		n.LatestBucket = DefaultLatestBucket
	}
	if n.CheckpointStore == "" {
		n.CheckpointStore = DefaultCheckpointStore
	}
	return n
}

// EventsSubjectPrefix returns the prefix of the event subjects
// ("govpulse.events"), as events.Event.Subject expects it.
func (n Names) EventsSubjectPrefix() string {
	return n.WithDefaults().Prefix + ".events"
}

// EventsSubjects returns the subject filter of the EVENTS stream
// ("govpulse.events.>").
func (n Names) EventsSubjects() string {
	return n.EventsSubjectPrefix() + ".>"
}

// DLQSubjects returns the subject filter of the DLQ stream ("govpulse.dlq.>").
func (n Names) DLQSubjects() string {
	return n.WithDefaults().Prefix + ".dlq.>"
}

// DLQSubject returns the subject of a rejected message of a stage for a
// reason ("govpulse.dlq.ingest.range"). Characters that may not appear in a
// subject token are replaced by '_' and an empty token becomes "unknown".
func (n Names) DLQSubject(stage, reason string) string {
	return n.WithDefaults().Prefix + ".dlq." + Token(stage) + "." + Token(reason)
}

// ScoreSubject returns the subject of the scores of a region
// ("govpulse.scores.330000").
func (n Names) ScoreSubject(region string) string {
	return n.WithDefaults().Prefix + ".scores." + Token(region)
}

// RankingsSubject returns the subject of the rankings ("govpulse.rankings").
func (n Names) RankingsSubject() string {
	return n.WithDefaults().Prefix + ".rankings"
}

// Token returns s as a safe subject token: every byte outside
// A-Z a-z 0-9 _ - is replaced by '_', and an empty s becomes "unknown".
func Token(s string) string {
	if s == "" {
		return "unknown"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		if !tokenByte(s[i]) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if tokenByte(s[i]) {
			b.WriteByte(s[i])
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// WatermarkKey returns the key of the latest-value bucket under which a partition publishes its
// watermark ("watermark.all"): a JSON [Watermark], read by ingest to answer too-late events at once.
func WatermarkKey(partition string) string {
	return "watermark." + Token(partition)
}

// WatermarkKeys is the key filter of every partition's watermark in the latest-value bucket.
const WatermarkKeys = "watermark.*"
