package windows_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/govpulse/govpulse/pkg/windows"
)

// A stream processor counting events per region in hourly windows: observe the time, check
// lateness, then duplicates, then add; take the changed windows after each batch.
func Example() {
	cfg := windows.Config{Size: time.Hour, AllowedLateness: 2 * time.Hour}
	op, err := windows.New[string](cfg, windows.Aggregator[string, int64, int64](windows.Count[string]{}))
	if err != nil {
		panic(err)
	}
	wm := windows.NewWatermark(10 * time.Minute)
	seen := windows.NewDedup()

	at := func(hhmm string) time.Time {
		t, _ := time.Parse("2006-01-02T15:04", "2024-06-01T"+hhmm)
		return t
	}
	apply := func(id, region string, t time.Time) {
		wm.Observe(t)
		w, _ := wm.Current()
		if err := op.Check(t, w); err != nil {
			fmt.Println(id, "late:", errors.Is(err, windows.ErrTooLate))
			return
		}
		if seen.Contains(id, op.Horizon(w)) {
			fmt.Println(id, "duplicate")
			return
		}
		if err := op.Add(region, t, id, w); err != nil {
			panic(err)
		}
		seen.Add(id, t)
		op.Advance(w)
		seen.Purge(op.Horizon(w))
	}

	apply("e1", "310000", at("09:05"))
	apply("e2", "310000", at("09:40"))
	apply("e3", "110000", at("10:15"))
	apply("e2", "310000", at("09:40")) // redelivered
	for _, r := range op.TakeChanged(nil) {
		fmt.Println(r.Key, r.Window.Start.Format("15:04"), r.Value)
	}
	apply("e4", "310000", at("13:00"))
	apply("e5", "310000", at("09:30")) // more than 2h behind the watermark 12:50
	// Output:
	// e2 duplicate
	// 110000 10:00 1
	// 310000 09:00 2
	// e5 late: true
}

// The rolling 30-day window of calendar days in UTC+8: 30 panes of one day.
func ExampleConfig_WindowsOf() {
	cfg := windows.Config{Size: 30 * 24 * time.Hour, Hop: 24 * time.Hour, Offset: 8 * time.Hour}
	cst := time.FixedZone("CST", 8*3600)
	t := time.Date(2024, 3, 10, 0, 30, 0, 0, cst) // 2024-03-09 16:30 UTC
	ws := cfg.WindowsOf(t, nil)
	fmt.Println(len(ws), "windows")
	fmt.Println("first", ws[0].Start.In(cst).Format(time.DateTime), ws[0].End.In(cst).Format(time.DateTime))
	fmt.Println("last ", ws[29].Start.In(cst).Format(time.DateTime), ws[29].End.In(cst).Format(time.DateTime))
	fmt.Println("day  ", cfg.PaneOf(t).Start.In(cst).Format(time.DateTime))
	// Output:
	// 30 windows
	// first 2024-02-10 00:00:00 2024-03-11 00:00:00
	// last  2024-03-10 00:00:00 2024-04-09 00:00:00
	// day   2024-03-10 00:00:00
}

// A late event within the allowed lateness corrects its windows, which are reported as changed
// again; once the watermark passes End + AllowedLateness the window is final.
func ExampleOperator_TakeChanged() {
	cfg := windows.Config{Size: 24 * time.Hour, AllowedLateness: 48 * time.Hour}
	op, _ := windows.New[string](cfg, windows.Aggregator[int64, windows.Counts, windows.Counts](windows.Histogram{Lo: 1, Width: 1, Buckets: 5}))
	day := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	show := func(rs []windows.Result[string, windows.Counts]) {
		for _, r := range rs {
			fmt.Println(r.Key, r.Window.Start.Format(time.DateOnly), r.Value[:5])
		}
	}

	_ = op.Add("r", day.Add(10*time.Hour), 5, day.Add(10*time.Hour))
	show(op.TakeChanged(nil))
	wm := day.Add(30 * time.Hour)
	_ = op.Add("r", day.Add(11*time.Hour), 1, wm) // late, within 48h
	show(op.TakeChanged(nil))
	op.Advance(day.Add(72 * time.Hour))
	show(op.TakeFinal(nil))
	// Output:
	// r 2024-06-01 [0 0 0 0 1]
	// r 2024-06-01 [1 0 0 0 1]
	// r 2024-06-01 [1 0 0 0 1]
}

