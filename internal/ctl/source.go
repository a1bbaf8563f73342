package ctl

import (
	"bufio"
	"fmt"
	"io"
	"iter"

	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/pkg/events"
)

// The scenarios [Source] knows.
const (
	ScenarioSample    = "sample"    // the sample scenario of the 2017 report
	Scenario2019      = "2019"      // the 2019 results of the 2020 report, under method 2022
	ScenarioSynthetic = "synthetic" // a synthetic mixed stream of any length
	ScenarioNone      = "none"      // no events
)

// Source returns the events of the named scenario. n is the number of
// events of the synthetic stream (0 means its default) and must be 0 for
// the sample scenarios (sample and 2019); seed 0 means the default seed. An
// unknown name is an error.
func Source(name string, n int, seed int64) (iter.Seq[*events.Event], error) {
	switch name {
	case ScenarioSample, "", Scenario2019:
		if n != 0 {
			return nil, fmt.Errorf("ctl: scenario %q has a fixed number of events; use %q for --events", name, ScenarioSynthetic)
		}
		generate := scenario.Generate
		if name == Scenario2019 {
			generate = scenario.Generate2019
		}
		evs := generate(scenario.Options{Seed: seed})
		return func(yield func(*events.Event) bool) {
			for i := range evs {
				if !yield(&evs[i]) {
					return
				}
			}
		}, nil
	case ScenarioSynthetic:
		return scenario.Stream(scenario.StreamOptions{Seed: seed, Events: n}), nil
	case ScenarioNone:
		return func(func(*events.Event) bool) {}, nil
	}
	return nil, fmt.Errorf("ctl: unknown scenario %q (want one of %v)", name, Scenarios())
}

// Scenarios returns the names [Source] accepts.
func Scenarios() []string {
	return []string{ScenarioSample, Scenario2019, ScenarioSynthetic, ScenarioNone}
}

// WriteNDJSON writes the events of src to w in canonical JSON, one per
// line, and returns how many it wrote.
func WriteNDJSON(w io.Writer, src iter.Seq[*events.Event]) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	buf := make([]byte, 0, 1024)
	n := 0
	for ev := range src {
		var err error
		if buf, err = ev.AppendJSON(buf[:0]); err != nil {
			return n, fmt.Errorf("ctl: encode %s: %w", ev.ID, err)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return n, fmt.Errorf("ctl: write ndjson: %w", err)
		}
		n++
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("ctl: write ndjson: %w", err)
	}
	return n, nil
}
