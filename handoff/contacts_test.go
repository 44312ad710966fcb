package handoff

import (
	"context"
	"fmt"
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
	res, err := e.db.Merge(context.Background(), tg.ID, web.ID, store.MergeOptions{Reason: "link_code", By: "customer"})
	if err != nil {
		t.Fatal(err)
	}
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
