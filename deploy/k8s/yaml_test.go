package k8s_test

import (
	"fmt"
	"strconv"
	"strings"
)

// The module has no YAML library, and the manifests need none of YAML's harder parts: this reads
// the subset they use (block maps and lists, flow maps and lists, quoted and plain scalars,
// comments, "---" between documents, literal blocks) into map[string]any, []any and string.
// Anything else (anchors, tags, multi-line plain scalars) is an error, so that a manifest that
// outgrows the subset fails the test rather than being misread.

type yline struct {
	num    int
	indent int
	text   string
}

// parseYAML returns the documents of src.
func parseYAML(src string) ([]any, error) {
	var docs []any
	var cur []yline
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		p := &yparser{lines: cur}
		p.skipBlank()
		if p.i == len(p.lines) {
			cur = nil
			return nil // only comments
		}
		v, err := p.block(p.lines[p.i].indent)
		if err != nil {
			return err
		}
		p.skipBlank()
		if p.i != len(p.lines) {
			return fmt.Errorf("line %d: unexpected indentation", p.lines[p.i].num)
		}
		docs = append(docs, v)
		cur = nil
		return nil
	}
	for n, raw := range strings.Split(src, "\n") {
		if strings.TrimRight(raw, " ") == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if strings.Contains(raw, "\t") {
			return nil, fmt.Errorf("line %d: tab", n+1)
		}
		text := stripComment(raw)
		if strings.TrimSpace(text) == "" {
			// Blank lines belong to a literal block only when inside one; the block reader
			// below takes raw lines, so keep them as empty text.
			cur = append(cur, yline{num: n + 1, indent: -1})
			continue
		}
		trimmed := strings.TrimLeft(text, " ")
		cur = append(cur, yline{num: n + 1, indent: len(text) - len(trimmed), text: strings.TrimRight(trimmed, " ")})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}

// stripComment removes a comment: a # at the start or after a space, outside quotes.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' {
				i++
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return s[:i]
		}
	}
	return s
}

type yparser struct {
	lines []yline
	i     int
}

// skipBlank moves past blank lines.
func (p *yparser) skipBlank() {
	for p.i < len(p.lines) && p.lines[p.i].indent < 0 {
		p.i++
	}
}

// block reads the map or list that starts at the current line, indented by indent.
func (p *yparser) block(indent int) (any, error) {
	p.skipBlank()
	if p.i >= len(p.lines) {
		return nil, nil
	}
	if isItem(p.lines[p.i].text) {
		return p.list(indent)
	}
	return p.mapping(indent)
}

func isItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

func (p *yparser) list(indent int) (any, error) {
	var out []any
	for p.skipBlank(); p.i < len(p.lines) && p.lines[p.i].indent == indent && isItem(p.lines[p.i].text); p.skipBlank() {
		l := p.lines[p.i]
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		switch {
		case rest == "":
			p.i++
			p.skipBlank()
			if p.i >= len(p.lines) || p.lines[p.i].indent <= indent {
				out = append(out, nil)
				continue
			}
			v, err := p.block(p.lines[p.i].indent)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		case isMapEntry(rest):
			// "- key: value": a map whose first entry shares the line of the dash.
			p.lines[p.i] = yline{num: l.num, indent: indent + len(l.text) - len(rest), text: rest}
			v, err := p.mapping(p.lines[p.i].indent)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		default:
			v, err := parseFlowAll(rest, l.num)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			p.i++
		}
	}
	return out, nil
}

// isMapEntry reports whether text is "key: value" or "key:" (and not a flow or quoted scalar).
func isMapEntry(text string) bool {
	if text == "" || text[0] == '{' || text[0] == '[' || text[0] == '\'' {
		return false
	}
	_, _, ok := splitKey(text)
	return ok
}

// splitKey splits "key: rest" (the key may be quoted).
func splitKey(text string) (key, rest string, ok bool) {
	if strings.HasPrefix(text, `"`) {
		end := strings.Index(text[1:], `"`)
		if end < 0 {
			return "", "", false
		}
		k, err := strconv.Unquote(text[:end+2])
		after := text[end+2:]
		if err != nil || !(after == ":" || strings.HasPrefix(after, ": ")) {
			return "", "", false
		}
		return k, strings.TrimSpace(strings.TrimPrefix(after, ":")), true
	}
	if i := strings.Index(text, ": "); i > 0 {
		return text[:i], strings.TrimSpace(text[i+2:]), true
	}
	if strings.HasSuffix(text, ":") && !strings.Contains(text, " ") {
		return strings.TrimSuffix(text, ":"), "", true
	}
	return "", "", false
}

