package chstore

import (
	"errors"
	"strings"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// Class says what a failed write means for the rows it carried, and so what the writer does next.
type Class int

const (
	// Transient failures depend on the moment, not on the rows: the network, timeouts, a server
	// that is down, starting or overloaded (too many parts, memory limit), missing rights. Writing
	// the same rows again later succeeds; the caller retries with backoff.
	Transient Class = iota
	// RowError failures depend on the rows: ClickHouse, or the client for a value its column type
	// cannot hold, refuses some of them. Writing them again fails the same way; WriteIsolated
	// isolates the refused rows and stores the others.
	RowError
	// SchemaFault failures come from the tables, not the rows: a missing table or column, a column
	// whose type no longer takes the value's Go type. They are also the class of server errors this
	// package does not know. They may pass (a migration during an upgrade), so the caller retries
	// them for a grace period and then treats them as row errors.
	SchemaFault
)

// String returns "transient", "row" or "schema".
func (c Class) String() string {
	switch c {
	case RowError:
		return "row"
	case SchemaFault:
		return "schema"
	}
	return "transient"
}

// Server error codes by class (ClickHouse's src/Common/ErrorCodes.cpp). A code in neither list is a
// SchemaFault: retried for a while, never dropped at once and never retried forever.
var (
	transientCodes = codeSet(
		chproto.ErrUnexpectedEndOfFile, chproto.ErrAttemptToReadAfterEOF, chproto.ErrCannotReadAllData,
		chproto.ErrTimeoutExceeded, chproto.ErrSocketTimeout, chproto.ErrNetworkError,
		chproto.ErrTooManySimultaneousQueries, chproto.ErrNoFreeConnection,
		chproto.ErrNoZookeeper, chproto.ErrKeeperException, chproto.ErrAborted, chproto.ErrQueryWasCancelled,
		chproto.ErrMemoryLimitExceeded, chproto.ErrCannotAllocateMemory, chproto.ErrTableIsReadOnly,
		chproto.ErrNotEnoughSpace, chproto.ErrTooManyParts, chproto.ErrUnknownStatusOfInsert,
		chproto.ErrSystemError, chproto.ErrCannotScheduleTask, chproto.ErrDeadlockAvoided,
		chproto.ErrReadonly, chproto.ErrUnknownUser, chproto.ErrWrongPassword, chproto.ErrAccessDenied,
		chproto.ErrAuthenticationFailed, chproto.ErrPocoException, chproto.ErrStdException,
		// Replicated and Distributed tables (the cluster schema): no replica answers, too few
		// replicas alive for the insert quorum, an earlier quorum insert still under way.
		chproto.ErrAllConnectionTriesFailed, chproto.ErrTooFewLiveReplicas,
		chproto.ErrUnsatisfiedQuorumForPreviousWrite, chproto.ErrReplicaIsNotInQuorum, chproto.ErrAllReplicasAreStale,
	)
	rowCodes = codeSet(
		chproto.ErrCannotParseText, chproto.ErrCannotParseQuotedString, chproto.ErrCannotParseInputAssertionFailed,
		chproto.ErrBadArguments, chproto.ErrCannotParseDate, chproto.ErrCannotParseDatetime,
		chproto.ErrIllegalTypeOfArgument, chproto.ErrIllegalColumn, chproto.ErrArgumentOutOfBound,
		chproto.ErrCannotConvertType, chproto.ErrCannotParseNumber, chproto.ErrIncorrectData,
		chproto.ErrTooLargeArraySize, chproto.ErrTooLargeStringSize, chproto.ErrValueIsOutOfRangeOfDataType,
		chproto.ErrFunctionThrowIfValueIsNonZero, chproto.ErrViolatedConstraint,
	)
	schemaCodes = codeSet(
		chproto.ErrThereIsNoColumn, chproto.ErrNotFoundColumnInBlock, chproto.ErrNoSuchColumnInTable,
		chproto.ErrNumberOfColumnsDoesntMatch, chproto.ErrUnknownIdentifier, chproto.ErrTypeMismatch,
		chproto.ErrUnknownTable, chproto.ErrUnknownDatabase,
	)
)

func codeSet(codes ...chproto.Error) map[int32]bool {
	m := make(map[int32]bool, len(codes))
	for _, c := range codes {
		m[int32(c)] = true
	}
	return m
}

// tooManyPartitions starts the message of error 252 when one INSERT block spans more partitions
// than max_partitions_per_insert_block allows (current releases; 18.16 has no such limit). The same
// code also means "too many parts" (merges are behind), which is transient.
const tooManyPartitions = "Too many partitions for single INSERT block"

// Classify returns the class of an error of Write, WriteIsolated or of any clickhouse-go call that
// inserts: the class of the server's exception (*clickhouse.Exception, by its code) when there is
// one, RowError for a value the client refused to put into its column, SchemaFault for a column
// whose type does not take the Go type at all, and Transient for everything else (network, context,
// pool). Classify(nil) is Transient and means nothing; callers ask only about errors.
func Classify(err error) Class {
	if ex, ok := errors.AsType[*clickhouse.Exception](err); ok {
		switch {
		case ex.Code == int32(chproto.ErrTooManyParts) && strings.Contains(ex.Message, tooManyPartitions):
			return RowError
		case transientCodes[ex.Code]:
			return Transient
		case rowCodes[ex.Code]:
			return RowError
		case schemaCodes[ex.Code]:
			return SchemaFault
		}
		return SchemaFault
	}
	if _, ok := errors.AsType[*column.ColumnConverterError](err); ok {
		return SchemaFault
	}
	if _, ok := errors.AsType[*column.UnsupportedColumnTypeError](err); ok {
		return SchemaFault
	}
	if _, ok := errors.AsType[*column.Error](err); ok {
		return RowError
	}
	if _, ok := errors.AsType[*proto.BlockError](err); ok {
		return RowError
	}
	return Transient
}
