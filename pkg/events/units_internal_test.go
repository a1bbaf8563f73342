package events

import (
	"strings"
	"testing"
)

func TestParseUnitsErrors(t *testing.T) {
	prov := []Region{{Code: "330000", NameZH: "浙江省", NameEN: "Zhejiang"}}
	for _, tc := range []struct{ name, tsv, err string }{
		{"fields", "330100\t杭州市\n", "want code"},
		{"empty name", "330100\t\tHangzhou\n", "want code"},
		{"short code", "33010\t杭州市\tHangzhou\n", "bad code"},
		{"letters", "33010x\t杭州市\tHangzhou\n", "bad code"},
		{"provincial", "340000\t安徽省\tAnhui\n", "bad code"},
		{"order", "330200\t宁波市\tNingbo\n330100\t杭州市\tHangzhou\n", "not after"},
		{"duplicate", "330100\t杭州市\tHangzhou\n330100\t杭州市\tHangzhou\n", "not after"},
		{"no province", "340100\t合肥市\tHefei\n", "no provincial unit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseUnits(prov, tc.tsv); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
	if _, err := parseUnits([]Region{{Code: "330100"}}, ""); err == nil {
		t.Errorf("a prefecture code as a provincial unit was accepted")
	}
	tab, err := parseUnits(prov, "330100\t杭州市\tHangzhou\n330106\t西湖区\tXihu\n330201\t某县\tMou\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := tab.list[2]; got.Parent != "330100" || tab.list[3].Parent != "330000" {
		t.Errorf("parents %+v", tab.list)
	}
}

func TestUnitLevelString(t *testing.T) {
	for l, want := range map[UnitLevel]string{Provincial: "provincial", Prefecture: "prefecture", County: "county", 7: "UnitLevel(7)"} {
		if got := l.String(); got != want {
			t.Errorf("%d.String() = %q", l, got)
		}
	}
}
