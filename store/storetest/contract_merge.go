package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// The merge, link, export and erasure part of Contract (ported from the
// bbolt store's merge_test.go and link_test.go).

func sayAt(t *testing.T, db Backend, clk *Clock, c store.Contact, addr, text string) {
	t.Helper()
	clk.Advance(time.Minute)
	if _, err := db.Commit(cctx, store.Turn{ContactID: c.ID, Messages: []store.Message{{Dir: "in", Address: addr, Text: text}}}); err != nil {
		t.Fatal(err)
	}
}

func historyTexts(t *testing.T, db Backend, id string) []string {
	t.Helper()
	h, err := db.History(id, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, m := range h {
		if m.Seq != uint64(i+1) || m.ContactID != id {
			t.Errorf("history of %s, message %d: seq %d contact %q", id, i, m.Seq, m.ContactID)
		}
		out = append(out, m.Text)
	}
	return out
}

func contractMerge(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	tg, _, _ := db.ResolveContact(cctx, "telegram:1", "Anna", "ru")
	web, _, _ := db.ResolveContact(cctx, "web:v1", "", "")
	say := func(c store.Contact, text string) {
		t.Helper()
		clk.Advance(time.Minute)
		if _, err := db.Commit(cctx, store.Turn{ContactID: c.ID, Messages: []store.Message{{Dir: "in", Text: text}}}); err != nil {
			t.Fatal(err)
		}
	}
	say(tg, "tg 1")
	say(web, "web 1")
	say(tg, "tg 2")
	_, err := db.Commit(cctx, store.Turn{ContactID: web.ID, Session: []byte("web session"),
		Contact:  &store.Contact{Fields: map[string]string{"email": "a@example.com"}, Identities: []string{"web:v1"}},
		Outbox:   []store.OutboxEntry{{Address: "web:v1", Data: []byte("pending reply")}},
		Messages: []store.Message{{Dir: "out", Text: "web 2", At: ct0.Add(150 * time.Second)}}})
	if err != nil {
		t.Fatal(err)
	}
	seq, _, _ := db.Enqueue(cctx, web.ID, "web:m9", []byte("pending in"))
	tk, err := db.OpenTicket(cctx, store.Ticket{ContactID: web.ID, Reason: "requested"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Merge(cctx, tg.ID, web.ID, store.MergeOptions{Reason: "api", By: "lead1"})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Contact
	same(t, "identities", []string{"telegram:1", "web:v1"}, got.Identities)
	if got.Name != "Anna" || got.Fields["email"] != "a@example.com" || got.Rev != 2 {
		t.Errorf("merged contact = %+v", got)
	}
	if stored, _ := db.Contact(tg.ID); !same2(stored, got) {
		t.Errorf("stored survivor %+v, merge returned %+v", stored, got)
	}
	if c, err := db.ContactByIdentity("web:v1"); err != nil || c.ID != tg.ID {
		t.Errorf("web:v1 resolves to %q, %v", c.ID, err)
	}
	if _, err := db.Contact(web.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("merged-away contact still exists: %v", err)
	}
	same(t, "merged history", []string{"tg 1", "web 1", "web 2", "tg 2"}, historyTexts(t, db, tg.ID))
	if h, _ := db.History(tg.ID, 0, 0); len(h) == 4 && (len(h[1].Via) != 1 || h[1].Via[0] != res.Record.ID || h[0].Via != nil) {
		t.Errorf("Via of merged messages: %v, %v", h[0].Via, h[1].Via)
	}
	if s, _ := db.Session(tg.ID); string(s) != "web session" {
		t.Errorf("session = %q, want the only one there was", s)
	}
	if s, _ := db.Session(web.ID); s != nil {
		t.Errorf("the absorbed contact's session stayed: %q", s)
	}
	if o, _ := db.PendingOutbox(); len(o) != 1 || o[0].ContactID != tg.ID {
		t.Errorf("outbox = %+v", o)
	}
	if in, _ := db.PendingInbox(); len(in) != 1 || in[0].Seq != seq || in[0].ContactID != tg.ID {
		t.Errorf("inbox = %+v", in)
	}
	if len(res.Moved) != 1 || res.Moved[0].Seq != seq || res.Moved[0].ContactID != tg.ID {
		t.Errorf("moved inbox entries = %+v", res.Moved)
	}
	if open, ok, _ := db.OpenTicketFor(tg.ID); !ok || open.ID != tk.ID || open.ContactID != tg.ID {
		t.Errorf("open ticket = %+v, %v", open, ok)
	}
	rec, err := db.MergeRecordByID(res.Record.ID)
	if err != nil || rec.IntoID != tg.ID || rec.From.ID != web.ID || string(rec.FromSession) != "web session" ||
		len(rec.Tickets) != 1 || rec.Tickets[0] != tk.ID || rec.GainedFields["email"] != "a@example.com" || rec.By != "lead1" {
		t.Errorf("merge record = %+v, %v", rec, err)
	}
	for _, id := range []string{tg.ID, web.ID} {
		if ms, err := db.Merges(id); err != nil || len(ms) != 1 || ms[0].ID != res.Record.ID {
			t.Errorf("Merges(%s) = %+v, %v", id, ms, err)
		}
	}
	var merged int
	for _, e := range allEvents(t, db) {
		if e.Type == "contact_merged" && e.ContactID == tg.ID && e.Data["from"] == web.ID {
			merged++
		}
	}
	if merged != 1 {
		t.Errorf("%d contact_merged events, want 1", merged)
	}
	// The moved inbox entry is consumed by a turn of the surviving contact.
	if _, err := db.Commit(cctx, store.Turn{ContactID: tg.ID, InboxSeq: seq}); err != nil {
		t.Errorf("turn consuming the moved inbox entry: %v", err)
	}
}

func same2(a, b store.Contact) bool {
	return a.ID == b.ID && a.Rev == b.Rev && a.Name == b.Name && strings.Join(a.Identities, ",") == strings.Join(b.Identities, ",")
}

func contractMergeRefuses(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	a := contact(t, db, "web:a")
	b := contact(t, db, "web:b")
	if _, err := db.MergeContacts(cctx, a.ID, a.ID); err == nil {
		t.Error("merged a contact into itself")
	}
	if _, err := db.MergeContacts(cctx, a.ID, "c_none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("merge of a missing contact: %v", err)
	}
	for _, c := range []store.Contact{a, b} {
		if _, err := db.OpenTicket(cctx, store.Ticket{ContactID: c.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.MergeContacts(cctx, a.ID, b.ID); !errors.Is(err, store.ErrTicketOpen) {
		t.Errorf("merge with two open tickets: %v, want ErrTicketOpen", err)
	}
	if c, _ := db.ContactByIdentity("web:b"); c.ID != b.ID {
		t.Error("a refused merge moved an identity")
	}
}

// A merge keeps both contacts' recent event keys on the survivor.
func contractMergeEventKeys(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	a, b := contact(t, db, "telegram:1"), contact(t, db, "telegram:2")
	if _, _, err := db.Enqueue(cctx, a.ID, "tg:a", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Enqueue(cctx, b.ID, "tg:b", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MergeContacts(cctx, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tg:a", "tg:b"} {
		if _, dup, _ := db.Enqueue(cctx, a.ID, k, nil); !dup {
			t.Errorf("%s not recognised after the merge", k)
		}
	}
}

func contractLookupLinkCode(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	a := contact(t, db, "telegram:1")
	b := contact(t, db, "web:b")
	old, _ := db.IssueLinkCode(cctx, a.ID, store.LinkKindCode, 10*time.Minute)
	lc, err := db.IssueLinkCode(cctx, a.ID, store.LinkKindCode, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := store.ParseLinkCode(lc.Code); !ok || c != lc.Code || !lc.ExpiresAt.Equal(ct0.Add(10*time.Minute)) {
		t.Errorf("issued %+v", lc)
	}
	if _, err := db.LookupLinkCode(old.Code, b.ID); !errors.Is(err, store.ErrLinkCode) {
		t.Errorf("a replaced code still works: %v", err)
	}
	got, err := db.LookupLinkCode(strings.ToLower(lc.Code), b.ID)
	if err != nil || got.ContactID != a.ID || got.Kind != store.LinkKindCode || got.Code != lc.Code {
		t.Errorf("lookup = %+v, %v", got, err)
	}
	if _, err := db.LookupLinkCode(lc.Code, a.ID); !errors.Is(err, store.ErrLinkCode) {
		t.Errorf("own code accepted: %v", err)
	}
	tok, err := db.IssueLinkCode(cctx, a.ID, store.LinkKindToken, time.Hour)
	if err != nil || !strings.HasPrefix(tok.Code, "link_") {
		t.Fatalf("token %+v, %v", tok, err)
	}
	if _, err := db.LookupLinkCode(lc.Code, b.ID); err != nil {
		t.Errorf("a token replaced the code: %v", err)
	}
	clk.Advance(10 * time.Minute)
	if _, err := db.LookupLinkCode(lc.Code, b.ID); !errors.Is(err, store.ErrLinkCode) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired code: %v", err)
	}
	for _, bad := range []string{"", "nonsense", "0000-0000"} {
		if _, err := db.LookupLinkCode(bad, b.ID); !errors.Is(err, store.ErrLinkCode) {
			t.Errorf("LookupLinkCode(%q): %v", bad, err)
		}
	}
	if _, err := db.IssueLinkCode(cctx, "c_none", store.LinkKindCode, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("code for a missing contact: %v", err)
	}
	if _, err := db.IssueLinkCode(cctx, a.ID, "other", time.Hour); err == nil {
		t.Error("an unknown kind was accepted")
	}
}

func contractLinkAttempts(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	a := contact(t, db, "telegram:1")
	b := contact(t, db, "web:b")
	lc, _ := db.IssueLinkCode(cctx, a.ID, store.LinkKindCode, time.Hour)
	for i := 1; i <= 3; i++ {
		if n, err := db.LinkFailed(cctx, b.ID, 10*time.Minute); err != nil || n != i {
			t.Fatalf("LinkFailed #%d = %d, %v", i, n, err)
		}
	}
	if n, _ := db.LinkAttempts(b.ID, 10*time.Minute); n != 3 {
		t.Errorf("LinkAttempts = %d, want 3", n)
	}
	_, err := db.LinkByCode(cctx, store.LinkRequest{Code: lc.Code, By: b.ID, MaxAttempts: 3, Window: 10 * time.Minute})
	if !errors.Is(err, store.ErrLinkLimit) {
		t.Fatalf("a right code over the limit: %v, want ErrLinkLimit", err)
	}
	if c, _ := db.ContactByIdentity("web:b"); c.ID != b.ID {
		t.Error("a refused link merged")
	}
	clk.Advance(10 * time.Minute)
	if n, _ := db.LinkAttempts(b.ID, 10*time.Minute); n != 0 {
		t.Errorf("attempts after the window = %d", n)
	}
	if n, err := db.LinkFailed(cctx, b.ID, 10*time.Minute); err != nil || n != 1 {
		t.Errorf("LinkFailed in a new window = %d, %v; want 1", n, err)
	}
	if _, err := db.LinkByCode(cctx, store.LinkRequest{Code: lc.Code, By: b.ID, MaxAttempts: 3, Window: 10 * time.Minute}); err != nil {
		t.Errorf("after the window: %v", err)
	}
	if _, err := db.LinkFailed(cctx, "c_none", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LinkFailed of a missing contact: %v", err)
	}
}

func contractLinkByCode(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	old := contact(t, db, "telegram:1")
	clk.Advance(time.Second)
	young := contact(t, db, "web:b")
	sayAt(t, db, clk, old, "telegram:1", "tg hello")
	sayAt(t, db, clk, young, "web:b", "web hello")
	lc, _ := db.IssueLinkCode(cctx, young.ID, store.LinkKindCode, time.Hour)
	clk.Advance(time.Minute)
	seq, _, _ := db.Enqueue(cctx, old.ID, "telegram:1|tg:9", []byte(`{}`))
	res, err := db.LinkByCode(cctx, store.LinkRequest{Code: lc.Code, By: old.ID, Turn: store.Turn{
		ContactID: old.ID, InboxSeq: seq,
		Messages: []store.Message{{ContactID: old.ID, Dir: "in", Address: "telegram:1", Text: lc.Code}},
		Outbox:   []store.OutboxEntry{{ContactID: old.ID, Address: "web:b", Data: []byte("linked")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Contact.ID != old.ID || res.Absorbed != young.ID || res.Owner != young.ID || res.Record.Reason != "link_code" ||
		res.Record.By != "customer" || len(res.Turn.OutboxIDs) != 1 || len(res.Turn.MessageSeqs) != 1 || res.Turn.MessageSeqs[0] != 3 {
		t.Errorf("result = %+v", res)
	}
	same(t, "history", []string{"tg hello", "web hello", lc.Code}, historyTexts(t, db, old.ID))
	if o, _ := db.PendingOutbox(); len(o) != 1 || o[0].ContactID != old.ID {
		t.Errorf("outbox = %+v", o)
	}
	if in, _ := db.PendingInbox(); len(in) != 0 {
		t.Errorf("inbox = %+v; the turn consumed it", in)
	}
	if _, err := db.LinkByCode(cctx, store.LinkRequest{Code: lc.Code, By: old.ID}); !errors.Is(err, store.ErrLinkCode) {
		t.Errorf("a used code works again: %v", err)
	}
	// A failing turn leaves the link undone and the code usable.
	lc2, _ := db.IssueLinkCode(cctx, old.ID, store.LinkKindCode, time.Hour)
	third := contact(t, db, "vk:3")
	if _, err := db.LinkByCode(cctx, store.LinkRequest{Code: lc2.Code, By: third.ID, Turn: store.Turn{
		Messages: []store.Message{{Dir: "sideways"}}}}); err == nil {
		t.Fatal("a link with a bad turn succeeded")
	}
	if c, _ := db.ContactByIdentity("vk:3"); c.ID != third.ID {
		t.Error("a failed link merged")
	}
	if _, err := db.LookupLinkCode(lc2.Code, third.ID); err != nil {
		t.Errorf("a failed link used the code up: %v", err)
	}
}

func contractLinkOpenTicket(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	old := contact(t, db, "telegram:1")
	clk.Advance(time.Second)
	young := contact(t, db, "web:b")
	if _, err := db.OpenTicket(cctx, store.Ticket{ContactID: young.ID}); err != nil {
		t.Fatal(err)
	}
	lc, _ := db.IssueLinkCode(cctx, old.ID, store.LinkKindToken, time.Hour)
	res, err := db.LinkByCode(cctx, store.LinkRequest{Code: lc.Code, By: young.ID})
	if err != nil {
		t.Fatal(err)
	}
	if res.Contact.ID != young.ID || res.Record.Reason != "link_token" {
		t.Errorf("survivor %q (reason %q), want the one with the ticket %q", res.Contact.ID, res.Record.Reason, young.ID)
	}
}

func contractStaleAfterMerge(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	a := contact(t, db, "telegram:1")
	b := contact(t, db, "web:b")
	if _, err := db.MergeContacts(cctx, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	stale := a
	stale.Fields = map[string]string{"x": "1"}
	if _, err := db.Commit(cctx, store.Turn{ContactID: a.ID, Contact: &stale}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale contact update: %v, want ErrConflict", err)
	}
	if c, _ := db.ContactByIdentity("web:b"); c.ID != a.ID {
		t.Error("a stale update dropped a linked identity")
	}
}

func contractUndoMerge(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	tg, _, _ := db.ResolveContact(cctx, "telegram:1", "Anna", "ru")
	web, _, _ := db.ResolveContact(cctx, "web:v1", "", "en")
	sayAt(t, db, clk, tg, "telegram:1", "tg 1")
	sayAt(t, db, clk, web, "web:v1", "web 1")
	sayAt(t, db, clk, tg, "telegram:1", "tg 2")
	if _, err := db.Commit(cctx, store.Turn{ContactID: web.ID, Session: []byte(`{"vars":{"a":1}}`),
		Contact: &store.Contact{Lang: "en", Fields: map[string]string{"email": "a@example.com"}, Identities: []string{"web:v1"}}}); err != nil {
		t.Fatal(err)
	}
	tk, err := db.OpenTicket(cctx, store.Ticket{ContactID: web.ID, Address: "web:v1"})
	if err != nil {
		t.Fatal(err)
	}
	beforeTG, beforeWeb := historyTexts(t, db, tg.ID), historyTexts(t, db, web.ID)
	res, err := db.Merge(cctx, tg.ID, web.ID, store.MergeOptions{Reason: "api", By: "lead1"})
	if err != nil {
		t.Fatal(err)
	}
	sayAt(t, db, clk, tg, "web:v1", "web after")
	sayAt(t, db, clk, tg, "telegram:1", "tg after")
	if _, err := db.Commit(cctx, store.Turn{ContactID: tg.ID, Outbox: []store.OutboxEntry{
		{Address: "web:v1", Data: []byte("to web")}, {Address: "telegram:1", Data: []byte("to tg")}}}); err != nil {
		t.Fatal(err)
	}
	rec, err := db.UndoMerge(cctx, res.Record.ID, "lead1")
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Undone() || rec.UndoneBy != "lead1" {
		t.Errorf("record = %+v", rec)
	}
	if stored, _ := db.MergeRecordByID(res.Record.ID); !stored.Undone() {
		t.Errorf("stored record not undone: %+v", stored)
	}
	same(t, "survivor history", append(beforeTG, "tg after"), historyTexts(t, db, tg.ID))
	same(t, "restored history", append(beforeWeb, "web after"), historyTexts(t, db, web.ID))
	got, err := db.ContactByIdentity("web:v1")
	if err != nil || got.ID != web.ID || got.Fields["email"] != "a@example.com" || got.Lang != "en" {
		t.Errorf("web:v1 -> %+v, %v; want the restored contact", got, err)
	}
	surv, _ := db.Contact(tg.ID)
	if !same2(surv, store.Contact{ID: tg.ID, Name: "Anna", Identities: []string{"telegram:1"}, Rev: 3}) || surv.Fields != nil {
		t.Errorf("survivor after undo = %+v", surv)
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
	out, _ := db.PendingOutbox()
	owners := map[string]string{}
	for _, o := range out {
		owners[string(o.Data)] = o.ContactID
	}
	same(t, "pending replies' owners", map[string]string{"to web": web.ID, "to tg": tg.ID}, owners)
	if _, err := db.UndoMerge(cctx, res.Record.ID, "lead1"); !errors.Is(err, store.ErrUndo) {
		t.Errorf("second undo: %v, want ErrUndo", err)
	}
	if _, err := db.UndoMerge(cctx, 999999, "lead1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("undo of an unknown merge: %v, want ErrNotFound", err)
	}
}

func contractUndoNested(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	a := contact(t, db, "telegram:1")
	b := contact(t, db, "vk:2")
	c := contact(t, db, "web:3")
	sayAt(t, db, clk, a, "telegram:1", "a")
	sayAt(t, db, clk, b, "vk:2", "b")
	sayAt(t, db, clk, c, "web:3", "c")
	first, err := db.Merge(cctx, b.ID, c.ID, store.MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := db.Merge(cctx, a.ID, b.ID, store.MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UndoMerge(cctx, first.Record.ID, ""); !errors.Is(err, store.ErrUndo) {
		t.Errorf("undo of the older merge first: %v, want ErrUndo", err)
	}
	if _, err := db.UndoMerge(cctx, second.Record.ID, ""); err != nil {
		t.Fatal(err)
	}
	same(t, "b after undoing the second merge", []string{"b", "c"}, historyTexts(t, db, b.ID))
	if _, err := db.UndoMerge(cctx, first.Record.ID, ""); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{a.ID: "a", b.ID: "b", c.ID: "c"} {
		same(t, want, []string{want}, historyTexts(t, db, id))
	}
}

func contractExport(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	a, _, _ := db.ResolveContact(cctx, "telegram:1", "Anna", "ru")
	b := contact(t, db, "web:2")
	sayAt(t, db, clk, a, "telegram:1", "hello from telegram")
	if _, err := db.Commit(cctx, store.Turn{ContactID: b.ID, Session: []byte(`{"flow":"main"}`),
		Events: []store.Event{{Type: "message_in"}}, Outbox: []store.OutboxEntry{{Address: "web:2", Data: []byte("r")}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Enqueue(cctx, b.ID, "web:e1", []byte("in")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Merge(cctx, a.ID, b.ID, store.MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenTicket(cctx, store.Ticket{ContactID: a.ID, Summary: "wants a refund"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.IssueLinkCode(cctx, a.ID, store.LinkKindCode, time.Hour); err != nil {
		t.Fatal(err)
	}
	other := contact(t, db, "vk:9")
	sayAt(t, db, clk, other, "vk:9", "someone else")
	ex, err := db.ExportContact(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range ex.Events {
		types = append(types, e.Type)
	}
	if ex.Contact.ID != a.ID || len(ex.Contact.Identities) != 2 || string(ex.Session) != `{"flow":"main"}` ||
		len(ex.History) != 1 || len(ex.Tickets) != 1 || len(ex.Merges) != 1 || len(ex.Links) != 1 ||
		len(ex.Inbox) != 1 || len(ex.Outbox) != 1 || ex.Links[0].Kind != store.LinkKindCode {
		t.Errorf("export = %+v", ex)
	}
	same(t, "contact ids", sortedPair(a.ID, b.ID), ex.ContactIDs)
	same(t, "events", []string{"message_in", "contact_merged"}, types)
	if _, err := db.ExportContact("c_none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("export of a missing contact: %v", err)
	}
	empty, err := db.ExportContact(other.ID)
	if err != nil || empty.Tickets == nil || empty.Events == nil || empty.Merges == nil || empty.Inbox == nil || empty.Links == nil {
		t.Errorf("export without records: lists must be empty, not nil: %+v, %v", empty, err)
	}
}

func sortedPair(a, b string) []string {
	if a > b {
		a, b = b, a
	}
	return []string{a, b}
}

func contractForget(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	secret := "my card number is 4111-SECRET-TEXT"
	a, _, _ := db.ResolveContact(cctx, "telegram:777000", "Zinaida Secretova", "ru")
	b, _, _ := db.ResolveContact(cctx, "web:visitor-secret-id", "", "")
	other := contact(t, db, "vk:5")
	sayAt(t, db, clk, a, "telegram:777000", secret)
	sayAt(t, db, clk, b, "web:visitor-secret-id", "second "+secret)
	sayAt(t, db, clk, other, "vk:5", "unrelated text stays")
	if _, _, err := db.Enqueue(cctx, a.ID, "telegram:777000|tg:1", []byte(`{"text":"`+secret+`"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(cctx, store.Turn{ContactID: a.ID, Session: []byte(`{"vars":{"card":"` + secret + `"}}`),
		Events: []store.Event{{Type: "error", Data: map[string]string{"error": secret, "channel": "telegram", "who": "telegram:777000"}}},
		Outbox: []store.OutboxEntry{{Address: "telegram:777000", Data: []byte(secret)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Merge(cctx, a.ID, b.ID, store.MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	tk, err := db.OpenTicket(cctx, store.Ticket{ContactID: a.ID, Address: "telegram:777000", Summary: secret, Reason: "said " + secret,
		Evidence: []string{secret}, Vars: map[string]string{"card": secret}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateTicket(cctx, tk.ID, func(t *store.Ticket) error {
		t.Notes = append(t.Notes, store.Note{AgentID: "ag1", Text: "customer said " + secret})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.IssueLinkCode(cctx, a.ID, store.LinkKindCode, time.Hour); err != nil {
		t.Fatal(err)
	}
	res, err := db.ForgetContact(cctx, a.ID, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 2 || res.Tickets != 1 || res.Merges != 1 || res.Queued != 2 || res.Events != 2 ||
		!strings.HasPrefix(res.Anonymous, store.AnonPrefix) || len(res.ContactIDs) != 2 {
		t.Errorf("result = %+v", res)
	}
	for _, identity := range []string{"telegram:777000", "web:visitor-secret-id"} {
		if _, err := db.ContactByIdentity(identity); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s still resolves: %v", identity, err)
		}
	}
	if _, err := db.Contact(a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("contact still there: %v", err)
	}
	if h, _ := db.History(a.ID, 0, 0); len(h) != 0 {
		t.Errorf("history left: %+v", h)
	}
	if s, _ := db.Session(a.ID); s != nil {
		t.Errorf("session left: %q", s)
	}
	if in, _ := db.PendingInbox(); len(in) != 0 {
		t.Errorf("inbox left: %+v", in)
	}
	if out, _ := db.PendingOutbox(); len(out) != 0 {
		t.Errorf("outbox left: %+v", out)
	}
	if ms, _ := db.Merges(a.ID); len(ms) != 0 {
		t.Errorf("merge records left: %+v", ms)
	}
	got, err := db.Ticket(tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ContactID != res.Anonymous || got.Summary != "[erased]" || got.Reason != "[erased]" || got.Vars != nil || got.Evidence != nil ||
		got.Notes[0].Text != "[erased]" || got.Status != store.TicketResolved || got.Address != "" {
		t.Errorf("anonymised ticket = %+v", got)
	}
	for _, e := range allEvents(t, db) {
		if e.ContactID == a.ID || e.ContactID == b.ID {
			t.Errorf("event %+v still names the forgotten person", e)
		}
		for k, v := range e.Data {
			if strings.Contains(v, "SECRET") || v == "telegram:777000" || v == b.ID {
				t.Errorf("event %s: %s=%q survived", e.Type, k, v)
			}
		}
	}
	// The identity is free again: the same customer writing later is new.
	c, created, err := db.ResolveContact(cctx, "telegram:777000", "", "")
	if err != nil || !created || c.ID == a.ID {
		t.Errorf("after forget: %+v, created %v, %v", c, created, err)
	}
	if h := historyTexts(t, db, other.ID); len(h) != 1 {
		t.Errorf("another contact's history: %v", h)
	}
	if _, err := db.ForgetContact(cctx, "c_none", "admin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("forget of a missing contact: %v", err)
	}
}
