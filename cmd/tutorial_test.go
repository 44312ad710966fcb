package cmd

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// tutorialBlock finds the code blocks of docs/tutorial.md that a test runs:
// "```sh tested" (run with bash, must succeed), "```sh tested serve" (the
// server, started in the background) and "```sh tested stopped" (run once
// the server has been stopped, as the reader is told to).
var tutorialBlock = regexp.MustCompile("(?ms)^```sh tested( serve| stopped)?\n(.*?)^```")

// TestTutorial runs every tested command of docs/tutorial.md in order, in
// one directory, with the parley under test on PATH. The server listens
// on a free port instead of 8080.
func TestTutorial(t *testing.T) {
	src, err := os.ReadFile("../docs/tutorial.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := tutorialBlock.FindAllStringSubmatch(string(src), -1)
	if len(blocks) < 6 {
		t.Fatalf("docs/tutorial.md has %d tested blocks; the markers changed?", len(blocks))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var script, files strings.Builder
	fmt.Fprintf(&script, "env PARLEY_HTTP_ADDR=%s\n", addr)
	serving := false
	for i, b := range blocks {
		kind, body := strings.TrimSpace(b[1]), strings.ReplaceAll(b[2], "127.0.0.1:8080", addr)
		switch kind {
		case "serve":
			// One command, run directly so that an interrupt reaches it.
			fmt.Fprintf(&script, "exec %s &server&\n", strings.TrimSpace(body))
			serving = true
			continue
		case "stopped":
			if serving {
				script.WriteString("kill -INT server\nwait server\nstdout 'created agent \"demo\" \\(role lead\\) with one-time password: \\S+'\n")
				serving = false
			}
		}
		name := fmt.Sprintf("block%d.sh", i+1)
		fmt.Fprintf(&script, "exec bash -euo pipefail %s\n", name)
		fmt.Fprintf(&files, "-- %s --\n%s", name, body)
	}
	if serving {
		script.WriteString("kill -INT server\nwait server\n")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tutorial.txtar"), []byte(script.String()+files.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{Dir: dir})
}
