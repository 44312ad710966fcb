package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
)

// shippedFlow is a flow the outbound API starts: the demo project plus it.
const shippedFlow = `flow: shipped
start: tell
params: [order]
nodes:
  tell:
    say: "Заказ {{ params.order }} отправлен."
    next: ask_eta
  ask_eta:
    ask: "Подсказать срок доставки?"
    buttons:
      - {text: "Да", value: "eta_yes"}
    next: eta
  eta:
    say: "Заказ {{ params.order }} приедет через 2 дня."
    next: done
  done:
    end: true
`

// shopWithTrigger writes the demo project and the shipped flow to a
// directory and returns it.
func shopWithTrigger(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	var out bytes.Buffer
	if code := Run([]string{"init", dir}, IO{Stdout: &out, Stderr: &out}); code != 0 {
		t.Fatalf("init: %s", out.String())
	}
	if err := os.WriteFile(filepath.Join(dir, "flows", "shipped.yaml"), []byte(shippedFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// apiCall is one request to /api/v1 with a bearer key ("" for none).
func apiCall(t *testing.T, base, key, method, path, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// countSent counts the sendMessage calls to chat whose text contains s.
func countSent(api *fakeBotAPI, chat, s string) int {
	n := 0
	for _, c := range api.sent(chat) {
		if strings.Contains(c.Params.Get("text"), s) {
			n++
		}
	}
	return n
}

// The trigger API end to end against the fake Telegram API: keys, errors,
// an idempotent retry, the customer's answer continuing the flow, opt-out
// with only transactional messages after it, and an agent seeing it all.
func TestTriggerAPIOverTelegram(t *testing.T) {
	api := newFakeBotAPI(t)
	s, _ := startServer(t, func(c *Config) {
		c.Flows = shopWithTrigger(t)
		c.Telegram = TelegramConfig{Token: tgToken, Mode: "webhook", APIURL: api.srv.URL, WebhookSecret: tgSecret}
		c.PublicURL = "https://parley.example"
		c.Outbound.TriggerIdle = time.Millisecond // the customer's open question does not hold triggers back here
	})
	addAgent(t, s.db, "anna", "Анна", handoff.RoleAgent)
	base := "http://" + s.addr
	waitUntil(t, "setWebhook", func() bool { return api.count("setWebhook") == 1 })
	const chat = "777"
	postUpdate(t, base, tgSecret, tgMessage(1, 777, "/start"))
	waitUntil(t, "the greeting", func() bool { return len(api.sent(chat)) == 1 })

	ctx := context.Background()
	_, key, err := s.db.CreateAPIKey(ctx, "shop", []string{store.ScopeTriggers, store.ScopeContacts})
	if err != nil {
		t.Fatal(err)
	}
	_, crmKey, _ := s.db.CreateAPIKey(ctx, "crm", []string{store.ScopeContacts})
	body := `{"contact":"telegram:777","params":{"order":"A-17"}}`
	if code, out := apiCall(t, base, "", "POST", "/api/v1/triggers/shipped", body); code != 401 {
		t.Fatalf("no key: %d %v", code, out)
	}
	if code, out := apiCall(t, base, crmKey, "POST", "/api/v1/triggers/shipped", body); code != 403 {
		t.Fatalf("key without the triggers scope: %d %v", code, out)
	}
	if code, out := apiCall(t, base, key, "POST", "/api/v1/triggers/shipped", `{"contact":"telegram:1"}`); code != 404 || out["error"] != "unknown_contact" {
		t.Fatalf("unknown contact: %d %v", code, out)
	}
	if code, out := apiCall(t, base, key, "POST", "/api/v1/triggers/shiped", body); code != 404 || out["error"] != "unknown_flow" ||
		!strings.Contains(fmt.Sprint(out["message"]), `did you mean "shipped"?`) {
		t.Fatalf("unknown flow: %d %v", code, out)
	}
	if n := countSent(api, chat, "A-17"); n != 0 {
		t.Fatalf("refused triggers sent %d messages", n)
	}

	// Called twice with one Idempotency-Key: one start, one message.
	code, first := apiCall(t, base, key, "POST", "/api/v1/triggers/shipped", body, "Idempotency-Key", "order-A-17-shipped")
	if code != 202 || first["status"] != "queued" || first["channel"] != "telegram" {
		t.Fatalf("trigger: %d %v", code, first)
	}
	code, second := apiCall(t, base, key, "POST", "/api/v1/triggers/shipped", body, "Idempotency-Key", "order-A-17-shipped")
	if code != 202 || second["id"] != first["id"] {
		t.Fatalf("retry: %d %v; want %v again", code, second, first)
	}
	waitUntil(t, "the trigger's message", func() bool { return countSent(api, chat, "Заказ A-17 отправлен.") > 0 })
	time.Sleep(200 * time.Millisecond) // a second start would have sent by now
	if n := countSent(api, chat, "Заказ A-17 отправлен."); n != 1 {
		t.Fatalf("the trigger's message was sent %d times, want once", n)
	}
	msg := api.sent(chat)[1].Params
	if !strings.Contains(msg.Get("reply_markup"), `"callback_data":"eta_yes"`) {
		t.Fatalf("trigger message %v: want its button", msg)
	}

	// The customer's tap continues the triggered flow.
	postUpdate(t, base, tgSecret, tgCallback(2, 777, "eta_yes"))
	waitUntil(t, "the flow's answer", func() bool { return countSent(api, chat, "Заказ A-17 приедет через 2 дня.") == 1 })

	// "Стоп" opts out: one confirmation; marketing is refused, a
	// transactional trigger still goes.
	postUpdate(t, base, tgSecret, tgMessage(3, 777, "Стоп"))
	waitUntil(t, "the opt-out confirmation", func() bool { return countSent(api, chat, "отписались") == 1 })
	sentBefore := len(api.sent(chat))
	code, out := apiCall(t, base, key, "POST", "/api/v1/triggers/shipped", `{"contact":"telegram:777","params":{"order":"PROMO"}}`)
	if code != 409 || out["error"] != "opted_out" || !strings.Contains(out["message"].(string), "opted out") {
		t.Fatalf("marketing to an opted-out contact: %d %v", code, out)
	}
	code, out = apiCall(t, base, key, "POST", "/api/v1/triggers/shipped", `{"contact":"telegram:777","params":{"order":"B-2"},"transactional":true}`)
	if code != 202 {
		t.Fatalf("transactional trigger: %d %v", code, out)
	}
	waitUntil(t, "the transactional message", func() bool { return countSent(api, chat, "Заказ B-2 отправлен.") == 1 })
	if countSent(api, chat, "PROMO") != 0 || len(api.sent(chat)) != sentBefore+1 {
		t.Fatalf("after opt-out sent %d messages, want only the transactional one", len(api.sent(chat))-sentBefore)
	}
	code, prof := apiCall(t, base, key, "GET", "/api/v1/contacts/telegram:777", "")
	consent := prof["facts"].(map[string]any)["consent"].([]any)
	if code != 200 || len(consent) != 1 || consent[0].(map[string]any)["opted_out"] != true {
		t.Fatalf("profile after opt-out: %d %v", code, prof)
	}

	// The customer asks for a person: the agent sees the triggered messages
	// in the conversation's history, and a trigger that may not wait is
	// refused while the agent has the conversation.
	postUpdate(t, base, tgSecret, tgCallback(4, 777, "human"))
	agent := agentLogin(t, base, "anna")
	var queue struct {
		Tickets []struct {
			ID uint64 `json:"id"`
		} `json:"tickets"`
	}
	waitUntil(t, "the ticket", func() bool {
		agent.call("GET", "/api/queue", nil, &queue)
		return len(queue.Tickets) == 1
	})
	var hist struct {
		Messages []struct{ Dir, Text string } `json:"messages"`
	}
	agent.call("GET", fmt.Sprintf("/api/tickets/%d/history", queue.Tickets[0].ID), nil, &hist)
	var texts []string
	for _, m := range hist.Messages {
		texts = append(texts, m.Dir+": "+m.Text)
	}
	joined := strings.Join(texts, "\n")
	for _, want := range []string{"out: Заказ A-17 отправлен.", "out: Заказ A-17 приедет через 2 дня.", "in: Стоп", "out: Заказ B-2 отправлен."} {
		if !strings.Contains(joined, want) {
			t.Fatalf("the agent's history lacks %q:\n%s", want, joined)
		}
	}
	// The console's customer card shows the opt-out.
	var card struct {
		Consent []struct {
			Channel  string `json:"channel"`
			OptedOut bool   `json:"opted_out"`
		} `json:"consent"`
	}
	agent.call("GET", fmt.Sprintf("/api/tickets/%d/consent", queue.Tickets[0].ID), nil, &card)
	if len(card.Consent) != 1 || card.Consent[0].Channel != "telegram" || !card.Consent[0].OptedOut {
		t.Fatalf("customer card consent = %+v", card.Consent)
	}
	code, out = apiCall(t, base, key, "POST", "/api/v1/triggers/shipped", `{"contact":"telegram:777","params":{"order":"C"},"transactional":true,"if_busy":"drop"}`)
	if code != 409 || out["error"] != "busy" {
		t.Fatalf("trigger into the agent's conversation: %d %v", code, out)
	}
}
