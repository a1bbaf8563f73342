package reviews

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/snapcodec"
	"github.com/govpulse/govpulse/pkg/events"
	"github.com/govpulse/govpulse/pkg/windows"
)

// ErrCorrupt is matched by the error of Restore for a snapshot it cannot read.
var ErrCorrupt = errors.New("reviews: corrupt snapshot")

// snapshotMagic starts every snapshot; its last byte is the format version.
// Format 2 adds the rows and alert rows stamped and not yet taken, and the rows marked and not yet
// stamped. Format 3 holds the reviews as records of the id store (in the snapshot when the
// tracker owns the store) instead of a ledger and a case each, a case only per review a
// lifecycle event named, and the latest review time of each region and the bad reviews naming an
// item that alerts may cite. Format 4 adds to each case whether its upheld decision came past the
// appeal horizon (Case.Expired); a format 3 snapshot is read with none (it had no horizon).
var snapshotMagic = []byte{'g', 'p', 'r', 4}

// snapshotFormat3 is the magic of the previous format, still read.
var snapshotFormat3 = []byte{'g', 'p', 'r', 3}

// tallyCodec and shortCodec encode the windows' accumulators.
type tallyCodec struct{}

func (tallyCodec) Append(dst []byte, v tally) []byte {
	return windows.Int64Codec{}.Append(windows.Int64Codec{}.Append(dst, v.Bad), v.Total)
}

func (tallyCodec) Read(src []byte) (tally, []byte, error) {
	var v tally
	var err error
	rest := src
	if v.Bad, rest, err = (windows.Int64Codec{}).Read(rest); err != nil {
		return v, src, err
	}
	if v.Total, rest, err = (windows.Int64Codec{}).Read(rest); err != nil {
		return v, src, err
	}
	return v, rest, nil
}

type shortCodec struct{}

func (shortCodec) Append(dst []byte, v shortTally) []byte {
	return snapcodec.AppendUvarint(snapcodec.AppendUvarint(dst, uint64(v.Bad)), uint64(v.Total))
}

func (shortCodec) Read(src []byte) (shortTally, []byte, error) {
	var v [2]uint32
	rest := src
	for i := range v {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > math.MaxUint32 {
			return shortTally{}, src, fmt.Errorf("%w: short window count", windows.ErrCorrupt)
		}
		v[i], rest = uint32(n), rest[k:]
	}
	return shortTally{Bad: v[0], Total: v[1]}, rest, nil
}

// AppendSnapshot appends the whole state of the tracker to dst (deterministic: the same state
// gives the same bytes) and returns the extended slice. Restore reads it back.
func (t *Tracker) AppendSnapshot(dst []byte) []byte {
	dst = append(dst, snapshotMagic...)
	dst = snapcodec.AppendTime(dst, t.wm)
	dst = t.rolling.AppendSnapshot(dst, windows.StringCodec{}, tallyCodec{})
	dst = t.short.AppendSnapshot(dst, windows.StringCodec{}, shortCodec{})
	dst = snapcodec.AppendBool(dst, t.ownIDs)
	if t.ownIDs {
		dst = t.ids.AppendSnapshot(dst)
	}
	keys := make([]string, 0, len(t.cases))
	for k := range t.cases {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = snapcodec.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = appendCase(dst, t.cases[k])
	}
	dst = appendLatest(dst, t.latest)
	regions := make([]string, 0, len(t.bad))
	for r := range t.bad {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	dst = snapcodec.AppendUvarint(dst, uint64(len(regions)))
	for _, r := range regions {
		dst = snapcodec.AppendString(dst, r)
		dst = snapcodec.AppendUvarint(dst, uint64(len(t.bad[r])))
		for _, b := range t.bad[r] {
			dst = append(dst, b.fp[:]...)
			dst = snapcodec.AppendVarint(dst, b.t)
			dst = snapcodec.AppendString(dst, b.item)
			dst = snapcodec.AppendBool(dst, b.void)
		}
	}
	regions = regions[:0]
	for r := range t.active {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	dst = snapcodec.AppendUvarint(dst, uint64(len(regions)))
	for _, r := range regions {
		dst = appendAlert(dst, t.active[r])
	}
	dst = snapcodec.AppendUvarint(dst, uint64(len(t.alerts)))
	for _, a := range t.alerts {
		dst = appendAlert(dst, a)
	}
	marked := make([]RowKey, 0, len(t.marked))
	for k := range t.marked {
		marked = append(marked, k)
	}
	slices.SortFunc(marked, compareKeys)
	dst = snapcodec.AppendUvarint(dst, uint64(len(marked)))
	for _, k := range marked {
		dst = appendKey(dst, k)
	}
	rows := make([]RowKey, 0, len(t.rows))
	for k := range t.rows {
		rows = append(rows, k)
	}
	slices.SortFunc(rows, compareKeys)
	dst = snapcodec.AppendUvarint(dst, uint64(len(rows)))
	for _, k := range rows {
		dst = appendStatRow(dst, t.rows[k])
	}
	dst = snapcodec.AppendUvarint(dst, uint64(len(t.stamped)))
	for _, r := range t.stamped {
		dst = appendAlertRow(dst, r)
	}
	return dst
}

func appendKey(dst []byte, k RowKey) []byte {
	dst = snapcodec.AppendString(dst, k.Region)
	dst = snapcodec.AppendString(dst, k.Period)
	return snapcodec.AppendTime(dst, k.Start)
}

func readKey(d *snapcodec.Reader) RowKey {
	return RowKey{Region: d.String(), Period: d.String(), Start: d.Time()}
}

func appendRate(dst []byte, v *float64) []byte {
	dst = snapcodec.AppendBool(dst, v != nil)
	if v != nil {
		dst = windows.FloatCodec[float64]{}.Append(dst, *v)
	}
	return dst
}

func readRate(d *snapcodec.Reader) *float64 {
	if !d.Bool() {
		return nil
	}
	var v float64
	d.With(func(b []byte) ([]byte, error) {
		var err error
		v, b, err = windows.FloatCodec[float64]{}.Read(b)
		return b, err
	})
	return &v
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = snapcodec.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = snapcodec.AppendString(dst, s)
	}
	return dst
}

func readStrings(d *snapcodec.Reader) []string {
	n := d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("string count")
		return nil
	}
	var out []string
	for range n {
		out = append(out, d.String())
	}
	return out
}

