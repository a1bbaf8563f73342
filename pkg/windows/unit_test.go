package windows_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/windows"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  windows.Config
		ok   bool
	}{
		{"tumbling", windows.Config{Size: time.Hour}, true},
		{"tumbling hop = size", windows.Config{Size: time.Hour, Hop: time.Hour}, true},
		{"sliding", windows.Config{Size: 30 * 24 * time.Hour, Hop: 24 * time.Hour, Offset: 8 * time.Hour, AllowedLateness: 7 * 24 * time.Hour}, true},
		{"negative offset", windows.Config{Size: time.Hour, Offset: -time.Minute}, true},
		{"zero", windows.Config{}, false},
		{"negative size", windows.Config{Size: -time.Hour}, false},
		{"negative hop", windows.Config{Size: time.Hour, Hop: -time.Minute}, false},
		{"hop longer than size", windows.Config{Size: time.Hour, Hop: 2 * time.Hour}, false},
		{"not a multiple", windows.Config{Size: time.Hour, Hop: 7 * time.Minute}, false},
		{"negative lateness", windows.Config{Size: time.Hour, AllowedLateness: -1}, false},
		{"too many panes", windows.Config{Size: time.Hour, Hop: time.Millisecond}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, windows.ErrInvalidConfig) {
				t.Fatalf("error %v does not match ErrInvalidConfig", err)
			}
			if _, err := windows.New[string](tt.cfg, windows.Aggregator[int, int64, int64](windows.Count[int]{})); (err == nil) != tt.ok {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

func TestAssigners(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	day := 24 * time.Hour
	tests := []struct {
		name     string
		cfg      windows.Config
		t        time.Time
		pane     windows.Window
		first    time.Time // start of the first window containing t
		nwindows int
	}{
		{"hour", windows.Config{Size: time.Hour}, time.Date(2024, 1, 1, 10, 30, 0, 0, time.UTC),
			windows.Window{Start: time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC), End: time.Date(2024, 1, 1, 11, 0, 0, 0, time.UTC)},
			time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC), 1},
		{"hour boundary", windows.Config{Size: time.Hour}, time.Date(2024, 1, 1, 11, 0, 0, 0, time.UTC),
			windows.Window{Start: time.Date(2024, 1, 1, 11, 0, 0, 0, time.UTC), End: time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)},
			time.Date(2024, 1, 1, 11, 0, 0, 0, time.UTC), 1},
		{"cst day before midnight utc", windows.Config{Size: 30 * day, Hop: day, Offset: 8 * time.Hour}, time.Date(2024, 3, 9, 23, 59, 0, 0, cst),
			windows.Window{Start: time.Date(2024, 3, 9, 0, 0, 0, 0, cst), End: time.Date(2024, 3, 10, 0, 0, 0, 0, cst)},
			time.Date(2024, 2, 9, 0, 0, 0, 0, cst), 30},
		{"cst midnight", windows.Config{Size: 30 * day, Hop: day, Offset: 8 * time.Hour}, time.Date(2024, 3, 10, 0, 0, 0, 0, cst),
			windows.Window{Start: time.Date(2024, 3, 10, 0, 0, 0, 0, cst), End: time.Date(2024, 3, 11, 0, 0, 0, 0, cst)},
			time.Date(2024, 2, 10, 0, 0, 0, 0, cst), 30},
		{"offset equal to hop", windows.Config{Size: day, Offset: day + 8*time.Hour}, time.Date(2024, 3, 10, 0, 0, 0, 0, cst),
			windows.Window{Start: time.Date(2024, 3, 10, 0, 0, 0, 0, cst), End: time.Date(2024, 3, 11, 0, 0, 0, 0, cst)},
			time.Date(2024, 3, 10, 0, 0, 0, 0, cst), 1},
		{"before the epoch", windows.Config{Size: time.Hour, Hop: 20 * time.Minute}, time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC),
			windows.Window{Start: time.Date(1969, 12, 31, 23, 40, 0, 0, time.UTC), End: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)},
			time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := tt.cfg.PaneOf(tt.t); !p.Start.Equal(tt.pane.Start) || !p.End.Equal(tt.pane.End) {
				t.Errorf("PaneOf = %v, want %v", p, tt.pane)
			}
			ws := tt.cfg.WindowsOf(tt.t, nil)
			if len(ws) != tt.nwindows {
				t.Fatalf("%d windows, want %d", len(ws), tt.nwindows)
			}
			if !ws[0].Start.Equal(tt.first) {
				t.Errorf("first window %v, want start %v", ws[0], tt.first)
			}
			for i, w := range ws {
				if !w.Contains(tt.t) || w.End.Sub(w.Start) != tt.cfg.Size {
					t.Errorf("window %d %v does not contain %v", i, w, tt.t)
				}
				if i > 0 && w.Start.Sub(ws[i-1].Start) != tt.cfg.PaneOf(tt.t).End.Sub(tt.cfg.PaneOf(tt.t).Start) {
					t.Errorf("windows %d and %d are not a hop apart", i-1, i)
				}
			}
		})
	}
}

