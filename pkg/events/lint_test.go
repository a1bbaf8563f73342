package events_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the vocabulary free of the machinery: the package must
// not depend on a NATS or ClickHouse package.
func TestImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		l := strings.ToLower(dep)
		if strings.Contains(l, "nats-io") || strings.Contains(l, "clickhouse") {
			t.Errorf("pkg/events depends on %s", dep)
		}
	}
}
