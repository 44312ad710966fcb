package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/parley-chat/parley/flows/demo"
)

// runInit writes the demo project (flows, knowledge base, conversation
// tests) into a new or empty directory.
func runInit(args []string, stdio IO) int {
	fset := newFlagSet("init", stdio)
	fset.Usage = func() { fmt.Fprintln(stdio.Stderr, "usage: parley init DIR") }
	pos, err := parseInterspersed(fset, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fset.Usage()
		return 2
	}
	dir := pos[0]
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		fmt.Fprintf(stdio.Stderr, "parley init: %s is not empty; choose a new directory\n", dir)
		return 1
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stdio.Stderr, "parley init: %v\n", err)
		return 1
	}
	n := 0
	err = fs.WalkDir(demo.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(demo.FS(), path)
		if err != nil {
			return err
		}
		n++
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley init: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdio.Stdout, "wrote the demo project (%d files) to %s\n", n, dir)
	fmt.Fprintf(stdio.Stdout, "next:\n  parley lint %s\n  parley test %s\n  parley chat %s\n", dir, dir, dir)
	return 0
}
