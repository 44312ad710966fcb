package cmd

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"

	"github.com/parley-chat/parley/store"
)

// fakeGateway is an SMS provider on loopback: it fails its first request
// with 503 (the outbox must retry) and records the rest.
type fakeGateway struct {
	mu    sync.Mutex
	calls int
	got   []map[string]string
	auth  []string
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	if g.calls == 1 {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var m map[string]string
	json.Unmarshal(data, &m)
	g.got = append(g.got, m)
	g.auth = append(g.auth, r.Header.Get("Authorization"))
	io.WriteString(w, `{"status":"accepted"}`)
}

func (g *fakeGateway) delivered() []map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]string(nil), g.got...)
}

// mailbox is an in-process SMTP server (go-smtp) keeping every mail.
type mailbox struct {
	mu    sync.Mutex
	mails []string
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{b: b}, nil }

func (b *mailbox) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.mails...)
}

type mailSession struct{ b *mailbox }

func (s *mailSession) Reset()                               {}
func (s *mailSession) Logout() error                        { return nil }
func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	s.b.mu.Lock()
	s.b.mails = append(s.b.mails, string(data))
	s.b.mu.Unlock()
	return err
}

// Triggers reach a contact who never wrote, through the outbound-only
// channels: an SMS gateway that fails once (the outbox retries) and
// e-mail, whose marketing mails carry a working unsubscribe link.
func TestTriggersOverGatewayAndEmail(t *testing.T) {
	gw := &fakeGateway{}
	gsrv := httptest.NewServer(gw)
	defer gsrv.Close()
	box := &mailbox{}
	msrv := smtp.NewServer(box)
	msrv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go msrv.Serve(ln)
	defer msrv.Close()
	t.Setenv("PARLEY_TEST_GW_TOKEN", "gw-secret")
	s, _ := startServer(t, func(c *Config) {
		c.Flows = shopWithTrigger(t)
		c.PublicURL = "https://shop.example"
		c.Outbound.TriggerIdle = time.Millisecond
		c.Outbound.Gateway = GatewayConfig{URL: gsrv.URL, Headers: map[string]string{"Authorization": "Bearer ${PARLEY_TEST_GW_TOKEN}"}}
		c.Outbound.SMTP = SMTPConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: "none", From: "Посылка <shop@example.com>"}
	})
	base := "http://" + s.addr
	_, key, _ := s.db.CreateAPIKey(t.Context(), "shop", []string{store.ScopeTriggers, store.ScopeContacts})

	code, out := apiCall(t, base, key, "PATCH", "/api/v1/contacts/external:CRM-1",
		`{"name":"Анна","identities":["sms:+79001234567","email:anna@example.com"],"fields":{"city":"Казань"}}`)
	if code != 201 {
		t.Fatalf("create contact: %d %v", code, out)
	}
	// No channel given: the first one Parley can send to, the SMS gateway.
	code, out = apiCall(t, base, key, "POST", "/api/v1/triggers/shipped", `{"contact":"external:CRM-1","params":{"order":"A-1"},"transactional":true}`)
	if code != 202 || out["channel"] != "sms" {
		t.Fatalf("sms trigger: %d %v", code, out)
	}
	waitUntil(t, "the gateway delivery after its retry", func() bool { return len(gw.delivered()) == 2 })
	got := gw.delivered()
	if got[0]["to"] != "+79001234567" || got[0]["text"] != "Заказ A-1 отправлен." || gw.auth[0] != "Bearer gw-secret" {
		t.Fatalf("gateway got %v (auth %q)", got, gw.auth[0])
	}

	// Marketing by e-mail carries an unsubscribe link that works.
	code, out = apiCall(t, base, key, "POST", "/api/v1/triggers/shipped", `{"contact":"external:CRM-1","params":{"order":"PROMO-1"},"channel":"email"}`)
	if code != 202 || out["channel"] != "email" {
		t.Fatalf("email trigger: %d %v", code, out)
	}
	waitUntil(t, "the marketing mail", func() bool { return len(box.all()) >= 1 })
	mail := box.all()[0]
	body := mailBody(t, mail)
	m := regexp.MustCompile(`https://shop\.example/unsubscribe\?\S+`).FindString(body)
	if m == "" || !strings.Contains(mail, "List-Unsubscribe-Post: List-Unsubscribe=One-Click") || !strings.Contains(body, "PROMO-1") {
		t.Fatalf("marketing mail without its unsubscribe link:\n%s", mail)
	}
	link, _ := url.Parse(m)
	local := base + link.Path + "?" + link.RawQuery
	res, err := http.Get(local)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET unsubscribe: %v %v", res, err)
	}
	res.Body.Close()
	if out, _ := s.db.OptedOut(mustContactID(t, s.db, "email:anna@example.com"), "email"); out {
		t.Fatal("a GET (a mail scanner following the link) unsubscribed")
	}
	tampered := strings.Replace(local, "ch=email", "ch=sms", 1)
	if res, _ := http.Post(tampered, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click")); res.StatusCode != 400 {
		t.Fatalf("a tampered link: %d", res.StatusCode)
	}
	res, err = http.Post(local, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("one-click unsubscribe: %v %v", res, err)
	}
	res.Body.Close()
	code, out = apiCall(t, base, key, "POST", "/api/v1/triggers/shipped", `{"contact":"external:CRM-1","params":{"order":"PROMO-2"},"channel":"email"}`)
	if code != 409 || out["error"] != "opted_out" {
		t.Fatalf("marketing after unsubscribe: %d %v", code, out)
	}
	// The SMS channel keeps its own consent; transactional mail still goes,
	// without a link.
	code, out = apiCall(t, base, key, "POST", "/api/v1/triggers/shipped", `{"contact":"external:CRM-1","params":{"order":"A-2"},"channel":"email","transactional":true}`)
	if code != 202 {
		t.Fatalf("transactional mail: %d %v", code, out)
	}
	waitUntil(t, "the transactional mail", func() bool {
		for _, m := range box.all() {
			if b := mailBody(t, m); strings.Contains(b, "A-2") {
				return !strings.Contains(m, "unsubscribe")
			}
		}
		return false
	})
	for _, m := range box.all() {
		if strings.Contains(mailBody(t, m), "PROMO-2") {
			t.Fatal("a marketing mail went after the unsubscribe")
		}
	}
}

