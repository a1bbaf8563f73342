package ingest_test

import (
	"testing"

	"github.com/govpulse/govpulse/internal/ingest"
)

// FuzzParseTokens feeds arbitrary bytes to the tokens file parser: it returns tokens or an error,
// never panics.
func FuzzParseTokens(f *testing.F) {
	hash := ingest.HashToken("secret")
	f.Add([]byte(`{"tokens":[{"source":"feedback/zhejiang","sha256":"` + hash + `","regions":["330000"],"families":["feedback"]}]}`))
	f.Add([]byte(`{"tokens":[{"source":"ops","sha256":"` + hash + `","regions":["*"],"families":["*"]}]}`))
	f.Add([]byte(`{"tokens":[]}`))
	f.Add([]byte(`{"tokens":[{"source":"x","sha256":"zz","regions":[],"families":["nope"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tokens, err := ingest.ParseTokens(data)
		if err == nil && tokens.Len() == 0 {
			t.Fatalf("accepted a tokens file without tokens: %q", data)
		}
	})
}
