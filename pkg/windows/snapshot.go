package windows

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// The operator snapshot format, version 1. Integers are varints (zig-zag for signed ones):
//
//	"gpw" 0x01                                    magic and version
//	size hop offset lateness flags                the normalized Config (flags: 1 DiscardChanged, 2 DiscardFinal)
//	hasWM wm                                      the watermark of the last Advance
//	nkeys { key npanes { pane dirty acc } }      keys ascending; pane numbers ascending, the first
//	                                              absolute and the others as positive deltas
//	nchanged { key window acc }                   changed windows already final, by key and window
//	nfinal { key window acc }                     final windows not yet taken, by key and window
//
// Keys and accumulators are written by the caller's codecs. The same state always encodes to the
// same bytes: maps are written in key order and pending windows sorted.
var operatorMagic = []byte{'g', 'p', 'w', 1}

// AppendSnapshot appends the whole state of the operator to dst and returns the extended slice:
// the Config, the watermark, every pane, and the changed and final windows not yet taken. keys
// and accs encode keys and accumulators. The encoding is deterministic; Restore reads it back.
func (o *Operator[K, In, Acc, Out]) AppendSnapshot(dst []byte, keys Codec[K], accs Codec[Acc]) []byte {
	dst = append(dst, operatorMagic...)
	dst = appendConfig(dst, o.cfg)
	dst = appendBool(dst, o.hasWM)
	dst = binary.AppendVarint(dst, o.wm)

	ks := make([]K, 0, len(o.keys))
	for k := range o.keys {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	dst = binary.AppendUvarint(dst, uint64(len(ks)))
	for _, k := range ks {
		dst = keys.Append(dst, k)
		st := o.keys[k]
		dst = binary.AppendUvarint(dst, uint64(len(st.panes)))
		for i, p := range st.panes {
			if i == 0 {
				dst = binary.AppendVarint(dst, p.n)
			} else {
				dst = binary.AppendUvarint(dst, uint64(p.n-st.panes[i-1].n))
			}
			dst = appendBool(dst, p.dirty)
			dst = accs.Append(dst, p.acc)
		}
	}
	for _, list := range [][]pending[K, Acc]{o.changedFinal, o.final} {
		sortPending(list)
		dst = binary.AppendUvarint(dst, uint64(len(list)))
		for _, p := range list {
			dst = keys.Append(dst, p.key)
			dst = binary.AppendVarint(dst, p.s)
			dst = accs.Append(dst, p.acc)
		}
	}
	return dst
}

// Restore returns the operator saved by AppendSnapshot at the start of snap, and the bytes after
// it. cfg and agg must be those of the saved operator, and keys and accs the codecs it was saved
// with. Input that is not such a snapshot gives an error matching ErrCorrupt (never a panic, and
// no allocation beyond a small multiple of len(snap)); a snapshot of another Config gives an error
// matching ErrConfigMismatch.
func Restore[K cmp.Ordered, In, Acc, Out any](cfg Config, agg Aggregator[In, Acc, Out], keys Codec[K], accs Codec[Acc], snap []byte) (*Operator[K, In, Acc, Out], []byte, error) {
	o, err := New[K](cfg, agg)
	if err != nil {
		return nil, snap, err
	}
	rest, err := o.read(snap, keys, accs)
	if err != nil {
		return nil, snap, fmt.Errorf("windows: restore: %w", err)
	}
	return o, rest, nil
}

func (o *Operator[K, In, Acc, Out]) read(src []byte, keys Codec[K], accs Codec[Acc]) ([]byte, error) {
	rest, err := readMagic(src, operatorMagic, "operator")
	if err != nil {
		return src, err
	}
	var cfg Config
	if cfg, rest, err = readConfig(rest); err != nil {
		return src, err
	}
	if cfg != o.cfg {
		return src, fmt.Errorf("%w: snapshot %+v, given %+v", ErrConfigMismatch, cfg, o.cfg)
	}
	if o.hasWM, rest, err = readBool(rest, "watermark flag"); err != nil {
		return src, err
	}
	if o.wm, rest, err = readVarint(rest, "watermark"); err != nil {
		return src, err
	}
	if !o.hasWM && o.wm != math.MinInt64 {
		return src, fmt.Errorf("%w: watermark without flag", ErrCorrupt)
	}
	o.fin = math.MinInt64
	if o.hasWM {
		o.fin = o.g.lastFinal(o.wm)
	}

	nkeys, rest, err := readCount(rest, 3, "key count")
	if err != nil {
		return src, err
	}
	var prev K
	for i := range nkeys {
		var k K
		if k, rest, err = keys.Read(rest); err != nil {
			return src, codecError("key", err)
		}
		if i > 0 && cmp.Compare(prev, k) >= 0 {
			return src, fmt.Errorf("%w: keys out of order", ErrCorrupt)
		}
		prev = k
		var npanes int
		if npanes, rest, err = readCount(rest, 2, "pane count"); err != nil {
			return src, err
		}
		if npanes == 0 {
			return src, fmt.Errorf("%w: key without panes", ErrCorrupt)
		}
		st := &keyState[Acc]{panes: make([]pane[Acc], npanes)}
		for j := range st.panes {
			p := &st.panes[j]
			if j == 0 {
				if p.n, rest, err = readVarint(rest, "pane number"); err != nil {
					return src, err
				}
				if p.n <= o.fin {
					return src, fmt.Errorf("%w: pane %d is final", ErrCorrupt, p.n)
				}
			} else {
				var d uint64
				if d, rest, err = readUvarint(rest, "pane delta"); err != nil {
					return src, err
				}
				prevN := st.panes[j-1].n
				if d == 0 || d > uint64(math.MaxInt64-prevN) {
					return src, fmt.Errorf("%w: pane numbers out of order", ErrCorrupt)
				}
				p.n = prevN + int64(d)
			}
			if p.dirty, rest, err = readBool(rest, "pane flag"); err != nil {
				return src, err
			}
			if p.acc, rest, err = accs.Read(rest); err != nil {
				return src, codecError("pane accumulator", err)
			}
			if p.dirty && !st.dirty {
				st.dirty = true
				o.dirtyKeys = append(o.dirtyKeys, k)
			}
		}
		o.keys[k] = st
	}
	for _, list := range []*[]pending[K, Acc]{&o.changedFinal, &o.final} {
		var n int
		if n, rest, err = readCount(rest, 1, "window count"); err != nil {
			return src, err
		}
		for i := range n {
			var p pending[K, Acc]
			if p.key, rest, err = keys.Read(rest); err != nil {
				return src, codecError("window key", err)
			}
			if p.s, rest, err = readVarint(rest, "window number"); err != nil {
				return src, err
			}
			if p.acc, rest, err = accs.Read(rest); err != nil {
				return src, codecError("window accumulator", err)
			}
			if i > 0 {
				q := (*list)[i-1]
				if c := cmp.Compare(q.key, p.key); c > 0 || c == 0 && q.s >= p.s {
					return src, fmt.Errorf("%w: windows out of order", ErrCorrupt)
				}
			}
			*list = append(*list, p)
		}
	}
	return rest, nil
}

// codecError makes an error of a caller's codec match ErrCorrupt.
func codecError(what string, err error) error {
	if errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, what, err)
}

