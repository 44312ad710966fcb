package postgres_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/pgtest"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/postgres"
)

// After ForgetContact no row of any table holds the person's text, names,
// identities or ids, in text or in bytea (hex) form: what the bbolt store
// proves on its compacted file, PostgreSQL proves on its tables.
func TestForgetLeavesNothingInAnyTable(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	db, err := postgres.Open(ctx, pgtest.Schema(t), postgres.Options{Clock: func() time.Time { now = now.Add(time.Second); return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	secret := "4111-SECRET-TEXT"
	a, _, _ := db.ResolveContact(ctx, "telegram:777000", "Zinaida Secretova", "ru")
	b, _, _ := db.ResolveContact(ctx, "web:visitor-secret-id", "", "")
	other, _, _ := db.ResolveContact(ctx, "vk:5", "", "")
	for _, c := range []store.Contact{a, b, other} {
		text := "card " + secret
		if c.ID == other.ID {
			text = "unrelated text stays"
		}
		if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, EventKey: c.Identities[0] + "|1",
			Session:  []byte(`{"vars":{"card":"` + text + `"}}`),
			Messages: []store.Message{{Dir: "in", Address: c.Identities[0], Text: text}},
			Events:   []store.Event{{Type: "error", Data: map[string]string{"error": text, "who": c.Identities[0]}}},
			Outbox:   []store.OutboxEntry{{Address: c.Identities[0], Data: []byte(text)}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []store.Contact{a, b} {
		if _, err := db.PutFile(ctx, store.File{ContactID: c.ID, Name: secret + ".txt", Type: "text/plain", Sender: "customer"}, []byte("card "+secret)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []store.Contact{a, b} {
		if _, _, err := db.EnqueueTrigger(ctx, store.TriggerEntry{ContactID: c.ID, Data: []byte(`{"params":{"card":"` + secret + `"}}`), Park: true}); err != nil {
			t.Fatal(err)
		}
	}
	// b's opt-out stays under b's id after the merge (for an undo).
	if _, err := db.SetConsent(ctx, b.ID, "web", true, "message"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetProfile(ctx, "web:visitor-secret-id", store.Profile{"page": "https://shop.example/" + secret}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Enqueue(ctx, a.ID, "telegram:777000|2", []byte(`{"text":"`+secret+`"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Merge(ctx, a.ID, b.ID, store.MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	tk, err := db.OpenTicket(ctx, store.Ticket{ContactID: a.ID, Address: "telegram:777000", Summary: secret,
		Evidence: []string{secret}, Vars: map[string]string{"card": secret}, Notes: []store.Note{{AgentID: "ag", Text: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.IssueLinkCode(ctx, a.ID, store.LinkKindToken, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LinkFailed(ctx, a.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ForgetContact(ctx, a.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	traces := []string{secret, "Secretova", "777000", "visitor-secret-id", a.ID, b.ID}
	rows, err := db.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if rows.Err() != nil || len(tables) < 10 {
		t.Fatalf("tables %v, %v", tables, rows.Err())
	}
	for _, table := range tables {
		for _, trace := range traces {
			var n int
			// A row as text shows bytea as \x + hex: look for both forms.
			err := db.Pool().QueryRow(ctx, "SELECT count(*) FROM "+table+" r WHERE strpos(r::text, $1) > 0 OR strpos(r::text, $2) > 0",
				trace, hex.EncodeToString([]byte(trace))).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				t.Errorf("table %s: %d rows still hold %q", table, n, trace)
			}
		}
	}
	// What was kept is still there, anonymously; the other contact is whole.
	if got, err := db.Ticket(tk.ID); err != nil || !strings.HasPrefix(got.ContactID, store.AnonPrefix) {
		t.Errorf("ticket %+v, %v", got, err)
	}
	if h, _ := db.History(other.ID, 0, 0); len(h) != 1 || h[0].Text != "unrelated text stays" {
		t.Errorf("another contact's history: %+v", h)
	}
}
