package handoff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/store"
)

func TestLeadUndoesALink(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)
	tg := e.contact("telegram:1", "Olga", "en")
	web := e.contact("web:v1", "", "en")
	e.say(tg, "hello from telegram")
	e.clock.Advance(1)
	e.say(web, "hello from the web")
	res := e.link(tg, web)
	tk, _ := e.escalate(tg, "requested", "normal")

	anna := newClient(t, srv)
	anna.login("anna")
	var tj ticketJSON
	anna.call("GET", fmt.Sprintf("/api/tickets/%d", tk.ID), nil, 200, &tj)
	if !cmp.Equal(tj.Contact.Channels, []string{"telegram:1", "web:v1"}) {
		t.Errorf("ticket channels = %v", tj.Contact.Channels)
	}
	var list struct{ Merges []mergeJSON }
	anna.call("GET", "/api/contacts/"+tg.ID+"/merges", nil, 200, &list)
	if len(list.Merges) != 1 || list.Merges[0].ID != res.Record.ID || list.Merges[0].FromID != web.ID ||
		!cmp.Equal(list.Merges[0].FromIdentities, []string{"web:v1"}) || list.Merges[0].Reason != "link_code" {
		t.Fatalf("merges = %+v", list.Merges)
	}
	path := fmt.Sprintf("/api/merges/%d/undo", res.Record.ID)
	anna.call("POST", path, nil, 403, nil)
	anna.call("GET", "/api/contacts/c_nobody/merges", nil, 404, nil)

	lena := newClient(t, srv)
	lena.login("lena")
	if r, _ := lena.do("POST", path, nil, map[string]string{csrfHeader: "wrong"}); r.StatusCode != 403 {
		t.Errorf("undo without the CSRF token = %d", r.StatusCode)
	}
	var out struct{ Merge mergeJSON }
	lena.call("POST", path, nil, 200, &out)
	if out.Merge.UndoneAt == nil || out.Merge.UndoneBy != "lena" {
		t.Errorf("undone merge = %+v", out.Merge)
	}
	lena.call("POST", path, nil, 409, nil)
	lena.call("POST", "/api/merges/x/undo", nil, 400, nil)
	lena.call("POST", "/api/merges/999/undo", nil, 404, nil)

	if c, _ := e.db.ContactByIdentity("web:v1"); c.ID != web.ID {
		t.Errorf("web:v1 -> %s, want the restored %s", c.ID, web.ID)
	}
	anna.call("GET", fmt.Sprintf("/api/tickets/%d", tk.ID), nil, 200, &tj)
	if !cmp.Equal(tj.Contact.Channels, []string{"telegram:1"}) {
		t.Errorf("ticket channels after undo = %v", tj.Contact.Channels)
	}
	var h struct{ Messages []messageJSON }
	anna.call("GET", fmt.Sprintf("/api/tickets/%d/history", tk.ID), nil, 200, &h)
	for _, m := range h.Messages {
		if m.Text == "hello from the web" {
			t.Error("the ticket's history still holds the unlinked web message")
		}
	}
}

