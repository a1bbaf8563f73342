package aggregate

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
)

// ackPositionReference reads an acknowledgement subject the plain way, as nats.go documents its
// forms: split at the dots; 9 tokens are the v1 form, at least 11 the v2 form.
func ackPositionReference(reply string) (position, bool) {
	tokens := strings.Split(reply, ".")
	if len(tokens) < 2 || tokens[0] != "$JS" || tokens[1] != "ACK" {
		return position{}, false
	}
	num := func(s string) uint64 {
		if s == "" || strings.Trim(s, "0123456789") != "" {
			return 0
		}
		var n uint64
		for _, c := range s {
			n = n*10 + uint64(c-'0')
		}
		return n
	}
	var base int
	switch {
	case len(tokens) == 9:
		base = 2 // $JS.ACK.<stream>...
	case len(tokens) >= 11:
		base = 4 // $JS.ACK.<domain>.<hash>.<stream>...
	default:
		return position{}, false
	}
	return position{
		seq:     num(tokens[base+3]),
		stored:  time.Unix(0, int64(num(tokens[base+5]))),
		pending: num(tokens[base+6]),
	}, true
}

func TestParseAckPosition(t *testing.T) {
	tests := []struct {
		reply string
		want  position
		ok    bool
	}{
		{reply: "$JS.ACK.EVENTS.c1.1.42.7.1700000000123456789.9", want: position{seq: 42, pending: 9, stored: time.Unix(0, 1700000000123456789)}, ok: true},
		{reply: "$JS.ACK._.ABCHASH.EVENTS.c1.1.42.7.1700000000123456789.9.rnd", want: position{seq: 42, pending: 9, stored: time.Unix(0, 1700000000123456789)}, ok: true},
		{reply: "$JS.ACK.hub.ABCHASH.EVENTS.c1.1.42.7.1700000000123456789.0", want: position{seq: 42, stored: time.Unix(0, 1700000000123456789)}, ok: true},
		{reply: "$JS.ACK._.H.S.C.1.5.5.10.3.tok.more", want: position{seq: 5, pending: 3, stored: time.Unix(0, 10)}, ok: true},
		{reply: "$JS.ACK.EVENTS.c1.1.4x2.7.17.9", want: position{pending: 9, stored: time.Unix(0, 17)}, ok: true},
		{reply: "$JS.ACK.EVENTS.c1.1..7..", want: position{stored: time.Unix(0, 0)}, ok: true},
		{reply: "$JS.ACK.EVENTS.c1.1.42.7.17.9.x", ok: false}, // 10 tokens
		{reply: "$JS.ACK.EVENTS.c1.1.42.7.17", ok: false},     // 8 tokens
		{reply: "$JS.NAK.EVENTS.c1.1.42.7.17.9", ok: false},   // not an acknowledgement
		{reply: "_INBOX.abc", ok: false},
		{reply: "", ok: false},
		{reply: "$JS.ACK.", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.reply, func(t *testing.T) {
			got, ok := parseAckPosition(tt.reply)
			if ok != tt.ok || got != tt.want {
				t.Errorf("parseAckPosition(%q) = %+v, %v; want %+v, %v", tt.reply, got, ok, tt.want, tt.ok)
			}
			ref, refOK := ackPositionReference(tt.reply)
			if refOK != ok || ref != got {
				t.Errorf("reference(%q) = %+v, %v", tt.reply, ref, refOK)
			}
		})
	}
}

// FuzzParseAckPosition checks parseAckPosition against the plain reading of the subject.
func FuzzParseAckPosition(f *testing.F) {
	for _, s := range []string{
		"$JS.ACK.EVENTS.c1.1.42.7.1700000000123456789.9",
		"$JS.ACK._.ABCHASH.EVENTS.c1.1.42.7.1700000000123456789.9.rnd",
		"$JS.ACK._.H.S.C.1.5.5.10.3.tok.more",
		"$JS.ACK.EVENTS.c1.1.42.7.17.9.x",
		"$JS.ACK.a.b.c.d.e.f.99999999999999999999999.g",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		got, ok := parseAckPosition(reply)
		want, wantOK := ackPositionReference(reply)
		if ok != wantOK || got != want {
			t.Fatalf("parseAckPosition(%q) = %+v, %v; reference %+v, %v", reply, got, ok, want, wantOK)
		}
	})
}

// TestMessagePositionMatchesMetadata reads messages of a real JetStream server through an ordered
// consumer, as the reader does, and checks each one's position against jetstream's Metadata.
func TestMessagePositionMatchesMetadata(t *testing.T) {
	url, _ := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		if _, err := js.Publish(ctx, "govpulse.events.330000.feedback.rated", []byte("{}"), jetstream.WithMsgID(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := js.OrderedConsumer(ctx, natsjs.DefaultEventsStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := cons.Messages()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	for i := range n {
		msg, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := parseAckPosition(msg.Reply()); !ok {
			t.Fatalf("message %d: reply %q not read", i, msg.Reply())
		}
		got, err := messagePosition(msg)
		if err != nil {
			t.Fatal(err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		want := position{seq: meta.Sequence.Stream, pending: meta.NumPending, stored: meta.Timestamp}
		if got != want || got.seq != uint64(i+1) {
			t.Fatalf("message %d: position %+v, metadata %+v", i, got, want)
		}
	}
}
