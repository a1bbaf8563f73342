package windows_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/windows"
)

var fuzzConfig = windows.Config{Size: 3 * time.Hour, Hop: time.Hour, Offset: 8 * time.Hour, AllowedLateness: 2 * time.Hour}

// fuzzSeeds returns snapshots of operators at several points of a stream.
func fuzzSeeds(t testing.TB) [][]byte {
	op, err := windows.New[string](fuzzConfig, windows.Aggregator[int64, stats, stats](statsAgg{}))
	if err != nil {
		t.Fatal(err)
	}
	snap := func() []byte { return op.AppendSnapshot(nil, windows.StringCodec{}, statsCodec{}) }
	seeds := [][]byte{snap()}
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range 40 {
		at := t0.Add(time.Duration(i*17) * time.Minute)
		if err := op.Add([]string{"110000", "310000", "520000"}[i%3], at, int64(i%6), at); err != nil {
			t.Fatal(err)
		}
		op.Advance(at.Add(-10 * time.Minute))
		if i%7 == 0 {
			seeds = append(seeds, snap())
		}
	}
	op.TakeChanged(nil)
	seeds = append(seeds, snap())
	op.Advance(t0.Add(24 * time.Hour))
	return append(seeds, snap())
}

// FuzzRestore feeds arbitrary bytes to Restore: it must return an error matching ErrCorrupt (or
// ErrConfigMismatch), never panic, and whatever it accepts must encode canonically.
func FuzzRestore(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte("gpw\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		op, rest, err := windows.Restore[string](fuzzConfig, windows.Aggregator[int64, stats, stats](statsAgg{}), windows.StringCodec{}, statsCodec{}, data)
		if err != nil {
			if !errors.Is(err, windows.ErrCorrupt) && !errors.Is(err, windows.ErrConfigMismatch) {
				t.Fatalf("error %v matches neither ErrCorrupt nor ErrConfigMismatch", err)
			}
			return
		}
		if len(rest) > len(data) {
			t.Fatalf("rest longer than input")
		}
		enc := op.AppendSnapshot(nil, windows.StringCodec{}, statsCodec{})
		op2, rest2, err := windows.Restore[string](fuzzConfig, windows.Aggregator[int64, stats, stats](statsAgg{}), windows.StringCodec{}, statsCodec{}, enc)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("re-encoded snapshot: %v, %d bytes left", err, len(rest2))
		}
		if enc2 := op2.AppendSnapshot(nil, windows.StringCodec{}, statsCodec{}); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not canonical")
		}
		// The restored operator must work.
		op2.TakeChanged(nil)
		op2.Advance(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
		op2.TakeFinal(nil)
	})
}

// FuzzReadDedup and FuzzReadWatermark do the same for the other two snapshots.
func FuzzReadDedup(f *testing.F) {
	d := windows.NewDedup()
	f.Add(d.AppendSnapshot(nil))
	for i, id := range []string{"b", "a", "c", ""} {
		d.Add(id, time.Unix(int64(i*1000), 0))
	}
	f.Add(d.AppendSnapshot(nil))
	d.Count("r1", time.Unix(5000, 0), 3)
	d.Count("r2", time.Unix(6000, 0), 1)
	d.Void("r2", time.Unix(7000, 0))
	d.Void("r3", time.Unix(7000, 0)) // pending
	f.Add(d.AppendSnapshot(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, _, err := windows.ReadDedup(data)
		if err != nil {
			if !errors.Is(err, windows.ErrCorrupt) {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			return
		}
		enc := d.AppendSnapshot(nil)
		d2, _, err := windows.ReadDedup(enc)
		if err != nil || !bytes.Equal(enc, d2.AppendSnapshot(nil)) {
			t.Fatalf("re-encoded dedup: %v", err)
		}
		d2.Purge(time.Unix(0, 0))
		d2.PurgeRecords(time.Unix(0, 0))
	})
}

func FuzzReadWatermark(f *testing.F) {
	w := windows.NewWatermark(time.Minute)
	f.Add(w.AppendSnapshot(nil))
	w.Observe(time.Unix(100, 0))
	w.Advance(time.Unix(50, 0))
	f.Add(w.AppendSnapshot(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, _, err := windows.ReadWatermark(data)
		if err != nil {
			if !errors.Is(err, windows.ErrCorrupt) {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			return
		}
		enc := w.AppendSnapshot(nil)
		w2, _, err := windows.ReadWatermark(enc)
		if err != nil || !bytes.Equal(enc, w2.AppendSnapshot(nil)) {
			t.Fatalf("re-encoded watermark: %v", err)
		}
	})
}

// TestRestoreHugeCounts checks that counts claiming more elements than the input holds are refused
// before anything is allocated for them.
func TestRestoreHugeCounts(t *testing.T) {
	seeds := fuzzSeeds(t)
	valid := seeds[len(seeds)-2]
	op, _, err := windows.Restore[string](fuzzConfig, windows.Aggregator[int64, stats, stats](statsAgg{}), windows.StringCodec{}, statsCodec{}, valid)
	if err != nil {
		t.Fatal(err)
	}
	if op.Len() == 0 {
		t.Fatal("seed has no keys")
	}
	header := []byte("gpw\x01")
	header = append(header, valid[4:4+countConfigBytes(t, valid[4:])]...)
	header = append(header, 1)                  // has watermark
	header = binary.AppendVarint(header, 1<<40) // watermark
	cases := map[string][]byte{
		"keys":   binary.AppendUvarint(bytes.Clone(header), 1<<60),
		"panes":  binary.AppendUvarint(append(binary.AppendUvarint(bytes.Clone(header), 1), 1, 'k'), 1<<50),
		"string": binary.AppendUvarint(binary.AppendUvarint(bytes.Clone(header), 1), 1<<62),
		"dedup":  binary.AppendUvarint([]byte("gpd\x01"), 1<<60),
	}
	for name, data := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var err error
		if name == "dedup" {
			_, _, err = windows.ReadDedup(data)
		} else {
			_, _, err = windows.Restore[string](fuzzConfig, windows.Aggregator[int64, stats, stats](statsAgg{}), windows.StringCodec{}, statsCodec{}, data)
		}
		runtime.ReadMemStats(&after)
		if !errors.Is(err, windows.ErrCorrupt) {
			t.Errorf("%s: error %v, want ErrCorrupt", name, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<16 {
			t.Errorf("%s: allocated %d bytes for a %d-byte input", name, n, len(data))
		}
	}
}

// countConfigBytes returns the length of the encoded Config at the start of b: four varints and a
// flags byte.
func countConfigBytes(t *testing.T, b []byte) int {
	t.Helper()
	n := 0
	for range 4 {
		_, k := binary.Varint(b[n:])
		if k <= 0 {
			t.Fatal("bad config in seed")
		}
		n += k
	}
	return n + 1
}
