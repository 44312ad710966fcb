package handoff

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/store"
)

// The card lists every identity and the customer's other tickets with
// outcome and rating, newest first; search finds text in names, variables
// and messages of the tickets the agent may see only; a saved reply sent
// by id is filled in on the server; the console's language follows the
// project's.
func TestCardSearchAndSavedReplyAPI(t *testing.T) {
	e := newEnv(t, Config{DefaultLang: "ru", Canned: []Canned{{ID: "hi", Text: "Здравствуйте, {{ contact.name }}! Заказ {{vars.order}}, {{ vars.missing }}."}}})
	srv := e.server()
	anna, boris := e.agent("anna", RoleAgent), e.agent("boris", RoleAgent)
	ctx := context.Background()
	olga := e.contact("telegram:42", "Ольга", "ru")
	first, _ := e.escalate(olga, "complaint", "")
	if _, err := e.svc.Claim(ctx, boris, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Resolve(ctx, boris, first.ID, OutcomeEnd); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateTicket(ctx, first.ID, func(t *store.Ticket) error { t.CSAT = 2; return nil }); err != nil {
		t.Fatal(err)
	}
	e.say(olga, "Посылка пришла мятая")
	tk, _ := e.escalate(olga, "requested", "")
	other := e.contact("vk:7", "", "ru")
	e.say(other, "посылка не пришла")
	otk, _ := e.escalate(other, "negative", "")
	if _, err := e.svc.Claim(ctx, boris, otk.ID); err != nil {
		t.Fatal(err)
	}

	c := newClient(t, srv)
	c.login("anna")
	var lang struct{ Lang string }
	c.call("GET", "/api/console/lang", nil, 200, &lang)
	if lang.Lang != "ru" {
		t.Errorf("console language %q, want the project's ru", lang.Lang)
	}
	var card struct {
		Name, Label string
		Identities  []string
		Tickets     []earlierJSON
	}
	c.call("GET", "/api/tickets/"+itoa(tk.ID)+"/card", nil, 200, &card)
	if card.Name != "Ольга" || strings.Join(card.Identities, ",") != "telegram:42" || len(card.Tickets) != 1 ||
		card.Tickets[0].ID != first.ID || card.Tickets[0].CSAT != 2 || card.Tickets[0].Outcome != OutcomeEnd || card.Tickets[0].AgentID != "boris" {
		t.Errorf("card %+v", card)
	}
	c.call("GET", "/api/tickets/"+itoa(otk.ID)+"/card", nil, 403, nil) // boris's ticket

	var found struct{ Tickets []searchHit }
	c.call("GET", "/api/search?q=%D0%BF%D0%BE%D1%81%D1%8B%D0%BB%D0%BA%D0%B0", nil, 200, &found) // "посылка"
	if len(found.Tickets) != 1 || found.Tickets[0].ID != tk.ID || !strings.Contains(found.Tickets[0].Match, "Посылка пришла мятая") || found.Tickets[0].ContactName != "Ольга" {
		t.Errorf("search: %+v; want Olga's open ticket only (boris's tickets are not anna's)", found.Tickets)
	}
	c.call("GET", "/api/search?q=x", nil, 400, nil)

	if _, err := e.svc.Claim(ctx, anna, tk.ID); err != nil {
		t.Fatal(err)
	}
	e.rec.reset()
	c.call("POST", "/api/tickets/"+itoa(tk.ID)+"/reply", map[string]string{"canned": "hi"}, 200, nil)
	if got := e.rec.texts(); len(got) != 1 || got[0] != "Здравствуйте, Ольга! Заказ 1234567, {{ vars.missing }}." {
		t.Errorf("sent %q", got)
	}
}

func TestContactLabel(t *testing.T) {
	for _, tc := range []struct {
		c       store.Contact
		vars    map[string]string
		address string
		want    string
	}{
		{store.Contact{Name: " Olga "}, nil, "telegram:1", "Olga"},
		{store.Contact{Fields: map[string]string{"name": "Ivan"}}, nil, "vk:1", "Ivan"},
		{store.Contact{}, map[string]string{"customer_name": "Anna"}, "web:v", "Anna"},
		{store.Contact{}, nil, "telegram:123456789", "Telegram …456789"},
		{store.Contact{Identities: []string{"web:v_abcdef0123"}}, nil, "", "Web visitor …ef0123"},
		{store.Contact{}, nil, "vk:77", "VK 77"},
	} {
		if got := ContactLabel(tc.c, tc.vars, tc.address); got != tc.want {
			t.Errorf("ContactLabel(%+v, %v, %q) = %q, want %q", tc.c, tc.vars, tc.address, got, tc.want)
		}
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// The card shows what each linked channel says about the customer, with a
// link to their profile there; a username or page that is not safe to link
// is left out.
func TestCardProfiles(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("lena", RoleLead)
	ctx := context.Background()
	tg := e.contact("telegram:42", "Ольга", "ru")
	web := e.contact("web:v_1", "", "")
	vk := e.contact("vk:7", "", "")
	for id, p := range map[string]store.Profile{
		"telegram:42": {"name": "Ольга К", "username": "olga_k"},
		"web:v_1":     {"page": "https://shop.example/orders", "browser": "Firefox 133 on Linux"},
		"vk:7":        {"name": "Пётр"},
	} {
		if err := e.db.SetProfile(ctx, id, p); err != nil {
			t.Fatal(err)
		}
	}
	e.link(tg, web)
	e.link(tg, vk)
	tk, _ := e.escalate(tg, "requested", "")
	c := newClient(t, srv)
	c.login("lena")
	var card struct{ Profiles []profileJSON }
	c.call("GET", "/api/tickets/"+itoa(tk.ID)+"/card", nil, 200, &card)
	want := []profileJSON{
		{Identity: "telegram:42", Name: "Ольга К", Username: "olga_k", Link: "https://t.me/olga_k"},
		{Identity: "web:v_1", Page: "https://shop.example/orders", Browser: "Firefox 133 on Linux"},
		{Identity: "vk:7", Name: "Пётр", Link: "https://vk.com/id7"},
	}
	if diff := cmp.Diff(want, card.Profiles); diff != "" {
		t.Errorf("card profiles (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		identity string
		p        store.Profile
		want     profileJSON
	}{
		{"telegram:1", store.Profile{"username": "evil/../x"}, profileJSON{Identity: "telegram:1"}},
		{"web:v", store.Profile{"page": "javascript:alert(1)"}, profileJSON{Identity: "web:v"}},
		{"vk:-1", nil, profileJSON{Identity: "vk:-1"}},
	} {
		if got := cardProfile(tc.identity, tc.p); got != tc.want {
			t.Errorf("cardProfile(%q, %v) = %+v, want %+v", tc.identity, tc.p, got, tc.want)
		}
	}
}
