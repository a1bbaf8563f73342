package events_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// envelope builds an event with the given type and data; the other members
// are valid.
func envelope(typ, data string) string {
	return `{"id":"zj-probe-000123","type":"` + typ + `","region":"330000",` +
		`"time":"2016-11-03T09:30:00+08:00","source":"probe/zhejiang","data":` + data + `}`
}

// withMembers builds a feedback.rated event whose envelope members are given
// in full.
func withMembers(members string) string { return "{" + members + "}" }

const (
	okID     = `"id":"e-1"`
	okType   = `"type":"feedback.rated"`
	okRegion = `"region":"330000"`
	okTime   = `"time":"2016-11-03T09:30:00Z"`
	okSource = `"source":"probe/zhejiang"`
	okData   = `"data":{"rating":4,"channel":"web"}`
)

// env builds a feedback.rated event from the default members, replacing
// the member named by key with the raw member text repl ("" drops it).
func env(key, repl string) string {
	members := []struct{ key, text string }{
		{"id", okID}, {"type", okType}, {"region", okRegion},
		{"time", okTime}, {"source", okSource}, {"data", okData},
	}
	var parts []string
	for _, m := range members {
		if m.key == key {
			if repl != "" {
				parts = append(parts, repl)
			}
			continue
		}
		parts = append(parts, m.text)
	}
	return withMembers(strings.Join(parts, ","))
}

func timeEv(ts string) string     { return env("time", `"time":"`+ts+`"`) }
func sourceEv(s string) string    { return env("source", `"source":"`+s+`"`) }
func feedback(data string) string { return envelope("feedback.rated", data) }

func catalog(data string) string     { return envelope("catalog.item", data) }
func published(data string) string   { return envelope("service.published", data) }
func withdrawn(data string) string   { return envelope("service.withdrawn", data) }
func guide(data string) string       { return envelope("guide.audited", data) }
func platform(data string) string    { return envelope("platform.updated", data) }
func application(data string) string { return envelope("application.completed", data) }

// pub builds a service.published payload with one member replaced (key ""
// appends repl as a member instead).
func pub(key, repl string) string {
	members := []struct{ key, text string }{
		{"item_code", `"item_code":"330000-A-001"`}, {"level", `"level":"province"`},
		{"name", `"name":"企业设立登记"`}, {"department", `"department":"省市场监管局"`},
		{"modes", `"modes":["online_apply","mobile"]`}, {"maturity", `"maturity":3`},
	}
	var parts []string
	for _, m := range members {
		if m.key == key {
			if repl != "" {
				parts = append(parts, repl)
			}
			continue
		}
		parts = append(parts, m.text)
	}
	if key == "" && repl != "" {
		parts = append(parts, repl)
	}
	return published("{" + strings.Join(parts, ",") + "}")
}

// elems builds a guide.audited payload with the given elements object.
func elems(obj string) string {
	return guide(`{"item_code":"A1","level":"city","elements":` + obj + `,"consistent":false}`)
}

const allElements = `{"basis":"correct","conditions":"correct","materials":"missing","process":"correct",` +
	`"time_limit":"incorrect","fees":"correct","location":"correct","contact":"correct"}`

type decodeCase struct {
	name   string
	in     string
	field  string // "" when the input is valid
	reason string
}

