package aggregate

import (
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// position is what the reader needs of a stream message's metadata: its stream sequence, the
// messages of the consumer's subjects after it, and when the stream stored it.
type position struct {
	seq     uint64
	pending uint64
	stored  time.Time
}

// messagePosition returns msg's position. It reads the three fields from the acknowledgement
// subject the server sets as the message's reply (parseAckPosition) instead of building the whole
// jetstream.MsgMetadata, an allocation and the parse of every token, about 3.5% of the reader's
// CPU on a backlog; for a reply of any other form it asks msg.Metadata, which gives the error.
func messagePosition(msg jetstream.Msg) (position, error) {
	if p, ok := parseAckPosition(msg.Reply()); ok {
		return p, nil
	}
	meta, err := msg.Metadata()
	if err != nil {
		return position{}, err
	}
	return position{seq: meta.Sequence.Stream, pending: meta.NumPending, stored: meta.Timestamp}, nil
}

// parseAckPosition reads a JetStream acknowledgement subject as nats.go's jetstream.Msg.Metadata
// does: $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>
// (9 tokens), or, from newer servers, $JS.ACK.<domain>.<account hash> followed by the same 7
// tokens and possibly more (at least 11 tokens). A number token that is empty or not all ASCII
// digits reads as 0, as in nats.go. It returns false for a subject of any other form.
func parseAckPosition(reply string) (position, bool) {
	const prefix = "$JS.ACK."
	rest, ok := strings.CutPrefix(reply, prefix)
	if !ok {
		return position{}, false
	}
	var tokens [9]string // the tokens after the prefix, up to the pending count of a v2 subject
	n := 2               // tokens in all, the prefix's two included
	for i := range tokens {
		tok, after, more := strings.Cut(rest, ".")
		tokens[i], rest, n = tok, after, n+1
		if !more {
			break
		}
		if i == len(tokens)-1 {
			n++ // at least one more token: a v2 subject's last
		}
	}
	var seq, tm, pending string
	switch {
	case n == 9: // v1: stream, consumer, delivered, sseq, cseq, tm, pending
		seq, tm, pending = tokens[3], tokens[5], tokens[6]
	case n >= 11: // v2: domain, hash, stream, consumer, delivered, sseq, cseq, tm, pending, ...
		seq, tm, pending = tokens[5], tokens[7], tokens[8]
	default:
		return position{}, false
	}
	return position{seq: ackNum(seq), pending: ackNum(pending), stored: time.Unix(0, int64(ackNum(tm)))}, true
}

// ackNum is the number of an acknowledgement subject's token: its decimal value when it is all
// ASCII digits, else 0 (nats.go's reading, overflow included).
func ackNum(s string) uint64 {
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}