func appendConfig(dst []byte, c Config) []byte {
	dst = binary.AppendVarint(dst, int64(c.Size))
	dst = binary.AppendVarint(dst, int64(c.Hop))
	dst = binary.AppendVarint(dst, int64(c.Offset))
	dst = binary.AppendVarint(dst, int64(c.AllowedLateness))
	var flags byte
	if c.DiscardChanged {
		flags |= 1
	}
	if c.DiscardFinal {
		flags |= 2
	}
	return append(dst, flags)
}

func readConfig(src []byte) (Config, []byte, error) {
	var c Config
	var v [4]int64
	rest := src
	for i := range v {
		var err error
		if v[i], rest, err = readVarint(rest, "config"); err != nil {
			return c, src, err
		}
	}
	if len(rest) == 0 || rest[0] > 3 {
		return c, src, fmt.Errorf("%w: config flags", ErrCorrupt)
	}
	c.Size, c.Hop, c.Offset, c.AllowedLateness = time.Duration(v[0]), time.Duration(v[1]), time.Duration(v[2]), time.Duration(v[3])
	c.DiscardChanged = rest[0]&1 != 0
	c.DiscardFinal = rest[0]&2 != 0
	return c, rest[1:], nil
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func readMagic(src, magic []byte, what string) ([]byte, error) {
	if len(src) < len(magic) || string(src[:len(magic)-1]) != string(magic[:len(magic)-1]) {
		return src, fmt.Errorf("%w: not a %s snapshot", ErrCorrupt, what)
	}
	if v := src[len(magic)-1]; v != magic[len(magic)-1] {
		return src, fmt.Errorf("%w: %s snapshot version %d, want %d", ErrCorrupt, what, v, magic[len(magic)-1])
	}
	return src[len(magic):], nil
}
