package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

func TestMergeContacts(t *testing.T) {
	db, clk := openClock(t)
	tg, _, _ := db.ResolveContact(ctx, "telegram:1", "Anna", "ru")
	web, _, _ := db.ResolveContact(ctx, "web:v1", "", "")
	say := func(c store.Contact, text string) {
		t.Helper()
		clk.Advance(time.Minute)
		if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Messages: []store.Message{{Dir: "in", Text: text}}}); err != nil {
			t.Fatal(err)
		}
	}
	say(tg, "tg 1")
	say(web, "web 1")
	say(tg, "tg 2")
	_, err := db.Commit(ctx, store.Turn{ContactID: web.ID, Session: []byte("web session"),
		Contact:  &store.Contact{Fields: map[string]string{"email": "a@example.com"}, Identities: []string{"web:v1"}},
		Outbox:   []store.OutboxEntry{{Address: "web:v1", Data: []byte("pending reply")}},
		Messages: []store.Message{{Dir: "out", Text: "web 2", At: t0.Add(150 * time.Second)}}})
	if err != nil {
		t.Fatal(err)
	}
	seq, _, _ := db.Enqueue(ctx, web.ID, "web:m9", []byte("pending in"))
	tk, err := db.OpenTicket(ctx, store.Ticket{ContactID: web.ID, Reason: "requested"})
	if err != nil {
		t.Fatal(err)
	}

	got, err := db.MergeContacts(ctx, tg.ID, web.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"telegram:1", "web:v1"}, got.Identities); diff != "" {
		t.Errorf("identities (-want +got):\n%s", diff)
	}
	if got.Name != "Anna" || got.Fields["email"] != "a@example.com" {
		t.Errorf("merged contact = %+v", got)
	}
	if c, err := db.ContactByIdentity("web:v1"); err != nil || c.ID != tg.ID {
		t.Errorf("web:v1 resolves to %q, %v", c.ID, err)
	}
	if _, err := db.Contact(web.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("merged-away contact still exists: %v", err)
	}
	hist, err := db.History(tg.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for i, m := range hist {
		if m.Seq != uint64(i+1) || m.ContactID != tg.ID {
			t.Errorf("message %d: seq %d contact %q", i, m.Seq, m.ContactID)
		}
		texts = append(texts, m.Text)
	}
	if diff := cmp.Diff([]string{"tg 1", "web 1", "web 2", "tg 2"}, texts); diff != "" {
		t.Errorf("merged history (-want +got):\n%s", diff)
	}
	if s, _ := db.Session(tg.ID); string(s) != "web session" {
		t.Errorf("session = %q, want the only one there was", s)
	}
	if o, _ := db.PendingOutbox(); len(o) != 1 || o[0].ContactID != tg.ID {
		t.Errorf("outbox = %+v", o)
	}
	if in, _ := db.PendingInbox(); len(in) != 1 || in[0].Seq != seq || in[0].ContactID != tg.ID {
		t.Errorf("inbox = %+v", in)
	}
	if open, ok, _ := db.OpenTicketFor(tg.ID); !ok || open.ID != tk.ID || open.ContactID != tg.ID {
		t.Errorf("open ticket = %+v, %v", open, ok)
	}
	// The moved inbox entry is consumed by a turn of the surviving contact.
	if _, err := db.Commit(ctx, store.Turn{ContactID: tg.ID, InboxSeq: seq}); err != nil {
		t.Errorf("turn consuming the moved inbox entry: %v", err)
	}
}

func TestMergeContactsRefuses(t *testing.T) {
	db := storetest.Open(t)
	a := mustContact(t, db, "web:a")
	b := mustContact(t, db, "web:b")
	if _, err := db.MergeContacts(ctx, a.ID, a.ID); err == nil {
		t.Error("merged a contact into itself")
	}
	if _, err := db.MergeContacts(ctx, a.ID, "c_none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("merge of a missing contact: %v", err)
	}
	for _, c := range []store.Contact{a, b} {
		if _, err := db.OpenTicket(ctx, store.Ticket{ContactID: c.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.MergeContacts(ctx, a.ID, b.ID); !errors.Is(err, store.ErrTicketOpen) {
		t.Errorf("merge with two open tickets: %v, want ErrTicketOpen", err)
	}
	if c, _ := db.ContactByIdentity("web:b"); c.ID != b.ID {
		t.Error("a refused merge moved an identity")
	}
}
