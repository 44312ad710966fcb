package cmd

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// parley broadcast create, preview, start, pause, resume, cancel and
// status against a real database file, the server stopped.
func TestBroadcastCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, city := range []string{"Казань", "Казань", "Москва"} {
		c, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", 10+i), "", "ru")
		if err != nil {
			t.Fatal(err)
		}
		c.Fields = map[string]string{"city": city}
		if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Contact: &c}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(append(args, "--db", path), IO{Stdout: &out, Stderr: &errOut})
		return code, out.String(), errOut.String()
	}
	seg := `contact.city == "Казань"`
	if code, out, errOut := run("broadcast", "preview", seg, "--sample", "1"); code != 0 || !strings.Contains(out, "2 contacts match") ||
		strings.Count(out, "telegram:") != 1 {
		t.Fatalf("preview = %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run("broadcast", "create", "x", "--segment", `contact.city > 1`, "--flow", "shipped"); code != 1 ||
		!strings.Contains(errOut, "segment:") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("create with a mistyped segment = %d %q", code, errOut)
	}
	if code, _, errOut := run("broadcast", "create", "x", "--segment", seg, "--flow", "shipped", "--window", "9-21"); code != 1 ||
		!strings.Contains(errOut, "HH:MM-HH:MM") {
		t.Fatalf("create with a bad window = %d %q", code, errOut)
	}
	if code, _, errOut := run("broadcast", "create", "x", "--segment", seg, "--flow", "nope", "--flows", shopWithTrigger(t)); code != 1 ||
		!strings.Contains(errOut, `"nope"`) {
		t.Fatalf("create with an unknown flow = %d %q", code, errOut)
	}
	code, out, errOut := run("broadcast", "create", "winter", "--segment", seg, "--flow", "shipped", "--param", "order=W-1", "--rate", "30")
	id := regexp.MustCompile(`b_\S+`).FindString(out)
	if code != 0 || id == "" {
		t.Fatalf("create = %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run("broadcast", "pause", id); code != 1 || !strings.Contains(errOut, "is draft, cannot become paused") {
		t.Fatalf("pause a draft = %d %q", code, errOut)
	}
	if code, out, _ := run("broadcast", "start", id); code != 0 || !strings.Contains(out, "running (2 recipients)") {
		t.Fatalf("start = %d %q", code, out)
	}
	if code, out, _ := run("broadcast", "pause", id); code != 0 || !strings.Contains(out, "paused") {
		t.Fatalf("pause = %d %q", code, out)
	}
	if code, out, _ := run("broadcast", "resume", id); code != 0 || !strings.Contains(out, "running") {
		t.Fatalf("resume = %d %q", code, out)
	}
	if code, out, _ := run("broadcast", "cancel", id); code != 0 || !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel = %d %q", code, out)
	}
	code, out, _ = run("broadcast", "status", id)
	if code != 0 || !strings.Contains(out, "winter") || !strings.Contains(out, "cancelled=2") || len(regexp.MustCompile(`(?m)^  \d c_\S+ cancelled`).FindAllString(out, -1)) != 2 {
		t.Fatalf("status = %d %q", code, out)
	}
	if code, _, errOut := run("broadcast", "start", "b_none"); code != 1 || !strings.Contains(errOut, `no broadcast "b_none"`) {
		t.Fatalf("start unknown = %d %q", code, errOut)
	}
}

// A running server sends a broadcast over (fake) Telegram to the segment
// only, and a customer's tap on the broadcast's button continues its flow.
func TestBroadcastOverTelegram(t *testing.T) {
	api := newFakeBotAPI(t)
	s, _ := startServer(t, func(c *Config) {
		c.Flows = shopWithTrigger(t)
		c.Telegram = TelegramConfig{Token: tgToken, Mode: "webhook", APIURL: api.srv.URL, WebhookSecret: tgSecret}
		c.PublicURL = "https://parley.example"
		c.Outbound.TriggerIdle = time.Millisecond
	})
	base := "http://" + s.addr
	waitUntil(t, "setWebhook", func() bool { return api.count("setWebhook") == 1 })
	_, key, err := s.db.CreateAPIKey(context.Background(), "crm", []string{store.ScopeContacts, store.ScopeBroadcasts})
	if err != nil {
		t.Fatal(err)
	}
	for i, city := range []string{"Казань", "Казань", "Москва"} {
		chat := int64(800 + i)
		postUpdate(t, base, tgSecret, tgMessage(i+1, chat, "/start"))
		waitUntil(t, "the greeting", func() bool { return len(api.sent(fmt.Sprint(chat))) == 1 })
		if code, out := apiCall(t, base, key, "PATCH", fmt.Sprintf("/api/v1/contacts/telegram:%d", chat),
			fmt.Sprintf(`{"fields": {"city": %q}}`, city)); code != 200 {
			t.Fatalf("PATCH: %d %v", code, out)
		}
	}
	code, out := apiCall(t, base, key, "POST", "/api/v1/broadcasts/preview", `{"segment": "contact.city == \"Казань\""}`)
	if code != 200 || out["count"] != 2.0 {
		t.Fatalf("preview: %d %v", code, out)
	}
	code, out = apiCall(t, base, key, "POST", "/api/v1/broadcasts", `{"name": "kazan", "segment": "contact.city == \"Казань\"",
		"flow": "shipped", "params": {"order": "K-1"}, "rate": 6000}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, out)
	}
	id := out["id"].(string)
	if code, out = apiCall(t, base, key, "POST", "/api/v1/broadcasts/"+id+"/start", ``); code != 200 || out["total"] != 2.0 {
		t.Fatalf("start: %d %v", code, out)
	}
	for _, chat := range []string{"800", "801"} {
		waitUntil(t, "the broadcast in "+chat, func() bool { return countSent(api, chat, "Заказ K-1 отправлен.") == 1 })
	}
	waitUntil(t, "done", func() bool {
		_, out := apiCall(t, base, key, "GET", "/api/v1/broadcasts/"+id, ``)
		return out["state"] == "done"
	})
	if n := countSent(api, "802", "K-1"); n != 0 {
		t.Fatalf("the Moscow customer got the Kazan broadcast %d times", n)
	}
	postUpdate(t, base, tgSecret, tgCallback(10, 800, "eta_yes"))
	waitUntil(t, "the flow's answer", func() bool { return countSent(api, "800", "Заказ K-1 приедет через 2 дня.") == 1 })
	_, out = apiCall(t, base, key, "GET", "/api/v1/broadcasts/"+id, ``)
	if c := out["counts"].(map[string]any); c["sent"] != 2.0 {
		t.Fatalf("counts = %v", c)
	}
}
