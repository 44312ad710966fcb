// Package demo owns the demo project: a Russian-first support bot for the
// online shop «Посылка» with English variants. `parley init DIR` writes it
// out, and the runtime serves it when no project is given.
package demo

import (
	"embed"
	"io/fs"
)

//go:embed project
var files embed.FS

// FS is the demo project with its root (parley.yaml) at the root of the FS.
func FS() fs.FS {
	sub, err := fs.Sub(files, "project")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
