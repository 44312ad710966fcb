package store_test

import (
	"go/build"
	"strings"
	"testing"
)

// store is a leaf: the standard library, bbolt and the shared JSON quoting,
// nothing else of ours (it must never learn about channels, flows or
// handoff).
func TestStoreIsALeaf(t *testing.T) {
	for dir, allowed := range map[string][]string{
		".":         {"go.etcd.io/bbolt", "github.com/parley-chat/parley/internal/jsonx"},
		"storetest": {"github.com/parley-chat/parley/store"},
	} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			first, _, _ := strings.Cut(imp, "/")
			if !strings.Contains(first, ".") {
				continue // standard library
			}
			ok := false
			for _, a := range allowed {
				ok = ok || imp == a || strings.HasPrefix(imp, a+"/")
			}
			if !ok {
				t.Errorf("package %s imports %s", pkg.ImportPath, imp)
			}
		}
	}
}
