package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/pgtest"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/postgres"
)

// Check passes on a consistent database and names each kind of damage
// done behind the store's back.
func TestCheckFindsDamage(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Schema(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, _, _ := db.ResolveContact(ctx, "telegram:1", "A", "")
	b, _, _ := db.ResolveContact(ctx, "vk:2", "B", "")
	for _, c := range []store.Contact{a, b} {
		if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Messages: []store.Message{{Dir: "in", Text: "1"}, {Dir: "out", Text: "2"}}}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := db.PutFile(ctx, store.File{ContactID: a.ID, Type: "text/plain"}, []byte("receipt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenTicket(ctx, store.Ticket{ContactID: b.ID}); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("check of a consistent database: %v", err)
	}
	for _, damage := range []struct{ sql, want string }{
		{"DELETE FROM messages WHERE contact_id = '" + a.ID + "' AND seq = 1", "history not dense"},
		{"UPDATE files SET data = 'forged' WHERE id = '" + f.ID + "'", "file whose bytes differ"},
		{"UPDATE tickets SET doc = jsonb_set(doc, '{contact_id}', '\"c_gone\"')", "ticket of a missing contact"},
		{"INSERT INTO consent (contact_id, channel, opted_out, at) VALUES ('c_never', 'vk', true, now())", "consent of an unknown contact"},
		{"UPDATE identities SET ord = 5 WHERE identity = 'vk:2'", "identity order"},
	} {
		if _, err := db.Pool().Exec(ctx, damage.sql); err != nil {
			t.Fatalf("%s: %v", damage.sql, err)
		}
		err := db.Check()
		if err == nil || !strings.Contains(err.Error(), damage.want) {
			t.Errorf("after %q: check says %v, want %q", damage.sql, err, damage.want)
		}
	}
}
