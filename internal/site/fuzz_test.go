package site

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
)

// FuzzDecodeMessages feeds arbitrary bytes to the decoders of the ranking and score messages:
// neither may panic, and whatever decodes becomes one well-formed stream event (its data on one
// line) and extends into a ranking of known units.
func FuzzDecodeMessages(f *testing.F) {
	scs := scores(7, time.Date(2016, 12, 1, 0, 0, 0, 0, time.UTC), 0)
	r := scoring.Rank(scs, nil, 7, scs[0].AsOf)
	for _, v := range []any{r, scs[0]} {
		b, err := json.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":1,"as_of":"2016-12-01T00:00:00Z","method":"2017","ranking":[{"rank":1,"region":"999999"}]}`))
	f.Add([]byte(`{"region":"330000","version":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(name string, version uint64, v any) {
			fr, err := eventFrame(name, version, v)
			if err != nil {
				return
			}
			if !bytes.HasSuffix(fr.data, []byte("\n\n")) || bytes.Count(fr.data, []byte("\n")) != 4 {
				t.Fatalf("malformed event %q", fr.data)
			}
		}
		if r, err := decodeRanking(data); err == nil {
			check("ranking", r.Version, extend(r, map[string]*scoring.Score{}))
		}
		if sc, err := decodeScore(data); err == nil {
			check("score", sc.Version, sc)
			if _, err := terms(sc); err != nil {
				t.Fatalf("terms of a decoded score: %v", err)
			}
		}
	})
}
