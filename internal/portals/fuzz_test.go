package portals

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// FuzzRestoreSnapshot checks that RestoreSnapshot never panics and that a snapshot it accepts
// encodes again to the same bytes.
func FuzzRestoreSnapshot(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 5))
	u := NewUnit("330000", Limits{})
	f.Add(u.AppendSnapshot(nil))
	for seq := uint64(1); seq <= 60; seq++ {
		u.Apply(seq, randomEvent(rng))
		if seq%20 == 0 {
			f.Add(u.AppendSnapshot(nil))
			u.Take()
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewUnit("330000", Limits{})
		rest, err := r.RestoreSnapshot(b)
		if err != nil {
			return
		}
		if again := r.AppendSnapshot(nil); !bytes.Equal(again, b[:len(b)-len(rest)]) {
			t.Fatalf("restored unit encodes to other bytes:\n%x\n%x", again, b[:len(b)-len(rest)])
		}
	})
}