// TestAdminErasesAContact: only an admin erases, and only with the contact
// id repeated; the contact and its history are gone at once, its ticket is
// kept anonymised and resolved, and the queue hears about it.
func TestAdminErasesAContact(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("lena", RoleLead)
	e.agent("root", RoleAdmin)
	olga := e.contact("telegram:5", "Olga", "en")
	e.say(olga, "my address is 1 Main St")
	e.botSays(olga, "thanks")
	tk, _ := e.escalate(olga, "requested", "normal")
	other := e.contact("telegram:6", "Ivan", "en")
	e.say(other, "hello")

	lena, root := newClient(t, srv), newClient(t, srv)
	lena.login("lena")
	root.login("root")
	path := "/api/contacts/" + olga.ID + "/forget"
	lena.call("POST", path, map[string]string{"confirm": olga.ID}, 403, nil)
	root.call("POST", path, map[string]string{"confirm": "c_other"}, 400, nil)
	root.call("POST", path, map[string]string{}, 400, nil)
	if _, err := e.db.Contact(olga.ID); err != nil {
		t.Fatalf("a refused erasure erased: %v", err)
	}

	before, err := e.db.History(olga.ID, 0, 0)
	if err != nil || len(before) < 2 {
		t.Fatalf("history before: %d messages, %v", len(before), err)
	}
	live := e.svc.hub.subscribe()
	defer e.svc.hub.unsubscribe(live)
	var out struct {
		Forgotten store.ForgetResult
		Next      string
	}
	root.call("POST", path, map[string]string{"confirm": olga.ID}, 200, &out)
	if out.Forgotten.ContactID != olga.ID || out.Forgotten.Messages != len(before) || out.Forgotten.Tickets != 1 ||
		!cmp.Equal(out.Forgotten.Identities, []string{"telegram:5"}) || !cmp.Equal(out.Forgotten.TicketIDs, []uint64{tk.ID}) || out.Next == "" {
		t.Errorf("erasure = %+v", out)
	}
	if _, err := e.db.Contact(olga.ID); err == nil {
		t.Error("the contact is still there")
	}
	if got := e.ticket(tk.ID); got.ContactID != out.Forgotten.Anonymous || got.Status != StatusResolved {
		t.Errorf("ticket after erasure: contact %q status %q, want %q resolved", got.ContactID, got.Status, out.Forgotten.Anonymous)
	}
	select {
	case ev := <-live:
		if ev.Type != "ticket" || ev.TicketID != tk.ID {
			t.Errorf("live event %+v, want one for ticket %d", ev, tk.ID)
		}
	default:
		t.Error("no live event for the consoles")
	}
	if h, err := e.db.History(other.ID, 0, 0); err != nil || len(h) != 1 {
		t.Errorf("another customer's history: %d messages, %v", len(h), err)
	}
	root.call("POST", path, map[string]string{"confirm": olga.ID}, 404, nil)
}

// Merge records name the absorbed contact and its channels, so an agent
// reads them only for a contact with a ticket they can open (queued, or
// theirs); leads and admins read every contact's.
func TestMergeRecordsNeedATicket(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	anna, boris := e.agent("anna", RoleAgent), e.agent("boris", RoleAgent)
	e.agent("lena", RoleLead)
	tg := e.contact("telegram:1", "Olga", "en")
	web := e.contact("web:v1", "", "en")
	e.link(tg, web)
	path := "/api/contacts/" + tg.ID + "/merges"
	ca, cb, cl := newClient(t, srv), newClient(t, srv), newClient(t, srv)
	ca.login("anna")
	cb.login("boris")
	cl.login("lena")
	var errBody struct{ Error string }
	ca.call("GET", path, nil, 403, &errBody) // no ticket at all
	if errBody.Error == "" {
		t.Error("403 without a message")
	}
	cl.call("GET", path, nil, 200, nil)

	tk, _ := e.escalate(tg, "requested", "")
	ca.call("GET", path, nil, 200, nil) // queued: any agent may open it
	if _, err := e.svc.Claim(context.Background(), anna, tk.ID); err != nil {
		t.Fatal(err)
	}
	ca.call("GET", path, nil, 200, nil)
	cb.call("GET", path, nil, 403, nil) // anna's now
	if _, err := e.svc.Resolve(context.Background(), anna, tk.ID, OutcomeEnd); err != nil {
		t.Fatal(err)
	}
	ca.call("GET", path, nil, 200, nil) // her resolved ticket
	cb.call("GET", path, nil, 403, nil)
	_ = boris
}

