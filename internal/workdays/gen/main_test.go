package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarball returns a gzipped tarball of the named files.
func tarball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	tgz := filepath.Join(dir, "chinese-days-9.9.9.tgz")
	files := map[string]string{
		"package/package.json": `{"name":"chinese-days","version":"9.9.9","license":"MIT"}`,
		"package/dist/chinese-days.json": `{"holidays":{"2015-10-01":"x","2024-10-01":"National Day,国庆节,3","2024-10-02":"x"},` +
			`"workdays":{"2024-09-29":"National Day,国庆节,3","2028-01-01":"x"},"inLieuDays":{}}`,
		"package/LICENSE": "MIT License\n\nCopyright (c) someone\n",
	}
	if err := os.WriteFile(tgz, tarball(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(tgz, dir, 2016, 2027); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "china_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DO NOT EDIT", `SourceVersion = "9.9.9"`, `SourceLicense = "MIT"`,
		"years = []int{2024}", "20241001, 20241002,", "20240929,"} {
		if !strings.Contains(string(src), want) {
			t.Errorf("china_gen.go lacks %q:\n%s", want, src)
		}
	}
	for _, not := range []string{"20151001", "20280101"} {
		if strings.Contains(string(src), not) {
			t.Errorf("china_gen.go holds %s, outside the years", not)
		}
	}
	lic, err := os.ReadFile(filepath.Join(dir, "LICENSE.chinese-days"))
	if err != nil || !strings.Contains(string(lic), "Copyright (c) someone") {
		t.Errorf("LICENSE.chinese-days: %q, %v", lic, err)
	}

	// Another package, or a tarball without the data, is refused.
	files["package/package.json"] = `{"name":"other","version":"1","license":"MIT"}`
	if err := os.WriteFile(tgz, tarball(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(tgz, dir, 2016, 2027); err == nil {
		t.Error("another package accepted")
	}
	delete(files, "package/dist/chinese-days.json")
	if err := os.WriteFile(tgz, tarball(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(tgz, dir, 2016, 2027); err == nil || !strings.Contains(err.Error(), "no package/dist/chinese-days.json") {
		t.Errorf("missing data: %v", err)
	}
}
