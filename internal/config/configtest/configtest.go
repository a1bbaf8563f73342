// Package configtest checks the README's flag tables against the flags a
// command defines, so that the documentation never drifts from the code. A
// command's test runs the command with --help and passes the usage text:
//
//	func TestREADMEFlags(t *testing.T) {
//		var out bytes.Buffer
//		_ = run(t.Context(), []string{"--help"}, nil, &out)
//		configtest.CheckREADME(t, "../../README.md", "ingest", out.String())
//	}
package configtest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Table renders the usage text of a config.FlagSet as the Markdown table
// the README shows: one row per flag with its environment variable, its
// default, its meaning and, when it has some, its deprecated names.
func Table(usage string) (string, error) {
	var b strings.Builder
	b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
	lines := strings.Split(usage, "\n")
	for i := 0; i < len(lines); i++ {
		head, ok := strings.CutPrefix(lines[i], "  --")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(head, " ")
		if i+2 >= len(lines) {
			return "", fmt.Errorf("configtest: --%s: usage ends early", name)
		}
		meaning := strings.TrimPrefix(lines[i+1], "    \t")
		def, env := strings.TrimPrefix(lines[i+2], "    \tdefault "), ""
		if j := strings.LastIndex(def, ", env "); j >= 0 {
			def, env = def[:j], def[j+len(", env "):]
		}
		i += 2
		if i+1 < len(lines) {
			if old, ok := strings.CutPrefix(lines[i+1], "    \tdeprecated: "); ok {
				meaning += " (deprecated: `" + strings.Join(strings.Split(old, ", "), "`, `") + "`)"
				i++
			}
		}
		fmt.Fprintf(&b, "| `--%s` | %s | `%s` | %s |\n", name, code(env), def, meaning)
	}
	return b.String(), nil
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + s + "`"
}

// Section returns the first Markdown table after the heading line heading
// ("### ingest") of the file at path.
func Section(path, heading string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("configtest: %w", err)
	}
	var b strings.Builder
	found, in := false, false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case !found:
			found = line == heading
		case strings.HasPrefix(line, "|"):
			in = true
			b.WriteString(line + "\n")
		case in:
			return b.String(), nil
		case strings.HasPrefix(line, "#"):
			return "", fmt.Errorf("configtest: %s: no table under %q", path, heading)
		}
	}
	if !in {
		return "", fmt.Errorf("configtest: %s: no table under %q", path, heading)
	}
	return b.String(), nil
}

// CheckREADME fails t when the table under "### <section>" of the README at
// path differs from the table the usage text gives, and prints the table to
// paste.
func CheckREADME(t testing.TB, path, section, usage string) {
	t.Helper()
	want, err := Table(usage)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Section(path, "### "+section)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("the flag table of %q in %s differs from the flags; replace it by:\n\n%s", section, path, want)
	}
}
