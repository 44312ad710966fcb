package flows_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/parley-chat/parley/flows"
)

// TestCompileErrors compiles broken projects and compares every reported
// problem, with its position and caret, against the golden section.
// Every error must point inside its file.
func TestCompileErrors(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "errors", "*.txtar"))
	if len(files) == 0 {
		t.Fatal("no testdata/errors/*.txtar")
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			src := flows.Source{}
			var want string
			for _, f := range ar.Files {
				if f.Name == "golden" {
					want = string(f.Data)
					continue
				}
				src[f.Name] = f.Data
			}
			_, err = flows.Compile(src)
			var list flows.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("want an ErrorList, got %v", err)
			}
			checkPositions(t, src, list)
			got := list.Error() + "\n"
			if update {
				var keep []txtar.File
				for _, f := range ar.Files {
					if f.Name != "golden" {
						keep = append(keep, f)
					}
				}
				ar.Files = append(keep, txtar.File{Name: "golden", Data: []byte(got)})
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("errors differ (-want +got); PARLEY_UPDATE=1 rewrites the golden:\n%s", diff)
			}
		})
	}
}

// checkPositions asserts every error names a file of the project and a
// line and column inside it.
func checkPositions(t *testing.T, src flows.Source, list flows.ErrorList) {
	t.Helper()
	for _, e := range list {
		data, ok := src[e.File]
		if !ok {
			t.Errorf("error in unknown file %q: %v", e.File, e)
			continue
		}
		lines := bytes.Split(data, []byte("\n"))
		if e.Line < 1 || e.Line > len(lines) {
			t.Errorf("line %d outside %s (%d lines): %v", e.Line, e.File, len(lines), e)
			continue
		}
		if n := len([]rune(string(lines[e.Line-1]))) + 1; e.Col < 1 || e.Col > n {
			t.Errorf("column %d outside line %d of %s (%d columns): %v", e.Col, e.Line, e.File, n, e)
		}
	}
}
