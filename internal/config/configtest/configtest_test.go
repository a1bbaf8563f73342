package configtest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/config"
	"github.com/govpulse/govpulse/internal/config/configtest"
)

func TestTableAndSection(t *testing.T) {
	fs := config.New("demo", nil)
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.String("addr", "GOVPULSE_DEMO_ADDR", "127.0.0.1:1", "listen address, with a comma")
	fs.Duration("wait", "", time.Second, "a wait")
	fs.Bool("on", "GOVPULSE_DEMO_ON", true, "a switch")
	fs.Deprecate("on", "enable", "GOVPULSE_DEMO_ENABLE")
	fs.Usage()
	got, err := configtest.Table(out.String())
	if err != nil {
		t.Fatal(err)
	}
	want := "| flag | environment | default | meaning |\n|---|---|---|---|\n" +
		"| `--addr` | `GOVPULSE_DEMO_ADDR` | `\"127.0.0.1:1\"` | listen address, with a comma |\n" +
		"| `--wait` |  | `1s` | a wait |\n" +
		"| `--on` | `GOVPULSE_DEMO_ON` | `true` | a switch (deprecated: `--enable`, `GOVPULSE_DEMO_ENABLE`) |\n"
	if got != want {
		t.Fatalf("Table:\n%s\nwant:\n%s", got, want)
	}
	readme := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(readme, []byte("# x\n\n### demo\n\ntext\n\n"+want+"\nmore\n\n### other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	configtest.CheckREADME(t, readme, "demo", out.String())
	if _, err := configtest.Section(readme, "### other"); err == nil {
		t.Error("Section of a heading without a table: no error")
	}
}