func (p *yparser) mapping(indent int) (any, error) {
	out := map[string]any{}
	for p.skipBlank(); p.i < len(p.lines) && p.lines[p.i].indent == indent && !isItem(p.lines[p.i].text); p.skipBlank() {
		l := p.lines[p.i]
		key, rest, ok := splitKey(l.text)
		if !ok {
			return nil, fmt.Errorf("line %d: want key: value, got %q", l.num, l.text)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("line %d: key %q twice", l.num, key)
		}
		p.i++
		switch {
		case rest == "":
			p.skipBlank()
			switch {
			case p.i < len(p.lines) && p.lines[p.i].indent > indent:
				v, err := p.block(p.lines[p.i].indent)
				if err != nil {
					return nil, err
				}
				out[key] = v
			case p.i < len(p.lines) && p.lines[p.i].indent == indent && isItem(p.lines[p.i].text):
				v, err := p.list(indent)
				if err != nil {
					return nil, err
				}
				out[key] = v
			default:
				out[key] = nil
			}
		case rest == "|" || rest == "|-" || rest == ">" || rest == ">-":
			var b strings.Builder
			for ; p.i < len(p.lines) && (p.lines[p.i].indent < 0 || p.lines[p.i].indent > indent); p.i++ {
				b.WriteString(p.lines[p.i].text)
				b.WriteByte('\n')
			}
			out[key] = b.String()
		case strings.HasPrefix(rest, "&") || strings.HasPrefix(rest, "*") || strings.HasPrefix(rest, "!"):
			return nil, fmt.Errorf("line %d: anchors, aliases and tags are not supported", l.num)
		default:
			v, err := parseFlowAll(rest, l.num)
			if err != nil {
				return nil, err
			}
			out[key] = v
		}
	}
	return out, nil
}

// parseFlowAll parses a whole value written on one line.
func parseFlowAll(s string, num int) (any, error) {
	f := &flow{s: s}
	v, err := f.value(false)
	if err == nil {
		f.space()
		if f.i != len(f.s) {
			err = fmt.Errorf("trailing %q", f.s[f.i:])
		}
	}
	if err != nil {
		return nil, fmt.Errorf("line %d: %q: %w", num, s, err)
	}
	return v, nil
}

type flow struct {
	s string
	i int
}

func (f *flow) space() {
	for f.i < len(f.s) && f.s[f.i] == ' ' {
		f.i++
	}
}

// value reads a flow value; inFlow says whether it is inside {} or [] (where , ] } end a plain
// scalar).
func (f *flow) value(inFlow bool) (any, error) {
	f.space()
	if f.i >= len(f.s) {
		return "", nil
	}
	switch f.s[f.i] {
	case '{':
		f.i++
		m := map[string]any{}
		for {
			f.space()
			if f.i < len(f.s) && f.s[f.i] == '}' {
				f.i++
				return m, nil
			}
			k, err := f.scalar(true, true)
			if err != nil {
				return nil, err
			}
			f.space()
			if f.i >= len(f.s) || f.s[f.i] != ':' {
				return nil, fmt.Errorf("want : after %q", k)
			}
			f.i++
			v, err := f.value(true)
			if err != nil {
				return nil, err
			}
			m[k] = v
			f.space()
			if f.i < len(f.s) && f.s[f.i] == ',' {
				f.i++
			}
		}
	case '[':
		f.i++
		var l []any
		for {
			f.space()
			if f.i < len(f.s) && f.s[f.i] == ']' {
				f.i++
				if l == nil {
					l = []any{}
				}
				return l, nil
			}
			v, err := f.value(true)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			f.space()
			if f.i < len(f.s) && f.s[f.i] == ',' {
				f.i++
			}
		}
	}
	return f.scalar(inFlow, false)
}

// scalar reads a quoted or plain scalar. A plain key ends at ':'.
func (f *flow) scalar(inFlow, key bool) (string, error) {
	if f.i < len(f.s) && (f.s[f.i] == '"' || f.s[f.i] == '\'') {
		q := f.s[f.i]
		j := f.i + 1
		for j < len(f.s) && f.s[j] != q {
			if q == '"' && f.s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(f.s) {
			return "", fmt.Errorf("unterminated string")
		}
		raw := f.s[f.i : j+1]
		f.i = j + 1
		if q == '\'' {
			return strings.ReplaceAll(raw[1:len(raw)-1], "''", "'"), nil
		}
		return strconv.Unquote(raw)
	}
	start := f.i
	for f.i < len(f.s) {
		c := f.s[f.i]
		if inFlow && (c == ',' || c == ']' || c == '}') || key && c == ':' {
			break
		}
		f.i++
	}
	v := strings.TrimSpace(f.s[start:f.i])
	if !inFlow && (strings.HasPrefix(v, "&") || strings.HasPrefix(v, "*") || strings.HasPrefix(v, "!")) {
		return "", fmt.Errorf("anchors, aliases and tags are not supported")
	}
	return v, nil
}
