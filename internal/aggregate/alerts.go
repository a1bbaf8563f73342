package aggregate

import (
	"encoding/json"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
)

// publishAlerts sends each alert transition of a stored batch, in order, to
// <prefix>.alerts.<region>: the JSON of its row, with the Nats-Msg-Id natsjs.AlertMsgID(id, state).
// A transition happens once in the stream; sent again after a restart (the batch replayed from
// the checkpoint), it carries the same id, so that a stream over the subject keeps it once within
// its duplicate window, and the same key and version, so that a subscriber or the alerts table
// keeps it once. Failures are logged and counted, as for the other outputs: the row is stored.
func (s *flusher) publishAlerts(alerts []chstore.AlertRow) {
	nc := s.js.Conn()
	for i := range alerts {
		a := &alerts[i]
		data, err := json.Marshal(a)
		if err != nil {
			s.publishFailed("encode alert", err)
			continue
		}
		msg := nats.NewMsg(s.cfg.Names.AlertSubject(a.Region))
		msg.Data = data
		msg.Header.Set(jetstream.MsgIDHeader, natsjs.AlertMsgID(a.ID, a.State))
		if err := nc.PublishMsg(msg); err != nil {
			s.publishFailed("publish alert", err)
		}
	}
}
