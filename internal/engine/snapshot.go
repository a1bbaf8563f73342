package engine

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
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
const snapshotMagic = "gpe\x01"

// AppendSnapshot appends the engine's whole state to dst and returns the
// extended slice: configuration, method, last sequence, watermark, dedup
// ids, windows, portal state, latest scores and ranking, and the outputs
// not yet drained. The encoding is deterministic (the same state gives the
// same bytes) and ends with a CRC-32 of the rest.
func (e *Engine) AppendSnapshot(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, snapshotMagic...)
	dst = appendString(dst, scoring.Method)
	dst = appendConfig(dst, e.cfg)
	dst = binary.AppendUvarint(dst, e.lastSeq)
	dst = e.wm.AppendSnapshot(dst)
	dst = appendBool(dst, e.hasDay)
	dst = binary.AppendVarint(dst, e.day)
	dst = e.dedup.AppendSnapshot(dst)
	dst = e.rolling.AppendSnapshot(dst, windows.IntCodec[int]{}, rollCodec{})
	dst = e.hourly.AppendSnapshot(dst, windows.IntCodec[int]{}, hourCodec{})
	for i := range e.regions {
		r := &e.regions[i]
		dst = r.state.AppendSnapshot(dst)
		dst = appendBool(dst, r.scored)
		dst = appendBool(dst, r.dirty)
		if r.scored {
			s := &r.score
			dst = binary.AppendUvarint(dst, s.Version)
			dst = appendTime(dst, s.AsOf)
			dst = appendTime(dst, s.WindowStart)
			dst = appendTime(dst, s.WindowEnd)
			dst = appendInt64s(dst, s.Applications, s.ApplicationsOnlineCompleted, s.Ratings, s.RatingSum)
		}
	}
	dst = appendBool(dst, e.rk.has)
	dst = appendBool(dst, e.rk.dirty)
	dst = binary.AppendUvarint(dst, e.rk.version)
	dst = appendTime(dst, e.rk.asOf)
	for i := range e.regions {
		dst = binary.AppendUvarint(dst, uint64(e.rk.rank[i]))
		dst = binary.AppendUvarint(dst, uint64(e.rk.prev[i]))
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
		return nil, fmt.Errorf("%w: format version %d, want %d", ErrIncompatible, body[3], snapshotMagic[3])
	}
	d := &reader{b: body[len(snapshotMagic):]}
	if m := d.string(); d.err == nil && m != scoring.Method {
		return nil, fmt.Errorf("%w: method %q, want %q", ErrIncompatible, m, scoring.Method)
	}
	if c := d.config(); d.err == nil && !c.equal(e.cfg) {
		return nil, fmt.Errorf("%w: configuration %+v, want %+v", ErrIncompatible, c, e.cfg)
	}
	if err := e.read(d); err != nil {
		return nil, err
	}
	return e, nil
}

// read restores the state after the header.
func (e *Engine) read(d *reader) error {
	e.lastSeq = d.uvarint()
	d.with(func(b []byte) ([]byte, error) {
		var err error
		e.wm, b, err = windows.ReadWatermark(b)
		return b, err
	})
	if d.err == nil && e.wm.OutOfOrderness() != e.cfg.OutOfOrderness {
		d.fail("watermark bound")
	}
	e.hasDay = d.bool()
	e.day = d.varint()
	d.with(func(b []byte) ([]byte, error) {
		var err error
		e.dedup, b, err = windows.ReadDedup(b)
		return b, err
	})
	d.with(func(b []byte) ([]byte, error) {
		var err error
		e.rolling, b, err = windows.Restore[int](rollingConfig(e.cfg.AllowedLateness),
			windows.Aggregator[ux, rollAcc, rollAcc](rolling{}), windows.IntCodec[int]{}, rollCodec{}, b)
		return b, err
	})
	d.with(func(b []byte) ([]byte, error) {
		var err error
		e.hourly, b, err = windows.Restore[int](hourlyConfig(e.cfg.AllowedLateness),
			windows.Aggregator[ux, hourAcc, hourAcc](hourly{}), windows.IntCodec[int]{}, hourCodec{}, b)
		return b, err
	})
	for i := range e.regions {
		r := &e.regions[i]
		d.with(r.state.RestoreSnapshot)
		r.scored, r.dirty = d.bool(), d.bool()
		if r.scored {
			version := d.uvarint()
			asOf := d.time()
			win := scoring.Window{Start: d.time(), End: d.time()}
			win.Applications, win.OnlineCompleted, win.Ratings, win.RatingSum = d.varint(), d.varint(), d.varint(), d.varint()
			// Every change of a region's state rescores it, so its latest
			// score is its current state scored with the stored window.
			r.score = r.state.Score(win, asOf, version)
		} else if r.dirty {
			d.fail("dirty region without score")
		}
	}
	e.rk.has, e.rk.dirty = d.bool(), d.bool()
	e.rk.version = d.uvarint()
	e.rk.asOf = d.time()
	n := len(e.regions)
	seen := make([]bool, n+1)
	for i := 0; i < n; i++ {
		rank, prev := d.uvarint(), d.uvarint()
		if rank > uint64(n) || prev > uint64(n) || e.rk.has != (rank != 0) || seen[rank] && rank != 0 {
			d.fail("ranks")
			break
		}
		seen[rank] = true
		e.rk.rank[i], e.rk.prev[i] = int(rank), int(prev)
		if rank != 0 {
			e.rk.order[rank-1] = i
		}
	}
	count := d.uvarint()
	if count > uint64(len(d.b)) {
		d.fail("window versions")
	}
	for i := uint64(0); i < count && d.err == nil; i++ {
		k := winKey{key: int(d.varint()), start: d.varint()}
		e.winVersions[k] = d.uvarint()
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return d.err
	}
	return nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

func appendConfig(dst []byte, c Config) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(c.Regions)))
	for _, r := range c.Regions {
		dst = appendString(dst, r)
	}
	dst = binary.AppendVarint(dst, int64(c.OutOfOrderness))
	return binary.AppendVarint(dst, int64(c.AllowedLateness))
}

// reader decodes a snapshot; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (d *reader) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
}

// with runs a nested decoder on the remaining bytes.
func (d *reader) with(f func([]byte) ([]byte, error)) {
	if d.err != nil {
		return
	}
	rest, err := f(d.b)
	if err != nil {
		d.err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		return
	}
	d.b = rest
}

func (d *reader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *reader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *reader) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail("bool")
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *reader) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail("string")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *reader) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail("time")
	}
	if d.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *reader) config() Config {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("region count")
		return Config{}
	}
	var c Config
	for i := uint64(0); i < n && d.err == nil; i++ {
		c.Regions = append(c.Regions, d.string())
	}
	c.OutOfOrderness = time.Duration(d.varint())
	c.AllowedLateness = time.Duration(d.varint())
	return c
}
