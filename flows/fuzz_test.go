package flows_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/demo"
)

// FuzzLoad compiles a project whose main flow file is fuzzed: it must
// never panic, and every error must point inside a file of the project.
// Seeds: the demo flows and every flow of the golden archives.
func FuzzLoad(f *testing.F) {
	names, _ := fs.Glob(demo.FS(), "flows/*.yaml")
	for _, n := range names {
		b, _ := fs.ReadFile(demo.FS(), n)
		f.Add(b)
	}
	for _, dir := range []string{"kinds", "engine", "errors"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.txtar"))
		for _, path := range files {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				f.Fatal(err)
			}
			for _, file := range ar.Files {
				if filepath.Dir(file.Name) == "flows" {
					f.Add(file.Data)
				}
			}
		}
	}
	f.Add([]byte("flow: main\nstart: a\nnodes:\n  a: {say: '{{ ((((( }}'}\n"))
	f.Add([]byte("- [\n\t{: ]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := flows.Source{
			"parley.yaml":     []byte("name: fuzz\nstart: main\nlanguages: [ru, en]\n"),
			"flows/main.yaml": data,
		}
		p, err := flows.Compile(src)
		if err == nil {
			if p.Version == "" {
				t.Fatal("compiled project without a version")
			}
			return
		}
		var list flows.ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("want a non-empty ErrorList, got %T %v", err, err)
		}
		checkPositions(t, src, list)
	})
}