func appendStatRow(dst []byte, r chstore.ReviewStatRow) []byte {
	dst = appendKey(dst, RowKey{Region: r.Region, Period: r.Period, Start: r.PeriodStart})
	dst = snapcodec.AppendTime(dst, r.PeriodEnd)
	for _, n := range []uint64{r.Version, r.Reviews, r.Bad, r.Appeals, r.AppealsUpheld, r.Opened, r.ClosedOnTime,
		r.ClosedLate, r.Overdue, r.FollowUps, r.FollowUpSum} {
		dst = snapcodec.AppendUvarint(dst, n)
	}
	dst = appendRate(dst, r.BadRate)
	dst = appendRate(dst, r.OnTimeRate)
	dst = appendRate(dst, r.FollowUpMean)
	dst = appendStrings(dst, r.OverdueCases)
	return snapcodec.AppendTime(dst, r.AsOf)
}

func readStatRow(d *snapcodec.Reader) chstore.ReviewStatRow {
	k := readKey(d)
	r := chstore.ReviewStatRow{Region: k.Region, Period: k.Period, PeriodStart: k.Start, PeriodEnd: d.Time()}
	for _, p := range []*uint64{&r.Version, &r.Reviews, &r.Bad, &r.Appeals, &r.AppealsUpheld, &r.Opened,
		&r.ClosedOnTime, &r.ClosedLate, &r.Overdue, &r.FollowUps, &r.FollowUpSum} {
		*p = d.Uvarint()
	}
	r.BadRate, r.OnTimeRate, r.FollowUpMean = readRate(d), readRate(d), readRate(d)
	r.OverdueCases = readStrings(d)
	r.AsOf = d.Time()
	return r
}

func appendAlertRow(dst []byte, r chstore.AlertRow) []byte {
	for _, s := range []string{r.Region, r.ID, r.State} {
		dst = snapcodec.AppendString(dst, s)
	}
	dst = snapcodec.AppendTime(dst, r.WindowStart)
	dst = snapcodec.AppendTime(dst, r.WindowEnd)
	for _, n := range []uint64{r.Bad, r.Reviews, r.BaselineBad, r.BaselineReviews, r.MinCount, r.Version} {
		dst = snapcodec.AppendUvarint(dst, n)
	}
	dst = windows.FloatCodec[float64]{}.Append(dst, r.Factor)
	dst = appendStrings(dst, r.TopItems)
	dst = snapcodec.AppendUvarint(dst, uint64(len(r.TopBad)))
	for _, n := range r.TopBad {
		dst = snapcodec.AppendUvarint(dst, n)
	}
	return snapcodec.AppendTime(dst, r.RecordedAt)
}

