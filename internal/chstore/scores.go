package chstore

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/govpulse/govpulse/internal/scoring"
)

// ScoreRow is a row of the scores view (and of the latest_scores and score_history views over it),
// method 2017's scores in named columns, or of the method_scores table behind it, every method's
// scores with their terms as arrays: the score of one region under one method as of one version. Its columns are the
// fields of scoring.Score with a chtype tag (see columnsOf); the names of the unit are not stored,
// and read back empty.
type ScoreRow = scoring.Score

// The tables whose columns a record type describes, chosen by the options of its chtype tags.
const (
	// tableScores is the scores view: fields without the option "methods".
	tableScores = "scores"
	// tableMethods is the method_scores table: fields without the option "scores".
	tableMethods = "methods"
)

// termsType is the chtype of scoring.Score.Terms: the columns term_names Array(String) and
// term_values Array(Nullable(Float64)), the names and values of the method's terms in its order,
// as Term.Value gives them.
const termsType = "Terms"

// countsColumn is the column of the method_scores table that stores every count of a score, the
// fields of scoring.Counts in field order (migration 0012): count i (from 1) of the struct is
// its element i, and the column named after the count is computed from it when read
// (published_items UInt64 ALIAS counts[1], ...). One column instead of one per count, because
// on ClickHouse 18.16 an INSERT costs a few files per stored column (docs/benchmarks.md).
const countsColumn = "counts"

// countsType is the ClickHouse type of countsColumn.
const countsType = "Array(UInt64)"

// countsStruct is the embedded struct whose fields are the elements of countsColumn.
var countsStruct = reflect.TypeFor[scoring.Counts]()

// field is one ClickHouse column of a record type, derived from a field's tags: json names it,
// chtype gives its type, and ",ns" adds the column <name>_ns Int64 beside a DateTime.
type field struct {
	Name  string // the column, the field's JSON name
	Type  string // its ClickHouse type
	index []int  // the field in the record
	ns    bool   // a time also stored as <Name>_ns, and read back from it
	only  string // the table the column is in alone (tableScores, tableMethods), or ""
	count int    // a field of scoring.Counts: its element of countsColumn (from 1), else 0
}

// names returns the field's columns: term_names and term_values for the terms, the name and
// <name>_ns for a time with ns, else the name.
func (f field) names() []string {
	switch {
	case f.Type == termsType:
		return []string{"term_names", "term_values"}
	case f.ns:
		return []string{f.Name, f.Name + "_ns"}
	}
	return []string{f.Name}
}

// stored returns the field's columns that an INSERT writes: those of names but the DateTime of a
// time with ns, which the tables compute from <name>_ns when read (ALIAS; migration 0011 for
// method_scores).
func (f field) stored() []string {
	if f.ns {
		return []string{f.Name + "_ns"}
	}
	return f.names()
}

// Column is a column of a table as its record type describes it: name and ClickHouse type.
type Column struct{ Name, Type string }

// The ClickHouse types a column of a record may have, with the Go kinds each accepts.
var columnKinds = map[string][]reflect.Kind{
	"String":            {reflect.String},
	"Float64":           {reflect.Float64},
	"Nullable(Float64)": {reflect.Pointer},
	"UInt8":             {reflect.Bool, reflect.Int, reflect.Int64, reflect.Uint8},
	"UInt32":            {reflect.Int, reflect.Int64, reflect.Uint32},
	"UInt64":            {reflect.Int, reflect.Int64, reflect.Uint64},
	"DateTime('UTC')":   {reflect.Struct},
	termsType:           {reflect.Slice},
}

