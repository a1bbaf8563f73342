// Package lint_test checks conventions of the whole module that gofmt and go vet do not: the log
// key of errors, metrics registration without panics in libraries, and tests that wait instead of
// sleeping.
package lint_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// logCalls are the slog methods whose arguments are key/value pairs.
var logCalls = map[string]bool{
	"Debug": true, "Info": true, "Warn": true, "Error": true, "With": true,
	"DebugContext": true, "InfoContext": true, "WarnContext": true, "ErrorContext": true, "Log": true,
}

func TestConventions(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		isTest := strings.HasSuffix(path, "_test.go")
		isMain := strings.HasPrefix(rel, "cmd/")
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			at := fset.Position(call.Pos())
			at.Filename = rel
			switch name := sel.Sel.Name; {
			case logCalls[name]:
				for _, a := range call.Args {
					if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, _ := strconv.Unquote(lit.Value); s == "err" {
							t.Errorf(`%s: log key "err": use "error"`, at)
						}
					}
				}
			case name == "MustRegister" && !isMain:
				t.Errorf("%s: MustRegister panics: register with internal/promreg and return the error", at)
			case name == "Sleep" && isTest:
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" {
					t.Errorf("%s: time.Sleep in a test: wait for a condition with internal/testwait", at)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read %d Go files under %s, want the whole module", files, root)
	}
}