func readAlertRow(d *snapcodec.Reader) chstore.AlertRow {
	var r chstore.AlertRow
	r.Region, r.ID, r.State = d.String(), d.String(), d.String()
	r.WindowStart, r.WindowEnd = d.Time(), d.Time()
	for _, p := range []*uint64{&r.Bad, &r.Reviews, &r.BaselineBad, &r.BaselineReviews, &r.MinCount, &r.Version} {
		*p = d.Uvarint()
	}
	d.With(func(b []byte) ([]byte, error) {
		var err error
		r.Factor, b, err = windows.FloatCodec[float64]{}.Read(b)
		return b, err
	})
	r.TopItems = readStrings(d)
	n := d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("top bad count")
		return r
	}
	for range n {
		r.TopBad = append(r.TopBad, d.Uvarint())
	}
	r.RecordedAt = d.Time()
	return r
}

func appendLatest(dst []byte, latest map[string]int64) []byte {
	regions := make([]string, 0, len(latest))
	for r := range latest {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	dst = snapcodec.AppendUvarint(dst, uint64(len(regions)))
	for _, r := range regions {
		dst = snapcodec.AppendString(dst, r)
		dst = snapcodec.AppendVarint(dst, latest[r])
	}
	return dst
}

func readFingerprint(d *snapcodec.Reader) windows.Fingerprint {
	var fp windows.Fingerprint
	d.With(func(b []byte) ([]byte, error) {
		if len(b) < len(fp) {
			return b, errors.New("fingerprint: short input")
		}
		copy(fp[:], b)
		return b[len(fp):], nil
	})
	return fp
}

func appendCase(dst []byte, c *Case) []byte {
	for _, s := range []string{c.Region, c.ReviewID, string(c.Decision)} {
		dst = snapcodec.AppendString(dst, s)
	}
	dst = snapcodec.AppendBool(dst, c.Seen)
	dst = snapcodec.AppendBool(dst, c.Appealed)
	dst = snapcodec.AppendBool(dst, c.Resolved)
	dst = snapcodec.AppendBool(dst, c.Expired)
	for _, n := range []int{c.Rating, c.DeadlineDays, c.FollowUp} {
		dst = snapcodec.AppendVarint(dst, int64(n))
	}
	for _, tm := range []time.Time{c.Time, c.Opened, c.Deadline, c.Closed, c.last} {
		dst = snapcodec.AppendTime(dst, tm)
	}
	return dst
}

// readCase reads a case of appendCase; format3 reads one of format 3, without Expired.
func readCase(d *snapcodec.Reader, format3 bool) *Case {
	c := &Case{}
	c.Region, c.ReviewID = d.String(), d.String()
	c.Decision = events.Decision(d.String())
	c.Seen, c.Appealed, c.Resolved = d.Bool(), d.Bool(), d.Bool()
	if !format3 {
		c.Expired = d.Bool()
		if c.Expired && c.Decision != events.Upheld {
			d.Fail("case expired without an upheld decision")
		}
	}
	c.Rating, c.DeadlineDays, c.FollowUp = int(d.Varint()), int(d.Varint()), int(d.Varint())
	c.Time, c.Opened, c.Deadline, c.Closed, c.last = d.Time(), d.Time(), d.Time(), d.Time(), d.Time()
	if c.Decision != "" && !c.Decision.Valid() {
		d.Fail("decision")
	}
	return c
}

func appendAlert(dst []byte, a Alert) []byte {
	dst = snapcodec.AppendString(dst, a.Region)
	dst = snapcodec.AppendString(dst, a.ID)
	dst = snapcodec.AppendBool(dst, a.Ended)
	dst = snapcodec.AppendTime(dst, a.Window.Start)
	dst = snapcodec.AppendTime(dst, a.Window.End)
	for _, n := range []int64{a.Bad, a.Reviews, a.BaselineBad, a.BaselineReviews, int64(a.MinCount)} {
		dst = snapcodec.AppendVarint(dst, n)
	}
	dst = windows.FloatCodec[float64]{}.Append(dst, a.Factor)
	dst = snapcodec.AppendUvarint(dst, uint64(len(a.TopItems)))
	for _, it := range a.TopItems {
		dst = snapcodec.AppendString(dst, it.ItemCode)
		dst = snapcodec.AppendVarint(dst, it.Bad)
	}
	return dst
}

func readAlert(d *snapcodec.Reader) Alert {
	var a Alert
	a.Region, a.ID, a.Ended = d.String(), d.String(), d.Bool()
	a.Window.Start, a.Window.End = d.Time(), d.Time()
	a.Bad, a.Reviews, a.BaselineBad, a.BaselineReviews = d.Varint(), d.Varint(), d.Varint(), d.Varint()
	a.MinCount = int(d.Varint())
	d.With(func(b []byte) ([]byte, error) {
		var err error
		a.Factor, b, err = windows.FloatCodec[float64]{}.Read(b)
		return b, err
	})
	n := d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("top items")
		return a
	}
	for range n {
		a.TopItems = append(a.TopItems, ItemCount{ItemCode: d.String(), Bad: d.Varint()})
	}
	return a
}