func decodeCases() []decodeCase {
	han200 := strings.Repeat("浙", 200)
	deep := `{"id":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`
	deepData := feedback(`{"rating":4,"channel":"web","x":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`)
	return []decodeCase{
		// The body.
		{"empty body", "", "body", events.ReasonEmpty},
		{"white space only", " \n\t ", "body", events.ReasonEmpty},
		{"truncated", `{"id":"e-1"`, "body", events.ReasonSyntax},
		{"trailing comma", `{"id":"e-1",}`, "body", events.ReasonSyntax},
		{"single quotes", `{'id':'e-1'}`, "body", events.ReasonSyntax},
		{"NaN", feedback(`{"rating":NaN,"channel":"web"}`), "body", events.ReasonSyntax},
		{"leading zero", feedback(`{"rating":04,"channel":"web"}`), "body", events.ReasonSyntax},
		{"plus sign", feedback(`{"rating":+4,"channel":"web"}`), "body", events.ReasonSyntax},
		{"trailing garbage", env("", "") + "x", "body", events.ReasonTrailingData},
		{"two values", env("", "") + " {}", "body", events.ReasonTrailingData},
		{"trailing white space", env("", "") + "\r\n", "", ""},
		{"byte order mark", "\xef\xbb\xbf" + env("", ""), "body", events.ReasonSyntax},
		{"array", `[]`, "body", events.ReasonWrongType},
		{"null", `null`, "body", events.ReasonWrongType},
		{"string", `"e-1"`, "body", events.ReasonWrongType},
		{"deep nesting", deep, "body", events.ReasonTooDeep},
		{"deep nesting in data", deepData, "body", events.ReasonTooDeep},
		{"invalid UTF-8", sourceEv("probe\xff"), "body", events.ReasonInvalidUTF8},
		{"overlong UTF-8", sourceEv("\xc0\xaf"), "body", events.ReasonInvalidUTF8},
		{"UTF-8 surrogate", sourceEv("\xed\xa0\x80"), "body", events.ReasonInvalidUTF8},
		{"escaped lone surrogate", sourceEv(`a\ud800b`), "body", events.ReasonInvalidUTF8},
		{"escaped lone low surrogate", sourceEv(`\udc00`), "body", events.ReasonInvalidUTF8},
		{"escaped surrogate pair", sourceEv(`\ud83d\ude00`), "", ""},
		{"raw NUL in string", sourceEv("a\x00b"), "body", events.ReasonSyntax},
		{"raw NUL outside strings", env("", "") + "\x00", "body", events.ReasonTrailingData},
		{"bad escape", sourceEv(`a\qb`), "body", events.ReasonSyntax},

		// The envelope.
		{"valid feedback", env("", ""), "", ""},
		{"unknown envelope member", withMembers(strings.Join([]string{okID, okType, okRegion, okTime, okSource, okData, `"extra":1`}, ",")), "extra", events.ReasonUnknownField},
		{"unknown member with odd name", withMembers(`"a b":1,` + okID), `"a b"`, events.ReasonUnknownField},
		{"duplicate id", withMembers(okID + "," + okID), "id", events.ReasonDuplicateKey},
		{"duplicate id by escape", withMembers(okID + `,"i\u0064":"e-2"`), "id", events.ReasonDuplicateKey},
		{"duplicate data", withMembers(strings.Join([]string{okID, okType, okRegion, okTime, okSource, okData, okData}, ",")), "data", events.ReasonDuplicateKey},
		{"missing id", env("id", ""), "id", events.ReasonMissingField},
		{"missing type", env("type", ""), "type", events.ReasonMissingField},
		{"missing region", env("region", ""), "region", events.ReasonMissingField},
		{"missing time", env("time", ""), "time", events.ReasonMissingField},
		{"missing source", env("source", ""), "source", events.ReasonMissingField},
		{"missing data", env("data", ""), "data", events.ReasonMissingField},
		{"empty object", `{}`, "id", events.ReasonMissingField},
		{"id is a number", env("id", `"id":123`), "id", events.ReasonWrongType},
		{"id is null", env("id", `"id":null`), "id", events.ReasonWrongType},
		{"data is null", env("data", `"data":null`), "data", events.ReasonWrongType},
		{"data is an array", env("data", `"data":[]`), "data", events.ReasonWrongType},
		{"data is a string", env("data", `"data":"{}"`), "data", events.ReasonWrongType},
		{"id empty", env("id", `"id":""`), "id", events.ReasonEmpty},
		{"id 128 characters", env("id", `"id":"`+strings.Repeat("a", 128)+`"`), "", ""},
		{"id 129 characters", env("id", `"id":"`+strings.Repeat("a", 129)+`"`), "id", events.ReasonTooLong},
		{"id all allowed characters", env("id", `"id":"AZaz09._:-"`), "", ""},
		{"id with space", env("id", `"id":"a b"`), "id", events.ReasonBadFormat},
		{"id with slash", env("id", `"id":"a/b"`), "id", events.ReasonBadFormat},
		{"id with escaped NUL", env("id", `"id":"a\u0000"`), "id", events.ReasonBadFormat},
		{"type unknown", env("type", `"type":"feedback.liked"`), "type", events.ReasonUnknownType},
		{"type upper case", env("type", `"type":"Feedback.Rated"`), "type", events.ReasonUnknownType},
		{"type family only", env("type", `"type":"feedback"`), "type", events.ReasonUnknownType},
		{"region unknown", env("region", `"region":"330001"`), "region", events.ReasonUnknownRegion},
		{"region empty", env("region", `"region":""`), "region", events.ReasonUnknownRegion},
		{"region corps", env("region", `"region":"660000"`), "", ""},
		{"region is a number", env("region", `"region":330000`), "region", events.ReasonWrongType},
		{"time is a number", env("time", `"time":1478136600`), "time", events.ReasonWrongType},
		{"time Z", timeEv("2016-11-03T09:30:00Z"), "", ""},
		{"time offset", timeEv("2016-11-03T09:30:00+08:00"), "", ""},
		{"time negative offset", timeEv("2016-11-03T09:30:00-05:30"), "", ""},
		{"time 9 fraction digits", timeEv("2016-11-03T09:30:00.123456789Z"), "", ""},
		{"time 10 fraction digits", timeEv("2016-11-03T09:30:00.1234567891Z"), "time", events.ReasonBadFormat},
		{"time empty fraction", timeEv("2016-11-03T09:30:00.Z"), "time", events.ReasonBadFormat},
		{"time lower-case t", timeEv("2016-11-03t09:30:00Z"), "time", events.ReasonBadFormat},
		{"time lower-case z", timeEv("2016-11-03T09:30:00z"), "time", events.ReasonBadFormat},
		{"time space separator", timeEv("2016-11-03 09:30:00Z"), "time", events.ReasonBadFormat},
		{"time without zone", timeEv("2016-11-03T09:30:00"), "time", events.ReasonBadFormat},
		{"time without seconds", timeEv("2016-11-03T09:30Z"), "time", events.ReasonBadFormat},
		{"time offset without colon", timeEv("2016-11-03T09:30:00+0800"), "time", events.ReasonBadFormat},
		{"time hour 24", timeEv("2016-11-03T24:00:00Z"), "time", events.ReasonBadFormat},
		{"time leap second", timeEv("2016-12-31T23:59:60Z"), "time", events.ReasonBadFormat},
		{"time 29 February 2016", timeEv("2016-02-29T00:00:00Z"), "", ""},
		{"time 29 February 2017", timeEv("2017-02-29T00:00:00Z"), "time", events.ReasonBadFormat},
		{"time 31 April", timeEv("2017-04-31T00:00:00Z"), "time", events.ReasonBadFormat},
		{"time month 13", timeEv("2017-13-01T00:00:00Z"), "time", events.ReasonBadFormat},
		{"time before 2000", timeEv("1999-12-31T23:59:59.999999999Z"), "time", events.ReasonBadTime},
		{"time exactly 2000", timeEv("2000-01-01T00:00:00Z"), "", ""},
		{"time 2000 by offset", timeEv("2000-01-01T07:59:59+08:00"), "time", events.ReasonBadTime},
		{"time beyond year 9999", timeEv("9999-12-31T23:00:00-05:00"), "time", events.ReasonBadTime},
		{"source empty", sourceEv(""), "source", events.ReasonEmpty},
		{"source 200 Chinese characters", sourceEv(han200), "", ""},
		{"source 201 Chinese characters", sourceEv(han200 + "省"), "source", events.ReasonTooLong},
		{"source escaped NUL", sourceEv(`a\u0000b`), "source", events.ReasonControlChar},
		{"source escaped tab", sourceEv(`a\tb`), "source", events.ReasonControlChar},
		{"source DEL", sourceEv("a\x7fb"), "source", events.ReasonControlChar},
		{"source escaped quote", sourceEv(`probe \"zj\"`), "", ""},
		{"unknown member before bad id", withMembers(`"id":"a b","zzz":1`), "zzz", events.ReasonUnknownField},
		{"missing member before bad id", withMembers(`"id":"a b"`), "type", events.ReasonMissingField},
		{"bad id before bad type", withMembers(`"id":"a b","type":"x",` + okRegion + "," + okTime + "," + okSource + "," + okData), "id", events.ReasonBadFormat},
		{"envelope value before payload member", withMembers(`"id":"a b",` + okType + "," + okRegion + "," + okTime + "," + okSource + `,"data":{"zzz":1}`), "id", events.ReasonBadFormat},
		{"data of another type", envelope("catalog.item", `{"rating":4,"channel":"web"}`), "data.rating", events.ReasonUnknownField},

		// catalog.item
		{"catalog valid", catalog(`{"item_code":"A-1","level":"county","required":true}`), "", ""},
		{"catalog required as string", catalog(`{"item_code":"A-1","level":"county","required":"true"}`), "data.required", events.ReasonWrongType},
		{"catalog required as number", catalog(`{"item_code":"A-1","level":"county","required":1}`), "data.required", events.ReasonWrongType},
		{"catalog required missing", catalog(`{"item_code":"A-1","level":"county"}`), "data.required", events.ReasonMissingField},
		{"catalog item_code 64", catalog(`{"item_code":"` + strings.Repeat("x", 64) + `","level":"county","required":false}`), "", ""},
		{"catalog item_code 65", catalog(`{"item_code":"` + strings.Repeat("x", 65) + `","level":"county","required":false}`), "data.item_code", events.ReasonTooLong},
		{"catalog item_code colon", catalog(`{"item_code":"A:1","level":"county","required":false}`), "data.item_code", events.ReasonBadFormat},
		{"catalog item_code empty", catalog(`{"item_code":"","level":"county","required":false}`), "data.item_code", events.ReasonEmpty},
		{"catalog level unknown", catalog(`{"item_code":"A","level":"state","required":false}`), "data.level", events.ReasonUnknownValue},
		{"catalog level upper case", catalog(`{"item_code":"A","level":"City","required":false}`), "data.level", events.ReasonUnknownValue},
		{"catalog unknown member", catalog(`{"item_code":"A","level":"city","required":false,"extra":null}`), "data.extra", events.ReasonUnknownField},
		{"catalog duplicate level", catalog(`{"item_code":"A","level":"city","level":"city","required":false}`), "data.level", events.ReasonDuplicateKey},
		{"catalog empty data", catalog(`{}`), "data.item_code", events.ReasonMissingField},

		// service.published
		{"published valid", pub("", ""), "", ""},
		{"published modes empty", pub("modes", `"modes":[]`), "", ""},
		{"published all modes", pub("modes", `"modes":["online_apply","online_payment","result_delivery","mobile","appointment","consultation","progress_query","evaluation"]`), "", ""},
		{"published modes repeated", pub("modes", `"modes":["mobile","mobile"]`), "data.modes[1]", events.ReasonDuplicateValue},
		{"published mode unknown", pub("modes", `"modes":["fax"]`), "data.modes[0]", events.ReasonUnknownValue},
		{"published modes string", pub("modes", `"modes":"mobile"`), "data.modes", events.ReasonWrongType},
		{"published modes null", pub("modes", `"modes":null`), "data.modes", events.ReasonWrongType},
		{"published mode number", pub("modes", `"modes":["mobile",1]`), "data.modes[1]", events.ReasonWrongType},
		{"published modes missing", pub("modes", ""), "data.modes", events.ReasonMissingField},
		{"published maturity 0", pub("maturity", `"maturity":0`), "", ""},
		{"published maturity 4", pub("maturity", `"maturity":4`), "", ""},
		{"published maturity 3.0", pub("maturity", `"maturity":3.0`), "data.maturity", events.ReasonNotInteger},
		{"published maturity 3e0", pub("maturity", `"maturity":3e0`), "data.maturity", events.ReasonNotInteger},
		{"published maturity -0", pub("maturity", `"maturity":-0`), "data.maturity", events.ReasonNotInteger},
		{"published maturity string", pub("maturity", `"maturity":"3"`), "data.maturity", events.ReasonWrongType},
		{"published maturity bool", pub("maturity", `"maturity":true`), "data.maturity", events.ReasonWrongType},
		{"published maturity 5", pub("maturity", `"maturity":5`), "data.maturity", events.ReasonOutOfRange},
		{"published maturity -1", pub("maturity", `"maturity":-1`), "data.maturity", events.ReasonOutOfRange},
		{"published maturity huge", pub("maturity", `"maturity":100000000000000000000000`), "data.maturity", events.ReasonOutOfRange},
		{"published maturity huge negative", pub("maturity", `"maturity":-100000000000000000000000`), "data.maturity", events.ReasonOutOfRange},
		{"published name 200 Chinese characters", pub("name", `"name":"`+han200+`"`), "", ""},
		{"published name 201 Chinese characters", pub("name", `"name":"`+han200+`局"`), "data.name", events.ReasonTooLong},
		{"published name 201 ASCII", pub("name", `"name":"`+strings.Repeat("n", 201)+`"`), "data.name", events.ReasonTooLong},
		{"published name escaped NUL", pub("name", `"name":"a\u0000"`), "data.name", events.ReasonControlChar},
		{"published name escaped newline", pub("name", `"name":"a\nb"`), "data.name", events.ReasonControlChar},
		{"published name null", pub("name", `"name":null`), "data.name", events.ReasonWrongType},
		{"published name empty", pub("name", `"name":""`), "data.name", events.ReasonEmpty},
		{"published name escaped Chinese", pub("name", `"name":"\u6d59\u6c5f"`), "", ""},
		{"published department missing", pub("department", ""), "data.department", events.ReasonMissingField},
		{"published department control", pub("department", `"department":"a\u001fb"`), "data.department", events.ReasonControlChar},
		{"published value order", published(`{"item_code":"A","level":"x","name":"","department":"d","modes":[],"maturity":9}`), "data.level", events.ReasonUnknownValue},

		// portal (service.published, service.withdrawn, guide.audited)
		{"published portal", pub("", `"portal":"zwfw.zj.gov.cn"`), "", ""},
		{"published portal first", published(`{"portal":"app.zj.gov.cn","item_code":"A","level":"city","name":"n","department":"d","modes":[],"maturity":0}`), "", ""},
		{"published portal 200 Chinese characters", pub("", `"portal":"`+han200+`"`), "", ""},
		{"published portal 201 Chinese characters", pub("", `"portal":"`+han200+`网"`), "data.portal", events.ReasonTooLong},
		{"published portal empty", pub("", `"portal":""`), "data.portal", events.ReasonEmpty},
		{"published portal null", pub("", `"portal":null`), "data.portal", events.ReasonWrongType},
		{"published portal number", pub("", `"portal":1`), "data.portal", events.ReasonWrongType},
		{"published portal control", pub("", `"portal":"a\tb"`), "data.portal", events.ReasonControlChar},
		{"published portal repeated", pub("", `"portal":"a","portal":"b"`), "data.portal", events.ReasonDuplicateKey},
		{"published portal empty after bad maturity", pub("maturity", `"maturity":9,"portal":""`), "data.maturity", events.ReasonOutOfRange},
		{"withdrawn portal", withdrawn(`{"item_code":"A","level":"township","portal":"app.example"}`), "", ""},
		{"withdrawn portal empty", withdrawn(`{"item_code":"A","level":"township","portal":""}`), "data.portal", events.ReasonEmpty},
		{"withdrawn portal with bad level", withdrawn(`{"item_code":"A","level":"x","portal":""}`), "data.level", events.ReasonUnknownValue},
		{"guide portal", guide(`{"item_code":"A1","level":"city","elements":` + allElements + `,"consistent":true,"portal":"p2"}`), "", ""},
		{"guide portal empty", guide(`{"item_code":"A1","level":"city","elements":` + allElements + `,"consistent":true,"portal":""}`), "data.portal", events.ReasonEmpty},
		{"guide portal 201 ASCII", guide(`{"item_code":"A1","level":"city","elements":` + allElements + `,"consistent":true,"portal":"` + strings.Repeat("p", 201) + `"}`), "data.portal", events.ReasonTooLong},
		{"catalog portal unknown", catalog(`{"item_code":"A","level":"city","required":true,"portal":"p"}`), "data.portal", events.ReasonUnknownField},
		{"application portal unknown", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"portal":"p"}`), "data.portal", events.ReasonUnknownField},

		// service.withdrawn
		{"withdrawn valid", withdrawn(`{"item_code":"A","level":"township"}`), "", ""},
		{"withdrawn extra member", withdrawn(`{"item_code":"A","level":"township","required":true}`), "data.required", events.ReasonUnknownField},
		{"withdrawn level missing", withdrawn(`{"item_code":"A"}`), "data.level", events.ReasonMissingField},

		// guide.audited
		{"guide valid", elems(allElements), "", ""},
		{"guide element missing", elems(strings.Replace(allElements, `,"fees":"correct"`, "", 1)), "data.elements.fees", events.ReasonMissingField},
		{"guide element unknown", elems(strings.Replace(allElements, `"basis"`, `"color"`, 1)), "data.elements.color", events.ReasonUnknownField},
		{"guide verdict unknown", elems(strings.Replace(allElements, `"basis":"correct"`, `"basis":"ok"`, 1)), "data.elements.basis", events.ReasonUnknownValue},
		{"guide verdict number", elems(strings.Replace(allElements, `"fees":"correct"`, `"fees":1`, 1)), "data.elements.fees", events.ReasonWrongType},
		{"guide element repeated", elems(strings.Replace(allElements, `}`, `,"basis":"missing"}`, 1)), "data.elements.basis", events.ReasonDuplicateKey},
		{"guide elements array", elems(`["correct"]`), "data.elements", events.ReasonWrongType},
		{"guide elements empty", elems(`{}`), "data.elements.basis", events.ReasonMissingField},
		{"guide consistent missing", guide(`{"item_code":"A1","level":"city","elements":` + allElements + `}`), "data.consistent", events.ReasonMissingField},

		// platform.updated
		{"platform valid", platform(`{"integrated":true,"levels":["province","city"],"portals":12}`), "", ""},
		{"platform levels empty", platform(`{"integrated":false,"levels":[],"portals":1}`), "", ""},
		{"platform levels repeated", platform(`{"integrated":true,"levels":["city","province","city"],"portals":12}`), "data.levels[2]", events.ReasonDuplicateValue},
		{"platform level unknown", platform(`{"integrated":true,"levels":["nation"],"portals":12}`), "data.levels[0]", events.ReasonUnknownValue},
		{"platform portals 0", platform(`{"integrated":true,"levels":[],"portals":0}`), "data.portals", events.ReasonOutOfRange},
		{"platform portals 1000", platform(`{"integrated":true,"levels":[],"portals":1000}`), "", ""},
		{"platform portals 1001", platform(`{"integrated":true,"levels":[],"portals":1001}`), "data.portals", events.ReasonOutOfRange},
		{"platform integrated number", platform(`{"integrated":1,"levels":[],"portals":1}`), "data.integrated", events.ReasonWrongType},
		{"platform integrated string", platform(`{"integrated":"true","levels":[],"portals":1}`), "data.integrated", events.ReasonWrongType},

		// feedback.rated
		{"feedback without item", feedback(`{"rating":5,"channel":"hotline"}`), "", ""},
		{"feedback with item", feedback(`{"rating":1,"channel":"kiosk","item_code":"A","level":"city"}`), "", ""},
		{"feedback only item_code", feedback(`{"rating":3,"channel":"web","item_code":"A"}`), "data.level", events.ReasonMissingField},
		{"feedback only level", feedback(`{"rating":3,"channel":"web","level":"city"}`), "data.item_code", events.ReasonMissingField},
		{"feedback item_code null", feedback(`{"rating":3,"channel":"web","item_code":null,"level":"city"}`), "data.item_code", events.ReasonWrongType},
		{"feedback item_code empty", feedback(`{"rating":3,"channel":"web","item_code":"","level":"city"}`), "data.item_code", events.ReasonEmpty},
		{"feedback rating 0", feedback(`{"rating":0,"channel":"web"}`), "data.rating", events.ReasonOutOfRange},
		{"feedback rating 6", feedback(`{"rating":6,"channel":"web"}`), "data.rating", events.ReasonOutOfRange},
		{"feedback rating 3.0", feedback(`{"rating":3.0,"channel":"web"}`), "data.rating", events.ReasonNotInteger},
		{"feedback rating 3E0", feedback(`{"rating":3E0,"channel":"web"}`), "data.rating", events.ReasonNotInteger},
		{"feedback rating string", feedback(`{"rating":"3","channel":"web"}`), "data.rating", events.ReasonWrongType},
		{"feedback rating null", feedback(`{"rating":null,"channel":"web"}`), "data.rating", events.ReasonWrongType},
		{"feedback rating missing", feedback(`{"channel":"web"}`), "data.rating", events.ReasonMissingField},
		{"feedback channel unknown", feedback(`{"rating":3,"channel":"email"}`), "data.channel", events.ReasonUnknownValue},
		{"feedback channel number", feedback(`{"rating":3,"channel":2}`), "data.channel", events.ReasonWrongType},
		{"feedback rating before channel", feedback(`{"channel":"email","rating":9}`), "data.rating", events.ReasonOutOfRange},
		{"feedback member order free", feedback(`{"level":"county","channel":"mobile","item_code":"X","rating":2}`), "", ""},

		// application.completed
		{"application valid", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0}`), "", ""},
		{"application visits 20", application(`{"item_code":"A","level":"city","outcome":"rejected","online":false,"visits":20}`), "", ""},
		{"application visits 21", application(`{"item_code":"A","level":"city","outcome":"rejected","online":false,"visits":21}`), "data.visits", events.ReasonOutOfRange},
		{"application visits -1", application(`{"item_code":"A","level":"city","outcome":"rejected","online":false,"visits":-1}`), "data.visits", events.ReasonOutOfRange},
		{"application outcome unknown", application(`{"item_code":"A","level":"city","outcome":"done","online":false,"visits":1}`), "data.outcome", events.ReasonUnknownValue},
		{"application online string", application(`{"item_code":"A","level":"city","outcome":"abandoned","online":"yes","visits":1}`), "data.online", events.ReasonWrongType},
		{"application online missing", application(`{"item_code":"A","level":"city","outcome":"abandoned","visits":1}`), "data.online", events.ReasonMissingField},
		{"application first missing member", application(`{"visits":1}`), "data.item_code", events.ReasonMissingField},
		{"application timed", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"promised_days":5,"took_days":7}`), "", ""},
		{"application timed at the limits", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"promised_days":365,"took_days":3650}`), "", ""},
		{"application timed zero", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"took_days":0,"promised_days":0}`), "", ""},
		{"application promised without took", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"promised_days":5}`), "data.took_days", events.ReasonMissingField},
		{"application took without promised", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"took_days":5}`), "data.promised_days", events.ReasonMissingField},
		{"application promised 366", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"promised_days":366,"took_days":1}`), "data.promised_days", events.ReasonOutOfRange},
		{"application promised -1", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"promised_days":-1,"took_days":1}`), "data.promised_days", events.ReasonOutOfRange},
		{"application took 3651", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"promised_days":1,"took_days":3651}`), "data.took_days", events.ReasonOutOfRange},
		{"application took string", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"promised_days":1,"took_days":"2"}`), "data.took_days", events.ReasonWrongType},
		{"application promised repeated", application(`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"promised_days":1,"promised_days":2,"took_days":2}`), "data.promised_days", events.ReasonDuplicateKey},

		// feedback.rated: the members of a review record
		{"feedback review record", feedback(`{"rating":1,"channel":"web","item_code":"A","level":"city","case_number":"330100-2024-000123","item_version":"v3.1","detail_codes":["slow","unclear_guide"],"comment":"材料要求前后不一致"}`), "", ""},
		{"feedback empty detail codes", feedback(`{"rating":2,"channel":"web","detail_codes":[]}`), "", ""},
		{"feedback case number empty", feedback(`{"rating":2,"channel":"web","case_number":""}`), "data.case_number", events.ReasonEmpty},
		{"feedback case number bad", feedback(`{"rating":2,"channel":"web","case_number":"a b"}`), "data.case_number", events.ReasonBadFormat},
		{"feedback case number null", feedback(`{"rating":2,"channel":"web","case_number":null}`), "data.case_number", events.ReasonWrongType},
		{"feedback item version 33", feedback(`{"rating":2,"channel":"web","item_version":"` + strings.Repeat("v", 33) + `"}`), "data.item_version", events.ReasonTooLong},
		{"feedback detail code repeated", feedback(`{"rating":2,"channel":"web","detail_codes":["a","b","a"]}`), "data.detail_codes[2]", events.ReasonDuplicateValue},
		{"feedback detail code bad", feedback(`{"rating":2,"channel":"web","detail_codes":["a","慢"]}`), "data.detail_codes[1]", events.ReasonBadFormat},
		{"feedback detail code number", feedback(`{"rating":2,"channel":"web","detail_codes":[1]}`), "data.detail_codes[0]", events.ReasonWrongType},
		{"feedback 17 detail codes", feedback(`{"rating":2,"channel":"web","detail_codes":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}`), "data.detail_codes", events.ReasonTooLong},
		{"feedback comment 500", feedback(`{"rating":2,"channel":"web","comment":"` + strings.Repeat("慢", 500) + `"}`), "", ""},
		{"feedback comment 501", feedback(`{"rating":2,"channel":"web","comment":"` + strings.Repeat("慢", 501) + `"}`), "data.comment", events.ReasonTooLong},
		{"feedback comment control", feedback(`{"rating":2,"channel":"web","comment":"a\u0007b"}`), "data.comment", events.ReasonControlChar},
		{"feedback comment duplicate", feedback(`{"rating":2,"channel":"web","comment":"a","comment":"b"}`), "data.comment", events.ReasonDuplicateKey},

		// feedback.appealed
		{"appealed valid", envelope("feedback.appealed", `{"review_id":"zj-fb-1","reason":"恶意差评"}`), "", ""},
		{"appealed review id bad", envelope("feedback.appealed", `{"review_id":"zj fb","reason":"x"}`), "data.review_id", events.ReasonBadFormat},
		{"appealed review id empty", envelope("feedback.appealed", `{"review_id":"","reason":"x"}`), "data.review_id", events.ReasonEmpty},
		{"appealed review id long", envelope("feedback.appealed", `{"review_id":"`+strings.Repeat("i", 129)+`","reason":"x"}`), "data.review_id", events.ReasonTooLong},
		{"appealed reason missing", envelope("feedback.appealed", `{"review_id":"r"}`), "data.reason", events.ReasonMissingField},
		{"appealed reason empty", envelope("feedback.appealed", `{"review_id":"r","reason":""}`), "data.reason", events.ReasonEmpty},
		{"appealed unknown member", envelope("feedback.appealed", `{"review_id":"r","reason":"x","rating":1}`), "data.rating", events.ReasonUnknownField},

		// feedback.appeal_decided
		{"decided upheld", envelope("feedback.appeal_decided", `{"review_id":"r","decision":"upheld"}`), "", ""},
		{"decided rejected", envelope("feedback.appeal_decided", `{"review_id":"r","decision":"rejected"}`), "", ""},
		{"decided unknown", envelope("feedback.appeal_decided", `{"review_id":"r","decision":"pending"}`), "data.decision", events.ReasonUnknownValue},
		{"decided bool", envelope("feedback.appeal_decided", `{"review_id":"r","decision":true}`), "data.decision", events.ReasonWrongType},
		{"decided missing review", envelope("feedback.appeal_decided", `{"decision":"upheld"}`), "data.review_id", events.ReasonMissingField},

		// rectification.opened
		{"opened valid", envelope("rectification.opened", `{"review_id":"r","deadline_days":5}`), "", ""},
		{"opened 60 days", envelope("rectification.opened", `{"review_id":"r","deadline_days":60}`), "", ""},
		{"opened 0 days", envelope("rectification.opened", `{"review_id":"r","deadline_days":0}`), "data.deadline_days", events.ReasonOutOfRange},
		{"opened 61 days", envelope("rectification.opened", `{"review_id":"r","deadline_days":61}`), "data.deadline_days", events.ReasonOutOfRange},
		{"opened days 1.5", envelope("rectification.opened", `{"review_id":"r","deadline_days":1.5}`), "data.deadline_days", events.ReasonNotInteger},
		{"opened days missing", envelope("rectification.opened", `{"review_id":"r"}`), "data.deadline_days", events.ReasonMissingField},

		// rectification.closed
		{"closed without rating", envelope("rectification.closed", `{"review_id":"r","resolved":true}`), "", ""},
		{"closed with rating", envelope("rectification.closed", `{"review_id":"r","resolved":false,"rating":5}`), "", ""},
		{"closed rating 0", envelope("rectification.closed", `{"review_id":"r","resolved":true,"rating":0}`), "data.rating", events.ReasonOutOfRange},
		{"closed rating 6", envelope("rectification.closed", `{"review_id":"r","resolved":true,"rating":6}`), "data.rating", events.ReasonOutOfRange},
		{"closed rating null", envelope("rectification.closed", `{"review_id":"r","resolved":true,"rating":null}`), "data.rating", events.ReasonWrongType},
		{"closed resolved string", envelope("rectification.closed", `{"review_id":"r","resolved":"yes"}`), "data.resolved", events.ReasonWrongType},
		{"closed resolved missing", envelope("rectification.closed", `{"review_id":"r"}`), "data.resolved", events.ReasonMissingField},
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases() {
		t.Run(tc.name, func(t *testing.T) {
			e, err := events.Decode([]byte(tc.in))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Decode: unexpected error %v", err)
				}
				if e == nil || e.Validate() != nil {
					t.Fatalf("Decode returned %+v, which does not validate", e)
				}
				assertRoundTrip(t, e)
				return
			}
			if err == nil {
				t.Fatalf("Decode accepted the input; want field %s reason %s", tc.field, tc.reason)
			}
			if e != nil {
				t.Errorf("Decode returned an event with an error")
			}
			var ee *events.Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %v is not an *events.Error", err)
			}
			if !errors.Is(err, events.ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			if ee.Field != tc.field || ee.Reason != tc.reason {
				t.Errorf("got field %q reason %q (%v); want field %q reason %q",
					ee.Field, ee.Reason, err, tc.field, tc.reason)
			}
			if ee.Rule == "" || !validToken(ee.Reason) {
				t.Errorf("bad error %#v", ee)
			}
		})
	}
}

// validToken reports whether s can be a NATS subject token of snake_case.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// assertRoundTrip checks that the canonical form of e decodes to an equal
// event and encodes again to the same bytes.
func assertRoundTrip(t testing.TB, e *events.Event) {
	t.Helper()
	b1, err := e.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	e2, err := events.Decode(b1)
	if err != nil {
		t.Fatalf("Decode(MarshalJSON()) = %v for %s", err, b1)
	}
	if !equalEvents(e, e2) {
		t.Fatalf("round trip changed the event:\n%+v\n%+v", e, e2)
	}
	b2, err := e2.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON again: %v", err)
	}
	if string(b1) != string(b2) {
		t.Fatalf("MarshalJSON is not stable:\n%s\n%s", b1, b2)
	}
}

func TestDecodeValues(t *testing.T) {
	e, err := events.Decode([]byte(`{"source":"probe/zhejiang","data":{"maturity":3,` +
		`"modes":["mobile","online_apply"],"department":"省市场监管局","name":"\u4f01\u4e1a\u8bbe\u7acb",` +
		`"level":"province","item_code":"A-1"},"time":"2016-11-03T09:30:00.25+08:00","region":"330000",` +
		`"type":"service.published","id":"zj-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &events.Event{
		ID: "zj-1", Type: events.ServicePublished, Region: "330000",
		Time:   time.Date(2016, 11, 3, 1, 30, 0, 250_000_000, time.UTC),
		Source: "probe/zhejiang",
		Data: &events.ServicePublishedData{ItemCode: "A-1", Level: events.LevelProvince,
			Name: "企业设立", Department: "省市场监管局",
			Modes: []events.Mode{events.ModeMobile, events.ModeOnlineApply}, Maturity: 3},
	}
	if !equalEvents(e, want) {
		t.Fatalf("got %+v %+v\nwant %+v %+v", e, e.Data, want, want.Data)
	}
	if e.Time.Location() != time.UTC {
		t.Errorf("time location %v, want UTC", e.Time.Location())
	}

	e, err = events.Decode([]byte(elems(allElements)))
	if err != nil {
		t.Fatal(err)
	}
	g := e.Data.(*events.GuideAuditedData)
	if g.Elements[events.ElementMaterials.Index()] != events.Missing ||
		g.Elements[events.ElementTimeLimit.Index()] != events.Incorrect || g.Correct() != 6 || g.Consistent {
		t.Errorf("guide payload %+v", g)
	}

	e, err = events.Decode([]byte(platform(`{"integrated":false,"levels":[],"portals":1}`)))
	if err != nil {
		t.Fatal(err)
	}
	if p := e.Data.(*events.PlatformUpdatedData); p.Levels != nil {
		t.Errorf("empty levels decoded to %#v, want nil", p.Levels)
	}
}

func TestUnmarshalJSON(t *testing.T) {
	var e events.Event
	if err := e.UnmarshalJSON([]byte(env("", ""))); err != nil {
		t.Fatal(err)
	}
	if e.ID != "e-1" || e.Type != events.FeedbackRated {
		t.Errorf("got %+v", e)
	}
	if err := e.UnmarshalJSON([]byte(`{}`)); !errors.Is(err, events.ErrInvalid) {
		t.Errorf("UnmarshalJSON({}) = %v", err)
	}
	if e.ID != "e-1" {
		t.Errorf("a failed UnmarshalJSON changed the event")
	}
}

func TestPeekID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"id":"zj-1","type":"feedback.rated","data":{"rating":9}}`, "zj-1"},
		{`{"type":"nope","id":"a:b.c_d-e","region":3}`, "a:b.c_d-e"},
		{`{"id":"has space"}`, ""},
		{`{"id":12}`, ""},
		{`{"id":"zj-1",`, ""},
		{`[{"id":"zj-1"}]`, ""},
		{``, ""},
	} {
		if got := events.PeekID([]byte(tc.in)); got != tc.want {
			t.Errorf("PeekID(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
