package natsjs

import "strconv"

// Headers of a dead letter in the DLQ stream. The stage that refused the input (ingest or
// aggregate) writes them and the DLQ archiver reads them into the ClickHouse dlq table; see
// docs/nats.md.
const (
	// HeaderStage names the stage that refused the input: "ingest" or "aggregate".
	HeaderStage = "Govpulse-Stage"
	// HeaderReason is the human-readable reason, at most 1 KiB.
	HeaderReason = "Govpulse-Reason"
	// HeaderReasonCode is the machine-readable reason (events.Error.Reason, "too_late", ...).
	HeaderReasonCode = "Govpulse-Reason-Code"
	// HeaderSource is the source of the token that sent the input (ingest only).
	HeaderSource = "Govpulse-Source"
	// HeaderReceivedAt is when the stage received the input (RFC 3339 with nanoseconds, UTC).
	HeaderReceivedAt = "Govpulse-Received-At"
	// HeaderEventID, HeaderRegion and HeaderType are what is known of the refused event.
	HeaderEventID = "Govpulse-Event-Id"
	HeaderRegion  = "Govpulse-Region"
	HeaderType    = "Govpulse-Type"
	// HeaderTruncated is "true" when the payload was cut to the dead-letter size limit.
	HeaderTruncated = "Govpulse-Truncated"
	// HeaderStreamSeq is the EVENTS stream sequence of an event the aggregator refused.
	HeaderStreamSeq = "Govpulse-Stream-Seq"
)

// AggregateDeadLetterID returns the Nats-Msg-Id of the dead letter the aggregator writes for the
// message at stream sequence seq with reason code code ("aggregate-too_late-42"), so that a
// redelivered or replayed message is dead-lettered once, and a message every partition
// dead-letters (a subject that names no unit) is stored once.
func AggregateDeadLetterID(code string, seq uint64) string {
	return StageAggregate + "-" + code + "-" + strconv.FormatUint(seq, 10)
}

// Stages of a dead letter (the value of HeaderStage and a token of its subject).
const (
	StageIngest    = "ingest"
	StageAggregate = "aggregate"
)