func TestWatermark(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	type step struct {
		observe, advance time.Duration // offsets from t0; 0 means no call
		want             time.Duration
	}
	tests := []struct {
		name  string
		bound time.Duration
		steps []step
	}{
		{"bounded", 10 * time.Minute, []step{
			{observe: time.Hour, want: 50 * time.Minute},
			{observe: 30 * time.Minute, want: 50 * time.Minute}, // older: no change
			{observe: 2 * time.Hour, want: 110 * time.Minute},
		}},
		{"explicit advance", 10 * time.Minute, []step{
			{observe: time.Hour, want: 50 * time.Minute},
			{advance: 3 * time.Hour, want: 3 * time.Hour},
			{advance: 2 * time.Hour, want: 3 * time.Hour}, // never backwards
			{observe: 4 * time.Hour, want: 230 * time.Minute},
		}},
		{"advance only", time.Minute, []step{{advance: time.Hour, want: time.Hour}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := windows.NewWatermark(tt.bound)
			if _, ok := w.Current(); ok {
				t.Fatal("watermark before any event")
			}
			for i, s := range tt.steps {
				if s.observe != 0 {
					w.Observe(t0.Add(s.observe))
				}
				if s.advance != 0 {
					w.Advance(t0.Add(s.advance))
				}
				got, ok := w.Current()
				if !ok || !got.Equal(t0.Add(s.want)) {
					t.Fatalf("step %d: watermark %v %v, want %v", i, got, ok, t0.Add(s.want))
				}
				w2, rest, err := windows.ReadWatermark(w.AppendSnapshot(nil))
				if err != nil || len(rest) != 0 || w2 != w {
					t.Fatalf("step %d: snapshot round trip: %v", i, err)
				}
			}
		})
	}
}

func TestDedup(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	d := windows.NewDedup()
	d.Add("a", t0)
	d.Add("b", t0.Add(time.Hour))
	d.Add("a", t0.Add(-time.Hour)) // keeps the later time
	tests := []struct {
		id      string
		horizon time.Duration
		want    bool
	}{
		{"a", 0, true},
		{"a", time.Nanosecond, false}, // older than the horizon: absent, purged or not
		{"b", time.Hour, true},
		{"c", -time.Hour, false},
	}
	check := func(stage string) {
		for _, tt := range tests {
			if got := d.Contains(tt.id, t0.Add(tt.horizon)); got != tt.want {
				t.Errorf("%s: Contains(%s, t0%+v) = %v, want %v", stage, tt.id, tt.horizon, got, tt.want)
			}
		}
	}
	check("before purge")
	d.Purge(t0.Add(-time.Minute))
	check("after an early purge")
	snap := d.AppendSnapshot(nil)
	d2, rest, err := windows.ReadDedup(snap)
	if err != nil || len(rest) != 0 {
		t.Fatal(err)
	}
	if string(d2.AppendSnapshot(nil)) != string(snap) {
		t.Fatal("snapshot round trip differs")
	}
	d = d2
	check("restored")
	d.Purge(t0.Add(time.Nanosecond))
	if d.Len() != 1 || !d.Contains("b", t0) || d.Contains("a", t0) {
		t.Fatalf("after purge: %d ids", d.Len())
	}
	d.Purge(t0.Add(2 * time.Hour))
	if d.Len() != 0 {
		t.Fatalf("after purging everything: %d ids", d.Len())
	}
}

func TestDedupSnapshotOrderIndependent(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	key := [16]byte{1, 2, 3}
	a, b := windows.NewDedupKeyed(key), windows.NewDedupKeyed(key)
	ids := []string{"x", "y", "z", "w"}
	for i, id := range ids {
		a.Add(id, t0.Add(time.Duration(i)*time.Second))
	}
	for i := len(ids) - 1; i >= 0; i-- {
		b.Add(ids[i], t0.Add(time.Duration(i)*time.Second))
	}
	if string(a.AppendSnapshot(nil)) != string(b.AppendSnapshot(nil)) {
		t.Fatal("the same ids encode differently")
	}
}

func TestLateError(t *testing.T) {
	op, _ := windows.New[string](windows.Config{Size: time.Hour, AllowedLateness: time.Hour}, windows.Aggregator[int, int64, int64](windows.Count[int]{}))
	wm := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	err := op.Add("k", wm.Add(-61*time.Minute), 1, wm)
	var le *windows.LateError
	if !errors.Is(err, windows.ErrTooLate) || !errors.As(err, &le) {
		t.Fatalf("error %v", err)
	}
	if !le.Horizon.Equal(wm.Add(-time.Hour)) || !le.Watermark.Equal(wm) || !strings.Contains(le.Error(), "lateness horizon") {
		t.Fatalf("late error %+v: %v", le, le)
	}
	if op.Len() != 0 {
		t.Fatal("a late event changed the state")
	}
	// The operator's own watermark counts when the caller passes an older one.
	op.Advance(wm)
	if err := op.Add("k", wm.Add(-61*time.Minute), 1, time.Time{}); !errors.Is(err, windows.ErrTooLate) {
		t.Fatalf("with the zero watermark after Advance: %v", err)
	}
}