// mailBody is a plain-text mail's body, transfer encoding undone.
func mailBody(t *testing.T, raw string) string {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustContactID(t *testing.T, db *store.DB, identity string) string {
	t.Helper()
	c, err := db.ContactByIdentity(identity)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// A cascade over the real server: Telegram first, the SMS gateway only for
// the customer who did not react within the step's wait; the cascade's
// report counts the cost against every channel at once.
func TestCascadeOverTelegramAndGateway(t *testing.T) {
	api := newFakeBotAPI(t)
	gw := &fakeGateway{calls: 1} // no failure this time
	gsrv := httptest.NewServer(gw)
	defer gsrv.Close()
	s, _ := startServer(t, func(c *Config) {
		c.Flows = shopWithTrigger(t)
		c.Telegram = TelegramConfig{Token: tgToken, Mode: "webhook", APIURL: api.srv.URL, WebhookSecret: tgSecret}
		c.PublicURL = "https://parley.example"
		c.Outbound.TriggerIdle = time.Millisecond
		c.Outbound.TriggerSweep = 50 * time.Millisecond
		c.Outbound.Gateway = GatewayConfig{URL: gsrv.URL}
		c.Outbound.Costs = map[string]float64{"telegram": 0, "sms": 3.5}
	})
	base := "http://" + s.addr
	waitUntil(t, "setWebhook", func() bool { return api.count("setWebhook") == 1 })
	_, key, _ := s.db.CreateAPIKey(t.Context(), "shop", []string{store.ScopeTriggers, store.ScopeContacts})
	for i, chat := range []int64{801, 802} {
		postUpdate(t, base, tgSecret, tgMessage(10+i, chat, "/start"))
		waitUntil(t, "the greeting", func() bool { return len(api.sent(fmt.Sprint(chat))) == 1 })
		if code, out := apiCall(t, base, key, "PATCH", fmt.Sprintf("/api/v1/contacts/telegram:%d", chat),
			fmt.Sprintf(`{"identities":["sms:+7900000%d"]}`, chat)); code != 200 {
			t.Fatalf("add phone: %d %v", code, out)
		}
	}
	cascade := `"cascade":[{"channel":"telegram","wait":"1s"},{"channel":"sms"}]`
	ids := map[int64]string{}
	for _, chat := range []int64{801, 802} {
		code, out := apiCall(t, base, key, "POST", "/api/v1/triggers/shipped",
			fmt.Sprintf(`{"contact":"telegram:%d","params":{"order":"Z-%d"},%s}`, chat, chat, cascade))
		if code != 202 || out["channel"] != "telegram" || out["cascade"] == nil {
			t.Fatalf("cascade trigger: %d %v", code, out)
		}
		ids[chat] = out["cascade"].(string)
	}
	waitUntil(t, "both Telegram messages", func() bool {
		return countSent(api, "801", "Z-801") == 1 && countSent(api, "802", "Z-802") == 1
	})
	postUpdate(t, base, tgSecret, tgCallback(20, 801, "eta_yes")) // customer 801 reacts
	waitUntil(t, "the SMS to the silent customer", func() bool { return len(gw.delivered()) > 0 })
	time.Sleep(1200 * time.Millisecond) // past 801's wait as well
	for _, m := range gw.delivered() {
		if m["to"] != "+7900000802" {
			t.Fatalf("the gateway got a message for %s, who reacted on Telegram", m["to"])
		}
	}
	var c801, c802 struct {
		Status    string  `json:"status"`
		Spent     float64 `json:"spent"`
		AllAtOnce float64 `json:"all_at_once"`
	}
	for chat, dst := range map[int64]any{801: &c801, 802: &c802} {
		req, _ := http.NewRequest("GET", base+"/api/v1/cascades/"+ids[chat], nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(res.Body).Decode(dst)
		res.Body.Close()
	}
	if c801.Status != "reacted" || c801.Spent != 0 || c801.AllAtOnce != 3.5 {
		t.Fatalf("cascade of 801 = %+v", c801)
	}
	if c802.Spent != 3.5 || c802.Status == "reacted" {
		t.Fatalf("cascade of 802 = %+v", c802)
	}
}
