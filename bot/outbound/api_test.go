package outbound_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/outbound"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// sender records what the runtime sends on one channel.
type sender struct {
	name channel.Name
	mu   sync.Mutex
	got  []channel.Outbound
}

func (s *sender) Channel() channel.Name { return s.name }
func (s *sender) Send(_ context.Context, out channel.Outbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, out)
	return nil
}
func (s *sender) texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, o := range s.got {
		out = append(out, o.Text)
	}
	return out
}

type env struct {
	t   *testing.T
	db  *store.DB
	rt  *bot.Runtime
	tg  *sender
	srv *httptest.Server
	key string
}

func newEnv(t *testing.T, scopes ...string) *env {
	t.Helper()
	p, err := flows.LoadDir(filepath.Join("testdata", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.Open(t)
	tg := &sender{name: channel.Telegram}
	rt := bot.New(bot.Config{Logger: zerolog.Nop(), TriggerIdle: time.Millisecond}, db, p.NewEngine(flows.Options{}), tg)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(outbound.New(db, rt, zerolog.Nop()).Handler())
	t.Cleanup(func() { srv.Close(); rt.Shutdown(context.Background()) })
	if len(scopes) == 0 {
		scopes = []string{store.ScopeTriggers, store.ScopeContacts, store.ScopeConversions}
	}
	_, key, err := db.CreateAPIKey(context.Background(), "shop", scopes)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, rt: rt, tg: tg, srv: srv, key: key}
}

// call sends a request with the env's key (or key, when given) and decodes
// the JSON answer.
func (e *env) call(method, path, body string, hdr map[string]string) (int, map[string]any, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return res.StatusCode, out, res.Header
}

func (e *env) customerWrites(id, text string) {
	e.t.Helper()
	if err := e.rt.HandleInbound(context.Background(), channel.Inbound{From: channel.Address{Channel: channel.Telegram, ID: "42"},
		EventID: id, Text: text}); err != nil {
		e.t.Fatal(err)
	}
	e.flush()
}

func (e *env) flush() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.rt.Flush(ctx); err != nil {
		e.t.Fatal(err)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, store.ScopeContacts)
	e.customerWrites("1", "hi")
	code, out, hdr := e.call("POST", "/api/v1/triggers/shipped", `{"contact":"telegram:42"}`, map[string]string{"Authorization": ""})
	if code != 401 || out["error"] != "unauthorized" || hdr.Get("WWW-Authenticate") == "" {
		t.Fatalf("no key = %d %v", code, out)
	}
	code, out, _ = e.call("POST", "/api/v1/triggers/shipped", `{"contact":"telegram:42"}`, map[string]string{"Authorization": "Bearer pk_wrong"})
	if code != 401 || !strings.Contains(out["message"].(string), "unknown or revoked") {
		t.Fatalf("wrong key = %d %v", code, out)
	}
	code, out, _ = e.call("POST", "/api/v1/triggers/shipped", `{"contact":"telegram:42"}`, nil)
	if code != 403 || !strings.Contains(out["message"].(string), `"triggers" scope`) {
		t.Fatalf("key without the scope = %d %v", code, out)
	}
	if code, _, _ := e.call("GET", "/api/v1/contacts/telegram:42", "", nil); code != 200 {
		t.Fatalf("key with the scope = %d", code)
	}
	if _, err := e.db.RevokeAPIKey(context.Background(), "shop"); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := e.call("GET", "/api/v1/contacts/telegram:42", "", nil); code != 401 {
		t.Fatalf("revoked key = %d, want 401", code)
	}
	if len(e.tg.texts()) != 2 {
		t.Fatalf("refused requests sent something: %q", e.tg.texts())
	}
}

func TestTriggerAPI(t *testing.T) {
	e := newEnv(t)
	e.customerWrites("1", "hi")
	time.Sleep(5 * time.Millisecond) // past TriggerIdle: the conversation is free
	before := len(e.tg.texts())
	body := `{"contact":"telegram:42","params":{"order":"A-17"}}`
	idem := map[string]string{"Idempotency-Key": "ship-A-17"}
	code, out, _ := e.call("POST", "/api/v1/triggers/shipped", body, idem)
	if code != 202 || out["status"] != "queued" || out["channel"] != "telegram" {
		t.Fatalf("trigger = %d %v", code, out)
	}
	e.flush()
	code, again, hdr := e.call("POST", "/api/v1/triggers/shipped", body, idem)
	if code != 202 || again["id"] != out["id"] || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry = %d %v; want the first answer %v replayed", code, again, out)
	}
	e.flush()
	if got := strings.Join(e.tg.texts()[before:], " | "); got != "Order A-17 shipped. | Did it help?" {
		t.Fatalf("sent %q; want the flow once", got)
	}
	code, out, _ = e.call("POST", "/api/v1/triggers/shipped", `{"contact":"telegram:42","params":{"order":"B"}}`, idem)
	if code != 409 || out["error"] != "idempotency_conflict" {
		t.Fatalf("same key, other body = %d %v", code, out)
	}
	// The bot now waits for the answer to "Did it help?" (TriggerIdle is
	// tiny here, so only an agent makes it busy; see bot tests for the rest).
	code, out, _ = e.call("POST", "/api/v1/triggers/nope", `{"contact":"telegram:42"}`, nil)
	if code != 404 || out["error"] != "unknown_flow" {
		t.Fatalf("unknown flow = %d %v", code, out)
	}
	code, out, _ = e.call("POST", "/api/v1/triggers/shipped", `{"contact":"telegram:999"}`, nil)
	if code != 404 || out["error"] != "unknown_contact" {
		t.Fatalf("unknown contact = %d %v", code, out)
	}
	code, out, _ = e.call("POST", "/api/v1/triggers/shipped", `{"contact":"telegram:42","if_busy":"maybe"}`, nil)
	if code != 422 {
		t.Fatalf("bad if_busy = %d %v", code, out)
	}
	code, out, _ = e.call("POST", "/api/v1/triggers/shipped", `{"contact":"telegram:42","paramz":{}}`, nil)
	if code != 400 || !strings.Contains(out["message"].(string), "paramz") {
		t.Fatalf("unknown body field = %d %v", code, out)
	}
	// An agent owns the conversation: drop answers 409 with the reason.
	c, _ := e.db.ContactByIdentity("telegram:42")
	if _, err := e.db.OpenTicket(context.Background(), store.Ticket{ContactID: c.ID, Reason: "requested", Address: "telegram:42"}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = e.call("POST", "/api/v1/triggers/shipped", `{"contact":"telegram:42","params":{"order":"C"},"if_busy":"drop"}`, nil)
	if code != 409 || out["error"] != "busy" || !strings.Contains(out["message"].(string), "agent") {
		t.Fatalf("trigger into an agent's conversation = %d %v", code, out)
	}
	code, out, _ = e.call("POST", "/api/v1/triggers/shipped", `{"contact":"telegram:42","params":{"order":"C"}}`, nil)
	if code != 202 || out["status"] != "waiting" {
		t.Fatalf("waiting trigger = %d %v", code, out)
	}
}

