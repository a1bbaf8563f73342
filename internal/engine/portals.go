package engine

import (
	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/internal/snapcodec"
	"github.com/govpulse/govpulse/pkg/events"
)

// The engine's part in the portal state of its units (internal/portals):
// every service.published, service.withdrawn and guide.audited event that
// Apply takes is also applied to its unit's portals.Unit, whose changed
// inconsistencies and measures Drain returns. Method 2017 keeps reading
// scoring.Region, which ignores the portal: its key of an item is the
// newest writer across all portals.

// newPortals returns the portal state of the unit region, bounded by
// Config.PortalLimits.
func (e *Engine) newPortals(region string) *portals.Unit {
	return portals.NewUnit(region, e.cfg.PortalLimits)
}

// portalLimit returns why ev would exceed the bounds of its unit's portal
// state, "" when it would not.
func (e *Engine) portalLimit(idx int, ev *events.Event) string {
	return e.regions[idx].portals.Check(ev)
}

// applyPortals applies ev to its unit's portal state at version seq.
func (e *Engine) applyPortals(seq uint64, idx int, ev *events.Event) {
	e.regions[idx].portals.Apply(seq, ev)
}

// drainPortals adds the changed inconsistencies and measures of every unit
// to out, in the order of the units.
func (e *Engine) drainPortals(out *Output) {
	for i := range e.regions {
		changed, m, ok := e.regions[i].portals.Take()
		out.Inconsistencies = append(out.Inconsistencies, changed...)
		if ok {
			out.PortalMeasures = append(out.PortalMeasures, m)
		}
	}
}

// appendPortals appends the portal state of every unit.
func (e *Engine) appendPortals(dst []byte) []byte {
	for i := range e.regions {
		dst = e.regions[i].portals.AppendSnapshot(dst)
	}
	return dst
}

// readPortals restores the portal state of every unit.
func (e *Engine) readPortals(d *snapcodec.Reader) {
	for i := range e.regions {
		d.With(e.regions[i].portals.RestoreSnapshot)
	}
}