// columnsOf lists the columns of record type t in the table sel ("" for a type of one table):
// its fields with a chtype tag whose options do not name the other table, in field order, embedded
// structs inlined. It fails on a tag it cannot write (a programming error).
//
// The fields of an embedded scoring.Counts are numbered in field order (field.count): the
// elements of countsColumn, where method_scores stores them; they must be UInt64 columns.
func columnsOf(t reflect.Type, sel string) ([]field, error) {
	var out []field
	counts := 0
	var walk func(t reflect.Type, index []int, inCounts bool) error
	walk = func(t reflect.Type, index []int, inCounts bool) error {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				if err := walk(f.Type, idx, inCounts || f.Type == countsStruct); err != nil {
					return err
				}
				continue
			}
			tag, ok := f.Tag.Lookup("chtype")
			if !ok {
				continue
			}
			typ, opts, _ := strings.Cut(tag, ",")
			var opt string
			only := ""
			for _, o := range strings.Split(opts, ",") {
				switch o {
				case "":
				case tableScores, tableMethods:
					only = o
				default:
					opt = o
				}
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			kinds, known := columnKinds[typ]
			switch {
			case name == "" || name == "-":
				return fmt.Errorf("chstore: %s.%s: no json name for its column", t.Name(), f.Name)
			case !known:
				return fmt.Errorf("chstore: %s.%s: unsupported column type %q", t.Name(), f.Name, typ)
			case !contains(kinds, f.Type.Kind()),
				typ == "DateTime('UTC')" && f.Type != reflect.TypeFor[time.Time](),
				typ == "Nullable(Float64)" && f.Type != reflect.TypeFor[*float64](),
				typ == termsType && f.Type != reflect.TypeFor[[]scoring.TermValue]():
				return fmt.Errorf("chstore: %s.%s: a %s cannot be a %s column", t.Name(), f.Name, f.Type, typ)
			case opt != "" && (opt != "ns" || typ != "DateTime('UTC')"):
				return fmt.Errorf("chstore: %s.%s: unknown option %q", t.Name(), f.Name, opt)
			case inCounts && typ != "UInt64":
				return fmt.Errorf("chstore: %s.%s: a count is stored in %s, not as a %s", t.Name(), f.Name, countsColumn, typ)
			}
			count := 0
			if inCounts {
				counts++ // numbered whatever the table, so that an element keeps its number
				count = counts
			}
			if only != "" && sel != "" && only != sel {
				continue
			}
			out = append(out, field{Name: name, Type: typ, index: idx, ns: opt == "ns", only: only, count: count})
		}
		return nil
	}
	if err := walk(t, nil, false); err != nil {
		return nil, err
	}
	return out, nil
}