// A snapshot restores an operator that continues exactly as the original would.
func ExampleRestore() {
	cfg := windows.Config{Size: 3 * time.Hour, Hop: time.Hour, AllowedLateness: time.Hour}
	agg := windows.Aggregator[int64, int64, int64](windows.Sum[int64]{})
	op, _ := windows.New[string](cfg, agg)
	t0 := time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)
	_ = op.Add("k", t0, 4, t0)
	_ = op.Add("k", t0.Add(time.Hour), 3, t0.Add(time.Hour))

	snap := op.AppendSnapshot(nil, windows.StringCodec{}, windows.Int64Codec{})
	restored, rest, err := windows.Restore[string](cfg, agg, windows.StringCodec{}, windows.Int64Codec{}, snap)
	if err != nil || len(rest) != 0 {
		panic(err)
	}
	fmt.Println(restored.Query("k", t0.Add(-time.Hour), t0.Add(2*time.Hour)))
	again := restored.AppendSnapshot(nil, windows.StringCodec{}, windows.Int64Codec{})
	fmt.Println("same bytes:", string(again) == string(snap))
	// Output:
	// 7
	// same bytes: true
}

// Outcome counts of applications: a user-defined accumulator with its own codec.
type outcomes struct{ Completed, Abandoned, Online int64 }

type application struct {
	completed, online bool
}

type outcomeAgg struct{}

func (outcomeAgg) Add(a outcomes, in application) outcomes {
	if in.completed {
		a.Completed++
		if in.online {
			a.Online++
		}
	} else {
		a.Abandoned++
	}
	return a
}

func (outcomeAgg) Merge(a, b outcomes) outcomes {
	return outcomes{a.Completed + b.Completed, a.Abandoned + b.Abandoned, a.Online + b.Online}
}

func (outcomeAgg) Result(a outcomes) windows.Fraction {
	return windows.Fraction{Num: a.Online, Den: a.Completed + a.Abandoned}
}

type outcomeCodec struct{}

func (outcomeCodec) Append(dst []byte, v outcomes) []byte {
	for _, x := range []int64{v.Completed, v.Abandoned, v.Online} {
		dst = windows.Int64Codec{}.Append(dst, x)
	}
	return dst
}

func (outcomeCodec) Read(src []byte) (outcomes, []byte, error) {
	var xs [3]int64
	rest := src
	for i := range xs {
		var err error
		if xs[i], rest, err = (windows.Int64Codec{}).Read(rest); err != nil {
			return outcomes{}, src, err
		}
	}
	return outcomes{xs[0], xs[1], xs[2]}, rest, nil
}

func Example_userDefined() {
	cfg := windows.Config{Size: 30 * 24 * time.Hour, Hop: 24 * time.Hour, Offset: 8 * time.Hour, AllowedLateness: 7 * 24 * time.Hour}
	op, _ := windows.New[string](cfg, windows.Aggregator[application, outcomes, windows.Fraction](outcomeAgg{}))
	t := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	_ = op.Add("520000", t, application{completed: true, online: true}, t)
	_ = op.Add("520000", t, application{completed: true}, t)
	_ = op.Add("520000", t, application{}, t)

	day := cfg.PaneOf(t)
	f := op.Query("520000", day.End.Add(-cfg.Size), day.End)
	v, ok := f.Value()
	fmt.Printf("%d/%d = %.3f %v\n", f.Num, f.Den, v, ok)

	snap := op.AppendSnapshot(nil, windows.StringCodec{}, outcomeCodec{})
	fmt.Println(len(snap) > 0)
	// Output:
	// 1/3 = 0.333 true
	// true
}
