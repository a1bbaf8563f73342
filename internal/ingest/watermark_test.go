package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/pkg/events"
)

func TestTooLateRule(t *testing.T) {
	wm := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	day := int64(24 * 3600)
	all := natsjs.Watermark{Partition: "all", Watermark: wm, AllowedLatenessSeconds: 7 * day}                            // horizon Apr 24
	east := natsjs.Watermark{Partition: "east", Regions: []string{"330000"}, Watermark: wm, AllowedLatenessSeconds: day} // horizon Apr 30
	west := natsjs.Watermark{Partition: "west", Regions: []string{"520000"}, Watermark: wm.AddDate(0, 0, -10)}           // horizon Apr 21
	tests := []struct {
		name   string
		marks  []natsjs.Watermark // nil: none known
		typ    events.Type
		region string
		at     time.Time
		late   string // the partition named in the error; "" when not too late
	}{
		{"no watermark known", nil, events.FeedbackRated, "330000", wm.AddDate(-1, 0, 0), ""},
		{"before the horizon", []natsjs.Watermark{all}, events.FeedbackRated, "330000", wm.AddDate(0, 0, -8), "all"},
		{"application before the horizon", []natsjs.Watermark{all}, events.ApplicationCompleted, "110000", wm.AddDate(0, 0, -8), "all"},
		{"at the horizon", []natsjs.Watermark{all}, events.FeedbackRated, "330000", wm.AddDate(0, 0, -7), ""},
		{"after the horizon", []natsjs.Watermark{all}, events.FeedbackRated, "330000", wm.AddDate(0, 0, -6), ""},
		{"portal change", []natsjs.Watermark{all}, events.ServicePublished, "330000", wm.AddDate(-1, 0, 0), ""},
		{"region of the partition", []natsjs.Watermark{east, west}, events.FeedbackRated, "330000", wm.AddDate(0, 0, -2), "east"},
		{"region of another partition", []natsjs.Watermark{east, west}, events.FeedbackRated, "520000", wm.AddDate(0, 0, -2), ""},
		{"region of no partition", []natsjs.Watermark{east, west}, events.FeedbackRated, "110000", wm.AddDate(-1, 0, 0), ""},
		{"two partitions hold it: the earliest horizon", []natsjs.Watermark{all, east}, events.FeedbackRated, "330000", wm.AddDate(0, 0, -2), ""},
		{"two partitions hold it: too late for both", []natsjs.Watermark{all, east}, events.FeedbackRated, "330000", wm.AddDate(0, 0, -8), "all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{}
			if tt.marks != nil {
				ms := marks{}
				for _, w := range tt.marks {
					m := &mark{Watermark: w}
					if len(w.Regions) > 0 {
						m.regions = map[string]bool{}
						for _, r := range w.Regions {
							m.regions[r] = true
						}
					}
					ms[natsjs.WatermarkKey(w.Partition)] = m
				}
				s.marks.Store(&ms)
			}
			err := s.tooLate(&events.Event{Type: tt.typ, Region: tt.region, Time: tt.at})
			switch {
			case tt.late == "" && err != nil:
				t.Errorf("too late: %v", err)
			case tt.late != "" && err == nil:
				t.Error("not too late")
			case tt.late != "":
				ee, ok := err.(*events.Error)
				if !ok || ee.Reason != ReasonTooLate || ee.Field != "time" {
					t.Fatalf("error %#v", err)
				}
				if want := "partition " + tt.late + " "; !strings.Contains(ee.Rule, want) {
					t.Errorf("rule %q does not name %q", ee.Rule, want)
				}
			}
		})
	}
	s := &Server{cfg: Config{AcceptLate: true}}
	ms := marks{"watermark.all": &mark{Watermark: all}}
	s.marks.Store(&ms)
	if err := s.tooLate(&events.Event{Type: events.FeedbackRated, Region: "330000", Time: wm.AddDate(-1, 0, 0)}); err != nil {
		t.Errorf("with AcceptLate: %v", err)
	}
}
