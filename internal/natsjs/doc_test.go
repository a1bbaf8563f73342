package natsjs_test

import (
	"os"
	"strings"
	"testing"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/pkg/events"
)

// TestNATSDoc checks the table of docs/nats.md against the names the code builds: every row's
// value is what its Go name gives, and every name is in the table.
func TestNATSDoc(t *testing.T) {
	n := natsjs.Names{}.WithDefaults()
	want := map[string]string{
		"Names.EventsStream":                        n.EventsStream,
		"Names.DLQStream":                           n.DLQStream,
		"Names.LatestBucket":                        n.LatestBucket,
		"Names.CheckpointStore":                     n.CheckpointStore,
		"Names.LatestBucketStream()":                n.LatestBucketStream(),
		"Names.CheckpointStoreStream()":             n.CheckpointStoreStream(),
		"Names.SubjectPrefix":                       n.SubjectPrefix,
		"Names.EventSubjectBase()":                  n.EventSubjectBase(),
		"Names.EventsSubjects()":                    n.EventsSubjects(),
		"Names.RegionEventsSubjects(region)":        n.RegionEventsSubjects("REGION"),
		"Names.DLQSubjects()":                       n.DLQSubjects(),
		"Names.DLQSubject(stage, reason)":           n.DLQSubject("STAGE", "REASON"),
		"Names.ScoreSubject(region)":                n.ScoreSubject("REGION"),
		"Names.RankingsSubject()":                   n.RankingsSubject(),
		"Names.AlertSubject(region)":                n.AlertSubject("REGION"),
		"Names.AlertSubjects()":                     n.AlertSubjects(),
		"AlertMsgID(id, state)":                     natsjs.AlertMsgID("ID", "STATE"),
		"Names.ScoreSubjects()":                     n.ScoreSubjects(),
		"Names.InconsistencySubject(region)":        n.InconsistencySubject("REGION"),
		"Names.InconsistencySubjects()":             n.InconsistencySubjects(),
		"DLQArchiveConsumer":                        natsjs.DLQArchiveConsumer,
		"CheckpointObject(partition)":               natsjs.CheckpointObject("PARTITION"),
		"Names.PartitionRankingsSubject(partition)": n.PartitionRankingsSubject("PARTITION"),
		"Names.GroupRankingsSubject(group)":         n.GroupRankingsSubject("GROUP"),
		"Names.GroupRankingsSubjects()":             n.GroupRankingsSubjects(),
		"GroupRankingKey(group)":                    natsjs.GroupRankingKey("GROUP"),
		"GroupRankingKeys":                          natsjs.GroupRankingKeys,
		"ScoreKey(region)":                          natsjs.ScoreKey("REGION"),
		"Names.MethodScoreSubject(method, region)":  n.MethodScoreSubject("METHOD", "REGION"),
		"Names.MethodScoreSubjects(method)":         n.MethodScoreSubjects("METHOD"),
		"Names.MethodRankingsSubject(method)":       n.MethodRankingsSubject("METHOD"),
		"MethodScoreKey(method, region)":            natsjs.MethodScoreKey("METHOD", "REGION"),
		"MethodRankingKey(method)":                  natsjs.MethodRankingKey("METHOD"),
		"RankingKey":                                natsjs.RankingKey,
		"PartitionRankingKey(partition)":            natsjs.PartitionRankingKey("PARTITION"),
		"WatermarkKey(partition)":                   natsjs.WatermarkKey("PARTITION"),
		"WatermarkKeys":                             natsjs.WatermarkKeys,
		"PortalsKey(region)":                        natsjs.PortalsKey("REGION"),
		"PortalsKeys":                               natsjs.PortalsKeys,
		"HeaderStage":                               natsjs.HeaderStage,
		"HeaderReason":                              natsjs.HeaderReason,
		"HeaderReasonCode":                          natsjs.HeaderReasonCode,
		"HeaderSource":                              natsjs.HeaderSource,
		"HeaderReceivedAt":                          natsjs.HeaderReceivedAt,
		"HeaderEventID":                             natsjs.HeaderEventID,
		"HeaderRegion":                              natsjs.HeaderRegion,
		"HeaderType":                                natsjs.HeaderType,
		"HeaderTruncated":                           natsjs.HeaderTruncated,
		"HeaderStreamSeq":                           natsjs.HeaderStreamSeq,
		"AggregateDeadLetterID(reason, seq)":        natsjs.AggregateDeadLetterID("REASON", 7),
	}
	placeholders := strings.NewReplacer("METHOD", "<method>", "REGION", "<region>", "PARTITION", "<partition>", "STAGE", "<stage>", "REASON", "<reason>", "-7", "-<seq>", "GROUP", "<group>", "ID", "<id>", "STATE", "<state>")
	doc, err := os.ReadFile("../../docs/nats.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 6 || !strings.HasPrefix(strings.TrimSpace(cells[2]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[2]), "`")
		value := strings.Trim(strings.TrimSpace(cells[3]), "`")
		v, ok := want[name]
		if !ok {
			t.Errorf("docs/nats.md lists %s, which the test does not know", name)
			continue
		}
		seen[name] = true
		if got := placeholders.Replace(v); got != value {
			t.Errorf("docs/nats.md: %s is %q, the code gives %q", name, value, got)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("docs/nats.md does not list %s", name)
		}
	}
	// pkg/events imports no NATS, so it keeps its own default; it must be the same subject.
	if n.EventSubjectBase() != events.DefaultSubjectPrefix {
		t.Errorf("EventSubjectBase %q, events.DefaultSubjectPrefix %q", n.EventSubjectBase(), events.DefaultSubjectPrefix)
	}
}
