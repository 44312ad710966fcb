package cmd

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/store"
)

// While a server holds the database, `parley backup` explains where to get
// a hot copy; once it is stopped, the copy holds what the server stored.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "parley.db"), filepath.Join(dir, "copy.db")
	server, err := store.Open(src, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, _, err := server.ResolveContact(ctx, "telegram:42", "Anna", "ru")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Commit(ctx, store.Turn{ContactID: c.ID, Session: []byte(`{"node":"menu"}`)}); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	code := Run([]string{"backup", dst, "--db", src, "--timeout", "50ms"}, IO{Stdout: &stdout, Stderr: &stderr})
	if code != 1 {
		t.Errorf("backup of a served file: exit %d, want 1", code)
	}
	for _, want := range []string{"is in use by a running parley server", "/admin/backup"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}

	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := Run([]string{"backup", dst, "--db", src}, IO{Stdout: &stdout, Stderr: &stderr}); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "verified") {
		t.Errorf("stdout = %q", stdout.String())
	}
	cp, err := store.Open(dst, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	got, err := cp.ContactByIdentity("telegram:42")
	if err != nil || got.Name != "Anna" {
		t.Errorf("contact in the copy: %+v, %v", got, err)
	}
	if s, err := cp.Session(c.ID); err != nil || string(s) != `{"node":"menu"}` {
		t.Errorf("session in the copy: %q, %v", s, err)
	}
}
