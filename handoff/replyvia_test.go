package handoff

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-chat/parley/store"
)

// sayFrom commits a customer message from one of the contact's channels.
func (e *env) sayFrom(contactID, addr, text string) {
	e.t.Helper()
	_, err := e.db.Commit(context.Background(), store.Turn{ContactID: contactID, Messages: []store.Message{{
		Dir: store.DirIn, Address: addr, Channel: channelOf(addr), Text: text, Sender: "customer"}}})
	if err != nil {
		e.t.Fatal(err)
	}
}

// The scenario: Olga linked her web chat and Telegram, asked for a
// person from Telegram and then wrote from the website. The assignment
// notice, the agent's reply and the closing message go to the web chat
// (the ticket says so in reply_via); the agent may pick Telegram for one
// reply; an address that is not hers is refused and nothing is sent.
func TestReplyFollowsTheCustomer(t *testing.T) {
	e := newEnv(t, Config{CSAT: true})
	srv := e.server()
	e.agent("anna", RoleAgent)
	tg := e.contact("telegram:42", "Olga", "en")
	web := e.contact("web:v1", "", "en")
	other := e.contact("telegram:7", "Ivan", "en")
	e.link(tg, web)
	e.say(tg, "I need a person")
	tk, _ := e.escalate(tg, "requested", "normal")
	if tk.Address != "telegram:42" {
		t.Fatalf("ticket opened from %q", tk.Address)
	}
	e.clock.Advance(1)
	e.sayFrom(tg.ID, "web:v1", "I am on the website now")
	e.rec.reset()

	ca := newClient(t, srv)
	ca.login("anna")
	path := fmt.Sprintf("/api/tickets/%d", tk.ID)
	ca.call("POST", path+"/claim", nil, 200, nil)
	var tj ticketJSON
	ca.call("GET", path, nil, 200, &tj)
	if tj.ReplyVia != "web:v1" {
		t.Errorf("reply_via = %q, want web:v1", tj.ReplyVia)
	}
	ca.call("POST", path+"/reply", map[string]string{"text": "Hello Olga"}, 200, nil)
	ca.call("POST", path+"/reply", map[string]string{"text": "Also in Telegram", "address": "telegram:42"}, 200, nil)
	var errBody struct{ Error string }
	ca.call("POST", path+"/reply", map[string]string{"text": "Not yours", "address": other.Identities[0]}, 400, &errBody)
	if !strings.Contains(errBody.Error, "telegram:7") || !strings.Contains(errBody.Error, "not one of") {
		t.Errorf("foreign address refused with %q", errBody.Error)
	}
	ca.call("POST", path+"/reply", map[string]string{"text": "Nowhere", "address": "web:nobody"}, 400, nil)
	ca.call("POST", path+"/resolve", map[string]string{"outcome": OutcomeCSAT}, 200, nil)

	want := []string{"web:v1", "web:v1", "telegram:42", "web:v1"} // assigned, reply, picked, rating question
	var got []string
	for _, d := range e.rec.deliveries() {
		got = append(got, d.Address)
		if strings.Contains(d.Text, "Not yours") || strings.Contains(d.Text, "Nowhere") {
			t.Errorf("a refused reply was sent: %+v", d)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("deliveries went to %v, want %v (texts %q)", got, want, e.rec.texts())
	}
	var done ticketJSON
	ca.call("GET", path, nil, 200, &done)
	if done.Status != StatusResolved || done.ReplyVia != "" {
		t.Errorf("resolved ticket: status %q, reply_via %q, want no reply_via", done.Status, done.ReplyVia)
	}
}

// After a lead undoes the link, the channel it gave back is never a reply
// channel of the survivor, even though the customer wrote from it last
// while linked; picking it by hand is refused.
func TestReplyNeverTakesAnUndoneChannel(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)
	web := e.contact("web:v1", "Olga", "en")
	tg := e.contact("telegram:42", "", "en")
	res := e.link(web, tg)
	e.say(web, "hello from the web")
	tk, _ := e.escalate(web, "requested", "normal")
	e.clock.Advance(1)
	e.sayFrom(web.ID, "telegram:42", "and from telegram")

	lena := newClient(t, srv)
	lena.login("lena")
	lena.call("POST", fmt.Sprintf("/api/merges/%d/undo", res.Record.ID), nil, 200, nil)
	e.rec.reset()

	ca := newClient(t, srv)
	ca.login("anna")
	path := fmt.Sprintf("/api/tickets/%d", tk.ID)
	ca.call("POST", path+"/claim", nil, 200, nil)
	var tj ticketJSON
	ca.call("GET", path, nil, 200, &tj)
	if tj.ReplyVia != "web:v1" {
		t.Errorf("reply_via after the undo = %q, want web:v1", tj.ReplyVia)
	}
	ca.call("POST", path+"/reply", map[string]string{"text": "to the web", "address": "telegram:42"}, 400, nil)
	ca.call("POST", path+"/reply", map[string]string{"text": "to the web"}, 200, nil)
	for _, d := range e.rec.deliveries() {
		if d.Address != "web:v1" {
			t.Errorf("sent to %s after the undo: %q", d.Address, d.Text)
		}
	}
}

// GET /api/contacts/{ref}/merges takes a channel identity as well as a
// contact id, with the same rules: an agent reads them only with a ticket
// of that contact.
func TestMergesByIdentity(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)
	tg := e.contact("telegram:42", "Olga", "en")
	web := e.contact("web:v1", "", "en")
	res := e.link(tg, web)
	ca, cl := newClient(t, srv), newClient(t, srv)
	ca.login("anna")
	cl.login("lena")
	ca.call("GET", "/api/contacts/web:v1/merges", nil, 403, nil) // no ticket
	for _, ref := range []string{tg.ID, "telegram:42", "web:v1", "web%3Av1"} {
		var out struct {
			Contact string
			Merges  []mergeJSON
		}
		cl.call("GET", "/api/contacts/"+ref+"/merges", nil, 200, &out)
		if out.Contact != tg.ID || len(out.Merges) != 1 || out.Merges[0].ID != res.Record.ID {
			t.Errorf("merges of %s = %+v, want merge %d of %s", ref, out, res.Record.ID, tg.ID)
		}
	}
	var errBody struct{ Error string }
	cl.call("GET", "/api/contacts/telegram:999/merges", nil, 404, &errBody)
	if !strings.Contains(errBody.Error, "telegram:999") {
		t.Errorf("unknown identity: %q", errBody.Error)
	}
	e.escalate(tg, "requested", "")
	ca.call("GET", "/api/contacts/web:v1/merges", nil, 200, nil) // queued: any agent
}
