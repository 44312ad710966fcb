package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The business hours are written once, in parley.yaml's handoff: section,
// and `parley test` gives them to the flows as `hours`: a conversation at
// night hears when the team is back, by day it is handed over.
func TestParleyTestReadsTheProjectHours(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"parley.yaml": `name: hours
start: main
timezone: Europe/Moscow
escalation: {negative: "off", requested: "off"}
handoff:
  hours: ["daily 09:00-21:00"]
`,
		"flows/main.yaml": `flow: main
start: hello
nodes:
  hello:
    branch:
      - if: hours.open
        goto: human
    else: closed
  human:
    handoff: {reason: requested}
  closed:
    say: 'Мы вернёмся в {{ hours.opens_at.Format("15:04") }}.'
`,
		"tests/hours.yaml": `tests:
  - name: at night the flow says when the team is back
    now: 2026-12-07T23:30:00+03:00
    turns:
      - user: привет
        bot: ["Мы вернёмся в 09:00."]
  - name: by day it hands over
    now: 2026-12-08T10:00:00+03:00
    turns:
      - user: привет
        bot: []
        handoff: {reason: requested}
`,
	}
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	if code := Run([]string{"test", dir}, IO{Stdout: &out, Stderr: &out}); code != 0 {
		t.Fatalf("parley test = %d:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "ok: 2 tests passed") {
		t.Errorf("parley test did not run both tests:\n%s", out.String())
	}
}
