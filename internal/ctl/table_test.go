package ctl_test

import (
	"bytes"
	"testing"

	"github.com/govpulse/govpulse/internal/ctl"
)

// TestRenderTable pins the table govpulsectl prints (the README shows it): the sub-indices come
// from the method's scored terms, in its order, with its labels.
func TestRenderTable(t *testing.T) {
	var b ctl.Board
	if _, err := b.SetRanking(rankingJSON(7, "330000", "520000")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetScore(scoreJSON("330000", 7, 86.74)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := b.Render(&out); err != nil {
		t.Fatal(err)
	}
	want := "govpulse ranking  version 7  as of 2016-12-31T12:50:00Z  method 2017\n" +
		"rank  code    region                                   composite  grade       modes  coverage   guide  online  change\n" +
		"   1  330000  Zhejiang 浙江省                             90.000  high        86.74     95.50   80.25   70.00      +1\n" +
		"   2  520000  Guizhou 贵州省                              89.000  high            -         -       -       -      -1\n"
	if got := out.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}