func TestCodecs(t *testing.T) {
	roundTrip := func(name string, enc []byte, read func([]byte) (any, []byte, error), want any) {
		t.Helper()
		got, rest, err := read(append(enc, 0xAA))
		if err != nil || got != want || len(rest) != 1 || rest[0] != 0xAA {
			t.Errorf("%s: got %v rest %v err %v, want %v", name, got, rest, err, want)
		}
		for i := range len(enc) {
			if _, _, err := read(enc[:i]); !errors.Is(err, windows.ErrCorrupt) {
				t.Errorf("%s: truncated to %d bytes: %v", name, i, err)
			}
		}
	}
	wrap := func(v any, rest []byte, err error) (any, []byte, error) { return v, rest, err }
	for _, v := range []int64{0, -1, 1, math.MaxInt64, math.MinInt64} {
		roundTrip("int64", windows.Int64Codec{}.Append(nil, v), func(b []byte) (any, []byte, error) { return wrap(windows.Int64Codec{}.Read(b)) }, v)
	}
	roundTrip("int8", windows.IntCodec[int8]{}.Append(nil, -128), func(b []byte) (any, []byte, error) { return wrap(windows.IntCodec[int8]{}.Read(b)) }, int8(-128))
	if _, _, err := (windows.IntCodec[int8]{}).Read(windows.Int64Codec{}.Append(nil, 300)); !errors.Is(err, windows.ErrCorrupt) {
		t.Errorf("int8 out of range: %v", err)
	}
	roundTrip("float", windows.FloatCodec[float64]{}.Append(nil, -2.5), func(b []byte) (any, []byte, error) { return wrap(windows.FloatCodec[float64]{}.Read(b)) }, -2.5)
	for _, s := range []string{"", "110000", "区划"} {
		roundTrip("string", windows.StringCodec{}.Append(nil, s), func(b []byte) (any, []byte, error) { return wrap(windows.StringCodec{}.Read(b)) }, s)
	}
	mc := windows.MeanCodec[int64]{Sum: windows.Int64Codec{}}
	roundTrip("mean", mc.Append(nil, windows.MeanAcc[int64]{Sum: -7, Count: 3}), func(b []byte) (any, []byte, error) { return wrap(mc.Read(b)) }, windows.MeanAcc[int64]{Sum: -7, Count: 3})
	ec := windows.ExtremumCodec[string]{Value: windows.StringCodec{}}
	for _, e := range []windows.Extremum[string]{{}, {Value: "a", Valid: true}, {Value: "", Valid: true}} {
		roundTrip("extremum", ec.Append(nil, e), func(b []byte) (any, []byte, error) { return wrap(ec.Read(b)) }, e)
	}
	for _, c := range []windows.Counts{{}, {1, 2, 3, 4, 5}, {15: 9}} {
		roundTrip("counts", windows.CountsCodec{}.Append(nil, c), func(b []byte) (any, []byte, error) { return wrap(windows.CountsCodec{}.Read(b)) }, c)
	}
	roundTrip("fraction", windows.FractionCodec{}.Append(nil, windows.Fraction{Num: 2, Den: 3}), func(b []byte) (any, []byte, error) { return wrap(windows.FractionCodec{}.Read(b)) }, windows.Fraction{Num: 2, Den: 3})
}

func TestRestoreConfigMismatch(t *testing.T) {
	cfg := windows.Config{Size: time.Hour, AllowedLateness: time.Hour}
	agg := windows.Aggregator[int, int64, int64](windows.Count[int]{})
	op, _ := windows.New[string](cfg, agg)
	snap := op.AppendSnapshot(nil, windows.StringCodec{}, windows.Int64Codec{})
	cfg.AllowedLateness = 2 * time.Hour
	if _, _, err := windows.Restore[string](cfg, agg, windows.StringCodec{}, windows.Int64Codec{}, snap); !errors.Is(err, windows.ErrConfigMismatch) {
		t.Fatalf("restore with another config: %v", err)
	}
	bad := append([]byte(nil), snap...)
	bad[3] = 2 // version
	if _, _, err := windows.Restore[string](windows.Config{Size: time.Hour, AllowedLateness: time.Hour}, agg, windows.StringCodec{}, windows.Int64Codec{}, bad); !errors.Is(err, windows.ErrCorrupt) || !strings.Contains(err.Error(), "version") {
		t.Fatalf("restore of another version: %v", err)
	}
}

func TestQueryAllocatesNothing(t *testing.T) {
	op := fullRolling(t)
	wm, _ := op.Watermark()
	day := rolling.PaneOf(wm)
	start, end := day.End.Add(-rolling.Size), day.End
	if n := testing.AllocsPerRun(100, func() { op.Query("110000", start, end) }); n != 0 {
		t.Fatalf("Query allocates %v times", n)
	}
	// One event per key per hour, the last day incomplete.
	if c := op.Query("110000", start, end); c.Total() < 29*24 || c.Total() > 30*24 {
		t.Fatalf("rolling window holds %d events, want about %d", c.Total(), 30*24)
	}
}