func contains(kinds []reflect.Kind, k reflect.Kind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// codec writes and reads the rows of one table whose record type R lists its columns in tags
// (see columnsOf). It is immutable and safe for concurrent use.
type codec[R any] struct {
	table  string
	fields []field
	list   string  // the column list of a SELECT, in field order
	stored string  // the column list of an INSERT: list without the columns computed when read
	packed bool    // the counts are stored in countsColumn, and their own columns computed from it
	counts []field // of a packed codec: the fields of the counts
	width  int     // of a packed codec: the elements of countsColumn, the highest field.count
}

// newCodec returns the codec of table for R, with the fields of sel (see columnsOf), storing the
// counts in countsColumn when packed; it panics on a tag it cannot honour, which is fixed at
// compile time (the tests derive every codec).
func newCodec[R any](table, sel string, packed bool) codec[R] {
	fs, err := columnsOf(reflect.TypeFor[R](), sel)
	if err != nil {
		panic(err)
	}
	cd := codec[R]{table: table, fields: fs, list: columnList(fs, field.names), packed: packed}
	cd.stored = columnList(fs, cd.storedColumns)
	if packed {
		for _, f := range fs {
			if f.count > 0 {
				cd.counts = append(cd.counts, f)
				cd.width = max(cd.width, f.count)
			}
		}
	}
	return cd
}

// storedColumns returns the columns an INSERT of the codec writes for f: field.stored, but for a
// count of a packed codec countsColumn in place of the first and nothing for the others.
func (cd codec[R]) storedColumns(f field) []string {
	switch {
	case !cd.packed || f.count == 0:
		return f.stored()
	case f.count == 1:
		return []string{countsColumn}
	}
	return nil
}

// scores is the codec of the scores view (method 2017's named columns, read only), methodScores
// the one of the method_scores table (every method, terms as arrays, where the view takes its
// rows from): their columns are the fields of scoring.Score.
var (
	scores       = newCodec[ScoreRow]("scores", tableScores, false)
	methodScores = newCodec[ScoreRow]("method_scores", tableMethods, true)
)

// scoresOfMethods is the select list of scores' columns taken from method_scores directly, as the
// view scores takes them (0011_scores_views.sql): a column of the view alone (a term of method
// 2017) is its value in term_values at its name in term_names, assumeNotNull unless the
// column is Nullable. A reader of one unit's rows uses it to keep to method_scores' primary key,
// which ClickHouse 18.16 does not do through the view.
var scoresOfMethods = func() string {
	var b strings.Builder
	for _, f := range scores.fields {
		for _, name := range f.names() {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			switch {
			case f.only != tableScores:
				b.WriteString(name)
			case f.Type == "Nullable(Float64)":
				b.WriteString("term_values[indexOf(term_names, '" + name + "')] AS " + name)
			default:
				b.WriteString("assumeNotNull(term_values[indexOf(term_names, '" + name + "')]) AS " + name)
			}
		}
	}
	return b.String()
}()

// ScoreColumns returns the columns of the scores view as scoring.Score describes them, in field
// order, with the <name>_ns column after its time. The views latest_scores and score_history have
// the same columns, besides name_zh and name_en.
func ScoreColumns() []Column { return scores.columns() }

// MethodScoreColumns returns the columns of the method_scores table as scoring.Score describes
// them, in field order: also counts Array(UInt64), before the counts computed from it.
func MethodScoreColumns() []Column { return methodScores.columns() }

// columns lists the codec's columns with their types.
func (cd codec[R]) columns() []Column {
	var out []Column
	for _, c := range cd.fields {
		if cd.packed && c.count == 1 {
			out = append(out, Column{countsColumn, countsType})
		}
		switch {
		case c.Type == termsType:
			out = append(out, Column{"term_names", "Array(String)"}, Column{"term_values", "Array(Nullable(Float64))"})
		case c.ns:
			out = append(out, Column{c.Name, c.Type}, Column{c.Name + "_ns", "Int64"})
		default:
			out = append(out, Column{c.Name, c.Type})
		}
	}
	return out
}

// columnList is the column list of cs, each field giving its columns with names.
func columnList(cs []field, names func(field) []string) string {
	var b strings.Builder
	for _, c := range cs {
		for _, name := range names(c) {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(name)
		}
	}
	return b.String()
}

// insert stores rows with one INSERT block, column by column: one typed slice per column, so
// that no value is boxed.
func (cd codec[R]) insert(ctx context.Context, s *Store, rows []R) error {
	batch, err := s.conn.PrepareBatch(s.insertContext(ctx), "INSERT INTO "+s.table(cd.table)+" ("+cd.stored+")")
	if err != nil {
		return fmt.Errorf("chstore: insert %s: %w", cd.table, &prepareError{err})
	}
	vals := make([]reflect.Value, len(rows))
	for i := range rows {
		vals[i] = reflect.ValueOf(&rows[i]).Elem()
	}
	pos := 0
	appendColumn := func(col any) error {
		if err := batch.Column(pos).Append(col); err != nil {
			return fmt.Errorf("chstore: insert %s: column %d: %w", cd.table, pos, err)
		}
		pos++
		return nil
	}
	for _, c := range cd.fields {
		var cols []any
		typ := c.Type
		if cd.packed && c.count > 0 {
			if c.count > 1 { // in countsColumn, written with the first count
				continue
			}
			typ = countsType
		}
		switch typ {
		case countsType:
			cols = append(cols, cd.countsOf(vals))
		case "String":
			col := make([]string, len(rows))
			for i, v := range vals {
				col[i] = v.FieldByIndex(c.index).String()
			}
			cols = append(cols, col)
		case "Float64":
			col := make([]float64, len(rows))
			for i, v := range vals {
				col[i] = v.FieldByIndex(c.index).Float()
			}
			cols = append(cols, col)
		case "Nullable(Float64)":
			col := make([]*float64, len(rows))
			for i, v := range vals {
				col[i] = v.FieldByIndex(c.index).Interface().(*float64)
			}
			cols = append(cols, col)
		case "UInt8":
			col := make([]uint8, len(rows))
			for i, v := range vals {
				col[i] = uint8(unsigned(v.FieldByIndex(c.index)))
			}
			cols = append(cols, col)
		case "UInt32":
			col := make([]uint32, len(rows))
			for i, v := range vals {
				col[i] = uint32(unsigned(v.FieldByIndex(c.index)))
			}
			cols = append(cols, col)
		case "UInt64":
			col := make([]uint64, len(rows))
			for i, v := range vals {
				col[i] = unsigned(v.FieldByIndex(c.index))
			}
			cols = append(cols, col)
		case termsType:
			names, values := make([][]string, len(rows)), make([][]*float64, len(rows))
			for i, v := range vals {
				for _, tv := range termsOf(v.Addr().Interface()) {
					names[i] = append(names[i], tv.Name)
					values[i] = append(values[i], tv.Value)
				}
				if names[i] == nil {
					names[i], values[i] = []string{}, []*float64{}
				}
			}
			cols = append(cols, names, values)
		case "DateTime('UTC')":
			if c.ns { // the DateTime is computed from <name>_ns (see field.stored)
				col := make([]int64, len(rows))
				for i, v := range vals {
					col[i] = ns(v.FieldByIndex(c.index).Interface().(time.Time))
				}
				cols = append(cols, col)
				break
			}
			col := make([]time.Time, len(rows))
			for i, v := range vals {
				col[i] = dt(v.FieldByIndex(c.index).Interface().(time.Time))
			}
			cols = append(cols, col)
		}
		for _, col := range cols {
			if err := appendColumn(col); err != nil {
				_ = batch.Abort()
				return err
			}
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("chstore: insert %s: %w", cd.table, err)
	}
	return nil
}

// countsOf returns the column countsColumn of the rows vals: per row, its counts in the order of
// their elements (field.count), all in one backing array.
func (cd codec[R]) countsOf(vals []reflect.Value) [][]uint64 {
	n := cd.width
	all := make([]uint64, len(vals)*n)
	col := make([][]uint64, len(vals))
	for i, v := range vals {
		row := all[i*n : (i+1)*n : (i+1)*n]
		for _, c := range cd.counts {
			row[c.count-1] = unsigned(v.FieldByIndex(c.index))
		}
		col[i] = row
	}
	return col
}

// termsOf returns the terms of the score r points to as its method's Term.Value gives them (for
// method 2017, from its named fields), or its Terms when its method is unknown.
func termsOf(r any) []scoring.TermValue {
	s, ok := r.(*scoring.Score)
	if !ok {
		return nil
	}
	spec, ok := scoring.Lookup(s.Method)
	if !ok {
		return s.Terms
	}
	out := make([]scoring.TermValue, len(spec.Terms))
	for i, t := range spec.Terms {
		out[i] = scoring.TermValue{Name: t.Name, Value: t.Value(s)}
	}
	return out
}

// unsigned returns a bool, signed or unsigned integer field as the unsigned value a UInt column
// stores (a negative count, which the engine never produces, wraps as a conversion would).
func unsigned(v reflect.Value) uint64 {
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return 1
		}
		return 0
	case reflect.Int, reflect.Int64:
		return uint64(v.Int())
	}
	return v.Uint()
}

