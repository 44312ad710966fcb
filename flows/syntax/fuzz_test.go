package syntax_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/flows/syntax"
)

// FuzzParse feeds the same bytes to every file parser (project, flow,
// knowledge base, tests): no panics, and every error points inside the
// file. Seeds: the demo project's files.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "demo", "project", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("..", "demo", "project", "*", "*.yaml"))
	for _, name := range append(files, more...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("a: &x [1]\nb: *x\n<<: {c: 1}\n"))
	f.Add([]byte("tests:\n  - name: x\n    turns:\n      - {user: a, tap: b}\n"))
	f.Add([]byte("suite: s\nrequire: {accuracy: 2}\ncases:\n  - {say: a, expect: {faq: x, node: y}}\n  - {say: b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		check := func(r *syntax.Reporter) {
			for _, e := range r.List {
				if e.File != "f.yaml" || e.Line < 1 || e.Line > lines || e.Col < 1 {
					t.Fatalf("error outside the file (%d lines): %v", lines, e)
				}
			}
		}
		for _, parse := range []func(*syntax.Reporter){
			func(r *syntax.Reporter) { syntax.ParseProject(r, "f.yaml", data) },
			func(r *syntax.Reporter) { syntax.ParseFlow(r, "f.yaml", data) },
			func(r *syntax.Reporter) { syntax.ParseFAQ(r, "f.yaml", data) },
			func(r *syntax.Reporter) { syntax.ParseTests(r, "f.yaml", data) },
			func(r *syntax.Reporter) { syntax.ParseSuite(r, "f.yaml", data) },
		} {
			r := &syntax.Reporter{}
			parse(r)
			check(r)
		}
	})
}