func TestContactProfile(t *testing.T) {
	e := newEnv(t)
	e.customerWrites("1", "hi")
	// An external id with a known identity is attached to that contact.
	code, out, _ := e.call("PATCH", "/api/v1/contacts/external:CRM-7",
		`{"identities":["telegram:42"],"fields":{"city":"Казань","orders":3,"vip":true,"last_order":"2026-09-01"}}`, nil)
	if code != 200 {
		t.Fatalf("PATCH = %d %v", code, out)
	}
	fields := out["fields"].(map[string]any)
	if fields["city"] != "Казань" || fields["orders"] != "3" || fields["vip"] != "true" {
		t.Fatalf("fields = %v", fields)
	}
	code, got, _ := e.call("GET", "/api/v1/contacts/external:CRM-7", "", nil)
	if code != 200 || got["id"] != out["id"] {
		t.Fatalf("GET by external id = %d %v", code, got)
	}
	facts := got["facts"].(map[string]any)
	if facts["messages_in"] != 1.0 || facts["messages_out"] != 2.0 || facts["conversations"] != 1.0 || facts["tickets"] != 0.0 {
		t.Fatalf("facts = %v", facts)
	}
	// null removes a field; a new external id with a new identity is created.
	code, out, _ = e.call("PATCH", "/api/v1/contacts/external:CRM-7", `{"fields":{"vip":null},"consent":{"telegram":false}}`, nil)
	if code != 200 || out["fields"].(map[string]any)["vip"] != nil {
		t.Fatalf("remove field = %d %v", code, out)
	}
	if consent := out["facts"].(map[string]any)["consent"].([]any); len(consent) != 1 {
		t.Fatalf("consent = %v", consent)
	}
	code, out, _ = e.call("PATCH", "/api/v1/contacts/external:CRM-8", `{"identities":["sms:+79001234567"],"fields":{"city":"Омск"}}`, nil)
	if code != 201 || len(out["identities"].([]any)) != 2 {
		t.Fatalf("create on PATCH = %d %v", code, out)
	}
	code, out, _ = e.call("PATCH", "/api/v1/contacts/external:CRM-8", `{"identities":["telegram:42"]}`, nil)
	if code != 409 || out["error"] != "identity_conflict" {
		t.Fatalf("identity of another contact = %d %v", code, out)
	}
	code, out, _ = e.call("PATCH", "/api/v1/contacts/telegram:777", `{"fields":{"a":"b"}}`, nil)
	if code != 404 {
		t.Fatalf("PATCH of an unknown non-external contact = %d %v", code, out)
	}
	code, out, _ = e.call("PATCH", "/api/v1/contacts/external:CRM-7", `{"fields":{"bad name":"x"}}`, nil)
	if code != 422 {
		t.Fatalf("bad field name = %d %v", code, out)
	}
	code, out, _ = e.call("PATCH", "/api/v1/contacts/external:CRM-7", `{"fields":{"obj":{"a":1}}}`, nil)
	if code != 422 {
		t.Fatalf("object field = %d %v", code, out)
	}
}

func TestConversion(t *testing.T) {
	e := newEnv(t)
	e.customerWrites("1", "hi")
	code, out, _ := e.call("POST", "/api/v1/conversions", `{"contact":"telegram:42","trigger":"t_1","value":1990.5,"currency":"RUB"}`, nil)
	if code != 201 {
		t.Fatalf("conversion = %d %v", code, out)
	}
	var got []store.Event
	e.db.Events(time.Time{}, time.Time{}, func(ev store.Event) error {
		if ev.Type == "conversion" {
			got = append(got, ev)
		}
		return nil
	})
	if len(got) != 1 || got[0].Data["value"] != "1990.5" || got[0].Data["trigger"] != "t_1" || got[0].Data["currency"] != "RUB" {
		t.Fatalf("conversion events = %+v", got)
	}
	if code, _, _ := e.call("POST", "/api/v1/conversions", `{"contact":"telegram:42","value":1}`, nil); code != 422 {
		t.Fatalf("conversion without trigger or broadcast = %d", code)
	}
}
