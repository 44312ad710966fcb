package handoff

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/handoff/analytics"
	"github.com/parley-chat/parley/store"
)

// GET /api/misses: leads and admins only; two customers' messages the bot
// did not understand, alike but for a number, are one group.
func TestMissesAPI(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)
	turn := func(c store.Contact, text string, data ...string) {
		t.Helper()
		u := map[string]string{}
		for i := 0; i+1 < len(data); i += 2 {
			u[data[i]] = data[i+1]
		}
		now := e.clock.Now()
		_, err := e.db.Commit(context.Background(), store.Turn{ContactID: c.ID,
			Messages: []store.Message{{Dir: store.DirIn, Address: c.Identities[0], Channel: channelOf(c.Identities[0]), Text: text, Sender: "customer", At: now}},
			Events:   []store.Event{{At: now, ContactID: c.ID, Type: "message_in"}, {At: now, ContactID: c.ID, Type: "understood", Data: u}}})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
	}
	a := e.contact("web:a", "A", "ru")
	b := e.contact("web:b", "B", "ru")
	turn(a, "сколько стоит доставка", "kind", "faq", "faq", "delivery")
	turn(a, "заказ 123456 не пришёл", "kind", "none", "oos", "1")
	turn(b, "Заказ 654321 не пришел!", "kind", "none", "oos", "1")

	agent := newClient(t, srv)
	agent.login("anna")
	if res, body := agent.do("GET", "/api/misses", nil, nil); res.StatusCode != 403 || !strings.Contains(string(body), "leads and admins") {
		t.Errorf("agent GET /api/misses = %d %s, want 403", res.StatusCode, body)
	}
	lead := newClient(t, srv)
	lead.login("lena")
	var got analytics.MissReport
	lead.call("GET", "/api/misses", nil, 200, &got)
	if got.Misses != 2 || len(got.Groups) != 1 || got.Groups[0].Example != "Заказ 654321 не пришел!" || got.Groups[0].Reasons[analytics.MissOutOfScope] != 2 {
		t.Errorf("misses: %+v", got)
	}
	if res, body := lead.do("GET", "/api/misses?from=2026-13-01", nil, nil); res.StatusCode != 400 || !strings.Contains(string(body), `from \"2026-13-01\": want a day`) {
		t.Errorf("bad day = %d %s, want 400", res.StatusCode, body)
	}
}