// The scenario: a web chat and a Telegram chat are linked, the
// customer asks for a person from Telegram, an agent claims the ticket and
// a lead undoes the link. The Telegram chat is another contact now, so the
// agent's reply must not go there (nor land in the web contact's history):
// it is refused with a message that says why, and the notices of claim and
// resolve are not sent there either.
func TestReplyAfterUndoneMergeStaysWithTheContact(t *testing.T) {
	e := newEnv(t, Config{CSAT: true})
	srv := e.server()
	anna := e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)
	web := e.contact("web:v1", "Olga", "en")
	tg := e.contact("telegram:42", "", "en")
	res := e.link(web, tg)
	ctx := context.Background()
	tk, notices, err := e.svc.Escalate(ctx, Request{ContactID: web.ID, Address: "telegram:42", Lang: "en", Reason: "requested", ResumeNode: "menu"})
	if err != nil {
		t.Fatal(err)
	}
	turn := store.Turn{ContactID: web.ID, OpenTicket: &tk}
	for _, n := range notices {
		turn.Messages = append(turn.Messages, store.Message{Dir: store.DirOut, Address: "telegram:42", Text: n.Text, Sender: "bot"})
	}
	cr, err := e.db.Commit(ctx, turn)
	if err != nil {
		t.Fatal(err)
	}
	tk = e.ticket(cr.TicketID)

	lena := newClient(t, srv)
	lena.login("lena")
	lena.call("POST", fmt.Sprintf("/api/merges/%d/undo", res.Record.ID), nil, 200, nil)
	if c, _ := e.db.ContactByIdentity("telegram:42"); c.ID != tg.ID {
		t.Fatalf("telegram:42 -> %s after the undo, want %s", c.ID, tg.ID)
	}
	e.rec.reset()

	ca := newClient(t, srv)
	ca.login("anna")
	ca.call("POST", fmt.Sprintf("/api/tickets/%d/claim", tk.ID), nil, 200, nil)
	var errBody struct{ Error string }
	ca.call("POST", fmt.Sprintf("/api/tickets/%d/reply", tk.ID), map[string]string{"text": "Your order 1234567 ships today"}, 409, &errBody)
	if !strings.Contains(errBody.Error, "telegram:42") || !strings.Contains(errBody.Error, "undone") {
		t.Errorf("reply after the undo: %q, want a message naming the channel and the undone link", errBody.Error)
	}
	if _, err := e.svc.Resolve(ctx, anna, tk.ID, OutcomeCSAT); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "outcome bot or end") {
		t.Errorf("resolve with a rating question after the undo: %v, want a conflict that says what to do", err)
	}
	if _, err := e.svc.Resolve(ctx, anna, tk.ID, OutcomeEnd); err != nil {
		t.Fatalf("resolve after the undo: %v", err)
	}
	if got := e.ticket(tk.ID); got.Status != StatusResolved {
		t.Errorf("ticket after resolve = %+v", got)
	}
	for _, d := range e.rec.deliveries() {
		if d.Address == "telegram:42" {
			t.Errorf("sent to telegram:42 on behalf of %s after the undo: %q", d.ContactID, d.Text)
		}
	}
	msgs, _ := e.db.History(web.ID, 0, 100)
	for _, m := range msgs {
		if m.Address == "telegram:42" && strings.Contains(m.Text, "1234567") {
			t.Errorf("the reply is in the web contact's history: %+v", m)
		}
	}
}

// TestAdminExportsAContact: an admin downloads everything stored about a
// customer while the server runs, with the contacts merged into them (the
// ids an erasure takes); others may not.
func TestAdminExportsAContact(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("lena", RoleLead)
	e.agent("root", RoleAdmin)
	tg := e.contact("telegram:7", "Olga", "en")
	web := e.contact("web:v7", "", "en")
	e.say(tg, "hello from telegram")
	e.say(web, "hello from the web")
	e.link(tg, web)
	lena, root := newClient(t, srv), newClient(t, srv)
	lena.login("lena")
	root.login("root")
	path := "/api/contacts/" + tg.ID + "/export"
	lena.call("GET", path, nil, 403, nil)
	root.call("GET", "/api/contacts/c_nobody/export", nil, 404, nil)
	var exp store.ContactExport
	root.call("GET", path, nil, 200, &exp)
	want := []string{tg.ID, web.ID}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	if exp.Contact.ID != tg.ID || !cmp.Equal(exp.ContactIDs, want) || len(exp.History) != 2 || len(exp.Merges) != 1 {
		t.Errorf("export: contact %s, ids %v, %d messages, %d merges", exp.Contact.ID, exp.ContactIDs, len(exp.History), len(exp.Merges))
	}
	r, _ := root.do("GET", path, nil, nil)
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "contact-"+tg.ID+".json") {
		t.Errorf("Content-Disposition %q", cd)
	}
}
