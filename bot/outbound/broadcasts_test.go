package outbound_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/store"
)

func TestBroadcastsAPI(t *testing.T) {
	e := newEnv(t, store.ScopeBroadcasts)
	ctx := context.Background()
	for i := range 5 {
		c, _, err := e.db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", 200+i), "", "en")
		if err != nil {
			t.Fatal(err)
		}
		c.Fields = map[string]string{"city": map[bool]string{true: "Казань", false: "Москва"}[i < 3], "last_order": "2020-01-01"}
		if _, err := e.db.Commit(ctx, store.Turn{ContactID: c.ID, Contact: &c}); err != nil {
			t.Fatal(err)
		}
	}
	// The key has only the broadcasts scope: contacts are set in the store.
	if code, _, _ := e.call("PATCH", "/api/v1/contacts/telegram:200", `{"fields": {"city": "x"}}`, nil); code != 403 {
		t.Fatalf("PATCH without the contacts scope = %d, want 403", code)
	}
	seg := `contact.city == \"Казань\" && days_since(contact.last_order) > 90`
	code, out, _ := e.call("POST", "/api/v1/broadcasts/preview", `{"segment": "`+seg+`", "sample": 2}`, nil)
	if code != 200 || out["count"] != 3.0 || len(out["sample"].([]any)) != 2 {
		t.Fatalf("preview = %d %v", code, out)
	}
	code, out, _ = e.call("POST", "/api/v1/broadcasts/preview", `{"segment": "contact.tickets == \"x\""}`, nil)
	if code != 422 || !strings.Contains(out["message"].(string), "mismatched types") {
		t.Fatalf("preview of a mistyped segment = %d %v", code, out)
	}
	code, out, _ = e.call("POST", "/api/v1/broadcasts", `{"segment": "true", "flow": "nope", "rate": 10}`, nil)
	if code != 422 || out["error"] != "unknown_flow" {
		t.Fatalf("create with an unknown flow = %d %v", code, out)
	}
	code, out, _ = e.call("POST", "/api/v1/broadcasts", `{"name": "winter", "segment": "`+seg+`", "flow": "shipped",
		"params": {"order": "W1"}, "rate": 600, "window": "00:00-23:59", "time_zone": "Europe/Moscow"}`, nil)
	if code != 201 || out["state"] != "draft" {
		t.Fatalf("create = %d %v", code, out)
	}
	id := out["id"].(string)
	if code, out, _ = e.call("POST", "/api/v1/broadcasts/"+id+"/pause", ``, nil); code != 409 {
		t.Fatalf("pause a draft = %d %v", code, out)
	}
	if code, out, _ = e.call("POST", "/api/v1/broadcasts/"+id+"/start", ``, nil); code != 200 || out["state"] != "running" || out["total"] != 3.0 {
		t.Fatalf("start = %d %v", code, out)
	}
	if code, _, _ = e.call("POST", "/api/v1/broadcasts/"+id+"/start", ``, nil); code != 409 {
		t.Fatalf("second start = %d", code)
	}
	// The runner sends the three.
	run := bot.NewBroadcaster(e.rt, e.db, nil, nil, zerolog.Nop())
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := run.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if b, _ := e.db.Broadcast(id); b.State == store.BroadcastDone || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, out, _ = e.call("GET", "/api/v1/broadcasts/"+id, ``, nil)
	if code != 200 || out["state"] != "done" || out["counts"].(map[string]any)["sent"] != 3.0 || len(out["recipients"].([]any)) != 3 {
		t.Fatalf("status = %d %v", code, out)
	}
	if r := out["recipients"].([]any)[0].(map[string]any); r["outcome"] != "sent" || r["detail"] != "telegram" {
		t.Fatalf("recipient = %v", r)
	}
	if code, _, _ = e.call("GET", "/api/v1/broadcasts/b_none", ``, nil); code != 404 {
		t.Fatalf("unknown broadcast = %d", code)
	}
	// A key without the scope is refused.
	_, other, _ := e.db.CreateAPIKey(ctx, "crm", []string{store.ScopeContacts})
	if code, _, _ = e.call("GET", "/api/v1/broadcasts/"+id, ``, map[string]string{"Authorization": "Bearer " + other}); code != 403 {
		t.Fatalf("without the broadcasts scope = %d, want 403", code)
	}
	waitSent(t, e, 3)
}

func waitSent(t *testing.T, e *env, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got := 0
		for _, s := range e.tg.texts() {
			if s == "Order W1 shipped." {
				got++
			}
		}
		if got == n {
			return
		} else if got > n {
			t.Fatalf("%d sent, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the broadcast's messages did not all go: %q", e.tg.texts())
}
