package natsjs

import (
	"fmt"
	"strings"
)

// Default names of the JetStream resources. A deployment may change the subject prefix or rename
// them through [Names]. docs/nats.md lists every name; a test keeps it in step.
const (
	// DefaultURL is the NATS server the commands connect to by default.
	DefaultURL = "nats://127.0.0.1:4222"
	// DefaultSubjectPrefix is the first token of every subject.
	DefaultSubjectPrefix   = "govpulse"
	DefaultEventsStream    = "EVENTS"
	DefaultDLQStream       = "DLQ"
	DefaultLatestBucket    = "govpulse_latest"
	DefaultCheckpointStore = "govpulse_checkpoints"
)

// Names holds the subject prefix and the names of the streams, bucket and
// object store, and builds every subject and key from them. The zero value means the defaults; call [Names.WithDefaults]
// before use. Names is a value type and safe for concurrent use.
type Names struct {
	// SubjectPrefix is the first token of every subject ("govpulse"). It is the only "prefix":
	// the subjects below it are built by the methods of Names.
	SubjectPrefix string
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
	if n.SubjectPrefix == "" {
		n.SubjectPrefix = DefaultSubjectPrefix
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

// Validate reports a name that cannot work: a subject prefix that is not a dot-separated list of
// subject tokens, or a stream, bucket or object store name with characters JetStream refuses.
func (n Names) Validate() error {
	n = n.WithDefaults()
	for _, tok := range strings.Split(n.SubjectPrefix, ".") {
		if tok == "" || Token(tok) != tok {
			return fmt.Errorf("natsjs: subject prefix %q: must be tokens of A-Z a-z 0-9 _ - separated by dots", n.SubjectPrefix)
		}
	}
	for _, name := range []struct{ what, v string }{
		{"events stream", n.EventsStream}, {"dlq stream", n.DLQStream},
		{"latest bucket", n.LatestBucket}, {"checkpoint store", n.CheckpointStore},
	} {
		if Token(name.v) != name.v {
			return fmt.Errorf("natsjs: %s name %q: must be of A-Z a-z 0-9 _ -", name.what, name.v)
		}
	}
	return nil
}

// EventSubjectBase returns the subject of events without its region, family and name tokens
// ("govpulse.events"): the argument events.Event.Subject takes.
func (n Names) EventSubjectBase() string {
	return n.WithDefaults().SubjectPrefix + ".events"
}

// EventsSubjects returns the subject filter of the EVENTS stream
// ("govpulse.events.>").
func (n Names) EventsSubjects() string {
	return n.EventSubjectBase() + ".>"
}

// RegionEventsSubjects returns the subject filter of the events of one region
// ("govpulse.events.330000.>").
func (n Names) RegionEventsSubjects(region string) string {
	return n.EventSubjectBase() + "." + Token(region) + ".>"
}

// DLQSubjects returns the subject filter of the DLQ stream ("govpulse.dlq.>").
func (n Names) DLQSubjects() string {
	return n.WithDefaults().SubjectPrefix + ".dlq.>"
}

// DLQSubject returns the subject of a rejected message of a stage for a
// reason ("govpulse.dlq.ingest.range"). Characters that may not appear in a
// subject token are replaced by '_' and an empty token becomes "unknown".
func (n Names) DLQSubject(stage, reason string) string {
	return n.WithDefaults().SubjectPrefix + ".dlq." + Token(stage) + "." + Token(reason)
}

// ScoreSubject returns the subject of the scores of a region
// ("govpulse.scores.330000").
func (n Names) ScoreSubject(region string) string {
	return n.WithDefaults().SubjectPrefix + ".scores." + Token(region)
}

// ScoreSubjects returns the subject filter of the scores of every region ("govpulse.scores.*").
func (n Names) ScoreSubjects() string {
	return n.WithDefaults().SubjectPrefix + ".scores.*"
}

// InconsistencySubject returns the subject of the changes of the inconsistencies between the
// portals of a region ("govpulse.inconsistencies.330000").
func (n Names) InconsistencySubject(region string) string {
	return n.WithDefaults().SubjectPrefix + ".inconsistencies." + Token(region)
}

// InconsistencySubjects returns the subject filter of the inconsistencies of every region
// ("govpulse.inconsistencies.*").
func (n Names) InconsistencySubjects() string {
	return n.WithDefaults().SubjectPrefix + ".inconsistencies.*"
}

// AlertSubject returns the subject of the alerts of a region ("govpulse.alerts.330000"): a unit's
// bad-review rate over a short window above its baseline, raised and ended.
func (n Names) AlertSubject(region string) string {
	return n.WithDefaults().SubjectPrefix + ".alerts." + Token(region)
}

// AlertSubjects returns the subject filter of the alerts of every region ("govpulse.alerts.*").
func (n Names) AlertSubjects() string {
	return n.WithDefaults().SubjectPrefix + ".alerts.*"
}

// AlertMsgID returns the Nats-Msg-Id of an alert's transition ("alert-330000/2024-10-10T08:00:00Z-raised"),
// so that an alert published again within the duplicate window is stored once.
func AlertMsgID(id, state string) string { return "alert-" + id + "-" + state }

// RankingsSubject returns the subject of the rankings ("govpulse.rankings").
func (n Names) RankingsSubject() string {
	return n.WithDefaults().SubjectPrefix + ".rankings"
}

// MethodScoreSubject returns the subject of the scores of a region under a method other than the
// default ("govpulse.scores.2022.330000"); the default method's are on ScoreSubject.
func (n Names) MethodScoreSubject(method, region string) string {
	return n.WithDefaults().SubjectPrefix + ".scores." + Token(method) + "." + Token(region)
}

// MethodScoreSubjects returns the subject filter of every region's scores under a method other than
// the default ("govpulse.scores.2022.*").
func (n Names) MethodScoreSubjects(method string) string {
	return n.WithDefaults().SubjectPrefix + ".scores." + Token(method) + ".*"
}

// MethodRankingsSubject returns the subject of the rankings of all units under a method other than
// the default ("govpulse.rankings.2022"); the default method's are on RankingsSubject. A partition
// may not be named like a method (PartitionRankingsSubject shares the form).
func (n Names) MethodRankingsSubject(method string) string {
	return n.RankingsSubject() + "." + Token(method)
}

// PartitionRankingsSubject returns the subject of the partial rankings of a partition that does
// not hold every unit ("govpulse.rankings.east").
func (n Names) PartitionRankingsSubject(partition string) string {
	return n.RankingsSubject() + "." + Token(partition)
}

// GroupRankingsSubject returns the subject of the rankings of a group of units other than the
// provincial units, named by package groups ("govpulse.grouprankings.key-cities",
// "govpulse.grouprankings.cities-330000"); the ranking of the provincial units stays on
// RankingsSubject.
func (n Names) GroupRankingsSubject(group string) string {
	return n.WithDefaults().SubjectPrefix + ".grouprankings." + Token(group)
}

// GroupRankingsSubjects returns the subject filter of the rankings of every group
// ("govpulse.grouprankings.*").
func (n Names) GroupRankingsSubjects() string {
	return n.WithDefaults().SubjectPrefix + ".grouprankings.*"
}

// LatestBucketStream returns the name of the stream behind the latest-value bucket
// ("KV_govpulse_latest"), which NATS permissions and stream settings name.
func (n Names) LatestBucketStream() string {
	return "KV_" + n.WithDefaults().LatestBucket
}

// CheckpointStoreStream returns the name of the stream behind the checkpoint object store
// ("OBJ_govpulse_checkpoints").
func (n Names) CheckpointStoreStream() string {
	return "OBJ_" + n.WithDefaults().CheckpointStore
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

// DLQArchiveConsumer is the durable consumer of the DLQ stream that copies it into ClickHouse.
const DLQArchiveConsumer = "dlq-archiver"

// CheckpointObject returns the name of a partition's checkpoint in the checkpoint object store
// ("partition-all").
func CheckpointObject(partition string) string {
	return "partition-" + partition
}

// Keys of the latest-value bucket.
const (
	// RankingKey holds the latest ranking of all units (a scoring.Ranking as JSON).
	RankingKey = "ranking"
	// WatermarkKeys is the key filter of every partition's watermark in the latest-value bucket.
	WatermarkKeys = watermarkKeyPrefix + "*"
	// GroupRankingKeys is the key filter of the latest rankings of every group of units.
	GroupRankingKeys = groupKeyPrefix + "*"
	// RankPartKeys is the key filter of every partition's share of the ranking of all units.
	RankPartKeys = rankPartKeyPrefix + "*"
	// PortalsKeys is the key filter of the latest portal measures of every unit.
	PortalsKeys = portalsKeyPrefix + "*"

	rankPartKeyPrefix = "rankpart."
	groupKeyPrefix    = "group."
	portalsKeyPrefix  = "portals."

	scoreKeyPrefix     = "scores."
	watermarkKeyPrefix = "watermark."
)

// ScoreKey returns the key of the latest-value bucket that holds the latest score of a region
// ("scores.330000").
func ScoreKey(region string) string {
	return scoreKeyPrefix + Token(region)
}

// MethodScoreKey returns the key of the latest-value bucket that holds the latest score of a region
// under a method other than the default ("scores.2022.330000").
func MethodScoreKey(method, region string) string {
	return scoreKeyPrefix + Token(method) + "." + Token(region)
}

// MethodRankingKey returns the key of the latest-value bucket that holds the latest ranking of all
// units under a method other than the default ("ranking.2022").
func MethodRankingKey(method string) string {
	return RankingKey + "." + Token(method)
}

// PartitionRankingKey returns the key of the latest-value bucket that holds the partial ranking
// of a partition that does not hold every unit ("ranking.east").
func PartitionRankingKey(partition string) string {
	return RankingKey + "." + Token(partition)
}

// GroupRankingKey returns the key of the latest-value bucket that holds the latest ranking of a
// group of units other than the provincial units ("group.key-cities"); the ranking of the
// provincial units stays under RankingKey.
func GroupRankingKey(group string) string {
	return groupKeyPrefix + Token(group)
}

// PortalsKey returns the key of the latest-value bucket that holds the latest portal measures of a
// unit ("portals.330000": a JSON portals.Measures). Its version is also the newest change of the
// unit's inconsistencies already published, so that a replay does not publish them again.
func PortalsKey(region string) string {
	return portalsKeyPrefix + Token(region)
}

// RankPartKey returns the key of the latest-value bucket under which a partition that holds some
// of the units puts its share of the ranking of all units ("rankpart.east"), for the ranker.
func RankPartKey(partition string) string {
	return rankPartKeyPrefix + Token(partition)
}

// WatermarkKey returns the key of the latest-value bucket under which a partition publishes its
// watermark ("watermark.all"): a JSON [Watermark], read by ingest to answer too-late events at once.
func WatermarkKey(partition string) string {
	return watermarkKeyPrefix + Token(partition)
}

// WatermarkPartition returns the partition whose watermark key is key ("all" for "watermark.all").
func WatermarkPartition(key string) string {
	return strings.TrimPrefix(key, watermarkKeyPrefix)
}
