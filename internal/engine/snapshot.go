package engine

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/snapcodec"
	"github.com/govpulse/govpulse/pkg/windows"
)

// Errors of Restore.
var (
	// ErrCorrupt is matched by the error of Restore for bytes that are not
	// an intact engine snapshot.
	ErrCorrupt = errors.New("engine: corrupt snapshot")
	// ErrIncompatible is matched by the error of Restore for an intact
	// snapshot of another format version, scoring method or partition
	// configuration; the state must then be rebuilt from the stream.
	ErrIncompatible = errors.New("engine: incompatible snapshot")
)

// snapshotMagic starts every snapshot; its last byte is the format version.
// Format 2 remembers applied events by their identity, region and id
// together (scoring.md rule 7), and stores the item limit with the
// configuration; format 1 remembered bare ids, which another unit's events
// could match, so a format 1 snapshot is never read: the state is rebuilt.
// Format 3 adds the composites in force before the last ranking change
// (Part needs them); a format 2 snapshot is rebuilt too.
//
// Format 4 lists the methods (each with its ranking) instead of one, and
// keeps the window counts of method 2022; format 4 also existed adding only
// what explains the next changes to format 3. Format 5 has both: the
// methods, and per method the scores and ranking the last Drain returned,
// with the causes accumulated since. Snapshots of formats 3 and 4 are
// rebuilt, so that the first changes after them are explained completely.
// Format 6 added either the portal state of every unit (internal/portals)
// or the units below the provincial level and the rankings of the groups of
// units; format 7 has both. Snapshots of format 5 and 6 are rebuilt, so that
// the inconsistencies between portals and the group rankings are complete.
// Format 8 adds the bounds of the portal state (Config.PortalLimits) to the
// configuration, since they decide which events were applied; a format 7
// snapshot is rebuilt.
// Format 9 adds the lifecycle of reviews: the ledger of the satisfaction
// windows' reviews, by identity, and the reviews tracker; a format 8
// snapshot is rebuilt, so that voids and the review outputs are complete.
// Format 10 remembers applied events by a keyed 96-bit fingerprint of their
// identity (the key in the snapshot) instead of the identity itself; a
// format 9 snapshot is rebuilt.
// Format 11 holds each review once, as a record in the slot of its id among
// the remembered ids (its time and rating), instead of in two ledgers by
// identity and a case of the tracker each; a format 10 snapshot is rebuilt.
// Format 12 adds the appeal horizon (Config.AppealHorizon) to the
// configuration and to each case of the tracker whether its decision came
// past it; a format 11 snapshot, written when an appeal could void a review
// for as long as a window counted it, is rebuilt, so that every void is
// judged by the horizon.
const snapshotMagic = "gpe\x0c"

// formatNotes says, per older format version, why its snapshots cannot be
// used; Restore puts it in its error, which the aggregator logs.
var formatNotes = map[byte]string{
	1:  "format 1 remembered applied events by id alone; format 2 identifies them by region and id",
	2:  "format 2 lacks the composites before the last ranking change, which a partition's share of the ranking of all units needs",
	3:  "format 3 holds one method, lacks the window counts of method 2022 (bad ratings, no visit, on time) and what explains the next changes",
	4:  "format 4 holds either one method and what explains its changes, or the methods without what explains theirs; format 5 holds both",
	5:  "format 5 lacks the state of each unit's portals and the units below the provincial level with the rankings of their groups",
	6:  "format 6 holds either the state of each unit's portals or the units below the provincial level with the rankings of their groups; format 7 holds both",
	7:  "format 7 lacks the bounds of the portal state (portals per unit, items per portal) in its configuration",
	8:  "format 8 lacks the lifecycle of reviews (the reviews counted by identity, appeals, rectifications, alerts)",
	9:  "format 9 remembers applied events by their identity; format 10 keeps a keyed fingerprint of it, in a quarter of the memory",
	10: "format 10 holds every review three times (two ledgers by identity and a case); format 11 holds it once, as a record beside its remembered id",
	11: "format 11 lets an appeal void a review for as long as a window counts it; format 12 bounds it by the appeal horizon, in its configuration",
}

