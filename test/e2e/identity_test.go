package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/testwait"
)

// postAs posts body with a bearer token.
func (p *pipeline) postAs(token, body string) (int, response) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.ingest.URL+"/v1/events", strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, r
}

// Two producers, each with a token scoped to its own unit, post events whose ids the other one uses
// too, first in one order, then in the other. An event is identified by its unit and id together:
// no event of one unit comes back "duplicate" because of the other's, every event is stored, and
// every rating counts in its own unit. A resend by the same unit is still a duplicate.
func TestIdsOfAnotherUnitAreNotDuplicates(t *testing.T) {
	const zjToken, gzToken = "zhejiang-feedback-token", "guizhou-feedback-token"
	tokens := fmt.Sprintf(`{"tokens": [
		{"source": "feedback/zhejiang", "sha256": %q, "regions": [%q], "families": ["feedback"]},
		{"source": "feedback/guizhou", "sha256": %q, "regions": [%q], "families": ["feedback"]}]}`,
		ingest.HashToken(zjToken), zhejiang, ingest.HashToken(gzToken), guizhou)
	path := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(path, []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startPipelineWith(t, ingest.Config{TokensFile: path})
	p.runAggregator()

	rating := func(id, region string, minute, rating int) string {
		return ev(id, "feedback.rated", region, at(12, 10, minute), fmt.Sprintf(`{"rating":%d,"channel":"web"}`, rating))
	}
	steps := []struct {
		token, body string
		status      string
	}{
		// Zhejiang's producer posts Guizhou's id first; Guizhou's real event must still count.
		{zjToken, rating("gz-fb-000123", zhejiang, 0, 5), "accepted"},
		{gzToken, rating("gz-fb-000123", guizhou, 1, 1), "accepted"},
		// And the other way round.
		{gzToken, rating("zj-fb-000456", guizhou, 2, 2), "accepted"},
		{zjToken, rating("zj-fb-000456", zhejiang, 3, 4), "accepted"},
		// A resend within one unit is a duplicate, as before.
		{gzToken, rating("gz-fb-000123", guizhou, 1, 1), "duplicate"},
	}
	for i, st := range steps {
		code, r := p.postAs(st.token, st.body)
		if code != http.StatusAccepted || len(r.Results) != 1 || r.Results[0].Status != st.status {
			t.Fatalf("step %d: %d %+v, want 202 %s", i, code, r, st.status)
		}
	}
	// Stream sequences 1..4; the duplicate was not stored.
	testwait.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		counts, err := p.store.EventCounts(t.Context())
		if err != nil {
			return err
		}
		if counts[zhejiang] != 2 || counts[guizhou] != 2 {
			return fmt.Errorf("stored events per unit %v, want 2 and 2", counts)
		}
		rows, err := p.store.LatestScores(t.Context())
		if err != nil {
			return err
		}
		for _, r := range rows {
			want := map[string][2]int64{zhejiang: {2, 9}, guizhou: {2, 3}}[r.Region]
			if want != [2]int64{} && (r.Ratings != want[0] || r.RatingSum != want[1]) {
				return fmt.Errorf("%s: %d ratings summing to %d, want %d summing to %d", r.Region, r.Ratings, r.RatingSum, want[0], want[1])
			}
		}
		if len(rows) != 32 {
			return fmt.Errorf("%d scores, want 32", len(rows))
		}
		return nil
	})
}
