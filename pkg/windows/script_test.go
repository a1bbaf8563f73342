package windows_test

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/windows"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of the scripts in testdata")

// TestScripts runs the scripts in testdata/*.txt. A script is a sequence of blocks separated by
// blank lines: a command line, optional input lines, a "----" line and the expected output.
//
//	config size=24h hop=24h offset=8h lateness=48h bound=10m agg=count zone=+08:00 discard=final
//	events            input lines "key time [value] [id=ID]"; prints one outcome per event
//	advance TIME      raises the watermark explicitly and advances the operator
//	wm                prints the watermark
//	changed           TakeChanged, one "key [start, end) value" per line
//	final             TakeFinal
//	query KEY START END
//	windows-of TIME   the windows that contain TIME; pane-of TIME: its pane
//	state             keys, panes and remembered ids
//	restore           snapshot the operator, watermark and dedup and continue from the restored copy
//
// Times without a zone are in the script's zone (zone=, default UTC) and are printed in it. Each
// event is handled as a stream processor would: observe its time, check lateness, then duplicates,
// add it, remember its id, advance the operator to the watermark and purge old ids.
// Run with -rewrite to regenerate the expected output.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scripts in testdata")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) { runScript(t, file) })
	}
}

type block struct {
	line     int
	cmd      string
	input    []string
	expected []string
}

func parseScript(t *testing.T, file string) (blocks []block, comments map[int][]string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	comments = map[int][]string{}
	var cur *block
	inOutput := false
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		switch {
		case cur == nil && (strings.HasPrefix(line, "#") || strings.TrimSpace(line) == ""):
			comments[len(blocks)] = append(comments[len(blocks)], line)
		case cur == nil:
			blocks = append(blocks, block{line: ln, cmd: line})
			cur = &blocks[len(blocks)-1]
			inOutput = false
		case strings.TrimSpace(line) == "":
			cur = nil
			comments[len(blocks)] = append(comments[len(blocks)], line)
		case line == "----":
			inOutput = true
		case inOutput:
			cur.expected = append(cur.expected, line)
		default:
			cur.input = append(cur.input, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks, comments
}

func runScript(t *testing.T, file string) {
	blocks, comments := parseScript(t, file)
	s := &scriptState{zone: time.UTC}
	var out strings.Builder
	failed := false
	for i := range blocks {
		b := &blocks[i]
		got, err := s.run(b.cmd, b.input)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", file, b.line, b.cmd, err)
		}
		if !*rewrite && strings.Join(got, "\n") != strings.Join(b.expected, "\n") {
			failed = true
			t.Errorf("%s:%d: %s\n got:\n%s\nwant:\n%s", file, b.line, b.cmd,
				strings.Join(got, "\n"), strings.Join(b.expected, "\n"))
		}
		for _, c := range comments[i] {
			out.WriteString(c + "\n")
		}
		out.WriteString(b.cmd + "\n")
		for _, l := range b.input {
			out.WriteString(l + "\n")
		}
		out.WriteString("----\n")
		for _, l := range got {
			out.WriteString(l + "\n")
		}
	}
	for _, c := range comments[len(blocks)] {
		out.WriteString(c + "\n")
	}
	if *rewrite && !failed {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type scriptState struct {
	zone  *time.Location
	cfg   windows.Config
	op    scriptOp
	wm    windows.Watermark
	dedup *windows.Dedup
}

func (s *scriptState) time(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, v, s.zone); err == nil {
			return t, nil
		}
	}
	return time.Parse(time.RFC3339Nano, v)
}

func (s *scriptState) fmtTime(t time.Time) string {
	t = t.In(s.zone)
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04")
	}
	return t.Format("2006-01-02T15:04:05.999999999")
}

func (s *scriptState) fmtWindow(w windows.Window) string {
	return "[" + s.fmtTime(w.Start) + ", " + s.fmtTime(w.End) + ")"
}

