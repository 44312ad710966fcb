package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What lint warns about in a project that still runs (a text missing one
// of the project's languages) is logged when serve loads it.
func TestServeLogsProjectWarnings(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "parley.yaml"), []byte("name: w\ndefault_lang: ru\nlanguages: [ru, en]\nstart: main\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "flows"), 0o755)
	os.WriteFile(filepath.Join(dir, "flows", "main.yaml"), []byte("flow: main\nstart: hello\nnodes:\n  hello:\n    say: {ru: \"Привет\"}\n"), 0o644)
	_, logs := startServer(t, func(c *Config) { c.Flows = dir })
	got := logs.String()
	if !strings.Contains(got, `"level":"warn"`) || !strings.Contains(got, "flows/main.yaml:5:") || !strings.Contains(got, "en") {
		t.Errorf("no warning about the missing English text in the log:\n%s", got)
	}
}