// scanner reads rows selected with a codec's column list; it reuses its buffers, so one scanner
// serves one query.
type scanner struct {
	fields []field
	dest   []any
}

func newScanner(fields []field) *scanner {
	sc := &scanner{fields: fields}
	for _, c := range fields {
		switch c.Type {
		case "String":
			sc.dest = append(sc.dest, new(string))
		case "Float64":
			sc.dest = append(sc.dest, new(float64))
		case "Nullable(Float64)":
			sc.dest = append(sc.dest, new(*float64))
		case "UInt8":
			sc.dest = append(sc.dest, new(uint8))
		case "UInt32":
			sc.dest = append(sc.dest, new(uint32))
		case "UInt64":
			sc.dest = append(sc.dest, new(uint64))
		case "DateTime('UTC')":
			sc.dest = append(sc.dest, new(time.Time))
		case termsType:
			sc.dest = append(sc.dest, new([]string), new([]*float64))
		}
		if c.ns {
			sc.dest = append(sc.dest, new(int64))
		}
	}
	return sc
}

// scan reads the current row of rows into the record r points to.
func (sc *scanner) scan(rows driver.Rows, r any) error {
	if err := rows.Scan(sc.dest...); err != nil {
		return err
	}
	v := reflect.ValueOf(r).Elem()
	pos := 0
	for _, c := range sc.fields {
		f := v.FieldByIndex(c.index)
		switch d := sc.dest[pos].(type) {
		case *string:
			f.SetString(*d)
		case *float64:
			f.SetFloat(*d)
		case **float64:
			f.Set(reflect.ValueOf(*d))
			*d = nil // the row owns the value; the next row scans a new one
		case *uint8:
			setUnsigned(f, uint64(*d))
		case *uint32:
			setUnsigned(f, uint64(*d))
		case *uint64:
			setUnsigned(f, *d)
		case *[]string:
			pos++
			values := *sc.dest[pos].(*[]*float64)
			terms := make([]scoring.TermValue, len(*d))
			for i, name := range *d {
				terms[i].Name = name
				if i < len(values) {
					terms[i].Value = values[i]
				}
			}
			f.Set(reflect.ValueOf(terms))
			*d, *sc.dest[pos].(*[]*float64) = nil, nil
		case *time.Time:
			t := fromDT(*d)
			if c.ns {
				pos++
				t = fromNS(*sc.dest[pos].(*int64))
			}
			f.Set(reflect.ValueOf(t))
		}
		pos++
	}
	return nil
}

func setUnsigned(f reflect.Value, u uint64) {
	switch f.Kind() {
	case reflect.Bool:
		f.SetBool(u != 0)
	case reflect.Int, reflect.Int64:
		f.SetInt(int64(u))
	default:
		f.SetUint(u)
	}
}

// query runs q, which selects the codec's column list, and returns its rows.
func (cd codec[R]) query(ctx context.Context, conn driver.Conn, q string, args ...any) ([]R, error) {
	sc := newScanner(cd.fields)
	return query(ctx, conn, q, func(rows driver.Rows, r *R) error { return sc.scan(rows, r) }, args...)
}
