package k8s_test

import (
	"reflect"
	"testing"
)

func TestParseYAML(t *testing.T) {
	tests := []struct {
		name, src string
		want      []any
		err       bool
	}{
		{"map and nested list", "a: 1\nb:\n  - x\n  - y: 2\n    z: \"q: r\" # comment\n", []any{map[string]any{
			"a": "1", "b": []any{"x", map[string]any{"y": "2", "z": "q: r"}}}}, false},
		{"list at the key's indentation", "k:\n- 1\n- 2\n", []any{map[string]any{"k": []any{"1", "2"}}}, false},
		{"flow", `p: { port: 53, tags: ["a", 'b'], e: {} }` + "\n", []any{map[string]any{
			"p": map[string]any{"port": "53", "tags": []any{"a", "b"}, "e": map[string]any{}}}}, false},
		{"documents", "# only a comment\n---\na: 1\n---\nb: 2\n", []any{map[string]any{"a": "1"}, map[string]any{"b": "2"}}, false},
		{"quoted key and url", "\"x/y\": http://h:1/p?q#f\n", []any{map[string]any{"x/y": "http://h:1/p?q#f"}}, false},
		{"empty list", "e: []\n", []any{map[string]any{"e": []any{}}}, false},
		{"anchor refused", "a: &x\n  b: 1\n", nil, true},
		{"bad indentation", "a: 1\n   b: 2\n", nil, true},
		{"duplicate key", "a: 1\na: 2\n", nil, true},
	}
	for _, tt := range tests {
		got, err := parseYAML(tt.src)
		if (err != nil) != tt.err {
			t.Errorf("%s: error %v, want error %t", tt.name, err, tt.err)
			continue
		}
		if !tt.err && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, got, tt.want)
		}
	}
}