func (s *scriptState) run(cmd string, input []string) ([]string, error) {
	f := strings.Fields(cmd)
	if f[0] != "config" && s.op == nil {
		return nil, errors.New("config first")
	}
	args := f[1:]
	switch f[0] {
	case "config":
		return s.config(args)
	case "events":
		var out []string
		for _, l := range input {
			r, err := s.event(strings.Fields(l))
			if err != nil {
				return nil, fmt.Errorf("%q: %w", l, err)
			}
			out = append(out, r)
		}
		return out, nil
	case "advance":
		if len(args) != 1 {
			return nil, errors.New("advance TIME")
		}
		t, err := s.time(args[0])
		if err != nil {
			return nil, err
		}
		s.wm.Advance(t)
		s.sync()
		return s.run("wm", nil)
	case "wm":
		wm, ok := s.wm.Current()
		if !ok {
			return []string{"wm none"}, nil
		}
		return []string{"wm " + s.fmtTime(wm) + " horizon " + s.fmtTime(wm.Add(-s.cfg.AllowedLateness))}, nil
	case "changed":
		return orNone(s.op.changed(s)), nil
	case "final":
		return orNone(s.op.final(s)), nil
	case "query":
		if len(args) != 3 {
			return nil, errors.New("query KEY START END")
		}
		start, err1 := s.time(args[1])
		end, err2 := s.time(args[2])
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		return []string{s.op.query(args[0], start, end)}, nil
	case "windows-of", "pane-of":
		if len(args) != 1 {
			return nil, errors.New(f[0] + " TIME")
		}
		t, err := s.time(args[0])
		if err != nil {
			return nil, err
		}
		if f[0] == "pane-of" {
			return []string{s.fmtWindow(s.cfg.PaneOf(t))}, nil
		}
		var out []string
		for _, w := range s.cfg.WindowsOf(t, nil) {
			out = append(out, s.fmtWindow(w))
		}
		return out, nil
	case "state":
		keys, panes := s.op.stats()
		return []string{fmt.Sprintf("keys %d panes %d ids %d", keys, panes, s.dedup.Len())}, nil
	case "restore":
		snap := s.op.snapshot(nil)
		op, err := s.op.restore(snap)
		if err != nil {
			return nil, err
		}
		if again := op.snapshot(nil); string(again) != string(snap) {
			return nil, errors.New("snapshot of the restored operator differs")
		}
		wm, rest, err := windows.ReadWatermark(s.wm.AppendSnapshot(nil))
		if err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("watermark: %v, %d bytes left", err, len(rest))
		}
		d, rest, err := windows.ReadDedup(s.dedup.AppendSnapshot(nil))
		if err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("dedup: %v, %d bytes left", err, len(rest))
		}
		s.op, s.wm, s.dedup = op, wm, d
		return []string{"ok"}, nil
	}
	return nil, fmt.Errorf("unknown command %q", f[0])
}

func orNone(lines []string) []string {
	if len(lines) == 0 {
		return []string{"none"}
	}
	return lines
}

func (s *scriptState) config(args []string) ([]string, error) {
	var cfg windows.Config
	agg := "count"
	var bound time.Duration
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		var d time.Duration
		var err error
		switch k {
		case "size", "hop", "offset", "lateness", "bound":
			if d, err = time.ParseDuration(v); err != nil {
				return nil, err
			}
		}
		switch k {
		case "size":
			cfg.Size = d
		case "hop":
			cfg.Hop = d
		case "offset":
			cfg.Offset = d
		case "lateness":
			cfg.AllowedLateness = d
		case "bound":
			bound = d
		case "agg":
			agg = v
		case "zone":
			t, err := time.Parse("-07:00", v)
			if err != nil {
				return nil, err
			}
			_, off := t.Zone()
			s.zone = time.FixedZone(v, off)
		case "discard":
			for _, x := range strings.Split(v, ",") {
				switch x {
				case "changed":
					cfg.DiscardChanged = true
				case "final":
					cfg.DiscardFinal = true
				default:
					return nil, fmt.Errorf("discard %q", x)
				}
			}
		default:
			return nil, fmt.Errorf("unknown config %q", k)
		}
	}
	op, err := newScriptOp(cfg, agg)
	if err != nil {
		return []string{"error: " + err.Error()}, nil
	}
	s.cfg, s.op = cfg, op
	s.wm = windows.NewWatermark(bound)
	s.dedup = windows.NewDedup()
	return []string{"ok"}, nil
}

func (s *scriptState) event(f []string) (string, error) {
	if len(f) < 2 {
		return "", errors.New("want key time [value] [id=ID]")
	}
	t, err := s.time(f[1])
	if err != nil {
		return "", err
	}
	var v int64 = 1
	id := ""
	for _, a := range f[2:] {
		if x, ok := strings.CutPrefix(a, "id="); ok {
			id = x
			continue
		}
		if v, err = strconv.ParseInt(a, 10, 64); err != nil {
			return "", err
		}
	}
	s.wm.Observe(t)
	wm, _ := s.wm.Current()
	out := "ok"
	if err := s.op.check(t, wm); err != nil {
		var le *windows.LateError
		if !errors.As(err, &le) || !errors.Is(err, windows.ErrTooLate) {
			return "", fmt.Errorf("check: %w", err)
		}
		out = "too late: horizon " + s.fmtTime(le.Horizon)
	} else if id != "" && s.dedup.Contains(id, s.op.horizon(wm)) {
		out = "duplicate"
	} else {
		if err := s.op.add(f[0], t, v, wm); err != nil {
			return "", fmt.Errorf("add after check: %w", err)
		}
		if id != "" {
			s.dedup.Add(id, t)
		}
	}
	s.sync()
	return out, nil
}

// sync advances the operator to the watermark and purges ids behind the horizon.
func (s *scriptState) sync() {
	wm, ok := s.wm.Current()
	if !ok {
		return
	}
	s.op.advance(wm)
	s.dedup.Purge(s.op.horizon(wm))
}

