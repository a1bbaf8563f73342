package chaos_test

import (
	"iter"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/pkg/events"
)

// streamShape describes the events the chaos test feeds.
type streamShape struct {
	Events int           // distinct events of the synthetic stream
	Step   time.Duration // event-time step: Events*Step spans well over the allowed lateness (7 days)
	Seed   int64
	// Delayed is the share of events whose time is moved back by up to MaxDelay: with the default
	// allowed lateness of 7 days, user-experience events among them are corrections of older
	// windows or, beyond the lateness, too late.
	Delayed  float64
	MaxDelay time.Duration
	// ResendEvery is the mean number of events between two resends of earlier events; a resend
	// repeats ResendMin..ResendMax events that were sent ResendDistance events before.
	ResendEvery          int
	ResendMin, ResendMax int
	ResendDistance       int
}

// feedStream returns the events to feed, and counts every event it yields in sent. It is the
// scenario's synthetic stream with the lifecycle of reviews (all eleven types, all 32 regions,
// event time crossing many day boundaries, bursts of bad reviews that raise and end alerts), with
// some event times moved back and some runs of events sent twice.
func feedStream(s streamShape, sent *atomic.Int64, resent *atomic.Int64) iter.Seq[*events.Event] {
	return func(yield func(*events.Event) bool) {
		r := rand.New(rand.NewPCG(uint64(s.Seed), 0xc4a05))
		ring := make([]*events.Event, s.ResendDistance+s.ResendMax) // the last events sent, circular
		n := 0                                                      // events of the stream sent
		emit := func(ev *events.Event) bool {
			sent.Add(1)
			return yield(ev)
		}
		for ev := range scenario.Stream(scenario.StreamOptions{Seed: s.Seed, Events: s.Events, Step: s.Step, Lifecycle: true}) {
			if r.Float64() < s.Delayed {
				ev.Time = ev.Time.Add(-time.Duration(r.Int64N(int64(s.MaxDelay))))
			}
			if !emit(ev) {
				return
			}
			ring[n%len(ring)] = ev
			n++
			if n >= len(ring) && r.IntN(s.ResendEvery) == 0 {
				// Resend a run starting with the oldest event of the ring.
				k := s.ResendMin + r.IntN(s.ResendMax-s.ResendMin+1)
				for j := range k {
					resent.Add(1)
					if !emit(ring[(n+j)%len(ring)]) {
						return
					}
				}
			}
		}
	}
}