// AppendSnapshot appends the engine's whole state to dst and returns the
// extended slice: configuration, method, last sequence, watermark, dedup
// ids, windows, portal state, latest scores and ranking, and the outputs
// not yet drained. The encoding is deterministic (the same state gives the
// same bytes) and ends with a CRC-32 of the rest.
func (e *Engine) AppendSnapshot(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, snapshotMagic...)
	dst = binary.AppendUvarint(dst, uint64(len(e.cfg.Methods)))
	for _, m := range e.cfg.Methods {
		dst = snapcodec.AppendString(dst, m)
	}
	dst = appendConfig(dst, e.cfg)
	dst = e.appendUnits(dst)
	dst = binary.AppendUvarint(dst, e.lastSeq)
	dst = e.wm.AppendSnapshot(dst)
	dst = snapcodec.AppendBool(dst, e.hasDay)
	dst = binary.AppendVarint(dst, e.day)
	dst = e.dedup.AppendSnapshot(dst)
	dst = e.rolling.AppendSnapshot(dst, windows.IntCodec[int]{}, rollCodec{})
	dst = e.hourly.AppendSnapshot(dst, windows.IntCodec[int]{}, hourCodec{})
	for i := range e.regions {
		r := &e.regions[i]
		dst = r.state.AppendSnapshot(dst)
		dst = snapcodec.AppendBool(dst, r.scored)
		dst = snapcodec.AppendBool(dst, r.dirty)
		if r.scored {
			// Every method scores a region at the same event from the same
			// window.
			s := &r.scores[0]
			dst = binary.AppendUvarint(dst, s.Version)
			dst = snapcodec.AppendTime(dst, s.AsOf)
			dst = snapcodec.AppendTime(dst, r.win.Start)
			dst = snapcodec.AppendTime(dst, r.win.End)
			w := &r.win
			dst = appendInt64s(dst, w.Applications, w.OnlineCompleted, w.Ratings, w.RatingSum,
				w.RatingsBad, w.NoVisit, w.Timed, w.OnTime, w.RectificationsJudged, w.RectificationsOnTime)
		}
	}
	for m := range e.rk {
		rk := &e.rk[m]
		dst = snapcodec.AppendBool(dst, rk.has)
		dst = snapcodec.AppendBool(dst, rk.dirty)
		dst = binary.AppendUvarint(dst, rk.version)
		dst = snapcodec.AppendTime(dst, rk.asOf)
		for i := range e.provincial() {
			dst = binary.AppendUvarint(dst, uint64(rk.rank[i]))
			dst = binary.AppendUvarint(dst, uint64(rk.prev[i]))
			dst = binary.AppendUvarint(dst, math.Float64bits(rk.before[i]))
		}
	}
	keys := make([]winKey, 0, len(e.winVersions))
	for k := range e.winVersions {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b winKey) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.start, b.start)
	})
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = binary.AppendVarint(dst, int64(k.key))
		dst = binary.AppendVarint(dst, k.start)
		dst = binary.AppendUvarint(dst, e.winVersions[k])
	}
	dst = e.appendExplain(dst)
	dst = e.appendPortals(dst)
	dst = e.appendGroups(dst)
	dst = e.appendReviews(dst)
	return binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// Restore returns the engine saved by AppendSnapshot in snap, for the
// partition cfg. The error matches ErrCorrupt when snap is not an intact
// snapshot, and ErrIncompatible when it was written by another format
// version, for another scoring method or for another configuration.
func Restore(cfg Config, snap []byte) (*Engine, error) {
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if len(snap) < len(snapshotMagic)+4 {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(snap))
	}
	body, sum := snap[:len(snap)-4], binary.LittleEndian.Uint32(snap[len(snap)-4:])
	if string(body[:3]) != snapshotMagic[:3] {
		return nil, fmt.Errorf("%w: not an engine snapshot", ErrCorrupt)
	}
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	if body[3] != snapshotMagic[3] {
		why := ""
		if note, ok := formatNotes[body[3]]; ok {
			why = " (" + note + ")"
		}
		return nil, fmt.Errorf("%w: format version %d, want %d%s", ErrIncompatible, body[3], snapshotMagic[3], why)
	}
	d := snapcodec.NewReader(body[len(snapshotMagic):], ErrCorrupt)
	n := d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("method count")
	}
	var methods []string
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		methods = append(methods, d.String())
	}
	if d.Err() == nil && !slices.Equal(methods, e.cfg.Methods) {
		return nil, fmt.Errorf("%w: methods %q, want %q", ErrIncompatible, methods, e.cfg.Methods)
	}
	if c := readConfig(d); d.Err() == nil && !c.withMethods(methods).equal(e.cfg) {
		return nil, fmt.Errorf("%w: configuration %+v, want %+v", ErrIncompatible, c, e.cfg)
	}
	e.readUnits(d)
	if err := e.read(d); err != nil {
		return nil, err
	}
	return e, nil
}

