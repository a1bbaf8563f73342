package ingest

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/govpulse/govpulse/pkg/events"
)

// All is the wildcard of a token's regions or families: every region, or
// every family.
const All = "*"

// maxSourceLen is the longest source name, in code points, as the event
// envelope allows it.
const maxSourceLen = 200

// HashToken returns the hex SHA-256 of a token, the form in which a tokens
// file stores it.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Tokens is a parsed tokens file: the hashes of the tokens with, for each,
// the source it stands for and the regions and event families it may send.
// A Tokens is immutable and safe for concurrent use.
type Tokens struct {
	entries []token
}

// token is one entry of a tokens file.
type token struct {
	hash     [sha256.Size]byte
	scope    *scope
	hashText string // hex, the key of the token's rate limiter
}

// Subtree is the suffix of a token's region that names a unit and every unit
// under it: "330000/*" is Zhejiang, its cities and their counties.
const Subtree = "/*"

// scope is what a request may send: the source it writes as and the
// regions and families it may send (nil maps mean all).
type scope struct {
	source   string
	key      string          // the rate limiter key
	regions  map[string]bool // units named alone
	subtrees []string        // units named with Subtree
	families map[events.Family]bool
	token    bool // the source comes from a token (else from the address)
}

// allows returns "" when the scope allows an event of region and type t,
// else the field at fault and the rule it breaks.
func (sc *scope) allows(region string, t events.Type) (field, rule string) {
	if sc.regions != nil && !sc.regions[region] && !slices.ContainsFunc(sc.subtrees, func(root string) bool {
		return events.InSubtree(region, root)
	}) {
		return "region", fmt.Sprintf("the token of source %s may not send events of region %s", sc.source, region)
	}
	if sc.families != nil && !sc.families[t.Family()] && !sc.families[t.Family().Sender()] {
		return "type", fmt.Sprintf("the token of source %s may not send %s events", sc.source, t.Family())
	}
	return "", ""
}

// tokenFile is the JSON form of a tokens file.
type tokenFile struct {
	Tokens []tokenJSON `json:"tokens"`
}

type tokenJSON struct {
	Source   string   `json:"source"`
	SHA256   string   `json:"sha256"`
	Regions  []string `json:"regions"`
	Families []string `json:"families"`
}

// LoadTokens reads and parses a tokens file (see ParseTokens). Errors name
// the file and the entry, never a hash.
func LoadTokens(path string) (*Tokens, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ingest: tokens: %w", err)
	}
	t, err := ParseTokens(b)
	if err != nil {
		return nil, fmt.Errorf("ingest: tokens file %s: %w", path, err)
	}
	return t, nil
}

// ParseTokens parses a tokens file:
//
//	{"tokens": [
//	  {"source": "probe/zhejiang", "sha256": "<64 hex digits>",
//	   "regions": ["330000"], "families": ["feedback"]},
//	  {"source": "ops/replay", "sha256": "...", "regions": ["*"], "families": ["*"]}
//	]}
//
// Every entry needs a source (1..200 characters without control
// characters), the SHA-256 of its token in hex (HashToken), at least one
// region (a unit's code, which allows that unit alone; a unit's code and
// "/*", such as "330000/*", which allows the unit and every unit under it;
// or "*" for all) and at least one family
// (catalog, service, guide, platform, feedback, application, or "*").
// Unknown members, a hash given twice and an empty list are errors.
func ParseTokens(b []byte) (*Tokens, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f tokenFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse: data after the JSON object")
	}
	if len(f.Tokens) == 0 {
		return nil, errors.New(`no tokens: the file must list at least one token under "tokens"`)
	}
	t := &Tokens{entries: make([]token, 0, len(f.Tokens))}
	seen := make(map[string]bool, len(f.Tokens))
	for i, e := range f.Tokens {
		tok, err := parseToken(e)
		if err != nil {
			return nil, fmt.Errorf("token %d (source %q): %w", i, e.Source, err)
		}
		if seen[tok.hashText] {
			return nil, fmt.Errorf("token %d (source %q): the same hash is listed twice", i, e.Source)
		}
		seen[tok.hashText] = true
		t.entries = append(t.entries, tok)
	}
	return t, nil
}

func parseToken(e tokenJSON) (token, error) {
	var tok token
	if err := checkSource(e.Source); err != nil {
		return tok, err
	}
	h := strings.ToLower(e.SHA256)
	raw, err := hex.DecodeString(h)
	if err != nil || len(raw) != sha256.Size {
		return tok, errors.New("sha256 must be 64 hexadecimal digits (see: ingest hash-token)")
	}
	copy(tok.hash[:], raw)
	tok.hashText = h
	sc := &scope{source: e.Source, key: "token:" + h, token: true}
	if len(e.Regions) == 0 {
		return tok, errors.New(`regions: list at least one region code, or "*"`)
	}
	if !slices.Contains(e.Regions, All) {
		sc.regions = make(map[string]bool, len(e.Regions))
		for _, r := range e.Regions {
			code, sub := strings.CutSuffix(r, Subtree)
			if _, ok := events.LookupUnit(code); !ok {
				return tok, fmt.Errorf("regions: unknown unit %q", code)
			}
			if sub {
				sc.subtrees = append(sc.subtrees, code)
			} else {
				sc.regions[r] = true
			}
		}
	}
	if len(e.Families) == 0 {
		return tok, errors.New(`families: list at least one event family, or "*"`)
	}
	if !slices.Contains(e.Families, All) {
		sc.families = make(map[events.Family]bool, len(e.Families))
		for _, f := range e.Families {
			if !events.Family(f).Valid() {
				return tok, fmt.Errorf("families: unknown family %q (want catalog, service, guide, platform, feedback, application, rectification or *)", f)
			}
			sc.families[events.Family(f)] = true
		}
	}
	tok.scope = sc
	return tok, nil
}

// checkSource applies the envelope's rule for a source to a token's source.
func checkSource(s string) error {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return errors.New("source: must not be empty")
	case n > maxSourceLen:
		return fmt.Errorf("source: must be at most %d characters", maxSourceLen)
	case !utf8.ValidString(s):
		return errors.New("source: must be valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return errors.New("source: must not contain control characters")
		}
	}
	return nil
}

// Len returns the number of tokens.
func (t *Tokens) Len() int { return len(t.entries) }

// Sources returns the sources of the tokens in file order (for logs).
func (t *Tokens) Sources() []string {
	out := make([]string, len(t.entries))
	for i, e := range t.entries {
		out[i] = e.scope.source
	}
	return out
}

// lookup returns the scope of a presented token, or nil. It hashes the
// token and compares the hash with every entry in constant time, so that
// the time taken does not depend on which entry (if any) matches.
func (t *Tokens) lookup(secret string) *scope {
	sum := sha256.Sum256([]byte(secret))
	var found *scope
	for i := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], t.entries[i].hash[:]) == 1 {
			found = t.entries[i].scope
		}
	}
	return found
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(header string) (string, bool) {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", false
	}
	tok := strings.TrimSpace(header[len(prefix):])
	return tok, tok != ""
}
