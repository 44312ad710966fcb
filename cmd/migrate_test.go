package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/pgtest"
	"github.com/parley-chat/parley/store"
)

// parley migrate applies the schema once, then says there is nothing to
// do; with --from it copies a bbolt file and reports counts and the check.
func TestMigrateCommand(t *testing.T) {
	url := pgtest.DB(t) // a database of its own: cmd has no pgtest.Main to drop a shared one
	code, out, errOut := run("migrate", "--to", url)
	if code != 0 || !strings.Contains(out, "schema migrated to version") {
		t.Fatalf("first migrate: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut = run("migrate", "--to", url)
	if code != 0 || !strings.Contains(out, "nothing to apply") {
		t.Fatalf("second migrate: exit %d, %q %q", code, out, errOut)
	}

	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, _, err := db.ResolveContact(ctx, "telegram:1", "Anna", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Messages: []store.Message{{Dir: "in", Text: "hi"}}}); err != nil {
		t.Fatal(err)
	}
	// What the store gained later is copied too: a channel profile, an
	// attachment, an API key, an opt-out.
	if err := db.SetProfile(ctx, "telegram:1", store.Profile{"username": "anna_k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutFile(ctx, store.File{ContactID: c.ID, Type: "image/png", Sender: "customer"}, []byte("\x89PNG...")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateAPIKey(ctx, "shop", []string{store.ScopeTriggers}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetConsent(ctx, c.ID, "telegram", true, "message"); err != nil {
		t.Fatal(err)
	}
	// A running server holds the file: the copy says to stop it.
	code, _, errOut = run("migrate", "--from", path, "--to", url)
	if code != 1 || !strings.Contains(errOut, "stop it first") {
		t.Errorf("copy of a held file: exit %d, %q", code, errOut)
	}
	db.Close()
	code, out, errOut = run("migrate", "--from", path, "--to", url)
	if code != 0 || !strings.Contains(out, "1 contacts (1 identities), 0 sessions, 1 messages") ||
		!strings.Contains(out, "1 API keys, 1 consent records, 1 files") || !strings.Contains(out, "1 contacts sampled and equal") {
		t.Fatalf("copy: exit %d, %q %q", code, out, errOut)
	}
	code, _, errOut = run("migrate", "--from", path, "--to", url)
	if code != 1 || !strings.Contains(errOut, "not empty") {
		t.Errorf("second copy: exit %d, %q", code, errOut)
	}
	code, _, errOut = run("migrate", "--to", "./data/parley.db")
	if code != 1 || !strings.Contains(errOut, "wants a PostgreSQL URL") {
		t.Errorf("a file as --to: exit %d, %q", code, errOut)
	}
}