// read restores the state after the header.
func (e *Engine) read(d *snapcodec.Reader) error {
	e.lastSeq = d.Uvarint()
	d.With(func(b []byte) ([]byte, error) {
		var err error
		e.wm, b, err = windows.ReadWatermark(b)
		return b, err
	})
	if d.Err() == nil && e.wm.OutOfOrderness() != e.cfg.OutOfOrderness {
		d.Fail("watermark bound")
	}
	e.hasDay = d.Bool()
	e.day = d.Varint()
	d.With(func(b []byte) ([]byte, error) {
		var err error
		e.dedup, b, err = windows.ReadDedup(b)
		return b, err
	})
	if w, ok := e.wm.Current(); ok && d.Err() == nil {
		e.dedup.Expire(w.Add(-e.cfg.AllowedLateness)) // as advance noted it
	}
	d.With(func(b []byte) ([]byte, error) {
		var err error
		e.rolling, b, err = windows.Restore[int](rollingConfig(e.cfg.AllowedLateness),
			windows.Aggregator[ux, rollAcc, rollAcc](rolling{}), windows.IntCodec[int]{}, rollCodec{}, b)
		return b, err
	})
	d.With(func(b []byte) ([]byte, error) {
		var err error
		e.hourly, b, err = windows.Restore[int](hourlyConfig(e.cfg.AllowedLateness),
			windows.Aggregator[ux, hourAcc, hourAcc](hourly{}), windows.IntCodec[int]{}, hourCodec{}, b)
		return b, err
	})
	for i := range e.regions {
		r := &e.regions[i]
		d.With(r.state.RestoreSnapshot)
		r.scored, r.dirty = d.Bool(), d.Bool()
		if r.dirty {
			e.dirtyUnits++
		}
		if r.scored {
			version := d.Uvarint()
			asOf := d.Time()
			win := scoring.Window{Start: d.Time(), End: d.Time()}
			for _, p := range []*int64{&win.Applications, &win.OnlineCompleted, &win.Ratings, &win.RatingSum,
				&win.RatingsBad, &win.NoVisit, &win.Timed, &win.OnTime, &win.RectificationsJudged, &win.RectificationsOnTime} {
				*p = d.Varint()
			}
			r.win = win
			// Every change of a region's state rescores it, so its latest
			// scores are its current state scored with the stored window.
			for m, spec := range e.specs {
				r.scores[m] = spec.Score(r.state, win, asOf, version)
			}
		} else if r.dirty {
			d.Fail("dirty region without score")
		}
	}
	for m := range e.rk {
		readRanking(d, &e.rk[m], e.provincial())
	}
	count := d.Uvarint()
	if count > uint64(d.Len()) {
		d.Fail("window versions")
	}
	for i := uint64(0); i < count && d.Err() == nil; i++ {
		k := winKey{key: int(d.Varint()), start: d.Varint()}
		e.winVersions[k] = d.Uvarint()
	}
	e.readExplain(d)
	e.readPortals(d)
	e.readGroups(d)
	e.readReviews(d)
	if d.Err() == nil && d.Len() != 0 {
		d.Fail("trailing bytes")
	}
	return d.Err()
}

// readRanking reads a ranking of n regions written by AppendSnapshot.
func readRanking(d *snapcodec.Reader, rk *ranking, n int) {
	rk.has, rk.dirty = d.Bool(), d.Bool()
	rk.version = d.Uvarint()
	rk.asOf = d.Time()
	seen := make([]bool, n+1)
	for i := 0; i < n; i++ {
		rank, prev := d.Uvarint(), d.Uvarint()
		rk.before[i] = math.Float64frombits(d.Uvarint())
		if rank > uint64(n) || prev > uint64(n) || rk.has != (rank != 0) || seen[rank] && rank != 0 {
			d.Fail("ranks")
			return
		}
		seen[rank] = true
		rk.rank[i], rk.prev[i] = int(rank), int(prev)
		if rank != 0 {
			rk.order[rank-1] = i
		}
	}
}

