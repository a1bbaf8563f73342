package events

// Key is an event's identity: its region and its id together (scoring.md rule 7). Two events
// with the same id in different regions are different events; the same id twice in one region is
// one event sent twice.
type Key struct {
	Region string
	ID     string
}

// String returns "<region>/<id>", the form used as the stream's Nats-Msg-Id. A region code never
// contains '/', so the form is unambiguous.
func (k Key) String() string { return k.Region + "/" + k.ID }

// Key returns the identity of e.
func (e *Event) Key() Key { return Key{Region: e.Region, ID: e.ID} }