// Restore returns the tracker of a snapshot written by AppendSnapshot with the same cfg (or by the
// previous format, 3). Input it cannot read gives an error matching ErrCorrupt.
func Restore(cfg Config, snap []byte) (*Tracker, error) {
	t, err := New(cfg)
	if err != nil {
		return nil, err
	}
	format3 := len(snap) >= len(snapshotFormat3) && string(snap[:len(snapshotFormat3)]) == string(snapshotFormat3)
	if !format3 && (len(snap) < len(snapshotMagic) || string(snap[:len(snapshotMagic)]) != string(snapshotMagic)) {
		return nil, fmt.Errorf("%w: not a snapshot of this format", ErrCorrupt)
	}
	d := snapcodec.NewReader(snap[len(snapshotMagic):], ErrCorrupt)
	t.wm = d.Time()
	d.With(func(b []byte) ([]byte, error) {
		var err error
		t.rolling, b, err = windows.Restore(t.rolling.Config(), windows.Aggregator[rating, tally, tally](tallyAgg{}),
			windows.StringCodec{}, tallyCodec{}, b)
		return b, err
	})
	d.With(func(b []byte) ([]byte, error) {
		var err error
		t.short, b, err = windows.Restore(t.short.Config(), windows.Aggregator[rating, shortTally, tally](shortAgg{}),
			windows.StringCodec{}, shortCodec{}, b)
		return b, err
	})
	if own := d.Bool(); d.Err() == nil && own != t.ownIDs {
		d.Fail("id store: the snapshot's owner differs from the configuration's")
	}
	if t.ownIDs {
		d.With(func(b []byte) ([]byte, error) {
			var err error
			t.ids, b, err = windows.ReadDedup(b)
			return b, err
		})
	}
	n := d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("case count")
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		c := readCase(d, format3)
		t.cases[caseKey(c.Region, c.ReviewID)] = c
		t.units[c.Region]++
		if c.Decision != "" || !c.Opened.IsZero() {
			t.live(c)
		}
	}
	n = d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("region count")
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		t.latest[d.String()] = d.Varint()
	}
	n = d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("region count")
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		region := d.String()
		m := d.Uvarint()
		if m > uint64(d.Len()) {
			d.Fail("bad review count")
			break
		}
		var bs []badItem
		for j := uint64(0); j < m && d.Err() == nil; j++ {
			b := badItem{fp: readFingerprint(d)}
			b.t, b.item, b.void = d.Varint(), d.String(), d.Bool()
			bs = append(bs, b)
		}
		if len(bs) == 0 {
			d.Fail("bad reviews of a region: none")
		}
		t.bad[region] = bs
	}
	n = d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("alert count")
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		a := readAlert(d)
		t.active[a.Region] = a
	}
	n = d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("alert count")
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		t.alerts = append(t.alerts, readAlert(d))
	}
	n = d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("marked row count")
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		t.marked[readKey(d)] = true
	}
	n = d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("row count")
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		r := readStatRow(d)
		t.rows[RowKey{Region: r.Region, Period: r.Period, Start: r.PeriodStart}] = r
	}
	n = d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("alert row count")
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		t.stamped = append(t.stamped, readAlertRow(d))
	}
	if d.Err() == nil && d.Len() != 0 {
		d.Fail("trailing bytes")
	}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("reviews: restore: %w", err)
	}
	if !t.wm.IsZero() {
		t.ids.ExpireRecords(t.wm.Add(-t.cfg.recordsKept())) // as advance noted it
	}
	return t, nil
}
