package scoring

import (
	"fmt"
	"math/bits"
	"strconv"

	"github.com/govpulse/govpulse/pkg/events"
)

// Describe says in words what the portal change ev does to the state if it
// becomes the newest writer of its key, such as "city/X12 published, 5 of
// 8 modes, maturity 3" or "guide of province/A07 re-audited: 6 → 8 correct
// elements". It must be called before Apply (it compares with the state in
// force) and changes nothing; it returns "" for an event that is not a
// portal change of the region.
func (r *Region) Describe(ev *events.Event) string {
	if ev.Region != r.code {
		return ""
	}
	var it *item
	if level, code, ok := ItemOf(ev); ok {
		it = r.lookup(level, code, false)
	}
	switch d := ev.Data.(type) {
	case *events.CatalogItemData:
		s := string(d.Level) + "/" + d.ItemCode + " catalogued, "
		if !d.Required {
			s += "not "
		}
		s += "required"
		if it != nil && it.catStamp.ID != "" && it.required != d.Required {
			s += " (changed)"
		}
		return s
	case *events.ServicePublishedData:
		s := fmt.Sprintf("%s/%s published, %d of %d modes, maturity %d", d.Level, d.ItemCode,
			bits.OnesCount8(modeBits(d.Modes)), ModeCount, d.Maturity)
		if it != nil && it.svcStamp.ID != "" && it.published {
			s += fmt.Sprintf(" (was %d modes, maturity %d)", bits.OnesCount8(it.modes), it.maturity)
		}
		return s
	case *events.ServiceWithdrawnData:
		return string(d.Level) + "/" + d.ItemCode + " withdrawn"
	case *events.GuideAuditedData:
		s := "guide of " + string(d.Level) + "/" + d.ItemCode
		if it != nil && it.audStamp.ID != "" {
			s += fmt.Sprintf(" re-audited: %d → %d correct elements", it.correct, d.Correct())
		} else {
			s += fmt.Sprintf(" audited: %d correct elements", d.Correct())
		}
		if !d.Consistent {
			s += ", inconsistent"
		}
		return s
	case *events.PlatformUpdatedData:
		s := "platform: " + strconv.Itoa(bits.TrailingZeros8(^levelBits(d.Levels))) + " levels joined"
		if d.Integrated {
			s += ", integrated"
		}
		return s + ", " + strconv.Itoa(d.Portals) + " portals"
	}
	return ""
}

// modeBits returns the checklist bits of the offered modes.
func modeBits(modes []events.Mode) uint8 {
	var b uint8
	for _, m := range modes {
		if i := m.Index(); i >= 0 {
			b |= 1 << i
		}
	}
	return b
}

// levelBits returns the bits of the joined levels.
func levelBits(levels []events.Level) uint8 {
	var b uint8
	for _, l := range levels {
		if i := l.Index(); i >= 0 {
			b |= 1 << i
		}
	}
	return b
}
