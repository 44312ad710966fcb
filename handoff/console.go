package handoff

import (
	"embed"
	"net/http"
	"path"
)

// The console is plain HTML, CSS and modern JavaScript embedded in the
// binary: nothing to build or install on the user's machine.
//
//go:embed console
var consoleFS embed.FS

func (s *Service) page(name string) http.HandlerFunc {
	return s.asset(name)
}

func (s *Service) asset(name string) http.HandlerFunc {
	b, err := consoleFS.ReadFile(path.Join("console", name))
	if err != nil {
		panic("handoff: console file missing from the embed: " + name) // a build mistake, caught by tests
	}
	ctype := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8"}[path.Ext(name)]
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}
