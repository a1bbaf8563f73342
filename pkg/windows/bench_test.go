package windows_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/windows"
)

const benchKeys = 32

var (
	rolling = windows.Config{Size: 30 * 24 * time.Hour, Hop: 24 * time.Hour, Offset: 8 * time.Hour, AllowedLateness: 7 * 24 * time.Hour}
	hourly  = windows.Config{Size: time.Hour, AllowedLateness: 7 * 24 * time.Hour}
)

// benchStream yields events for 32 keys, step apart in event time, with up to 10 minutes of
// disorder, under a watermark with a 10-minute bound.
type benchStream struct {
	keys   [benchKeys]string
	jitter [4096]time.Duration
	base   time.Time
	step   time.Duration
}

func newBenchStream(step time.Duration) *benchStream {
	s := &benchStream{base: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), step: step}
	for i := range s.keys {
		s.keys[i] = fmt.Sprintf("%02d0000", 11+i)
	}
	x := uint64(88172645463325252)
	for i := range s.jitter {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		s.jitter[i] = time.Duration(x % uint64(10*time.Minute))
	}
	return s
}

func (s *benchStream) at(i int) (string, time.Time) {
	return s.keys[i%benchKeys], s.base.Add(time.Duration(i)*s.step - s.jitter[i%len(s.jitter)])
}

// runBench feeds b.N events through a Watermark and op, advancing op after each event as a stream
// processor does, and reports events per second.
func runBench[Acc, Out any](b *testing.B, op *windows.Operator[string, int64, Acc, Out], step time.Duration) {
	s := newBenchStream(step)
	wm := windows.NewWatermark(10 * time.Minute)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		key, t := s.at(i)
		wm.Observe(t)
		w, _ := wm.Current()
		if err := op.Add(key, t, int64(1+i%5), w); err != nil {
			b.Fatal(err)
		}
		op.Advance(w)
		if i&0xffff == 0xffff {
			op.TakeChanged(nil)
			op.TakeFinal(nil)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(op.Panes())/float64(max(op.Len(), 1)), "panes/key")
}

func BenchmarkTumblingCount(b *testing.B) {
	op, err := windows.New[string](hourly, windows.Aggregator[int64, int64, int64](windows.Count[int64]{}))
	if err != nil {
		b.Fatal(err)
	}
	runBench(b, op, 100*time.Millisecond)
}

func BenchmarkTumblingHistogram(b *testing.B) {
	op, err := windows.New[string](hourly, windows.Aggregator[int64, windows.Counts, windows.Counts](ratings))
	if err != nil {
		b.Fatal(err)
	}
	runBench(b, op, 100*time.Millisecond)
}

func BenchmarkSlidingCount30d(b *testing.B) {
	op, err := windows.New[string](rolling, windows.Aggregator[int64, int64, int64](windows.Count[int64]{}))
	if err != nil {
		b.Fatal(err)
	}
	runBench(b, op, time.Second)
}

func BenchmarkSlidingHistogram30d(b *testing.B) {
	op, err := windows.New[string](rolling, windows.Aggregator[int64, windows.Counts, windows.Counts](ratings))
	if err != nil {
		b.Fatal(err)
	}
	runBench(b, op, time.Second)
}

// BenchmarkQuery30d queries the rolling window of the watermark's day, 30 panes of histograms.
func BenchmarkQuery30d(b *testing.B) {
	op := fullRolling(b)
	wm, _ := op.Watermark()
	day := rolling.PaneOf(wm)
	start, end := day.End.Add(-rolling.Size), day.End
	s := newBenchStream(0)
	b.ReportAllocs()
	b.ResetTimer()
	var total int64
	for i := range b.N {
		c := op.Query(s.keys[i%benchKeys], start, end)
		total += c[0]
	}
	if total == 0 {
		b.Fatal("empty windows")
	}
}

// BenchmarkStateSize reports the memory and snapshot bytes per key of the rolling ratings
// histogram with every pane present (32 keys, 30 days plus 7 days of lateness).
func BenchmarkStateSize(b *testing.B) {
	for range b.N {
		heap, snap := rollingStateSize(b)
		b.ReportMetric(float64(heap)/benchKeys, "heap-B/key")
		b.ReportMetric(float64(snap)/benchKeys, "snapshot-B/key")
	}
}

// fullRolling returns the rolling histogram operator with 32 keys and one event per key per hour
// over 40 days.
func fullRolling(tb testing.TB) *windows.Operator[string, int64, windows.Counts, windows.Counts] {
	op, err := windows.New[string](windows.Config{
		Size: rolling.Size, Hop: rolling.Hop, Offset: rolling.Offset, AllowedLateness: rolling.AllowedLateness,
		DiscardChanged: true, DiscardFinal: true,
	}, windows.Aggregator[int64, windows.Counts, windows.Counts](ratings))
	if err != nil {
		tb.Fatal(err)
	}
	s := newBenchStream(time.Hour / benchKeys)
	for i := range 40 * 24 * benchKeys {
		key, t := s.at(i)
		if err := op.Add(key, t, int64(1+i%5), time.Time{}); err != nil {
			tb.Fatal(err)
		}
	}
	_, last := s.at(40*24*benchKeys - 1)
	op.Advance(last.Add(-10 * time.Minute))
	return op
}

func rollingStateSize(tb testing.TB) (heap, snap uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	op := fullRolling(tb)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap = after.HeapAlloc - before.HeapAlloc
	snap = uint64(len(op.AppendSnapshot(nil, windows.StringCodec{}, windows.CountsCodec{})))
	runtime.KeepAlive(op)
	return heap, snap
}

// TestStateSize checks the memory target: 32 keys of 30-day ratings histograms with 7 days of
// lateness under 1 MB.
func TestStateSize(t *testing.T) {
	op := fullRolling(t)
	if got, want := op.Panes(), benchKeys*38; got > want {
		t.Errorf("%d panes, want at most %d", got, want)
	}
	heap, snap := rollingStateSize(t)
	t.Logf("state of %d keys: %d bytes in memory, %d bytes of snapshot", benchKeys, heap, snap)
	if heap > 1<<20 {
		t.Errorf("state takes %d bytes, want under 1 MB", heap)
	}
}

// BenchmarkSlidingChanged30d adds one event and takes the changed windows (30 of them) each time.
func BenchmarkSlidingChanged30d(b *testing.B) {
	op, err := windows.New[string](rolling, windows.Aggregator[int64, windows.Counts, windows.Counts](ratings))
	if err != nil {
		b.Fatal(err)
	}
	s := newBenchStream(time.Minute)
	wm := windows.NewWatermark(10 * time.Minute)
	var rs []windows.Result[string, windows.Counts]
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		key, t := s.at(i)
		wm.Observe(t)
		w, _ := wm.Current()
		if err := op.Add(key, t, int64(1+i%5), w); err != nil {
			b.Fatal(err)
		}
		op.Advance(w)
		rs = op.TakeChanged(rs[:0])
		if len(rs) != 30 {
			b.Fatalf("%d windows changed, want 30", len(rs))
		}
	}
}
