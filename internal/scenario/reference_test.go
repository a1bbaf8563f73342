package scenario

import (
	"cmp"
	"slices"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// This file is a small, independent implementation of method 2017 over a
// whole scenario, used to check the generator without the engine: portal
// state is last-writer-wins by (time, id), user-experience events count when
// they fall in the rolling window of the final watermark.

// stamp orders portal changes: the larger time, then the larger id, wins.
type stamp struct {
	t  time.Time
	id string
}

func (s stamp) after(o stamp) bool {
	if c := s.t.Compare(o.t); c != 0 {
		return c > 0
	}
	return s.id > o.id
}

type refKey struct {
	level events.Level
	code  string
}

type refService struct {
	st        stamp
	published bool
	modes     int
	maturity  int
}

type refAudit struct {
	st         stamp
	correct    int
	consistent bool
}

type refCatalog struct {
	st       stamp
	required bool
}

type refPlatform struct {
	st         stamp
	integrated bool
	levels     []events.Level
}

type refUnit struct {
	catalog  map[refKey]refCatalog
	service  map[refKey]refService
	audit    map[refKey]refAudit
	platform refPlatform
	ratings  []int
	apps     []*events.ApplicationCompletedData
}

type refScore struct {
	region                          string
	modes, coverage, guide, online  float64
	composite                       float64
	platformLevels                  int
	integrated                      bool
	published, audited, nApps, nRat int
}

// chinaDay returns the start of t's calendar day in China Standard Time.
func chinaDay(t time.Time) time.Time {
	c := t.In(time.FixedZone("CST", 8*60*60))
	return time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, c.Location())
}

// reference scores every unit at the final watermark of evs.
func reference(evs []events.Event) map[string]refScore {
	units := map[string]*refUnit{}
	var maxT time.Time
	for i := range evs {
		if evs[i].Time.After(maxT) {
			maxT = evs[i].Time
		}
	}
	w := maxT.Add(-10 * time.Minute)
	start := chinaDay(w).AddDate(0, 0, -29)
	end := chinaDay(w).AddDate(0, 0, 1)
	for i := range evs {
		ev := &evs[i]
		u := units[ev.Region]
		if u == nil {
			u = &refUnit{catalog: map[refKey]refCatalog{}, service: map[refKey]refService{}, audit: map[refKey]refAudit{}}
			units[ev.Region] = u
		}
		st := stamp{ev.Time, ev.ID}
		switch d := ev.Data.(type) {
		case *events.CatalogItemData:
			k := refKey{d.Level, d.ItemCode}
			if old, ok := u.catalog[k]; !ok || st.after(old.st) {
				u.catalog[k] = refCatalog{st, d.Required}
			}
		case *events.ServicePublishedData:
			k := refKey{d.Level, d.ItemCode}
			if old, ok := u.service[k]; !ok || st.after(old.st) {
				u.service[k] = refService{st, true, len(d.Modes), d.Maturity}
			}
		case *events.ServiceWithdrawnData:
			k := refKey{d.Level, d.ItemCode}
			if old, ok := u.service[k]; !ok || st.after(old.st) {
				u.service[k] = refService{st: st}
			}
		case *events.GuideAuditedData:
			k := refKey{d.Level, d.ItemCode}
			if old, ok := u.audit[k]; !ok || st.after(old.st) {
				u.audit[k] = refAudit{st, d.Correct(), d.Consistent}
			}
		case *events.PlatformUpdatedData:
			if u.platform.st.t.IsZero() || st.after(u.platform.st) {
				u.platform = refPlatform{st, d.Integrated, d.Levels}
			}
		case *events.FeedbackRatedData:
			if !ev.Time.Before(start) && ev.Time.Before(end) {
				u.ratings = append(u.ratings, d.Rating)
			}
		case *events.ApplicationCompletedData:
			if !ev.Time.Before(start) && ev.Time.Before(end) {
				u.apps = append(u.apps, d)
			}
		}
	}
	out := map[string]refScore{}
	for _, r := range events.Regions() {
		u := units[r.Code]
		if u == nil {
			out[r.Code] = refScore{region: r.Code}
			continue
		}
		out[r.Code] = u.score(r.Code)
	}
	return out
}

func (u *refUnit) score(region string) refScore {
	s := refScore{region: region}
	weights := map[events.Level]float64{events.LevelProvince: 0.4, events.LevelCity: 0.3, events.LevelCounty: 0.2, events.LevelTownship: 0.1}
	req := map[events.Level]int{}
	cov := map[events.Level]int{}
	for k, c := range u.catalog {
		if c.required {
			req[k.level]++
			if u.service[k].published {
				cov[k.level]++
			}
		}
	}
	var modes, maturity, accuracy float64
	for k, sv := range u.service {
		if !sv.published {
			continue
		}
		s.published++
		modes += float64(sv.modes) / 8
		maturity += float64(sv.maturity) / 4
		if a, ok := u.audit[k]; ok {
			s.audited++
			x := float64(a.correct) / 8
			if !a.consistent {
				x *= 0.8
			}
			accuracy += x
		}
	}
	if s.published > 0 {
		s.modes = round6(100 * modes / float64(s.published))
	}
	if s.audited > 0 {
		s.guide = round6(100 * accuracy / float64(s.audited))
	}
	var num, den float64
	for _, l := range events.Levels() {
		if req[l] > 0 {
			num += weights[l] * float64(cov[l]) / float64(req[l])
			den += weights[l]
		}
	}
	if den > 0 {
		s.coverage = round6(100 * num / den)
	}
	var terms, tw float64
	if s.published > 0 {
		terms += 0.5 * maturity / float64(s.published)
		tw += 0.5
	}
	s.nApps, s.nRat = len(u.apps), len(u.ratings)
	if len(u.apps) > 0 {
		done := 0
		for _, a := range u.apps {
			if a.Outcome == events.Completed && a.Online {
				done++
			}
		}
		terms += 0.3 * float64(done) / float64(len(u.apps))
		tw += 0.3
	}
	if len(u.ratings) > 0 {
		sum := 0
		for _, r := range u.ratings {
			sum += r
		}
		terms += 0.2 * (float64(sum)/float64(len(u.ratings)) - 1) / 4
		tw += 0.2
	}
	if tw > 0 {
		s.online = round6(100 * terms / tw)
	}
	s.composite = round6(0.25*s.modes + 0.25*s.coverage + 0.25*s.guide + 0.25*s.online)
	s.integrated = u.platform.integrated
	for _, l := range events.Levels() {
		if !slices.Contains(u.platform.levels, l) {
			break
		}
		s.platformLevels++
	}
	return s
}

// refRanking orders the scores by composite descending, then region code.
func refRanking(scores map[string]refScore) []refScore {
	var list []refScore
	for _, s := range scores {
		list = append(list, s)
	}
	slices.SortFunc(list, func(a, b refScore) int {
		if c := cmp.Compare(b.composite, a.composite); c != 0 {
			return c
		}
		return cmp.Compare(a.region, b.region)
	})
	return list
}
