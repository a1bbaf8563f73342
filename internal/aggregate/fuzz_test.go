package aggregate

import (
	"bytes"
	"testing"

	"github.com/govpulse/govpulse/internal/engine"
)

// FuzzDecodeCheckpoint feeds arbitrary bytes to the checkpoint decoder and, when the framing
// decodes, the engine state to engine.Restore: neither may panic, and a checkpoint that decodes
// must encode back to the same bytes.
func FuzzDecodeCheckpoint(f *testing.F) {
	eng, err := engine.New(engine.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(encodeCheckpoint(checkpoint{partition: "all", lastSeq: 42, engine: eng.AppendSnapshot(nil)}))
	f.Add(encodeCheckpoint(checkpoint{partition: "", lastSeq: 0}))
	f.Add([]byte(checkpointMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeCheckpoint(data)
		if err != nil {
			return
		}
		if again := encodeCheckpoint(c); !bytes.Equal(again, data) {
			t.Fatalf("checkpoint re-encodes to other bytes")
		}
		_, _ = engine.Restore(engine.Config{}, c.engine)
	})
}