// scriptOp hides the accumulator and result types of an Operator[string, int64, Acc, Out].
type scriptOp interface {
	check(t, wm time.Time) error
	horizon(wm time.Time) time.Time
	add(key string, t time.Time, v int64, wm time.Time) error
	advance(wm time.Time)
	query(key string, start, end time.Time) string
	changed(s *scriptState) []string
	final(s *scriptState) []string
	stats() (keys, panes int)
	snapshot(dst []byte) []byte
	restore(snap []byte) (scriptOp, error)
}

func newScriptOp(cfg windows.Config, agg string) (scriptOp, error) {
	switch agg {
	case "count":
		return newGenOp(cfg, windows.Count[int64]{}, windows.Int64Codec{}, fmtInt)
	case "sum":
		return newGenOp(cfg, windows.Sum[int64]{}, windows.Int64Codec{}, fmtInt)
	case "mean":
		return newGenOp(cfg, windows.Mean[int64]{}, windows.MeanCodec[int64]{Sum: windows.Int64Codec{}},
			func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) })
	case "min":
		return newGenOp(cfg, windows.Min[int64]{}, windows.ExtremumCodec[int64]{Value: windows.Int64Codec{}}, fmtExtremum)
	case "max":
		return newGenOp(cfg, windows.Max[int64]{}, windows.ExtremumCodec[int64]{Value: windows.Int64Codec{}}, fmtExtremum)
	case "hist":
		return newGenOp(cfg, ratings, windows.CountsCodec{}, fmtRatings)
	case "ratio":
		return newGenOp(cfg, ratioOf{}, windows.FractionCodec{},
			func(f windows.Fraction) string { return fmt.Sprintf("%d/%d", f.Num, f.Den) })
	}
	return nil, fmt.Errorf("unknown aggregate %q", agg)
}

var ratings = windows.Histogram{Lo: 1, Width: 1, Buckets: 5}

func fmtRatings(c windows.Counts) string { return fmt.Sprint(c[:ratings.Buckets]) }

func fmtExtremum(e windows.Extremum[int64]) string {
	if !e.Valid {
		return "none"
	}
	return strconv.FormatInt(e.Value, 10)
}

// ratioOf is Ratio over int64 inputs: non-zero counts as true.
type ratioOf struct{ windows.Ratio }

func (r ratioOf) Add(acc windows.Fraction, in int64) windows.Fraction {
	return r.Ratio.Add(acc, in != 0)
}

type genOp[Acc, Out any] struct {
	op    *windows.Operator[string, int64, Acc, Out]
	agg   windows.Aggregator[int64, Acc, Out]
	codec windows.Codec[Acc]
	fmt   func(Out) string
}

func newGenOp[Acc, Out any](cfg windows.Config, agg windows.Aggregator[int64, Acc, Out], codec windows.Codec[Acc], format func(Out) string) (scriptOp, error) {
	op, err := windows.New[string](cfg, agg)
	if err != nil {
		return nil, err
	}
	return &genOp[Acc, Out]{op: op, agg: agg, codec: codec, fmt: format}, nil
}

func (g *genOp[Acc, Out]) check(t, wm time.Time) error    { return g.op.Check(t, wm) }
func (g *genOp[Acc, Out]) horizon(wm time.Time) time.Time { return g.op.Horizon(wm) }
func (g *genOp[Acc, Out]) advance(wm time.Time)           { g.op.Advance(wm) }
func (g *genOp[Acc, Out]) stats() (int, int)              { return g.op.Len(), g.op.Panes() }
func (g *genOp[Acc, Out]) snapshot(dst []byte) []byte {
	return g.op.AppendSnapshot(dst, windows.StringCodec{}, g.codec)
}
func (g *genOp[Acc, Out]) query(k string, s, e time.Time) string { return g.fmt(g.op.Query(k, s, e)) }

func (g *genOp[Acc, Out]) add(key string, t time.Time, v int64, wm time.Time) error {
	return g.op.Add(key, t, v, wm)
}

func (g *genOp[Acc, Out]) changed(s *scriptState) []string { return g.lines(s, g.op.TakeChanged(nil)) }
func (g *genOp[Acc, Out]) final(s *scriptState) []string   { return g.lines(s, g.op.TakeFinal(nil)) }

func (g *genOp[Acc, Out]) lines(s *scriptState, rs []windows.Result[string, Out]) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Key+" "+s.fmtWindow(r.Window)+" "+g.fmt(r.Value))
	}
	return out
}

func (g *genOp[Acc, Out]) restore(snap []byte) (scriptOp, error) {
	op, rest, err := windows.Restore[string](g.op.Config(), g.agg, windows.StringCodec{}, g.codec, snap)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes left after the snapshot", len(rest))
	}
	return &genOp[Acc, Out]{op: op, agg: g.agg, codec: g.codec, fmt: g.fmt}, nil
}

func fmtInt(v int64) string { return strconv.FormatInt(v, 10) }
