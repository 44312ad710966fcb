package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/pgtest"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/postgres"
)

// seedBolt fills a bbolt store with a bit of everything CopyFromBolt copies
// and returns its path (closed).
func seedBolt(t *testing.T) (path, code, secret string) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "parley.db")
	// Nanosecond times: the copy keeps microseconds, as PostgreSQL does.
	clock := time.Date(2026, 5, 1, 10, 0, 0, 123456789, time.UTC)
	db, err := store.Open(path, store.Options{NoSync: true, Clock: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 120 {
		c, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", i), fmt.Sprint("Name ", i), "ru")
		if err != nil {
			t.Fatal(err)
		}
		turn := store.Turn{ContactID: c.ID, Session: []byte(fmt.Sprintf(`{"n":%d}`, i)),
			Messages: []store.Message{{Dir: "in", Address: c.Identities[0], Text: fmt.Sprint("hi ", i)},
				{Dir: "out", Text: "hello", Buttons: []store.Button{{Text: "A", Value: "a"}}}},
			Events: []store.Event{{Type: "message_in"}, {Type: "node", Data: map[string]string{"n": "menu"}}}}
		if i%10 == 0 {
			turn.Contact = &store.Contact{Name: c.Name, Fields: map[string]string{"order": fmt.Sprint(i)},
				Identities: []string{c.Identities[0], fmt.Sprintf("vk:%d", i)}}
			turn.OpenTicket = &store.Ticket{Reason: "requested", Vars: map[string]string{"k": "v"}}
			turn.Outbox = []store.OutboxEntry{{Address: c.Identities[0], Data: []byte("pending reply")}}
		}
		if _, err := db.Commit(ctx, turn); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := db.SetProfile(ctx, c.Identities[0], store.Profile{"name": fmt.Sprint("Name ", i), "username": fmt.Sprint("user", i)}); err != nil {
				t.Fatal(err)
			}
		}
		if i%30 == 0 {
			if _, _, err := db.Enqueue(ctx, c.ID, fmt.Sprint("tg:", i), []byte("unprocessed")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.PutAgent(ctx, store.Agent{ID: "a_1", Name: "Olga", Role: "lead", PasswordHash: []byte("$2a$hash")}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutConsoleSession(ctx, store.ConsoleSession{Key: string(make([]byte, 32)), AgentID: "a_1", CSRF: "x", Expires: clock.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPosition(ctx, "vk.longpoll.1", "42"); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendEvents(ctx, store.Event{Type: "handoff_queued", ContactID: ""}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutSavedReply(ctx, store.SavedReply{ID: "late", Title: "Late", Text: "Курьер будет завтра.", UpdatedBy: "lena"}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutCascade(ctx, "cas_1", []byte(`{"step":1}`)); err != nil {
		t.Fatal(err)
	}
	_, secret, err = db.CreateAPIKey(ctx, "shop", []string{store.ScopeTriggers})
	if err != nil {
		t.Fatal(err)
	}
	// Two attachments of telegram:4, the first emptied by the retention
	// cleanup (its record stays), the second of 300 KB.
	f4, err := db.ContactByIdentity("telegram:4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutFile(ctx, store.File{ContactID: f4.ID, Type: "image/png", Name: "old.png", Sender: "customer"}, []byte("\x89PNG old")); err != nil {
		t.Fatal(err)
	}
	if n, _, err := db.PruneFiles(ctx, clock.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("PruneFiles: %d, %v", n, err)
	}
	if _, err := db.PutFile(ctx, store.File{ContactID: f4.ID, Type: "application/pdf", Name: "invoice.pdf", Sender: "customer"},
		bytes.Repeat([]byte("%PDF"), 75000)); err != nil {
		t.Fatal(err)
	}
	// telegram:10 had vk:10 and its profile; a turn removes vk:10, and the
	// bbolt store keeps the profile of the identity it no longer has.
	c10, err := db.ContactByIdentity("vk:10")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetProfile(ctx, "vk:10", store.Profile{"name": "gone"}); err != nil {
		t.Fatal(err)
	}
	if c10, err = db.Contact(c10.ID); err != nil {
		t.Fatal(err)
	}
	c10.Identities = []string{"telegram:10"}
	if _, err := db.Commit(ctx, store.Turn{ContactID: c10.ID, Contact: &c10}); err != nil {
		t.Fatal(err)
	}
	// A trigger with an idempotency key, one parked for telegram:5.
	f5, err := db.ContactByIdentity("telegram:5")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.EnqueueTrigger(ctx, store.TriggerEntry{ContactID: f5.ID, Data: []byte(`{"kind":"trigger"}`),
		Idem: &store.Idempotent{Key: "k|order-1", BodyHash: "h", Result: []byte(`{"id":"t_1"}`)}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.EnqueueTrigger(ctx, store.TriggerEntry{ContactID: f5.ID, Data: []byte(`{"kind":"later"}`), Park: true}); err != nil {
		t.Fatal(err)
	}
	// telegram:2's opt-out stays with its id after the merge below (for an
	// undo) and is given to telegram:1: two records.
	if b, err := db.ContactByIdentity("telegram:2"); err != nil {
		t.Fatal(err)
	} else if _, err := db.SetConsent(ctx, b.ID, "telegram", true, "message"); err != nil {
		t.Fatal(err)
	}
	// A merge (telegram:1 absorbs telegram:2) and a live link code of telegram:3.
	a, _ := db.ContactByIdentity("telegram:1")
	b, _ := db.ContactByIdentity("telegram:2")
	if _, err := db.MergeContacts(ctx, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	c, _ := db.ContactByIdentity("telegram:3")
	lc, err := db.IssueLinkCode(ctx, c.ID, store.LinkKindCode, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return path, lc.Code, secret
}

func TestCopyFromBolt(t *testing.T) {
	ctx := context.Background()
	path, code, apiKey := seedBolt(t)
	src, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	url := pgtest.Schema(t)
	// The clock of the seed, so the link code is live.
	db, err := postgres.Open(ctx, url, postgres.Options{Clock: func() time.Time { return time.Date(2026, 5, 1, 11, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := postgres.CopyFromBolt(ctx, src, db)
	if err != nil {
		t.Fatal(err)
	}
	want := postgres.CopyReport{Contacts: 119, Identities: 131, Sessions: 119, Messages: 240, Events: 242, Inbox: 5,
		Outbox: 12, Tickets: 12, Agents: 1, ConsoleSessions: 1, Positions: 1, Merges: 1, LinkCodes: 1, Sampled: 60,
		SavedReplies: 1, Cascades: 1, APIKeys: 1, Consents: 2, Files: 2, IdempotencyKeys: 1, WaitingTriggers: 1,
		NotCopied: rep.NotCopied}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("report %+v\nwant %+v", rep, want)
	}
	// What the copy holds reads back as the source, through the contract.
	c, err := db.ContactByIdentity("vk:50")
	if err != nil || c.Fields["order"] != "50" || c.Name != "Name 50" {
		t.Errorf("ContactByIdentity(vk:50) = %+v, %v", c, err)
	}
	if c10 := mustResolve(t, db, "telegram:10"); len(c10.Profiles) != 1 || c10.Profiles["telegram:10"]["username"] != "user10" {
		t.Errorf("profiles of telegram:10 after the copy: %v, want only its live identity's", c10.Profiles)
	}
	if p := c.Profiles["telegram:50"]; p["username"] != "user50" || len(c.Profiles) != 1 {
		t.Errorf("profiles of telegram:50 after the copy: %v", c.Profiles)
	}
	var e1, e2 []store.Event
	src.Events(time.Time{}, time.Time{}, func(e store.Event) error { e.At = e.At.Truncate(time.Microsecond); e1 = append(e1, e); return nil })
	db.Events(time.Time{}, time.Time{}, func(e store.Event) error { e2 = append(e2, e); return nil })
	if !reflect.DeepEqual(e1, e2) {
		t.Errorf("events differ after the copy: %d vs %d", len(e1), len(e2))
	}
	o1, _ := src.PendingOutbox()
	for i := range o1 {
		o1[i].CreatedAt = o1[i].CreatedAt.Truncate(time.Microsecond)
	}
	if o2, err := db.PendingOutbox(); err != nil || !reflect.DeepEqual(o1, o2) {
		t.Errorf("outbox after the copy:\n got %+v, %v\nwant %+v", o2, err, o1)
	}
	a1, _ := src.Agents()
	for i := range a1 {
		a1[i].CreatedAt = a1[i].CreatedAt.Truncate(time.Microsecond)
	}
	if a2, err := db.Agents(); err != nil || !reflect.DeepEqual(a1, a2) {
		t.Errorf("agents after the copy:\n got %+v, %v\nwant %+v", a2, err, a1)
	}
	if p, err := db.Position("vk.longpoll.1"); err != nil || p != "42" {
		t.Errorf("position after the copy: %q, %v", p, err)
	}
	in1, _ := src.PendingInbox()
	in2, _ := db.PendingInbox()
	if len(in1) != len(in2) || len(in2) == 0 || in1[0].Seq != in2[0].Seq || string(in2[0].Data) != "unprocessed" {
		t.Errorf("inbox %+v vs %+v", in1, in2)
	}
	if k, err := db.APIKeyBySecret(apiKey); err != nil || k.Name != "shop" {
		t.Errorf("the copied API key: %+v, %v", k, err)
	}
	if out, err := db.OptedOut(mustResolve(t, db, "telegram:1").ID, "telegram"); err != nil || !out {
		t.Errorf("the copied opt-out: %v, %v", out, err)
	}
	exp, err := db.ExportContact(mustResolve(t, db, "telegram:4").ID)
	if err != nil || len(exp.Files) != 2 {
		t.Fatalf("copied files: %d, %v", len(exp.Files), err)
	}
	for _, f := range exp.Files { // stored in the same microsecond: in either order
		if f.Name == "old.png" && (f.Erased.IsZero() || f.Data != nil) ||
			f.Name == "invoice.pdf" && !bytes.Equal(f.Data, bytes.Repeat([]byte("%PDF"), 75000)) {
			t.Errorf("copied file %s: erased %v, %d bytes", f.Name, f.Erased, len(f.Data))
		}
	}
	if rec, ok, err := db.Idempotency("k|order-1"); err != nil || !ok || string(rec.Result) != `{"id":"t_1"}` {
		t.Errorf("copied idempotency key: %+v, %v, %v", rec, ok, err)
	}
	if w, err := db.WaitingTriggers(); err != nil || len(w) != 1 {
		t.Errorf("copied parked triggers: %+v, %v", w, err)
	} else if in, err := db.ReleaseTrigger(ctx, w[0].ContactID, w[0].Seq); err != nil || string(in.Data) != `{"kind":"later"}` {
		t.Errorf("release of a copied parked trigger: %+v, %v", in, err)
	}
	// The merge can be undone on PostgreSQL; the link code works there.
	merges, err := src.Merges(mustResolve(t, db, "telegram:1").ID)
	if err != nil || len(merges) != 1 {
		t.Fatalf("source merges %+v, %v", merges, err)
	}
	if got, err := db.MergeRecordByID(merges[0].ID); err != nil || !reflect.DeepEqual(got, merges[0]) {
		t.Errorf("merge record after the copy:\n got %+v, %v\nwant %+v", got, err, merges[0])
	}
	if _, err := db.UndoMerge(ctx, merges[0].ID, "test"); err != nil {
		t.Errorf("undo of a copied merge: %v", err)
	}
	if lc, err := db.LookupLinkCode(code, c.ID); err != nil || lc.ContactID != mustResolve(t, db, "telegram:3").ID {
		t.Errorf("copied link code: %+v, %v", lc, err)
	}
	// New writes continue after the copied numbers.
	res, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Messages: []store.Message{{Dir: "in", Text: "after"}},
		Outbox: []store.OutboxEntry{{Address: "vk:50", Data: []byte("x")}}, Events: []store.Event{{Type: "after"}}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := src.PendingOutbox()
	if res.MessageSeqs[0] != 3 || res.OutboxIDs[0] <= out[len(out)-1].ID {
		t.Errorf("after the copy: %+v; want seq 3 and an outbox id after %d", res, out[len(out)-1].ID)
	}
	tk, err := db.OpenTicket(ctx, store.Ticket{ContactID: mustResolve(t, db, "web:new").ID})
	if err != nil || tk.ID != 13 {
		t.Errorf("first ticket after the copy: %d, %v; want 13", tk.ID, err)
	}
	// A second copy into the same database is refused and changes nothing.
	if _, err := postgres.CopyFromBolt(ctx, src, db); !errors.Is(err, postgres.ErrNotEmpty) {
		t.Errorf("second copy: %v, want ErrNotEmpty", err)
	}
}

func mustResolve(t *testing.T, db *postgres.DB, identity string) store.Contact {
	t.Helper()
	c, _, err := db.ResolveContact(context.Background(), identity, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}
