package cmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/internal/browsertest"
	"github.com/parley-chat/parley/store"
)

// syncBuffer is a log sink tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `parley serve` in-process on a loopback port with a fresh
// database, returning it and its log.
func startServer(t *testing.T, mutate func(*Config)) (*server, *syncBuffer) {
	t.Helper()
	cfg := defaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DB = filepath.Join(t.TempDir(), "parley.db")
	cfg.ShutdownTimeout = 5 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &syncBuffer{}
	log := zerolog.New(logs).Level(zerolog.DebugLevel)
	var out bytes.Buffer
	s, err := newServer(context.Background(), cfg, log, IO{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		if err := s.shutdown(cfg.ShutdownTimeout); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s, logs
}

const customerTranscriptJS = `Array.from(document.querySelectorAll('#parley-widget .parley-msg')).map(m =>
  (m.classList.contains('parley-in') ? 'customer: ' : (m.querySelector('.parley-sender').textContent + ': ')) +
  m.querySelector('.parley-bubble').textContent)`

// page wraps one browser tab with the polling helpers the tests share.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, steps...)
	// A live list re-rendered under a click: the steps (clicks that open
	// and claim, waits) are safe to run again.
	for try := 0; try < 2 && err != nil && browsertest.NodeRace(err) && ctx.Err() == nil; try++ {
		time.Sleep(100 * time.Millisecond)
		err = chromedp.Do(ctx, steps...)
	}
	if err != nil {
		p.t.Fatalf("%s: %v\ncustomer transcript: %q", what, err, p.transcript())
	}
}

func (p page) poll(what, expr string) {
	p.t.Helper()
	p.do(what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second)))
}

func (p page) eval(expr string) []string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](expr))
	if err != nil {
		p.t.Fatalf("evaluate: %v", err)
	}
	return v
}

func (p page) transcript() []string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	v, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](customerTranscriptJS))
	return v
}

// say types text into the widget and presses Enter.
func (p page) say(text string) {
	p.t.Helper()
	p.do("type "+text, chromedp.SendKeys(chromedp.CSS("#parley-widget .parley-input"), text+"\r"))
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

// mark counts the bot and agent messages shown so far; waitBot waits for a
// newer one that contains the text.
func (p page) mark() int {
	p.t.Helper()
	return len(p.eval(`[...document.querySelectorAll('#parley-widget .parley-out .parley-bubble')].map(b => b.textContent)`))
}

func (p page) waitBot(mark int, what, contains string) {
	p.t.Helper()
	p.poll(what, fmt.Sprintf(`[...document.querySelectorAll('#parley-widget .parley-out .parley-bubble')].slice(%d).some(b => b.textContent.includes(%s))`, mark, jsString(contains)))
}

// pressButton clicks the newest button with this label.
func (p page) pressButton(label string) {
	p.t.Helper()
	p.poll("button "+label, fmt.Sprintf(`(() => { const b = [...document.querySelectorAll('#parley-widget .parley-button')].filter(b => b.textContent === %s); if (!b.length) return false; b[b.length-1].click(); return true })()`, jsString(label)))
}

// russian makes the tab a Russian-speaking visitor's: the web chat greets
// in the browser's language.
func russian(t *testing.T, p page) page {
	t.Helper()
	if _, err := chromedp.Call(p.ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		UserAgent: "Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36", AcceptLanguage: "ru-RU"}); err != nil {
		t.Fatalf("a Russian browser: %v", err)
	}
	return p
}

// prefixes compares a transcript with the beginnings of its lines, so the
// test does not restate every FAQ answer.
func prefixes(want, got []string) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d messages, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			return fmt.Sprintf("message %d = %q, want it to start with %q", i+1, got[i], want[i])
		}
	}
	return ""
}

func TestDemoWebChatInBrowser(t *testing.T) {
	s, _ := startServer(t, nil)
	p := russian(t, page{t, browsertest.New(t, browsertest.Phone)})
	var m int
	if err := browsertest.Open(p.ctx, "http://"+s.addr+"/", `document.querySelector('#parley-widget .parley-status') !== null`); err != nil {
		t.Fatalf("open the demo page: %v", err)
	}
	p.poll("connected", `document.querySelector('#parley-widget .parley-status') && document.querySelector('#parley-widget .parley-status').textContent.includes('онлайн')`)
	// The greeting is there before the visitor types.
	p.waitBot(0, "the greeting on open", "Чем помочь?")

	m = p.mark()
	p.say("Привет")
	p.waitBot(m, "the greeting", "Чем помочь?")
	m = p.mark()
	p.pressButton("Доставка")
	p.waitBot(m, "the menu after the delivery answer", "Могу ещё чем-то помочь?")
	m = p.mark()
	p.say("как оплатить?")
	p.waitBot(m, "the menu after the payment answer", "Могу ещё чем-то помочь?")

	want := []string{
		"Бот: Здравствуйте! Я бот магазина «Посылка». Чем помочь?", // the opening
		"customer: Привет",
		"Бот: Здравствуйте! Я бот магазина «Посылка». Чем помочь?",
		"customer: Доставка",
		"Бот: Доставляем курьером",
		"Бот: Могу ещё чем-то помочь?",
		"customer: как оплатить?",
		"Бот: Оплатить можно картой",
		"Бот: Могу ещё чем-то помочь?",
	}
	if diff := prefixes(want, p.transcript()); diff != "" {
		t.Fatalf("conversation: %s", diff)
	}

	// A reload shows the same conversation from the store (the opening was
	// not stored: the conversation began with the visitor's message).
	want = want[1:]
	p.do("reload", chromedp.Reload())
	p.poll("the history", fmt.Sprintf(`document.querySelectorAll('#parley-widget .parley-msg').length >= %d`, len(want)))
	if diff := prefixes(want, p.transcript()); diff != "" {
		t.Errorf("conversation after reload: %s", diff)
	}
	if os.Getenv("PARLEY_SHOTS") != "" {
		browsertest.Screenshot(t, p.ctx, "/tmp/webchat-demo.png")
	}
	// And the conversation goes on where it was.
	m = p.mark()
	p.pressButton("Возврат")
	p.waitBot(m, "the returns answer", "Могу ещё чем-то помочь?")
}

