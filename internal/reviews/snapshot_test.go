package reviews

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestSnapshot restores the tracker from a snapshot at many points of the lifecycle scenario and
// checks that the run ends as the uninterrupted one, and that a restored tracker snapshots to the
// same bytes.
func TestSnapshot(t *testing.T) {
	cfg := Config{AllowedLateness: time.Hour, AppealHorizon: 7 * 24 * time.Hour}
	stream := scenario(nil)
	want := run(t, stream, at("2024-12-31 00:00"))
	wantAlerts := want.TakeAlerts()
	for cut := 0; cut < len(stream); cut += 23 {
		tr, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var wm time.Time
		var alerts []Alert
		for i, e := range stream {
			if i == cut {
				snap := tr.AppendSnapshot(nil)
				if tr, err = Restore(cfg, snap); err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
				if again := tr.AppendSnapshot(nil); string(again) != string(snap) {
					t.Fatalf("cut %d: the restored tracker snapshots to other bytes", cut)
				}
			}
			if e.Time.After(wm) {
				wm = e.Time
			}
			tr.Apply(e, wm)
			if i%50 == 0 {
				alerts = append(alerts, tr.TakeAlerts()...)
			}
		}
		alerts = append(alerts, tr.TakeAlerts()...)
		if !reflect.DeepEqual(alerts, wantAlerts) {
			t.Errorf("cut %d: alerts %+v, want %+v", cut, alerts, wantAlerts)
		}
		for day := at("2024-09-01 00:00"); day.Before(at("2024-10-12 00:00")); day = day.Add(24 * time.Hour) {
			if got, w := tr.Day(zj, day), want.Day(zj, day); !reflect.DeepEqual(got, w) {
				t.Fatalf("cut %d, %v: %+v, want %+v", cut, day, got, w)
			}
		}
		if got, w := tr.Rolling(zj), want.Rolling(zj); !reflect.DeepEqual(got, w) {
			t.Fatalf("cut %d: rolling %+v, want %+v", cut, got, w)
		}
	}
	for _, bad := range [][]byte{nil, []byte("gpr"), append(append([]byte{}, snapshotMagic...), 0xff)} {
		if _, err := Restore(cfg, bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Restore(%q): %v", bad, err)
		}
	}
	snap := want.AppendSnapshot(nil)
	for n := range len(snap) {
		if _, err := Restore(cfg, snap[:n]); err == nil {
			t.Fatalf("a snapshot cut to %d bytes restores", n)
		}
	}
}

// FuzzRestore checks that Restore never panics and that a tracker it restores snapshots to bytes
// that restore again to the same bytes.
func FuzzRestore(f *testing.F) {
	tr, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	var wm time.Time
	for i, e := range scenario(nil) {
		if i > 40 && i < 260 {
			continue
		}
		if e.Time.After(wm) {
			wm = e.Time
		}
		tr.Apply(e, wm)
	}
	f.Add(tr.AppendSnapshot(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := Restore(Config{}, b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			return
		}
		snap := tr.AppendSnapshot(nil)
		back, err := Restore(Config{}, snap)
		if err != nil {
			t.Fatalf("the snapshot of a restored tracker does not restore: %v", err)
		}
		if again := back.AppendSnapshot(nil); string(again) != string(snap) {
			t.Fatal("snapshots differ")
		}
	})
}
