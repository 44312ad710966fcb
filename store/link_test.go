package store_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

func TestParseLinkCode(t *testing.T) {
	for in, want := range map[string]string{
		"7KQM-4T9X":                       "7KQM-4T9X",
		" 7kqm4t9x ":                      "7KQM-4T9X",
		"7kqm 4t9x":                       "7KQM-4T9X",
		"link_0123456789abcdefghjkmnpqrs": "link_0123456789abcdefghjkmnpqrs",
		"LINK_0123456789ABCDEFGHJKMNPQRS": "link_0123456789abcdefghjkmnpqrs",
	} {
		if got, ok := store.ParseLinkCode(in); !ok || got != want {
			t.Errorf("ParseLinkCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "1234567", "12345678", "ABCDEFGH", "7KQM-4T9O", "7KQM-4T9X1",
		"password", "hello world", "link_short", "link_0123456789abcdefghjkmnpqru"} {
		if got, ok := store.ParseLinkCode(in); ok {
			t.Errorf("ParseLinkCode(%q) = %q, want no code", in, got)
		}
	}
}

func TestIssuedCodesHaveTheirShape(t *testing.T) {
	db := storetest.Open(t)
	c := mustContact(t, db, "telegram:1")
	for range 50 {
		lc, err := db.IssueLinkCode(ctx, c.ID, store.LinkKindCode, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := store.ParseLinkCode(lc.Code); !ok || got != lc.Code {
			t.Fatalf("issued code %q does not parse as itself (%q, %v)", lc.Code, got, ok)
		}
	}
	tok, err := db.IssueLinkCode(ctx, c.ID, store.LinkKindToken, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := store.ParseLinkCode(tok.Code); !ok || got != tok.Code || len(tok.Code) > 64 {
		t.Errorf("token %q: parse %q, %v", tok.Code, got, ok)
	}
	if _, err := db.IssueLinkCode(ctx, "c_none", store.LinkKindCode, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("code for a missing contact: %v", err)
	}
}

// say commits one message for c at the clock's time plus a minute.
func sayAt(t *testing.T, db *store.DB, clk *storetest.Clock, c store.Contact, addr, text string) {
	t.Helper()
	clk.Advance(time.Minute)
	if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Messages: []store.Message{{Dir: "in", Address: addr, Text: text}}}); err != nil {
		t.Fatal(err)
	}
}

func historyTexts(t *testing.T, db *store.DB, id string) []string {
	t.Helper()
	h, err := db.History(id, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range h {
		out = append(out, m.Text)
	}
	return out
}

func TestLinkByCodeSurvivorAndTurn(t *testing.T) {
	db, clk := openClock(t)
	old := mustContact(t, db, "telegram:1")
	clk.Advance(time.Second)
	young := mustContact(t, db, "web:b")
	sayAt(t, db, clk, old, "telegram:1", "tg hello")
	sayAt(t, db, clk, young, "web:b", "web hello")
	// The younger contact asks for the code; the older one sends it: the
	// older one survives whoever presented the code.
	lc, _ := db.IssueLinkCode(ctx, young.ID, store.LinkKindCode, time.Hour)
	clk.Advance(time.Minute)
	seq, _, _ := db.Enqueue(ctx, old.ID, "telegram:1|tg:9", []byte(`{}`))
	res, err := db.LinkByCode(ctx, store.LinkRequest{Code: lc.Code, By: old.ID, Turn: store.Turn{
		ContactID: old.ID, InboxSeq: seq,
		Messages: []store.Message{{ContactID: old.ID, Dir: "in", Address: "telegram:1", Text: lc.Code}},
		Outbox:   []store.OutboxEntry{{ContactID: old.ID, Address: "web:b", Data: []byte("linked")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Contact.ID != old.ID || res.Absorbed != young.ID || res.Owner != young.ID || res.Record.Reason != "link_code" {
		t.Errorf("result = %+v", res)
	}
	if diff := cmp.Diff([]string{"tg hello", "web hello", lc.Code}, historyTexts(t, db, old.ID)); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if o, _ := db.PendingOutbox(); len(o) != 1 || o[0].ContactID != old.ID {
		t.Errorf("outbox = %+v", o)
	}
	if _, err := db.LinkByCode(ctx, store.LinkRequest{Code: lc.Code, By: old.ID}); !errors.Is(err, store.ErrLinkCode) {
		t.Errorf("a used code works again: %v", err)
	}
}

func TestLinkByCodeOpenTicketSurvives(t *testing.T) {
	db, clk := openClock(t)
	old := mustContact(t, db, "telegram:1")
	clk.Advance(time.Second)
	young := mustContact(t, db, "web:b")
	if _, err := db.OpenTicket(ctx, store.Ticket{ContactID: young.ID}); err != nil {
		t.Fatal(err)
	}
	lc, _ := db.IssueLinkCode(ctx, old.ID, store.LinkKindToken, time.Hour)
	res, err := db.LinkByCode(ctx, store.LinkRequest{Code: lc.Code, By: young.ID})
	if err != nil {
		t.Fatal(err)
	}
	if res.Contact.ID != young.ID || res.Record.Reason != "link_token" {
		t.Errorf("survivor %q (reason %q), want the one with the ticket %q", res.Contact.ID, res.Record.Reason, young.ID)
	}
}

func TestStaleContactUpdateIsAConflict(t *testing.T) {
	db := storetest.Open(t)
	a := mustContact(t, db, "telegram:1")
	b := mustContact(t, db, "web:b")
	if _, err := db.MergeContacts(ctx, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	stale := a
	stale.Fields = map[string]string{"x": "1"}
	if _, err := db.Commit(ctx, store.Turn{ContactID: a.ID, Contact: &stale}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale contact update: %v, want ErrConflict", err)
	}
	if c, _ := db.ContactByIdentity("web:b"); c.ID != a.ID {
		t.Error("a stale update dropped a linked identity")
	}
}

func TestUndoMerge(t *testing.T) {
	db, clk := openClock(t)
	tg, _, _ := db.ResolveContact(ctx, "telegram:1", "Anna", "ru")
	web, _, _ := db.ResolveContact(ctx, "web:v1", "", "en")
	sayAt(t, db, clk, tg, "telegram:1", "tg 1")
	sayAt(t, db, clk, web, "web:v1", "web 1")
	sayAt(t, db, clk, tg, "telegram:1", "tg 2")
	if _, err := db.Commit(ctx, store.Turn{ContactID: web.ID, Session: []byte(`{"vars":{"a":1}}`),
		Contact: &store.Contact{Lang: "en", Fields: map[string]string{"email": "a@example.com"}, Identities: []string{"web:v1"}}}); err != nil {
		t.Fatal(err)
	}
	tk, err := db.OpenTicket(ctx, store.Ticket{ContactID: web.ID, Address: "web:v1"})
	if err != nil {
		t.Fatal(err)
	}
	before := map[string][]string{tg.ID: historyTexts(t, db, tg.ID), web.ID: historyTexts(t, db, web.ID)}
	webBefore, _ := db.Contact(web.ID)

	res, err := db.Merge(ctx, tg.ID, web.ID, store.MergeOptions{Reason: "api", By: "lead1"})
	if err != nil {
		t.Fatal(err)
	}
	// After the merge each side keeps talking.
	sayAt(t, db, clk, tg, "web:v1", "web after")
	sayAt(t, db, clk, tg, "telegram:1", "tg after")
	if got, _ := db.Merges(tg.ID); len(got) != 1 || got[0].ID != res.Record.ID {
		t.Errorf("Merges = %+v", got)
	}

	rec, err := db.UndoMerge(ctx, res.Record.ID, "lead1")
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Undone() || rec.UndoneBy != "lead1" {
		t.Errorf("record = %+v", rec)
	}
	if diff := cmp.Diff(append(before[tg.ID], "tg after"), historyTexts(t, db, tg.ID)); diff != "" {
		t.Errorf("survivor history (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(append(before[web.ID], "web after"), historyTexts(t, db, web.ID)); diff != "" {
		t.Errorf("restored history (-want +got):\n%s", diff)
	}
	got, err := db.ContactByIdentity("web:v1")
	if err != nil || got.ID != web.ID || got.Fields["email"] != "a@example.com" || got.Lang != "en" {
		t.Errorf("web:v1 -> %+v, %v; want the restored %+v", got, err, webBefore)
	}
	surv, _ := db.Contact(tg.ID)
	if diff := cmp.Diff([]string{"telegram:1"}, surv.Identities); diff != "" || surv.Fields["email"] != "" || surv.Name != "Anna" {
		t.Errorf("survivor after undo = %+v (%s)", surv, diff)
	}
	if s, _ := db.Session(web.ID); string(s) != `{"vars":{"a":1}}` {
		t.Errorf("restored session = %q", s)
	}
	if open, ok, _ := db.OpenTicketFor(web.ID); !ok || open.ID != tk.ID {
		t.Errorf("restored open ticket = %+v, %v", open, ok)
	}
	if _, ok, _ := db.OpenTicketFor(tg.ID); ok {
		t.Error("survivor kept the moved ticket open")
	}
	if _, err := db.UndoMerge(ctx, res.Record.ID, "lead1"); !errors.Is(err, store.ErrUndo) {
		t.Errorf("second undo: %v, want ErrUndo", err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

func TestUndoNestedMergesNewestFirst(t *testing.T) {
	db, clk := openClock(t)
	a := mustContact(t, db, "telegram:1")
	b := mustContact(t, db, "vk:2")
	c := mustContact(t, db, "web:3")
	sayAt(t, db, clk, a, "telegram:1", "a")
	sayAt(t, db, clk, b, "vk:2", "b")
	sayAt(t, db, clk, c, "web:3", "c")
	first, err := db.Merge(ctx, b.ID, c.ID, store.MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := db.Merge(ctx, a.ID, b.ID, store.MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UndoMerge(ctx, first.Record.ID, ""); !errors.Is(err, store.ErrUndo) {
		t.Errorf("undo of the older merge first: %v, want ErrUndo", err)
	}
	if _, err := db.UndoMerge(ctx, second.Record.ID, ""); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b", "c"}, historyTexts(t, db, b.ID)); diff != "" {
		t.Errorf("b after undoing the second merge (-want +got):\n%s", diff)
	}
	if _, err := db.UndoMerge(ctx, first.Record.ID, ""); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{a.ID: "a", b.ID: "b", c.ID: "c"} {
		if diff := cmp.Diff([]string{want}, historyTexts(t, db, id)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", want, diff)
		}
	}
}

func TestExportContact(t *testing.T) {
	db, clk := openClock(t)
	a, _, _ := db.ResolveContact(ctx, "telegram:1", "Anna", "ru")
	b := mustContact(t, db, "web:2")
	sayAt(t, db, clk, a, "telegram:1", "hello from telegram")
	if _, err := db.Commit(ctx, store.Turn{ContactID: b.ID, Session: []byte(`{"flow":"main"}`),
		Events: []store.Event{{Type: "message_in"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Merge(ctx, a.ID, b.ID, store.MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenTicket(ctx, store.Ticket{ContactID: a.ID, Summary: "wants a refund"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.IssueLinkCode(ctx, a.ID, store.LinkKindCode, time.Hour); err != nil {
		t.Fatal(err)
	}
	ex, err := db.ExportContact(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range ex.Events {
		types = append(types, e.Type)
	}
	if ex.Contact.ID != a.ID || len(ex.Contact.Identities) != 2 || string(ex.Session) != `{"flow":"main"}` ||
		len(ex.History) != 1 || len(ex.Tickets) != 1 || len(ex.Merges) != 1 || len(ex.Links) != 1 {
		t.Errorf("export = %+v", ex)
	}
	// b was merged into a: b's own event is the person's too (forget
	// erases it, so export shows it: issue 14, item 8).
	if diff := cmp.Diff([]string{"message_in", "contact_merged"}, types); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if _, err := db.ExportContact("c_none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("export of a missing contact: %v", err)
	}
}

func TestForgetContactLeavesNoTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	clk := storetest.NewClock(t0)
	db, err := store.Open(path, store.Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	secret := "my card number is 4111-SECRET-TEXT"
	a, _, _ := db.ResolveContact(ctx, "telegram:777000", "Zinaida Secretova", "ru")
	b, _, _ := db.ResolveContact(ctx, "web:visitor-secret-id", "", "")
	other := mustContact(t, db, "vk:5")
	sayAt(t, db, clk, a, "telegram:777000", secret)
	sayAt(t, db, clk, b, "web:visitor-secret-id", "second "+secret)
	sayAt(t, db, clk, other, "vk:5", "unrelated text stays")
	if _, _, err := db.Enqueue(ctx, a.ID, "telegram:777000|tg:1", []byte(`{"text":"`+secret+`"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(ctx, store.Turn{ContactID: a.ID, Session: []byte(`{"vars":{"card":"` + secret + `"}}`),
		Events: []store.Event{{Type: "error", Data: map[string]string{"error": secret, "channel": "telegram"}}},
		Outbox: []store.OutboxEntry{{Address: "telegram:777000", Data: []byte(secret)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Merge(ctx, a.ID, b.ID, store.MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	tk, err := db.OpenTicket(ctx, store.Ticket{ContactID: a.ID, Address: "telegram:777000", Summary: secret,
		Evidence: []string{secret}, Vars: map[string]string{"card": secret}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateTicket(ctx, tk.ID, func(t *store.Ticket) error {
		t.Notes = append(t.Notes, store.Note{AgentID: "ag1", Text: "customer said " + secret})
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	res, err := db.ForgetContact(ctx, a.ID, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 2 || res.Tickets != 1 || res.Merges != 1 || res.Queued != 2 || !strings.HasPrefix(res.Anonymous, store.AnonPrefix) {
		t.Errorf("result = %+v", res)
	}
	// Logically gone, before any compaction.
	for _, identity := range []string{"telegram:777000", "web:visitor-secret-id"} {
		if _, err := db.ContactByIdentity(identity); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s still resolves: %v", identity, err)
		}
	}
	if h, _ := db.History(a.ID, 0, 0); len(h) != 0 {
		t.Errorf("history left: %+v", h)
	}
	got, err := db.Ticket(tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ContactID != res.Anonymous || got.Summary != "[erased]" || got.Vars != nil || got.Evidence != nil ||
		got.Notes[0].Text != "[erased]" || got.Status != store.TicketResolved || got.Address != "" {
		t.Errorf("anonymised ticket = %+v", got)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if !bytes.Contains(raw, []byte("SECRET-TEXT")) {
		t.Log("note: freed pages were already reused; compaction is still what guarantees erasure")
	}
	if _, _, err := store.CompactFile(path); err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, trace := range []string{"SECRET-TEXT", "Secretova", "777000", "visitor-secret-id", a.ID, b.ID} {
		if bytes.Contains(raw, []byte(trace)) {
			t.Errorf("%q is still in the file after forget and compaction", trace)
		}
	}
	if !bytes.Contains(raw, []byte("unrelated text stays")) {
		t.Error("compaction lost another contact's history")
	}
	storetest.CheckFile(t, path)
}

// A parsed code is canonical: parsing it again gives itself, and it never
// contains anything but the code alphabet, a dash or the token form.
func FuzzParseLinkCode(f *testing.F) {
	for _, s := range []string{"7KQM-4T9X", " 7kqm4t9x ", "link_0123456789abcdefghjkmnpqrs", "12345678", "ÿÿÿÿ-ÿÿÿÿ", "link_", "7KQM--4T9X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := store.ParseLinkCode(s)
		if !ok {
			return
		}
		again, ok2 := store.ParseLinkCode(c)
		if !ok2 || again != c {
			t.Fatalf("ParseLinkCode(%q) = %q, which parses as %q, %v", s, c, again, ok2)
		}
		if len(c) != 9 && len(c) != 31 {
			t.Fatalf("ParseLinkCode(%q) = %q of length %d", s, c, len(c))
		}
	})
}
