package handoff

import (
	"context"
	"slices"
	"testing"
)

// Saved replies in the console: a lead adds, edits and deletes the
// console's replies (each change an event naming who), agents list and
// send them but get 403 for any change, and the project's replies are
// listed read-only (409 for a change: parley.yaml owns them).
func TestSavedRepliesAPI(t *testing.T) {
	e := newEnv(t, Config{DefaultLang: "ru", Canned: []Canned{{ID: "refund", Title: "Возврат", Text: "Деньги придут за 3–10 дней."}}})
	srv := e.server()
	anna := e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)
	ctx := context.Background()

	lead := newClient(t, srv)
	lead.login("lena")
	var saved struct {
		Canned  Canned
		Created bool
	}
	lead.call("POST", "/api/canned", map[string]string{"title": "Опоздание", "text": "{{ contact.name }}, курьер задерживается.", "lang": "ru"}, 200, &saved)
	if !saved.Created || saved.Canned.ID == "" {
		t.Fatalf("saved = %+v", saved)
	}
	id := saved.Canned.ID
	lead.call("POST", "/api/canned", map[string]string{"id": id, "title": "Опоздание", "text": "{{ contact.name }}, курьер будет завтра.", "lang": "ru"}, 200, &saved)
	if saved.Created {
		t.Error("an edit says it created the reply")
	}
	lead.call("POST", "/api/canned", map[string]string{"id": "refund", "text": "другое"}, 409, nil)
	lead.call("POST", "/api/canned", map[string]string{"title": "пусто"}, 400, nil)
	lead.call("POST", "/api/canned", map[string]string{"text": "x", "lang": "русский"}, 400, nil)

	agent := newClient(t, srv)
	agent.login("anna")
	var list struct {
		Canned  []cannedJSON
		CanEdit bool `json:"can_edit"`
	}
	agent.call("GET", "/api/canned", nil, 200, &list)
	if list.CanEdit || len(list.Canned) != 2 || list.Canned[0].ID != "refund" || list.Canned[0].Editable ||
		list.Canned[1].ID != id || !list.Canned[1].Editable || list.Canned[1].UpdatedBy != "lena" || list.Canned[1].Text != "{{ contact.name }}, курьер будет завтра." {
		t.Fatalf("agent's list = %+v", list)
	}
	agent.call("POST", "/api/canned", map[string]string{"text": "моя заготовка"}, 403, nil)
	agent.call("POST", "/api/canned", map[string]string{"id": id, "text": "испорчено"}, 403, nil)
	agent.call("DELETE", "/api/canned/"+id, nil, 403, nil)

	// The agent sends the console's reply by id: filled in on the server.
	olga := e.contact("telegram:42", "Ольга", "ru")
	tk, _ := e.escalate(olga, "requested", "")
	if _, err := e.svc.Claim(ctx, anna, tk.ID); err != nil {
		t.Fatal(err)
	}
	e.rec.reset()
	agent.call("POST", "/api/tickets/"+itoa(tk.ID)+"/reply", map[string]string{"canned": id}, 200, nil)
	if got := e.rec.texts(); len(got) != 1 || got[0] != "Ольга, курьер будет завтра." {
		t.Errorf("sent %q", got)
	}

	lead.call("DELETE", "/api/canned/refund", nil, 409, nil)
	lead.call("DELETE", "/api/canned/"+id, nil, 200, nil)
	lead.call("DELETE", "/api/canned/"+id, nil, 404, nil)
	agent.call("GET", "/api/canned", nil, 200, &list)
	if len(list.Canned) != 1 {
		t.Errorf("after delete: %+v", list.Canned)
	}
	evs := e.events()
	for _, want := range []string{"canned.added", "canned.changed", "canned.removed"} {
		if !slices.Contains(evs, want) {
			t.Errorf("events %v lack %s", evs, want)
		}
	}
}