const agentPassword = "correct-horse-battery"

func addAgent(t *testing.T, db *store.DB, name, display, role string) {
	t.Helper()
	if _, err := handoff.AddAgent(context.Background(), db, handoff.NewAgent{
		Name: name, DisplayName: display, Role: role, Password: agentPassword,
	}, bcrypt.MinCost, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestComplaintGoesToAnAgentAndBackInBrowser(t *testing.T) {
	s, _ := startServer(t, nil)
	addAgent(t, s.db, "anna", "Анна", handoff.RoleAgent)
	base := "http://" + s.addr

	// The agent is signed in and watching the queue.
	agent := page{t, browsertest.New(t, browsertest.Desktop)}
	if err := browsertest.Open(agent.ctx, base+"/console/", `document.querySelector("#login-form") !== null`); err != nil {
		t.Fatalf("open the console: %v", err)
	}
	agent.do("sign in",
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-name"), "anna"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), agentPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#queue-empty")),
	)
	agent.poll("live updates", `document.getElementById("live").classList.contains("on")`)

	// The customer complains in the web chat.
	cust := russian(t, page{t, browsertest.New(t, browsertest.Phone)})
	var m int
	if err := browsertest.Open(cust.ctx, base+"/", `document.querySelector('#parley-widget .parley-status') !== null`); err != nil {
		t.Fatalf("open the demo page: %v", err)
	}
	cust.poll("connected", `document.querySelector('#parley-widget .parley-status').textContent.includes('онлайн')`)
	m = cust.mark()
	cust.say("Здравствуйте")
	cust.waitBot(m, "the greeting", "Чем помочь?")
	m = cust.mark()
	cust.say("Хочу оставить жалобу")
	cust.waitBot(m, "the bot asks what happened", "Опишите")
	const complaint = "Курьер опоздал на три дня и нагрубил"
	m = cust.mark()
	cust.say(complaint)
	cust.waitBot(m, "the queue notice", "оператор")

	// The ticket appears in the console without a reload.
	agent.do("the ticket appears live", chromedp.WaitVisible(chromedp.CSS(".ticket-item")))
	agent.do("open it", chromedp.Click(chromedp.CSS(".ticket-item")), chromedp.WaitVisible(chromedp.CSS("#ticket")))
	agent.poll("the history", `[...document.querySelectorAll("#history .msg .text")].some(e => e.textContent === `+jsString(complaint)+`)`)
	reason := agent.eval(`[document.getElementById("reason").dataset.code, document.getElementById("reason").textContent]`)
	if reason[0] != "complaint" || reason[1] != "Жалоба" {
		t.Errorf("reason shown = %q, want complaint shown as Жалоба (the console speaks the Russian project's language)", reason)
	}
	senders := agent.eval(`[...document.querySelectorAll("#history .msg")].map(e => e.dataset.sender)`)
	if !contains(senders, "bot") || !contains(senders, "customer") {
		t.Errorf("history senders %q: want the bot's messages there too, marked", senders)
	}

	// Claim and reply: the customer sees the agent's name.
	const reply = "Здравствуйте! Это Анна, разберусь с доставкой прямо сейчас."
	agent.do("claim", chromedp.Click(chromedp.CSS("#claim")), chromedp.WaitVisible(chromedp.CSS("#reply-box")))
	m = cust.mark()
	agent.do("reply", chromedp.SendKeys(chromedp.CSS("#reply-text"), reply), chromedp.Click(chromedp.CSS("#reply-send")))
	cust.waitBot(m, "the agent's reply", reply)
	if got := cust.transcript(); got[len(got)-1] != "Анна: "+reply {
		t.Errorf("last message in the chat = %q, want it signed by Анна", got[len(got)-1])
	}

	// Resolve with a CSAT question; the customer answers with a button.
	m = cust.mark()
	agent.do("resolve with CSAT",
		chromedp.Poll[chromedp.Void](`(() => { const s = document.querySelector("#resolve-outcome"); s.value = "csat"; s.dispatchEvent(new Event("change")); return true })()`),
		chromedp.Click(chromedp.CSS("#resolve")),
	)
	agent.poll("resolved", `document.getElementById("t-status").dataset.status === "resolved"`)
	cust.waitBot(m, "the CSAT question", "от 1")
	m = cust.mark()
	cust.pressButton("5")
	cust.waitBot(m, "back with the bot", "Могу ещё чем-то помочь?")
	if got := strings.Join(cust.transcript(), "\n"); !strings.Contains(got, "Спасибо за оценку") {
		t.Errorf("no thanks for the rating in:\n%s", got)
	}

	tickets, err := s.db.Tickets("")
	if err != nil || len(tickets) != 1 {
		t.Fatalf("tickets = %v, %v; want one", tickets, err)
	}
	tk := tickets[0]
	if tk.Status != "resolved" || tk.CSAT != 5 || tk.Reason != "complaint" || tk.FirstReplyAt.IsZero() {
		t.Errorf("ticket = %+v; want resolved, CSAT 5, reason complaint, first reply recorded", tk)
	}

	// Back with the bot: it answers again.
	m = cust.mark()
	cust.pressButton("Оплата")
	cust.waitBot(m, "the bot answers", "Могу ещё чем-то помочь?")
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
