package chstore

import (
	"errors"
	"strings"
)

// SplitStatements splits SQL text into statements at semicolons that are outside quotes ('...',
// "...", `...`) and comments (-- to the end of the line, /* ... */). Statements are trimmed;
// those that hold only comments and blanks are dropped. A quote or block comment left open is an
// error.
func SplitStatements(sql string) ([]string, error) {
	var (
		out   []string
		start int
		code  bool // the current statement has something besides comments and blanks
	)
	flush := func(end int) {
		if code {
			out = append(out, strings.TrimSpace(sql[start:end]))
		}
		start, code = end+1, false
	}
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				i = len(sql)
			} else {
				i += j
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				return nil, errors.New("chstore: split statements: unterminated block comment")
			}
			i += 2 + j + 1
		case c == '\'' || c == '"' || c == '`':
			code = true
			j := i + 1
			for ; j < len(sql); j++ {
				if sql[j] == '\\' {
					j++
					continue
				}
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c { // doubled quote
						j++
						continue
					}
					break
				}
			}
			if j >= len(sql) {
				return nil, errors.New("chstore: split statements: unterminated quote")
			}
			i = j
		case c == ';':
			flush(i)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			code = true
		}
	}
	if start < len(sql) {
		flush(len(sql))
	}
	return out, nil
}
