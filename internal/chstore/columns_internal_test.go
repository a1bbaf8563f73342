package chstore

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestColumnsOfRejects checks that a tag the writer cannot honour is refused when the columns are
// derived, not when a row is written.
func TestColumnsOfRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"unknown type", reflect.TypeFor[struct {
			A int64 `json:"a" chtype:"Int128"`
		}](), "unsupported column type"},
		{"kind", reflect.TypeFor[struct {
			A string `json:"a" chtype:"UInt64"`
		}](), "cannot be a UInt64 column"},
		{"time", reflect.TypeFor[struct {
			A int64 `json:"a" chtype:"DateTime('UTC')"`
		}](), "cannot be a DateTime('UTC') column"},
		{"nullable", reflect.TypeFor[struct {
			A *int64 `json:"a" chtype:"Nullable(Float64)"`
		}](), "cannot be a Nullable(Float64) column"},
		{"no name", reflect.TypeFor[struct {
			A int64 `chtype:"UInt64"`
		}](), "no json name"},
		{"option", reflect.TypeFor[struct {
			A time.Time `json:"a" chtype:"DateTime('UTC'),ms"`
		}](), "unknown option"},
	} {
		if _, err := columnsOf(tc.typ, ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