func appendConfig(dst []byte, c Config) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(c.Regions)))
	for _, r := range c.Regions {
		dst = snapcodec.AppendString(dst, r)
	}
	dst = binary.AppendVarint(dst, int64(c.OutOfOrderness))
	dst = binary.AppendVarint(dst, int64(c.AllowedLateness))
	dst = binary.AppendUvarint(dst, uint64(c.MaxItemsPerLevel))
	dst = binary.AppendUvarint(dst, uint64(c.PortalLimits.MaxPortals))
	dst = binary.AppendUvarint(dst, uint64(c.PortalLimits.MaxItemsPerPortal))
	return binary.AppendVarint(dst, int64(c.AppealHorizon))
}

// withMethods returns c with the methods given.
func (c Config) withMethods(m []string) Config { c.Methods = m; return c }

// readConfig reads what appendConfig wrote (the methods precede it).
func readConfig(d *snapcodec.Reader) Config {
	n := d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("region count")
		return Config{}
	}
	var c Config
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		c.Regions = append(c.Regions, d.String())
	}
	c.OutOfOrderness = time.Duration(d.Varint())
	c.AllowedLateness = time.Duration(d.Varint())
	c.MaxItemsPerLevel = int(min(d.Uvarint(), math.MaxInt32))
	c.PortalLimits.MaxPortals = int(min(d.Uvarint(), math.MaxInt32))
	c.PortalLimits.MaxItemsPerPortal = int(min(d.Uvarint(), math.MaxInt32))
	c.AppealHorizon = time.Duration(d.Varint())
	return c
}

// appendExplain appends the state behind the next changes: per region the
// scores last drained, per method the score of the ranking last drained and
// the causes since, then per method the ranking last drained. Scores and
// rankings are kept in their JSON form (deterministic).
func (e *Engine) appendExplain(dst []byte) []byte {
	for i := range e.regions {
		r := &e.regions[i]
		dst = snapcodec.AppendBool(dst, r.hasDrained)
		if r.hasDrained {
			for m := range e.specs {
				dst = appendJSON(dst, &r.drained[m])
			}
		}
		for m := range e.specs {
			dst = snapcodec.AppendBool(dst, r.hasRanked[m])
			if r.hasRanked[m] {
				dst = appendJSON(dst, &r.ranked[m])
			}
		}
		c := &r.causes
		dst = binary.AppendUvarint(dst, c.firstSeq)
		dst = binary.AppendUvarint(dst, c.lastSeq)
		dst = appendInt64s(dst, c.byType[:]...)
		dst = binary.AppendUvarint(dst, uint64(len(c.items)))
		for _, it := range c.items {
			dst = snapcodec.AppendString(dst, it)
		}
		dst = binary.AppendVarint(dst, c.itemsTotal)
		dst = appendInt64s(dst, c.left[:]...)
	}
	for _, rk := range e.lastRankings {
		dst = snapcodec.AppendBool(dst, rk != nil)
		if rk != nil {
			dst = appendJSON(dst, rk)
		}
	}
	return dst
}

// appendJSON appends v (a Score or a Ranking, which always encode) in its
// JSON form.
func appendJSON(dst []byte, v any) []byte {
	b, _ := json.Marshal(v)
	return snapcodec.AppendString(dst, string(b))
}

// readJSON reads what appendJSON wrote into v.
func readJSON(d *snapcodec.Reader, v any, what string) {
	if err := json.Unmarshal([]byte(d.String()), v); err != nil && d.Err() == nil {
		d.Fail(what)
	}
}

// readExplain reads what appendExplain wrote.
func (e *Engine) readExplain(d *snapcodec.Reader) {
	for i := range e.regions {
		r := &e.regions[i]
		r.hasDrained = d.Bool()
		if r.hasDrained {
			for m := range e.specs {
				readJSON(d, &r.drained[m], "drained score")
			}
		}
		for m := range e.specs {
			r.hasRanked[m] = d.Bool()
			if r.hasRanked[m] {
				readJSON(d, &r.ranked[m], "ranked score")
			}
		}
		c := &r.causes
		c.firstSeq, c.lastSeq = d.Uvarint(), d.Uvarint()
		for j := range c.byType {
			c.byType[j] = d.Varint()
		}
		n := d.Uvarint()
		if n > MaxCauseItems {
			d.Fail("cause items")
			return
		}
		for j := uint64(0); j < n && d.Err() == nil; j++ {
			c.items = append(c.items, d.String())
		}
		c.itemsTotal = d.Varint()
		for j := range c.left {
			c.left[j] = d.Varint()
		}
	}
	for m := range e.lastRankings {
		if d.Bool() {
			e.lastRankings[m] = new(scoring.Ranking)
			readJSON(d, e.lastRankings[m], "drained ranking")
		}
	}
}
