package cmd

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/internal/browsertest"
)

// TestNewcomerFirstHour walks a new user's first hour as the README teaches
// it: parley init, lint and test of that project, serve it on a free port,
// a customer whose first message is a question (the greeting is on screen
// before they type), a request for a person, the demo agent signing in with
// the printed one-time password, choosing their own, claiming the ticket
// and replying, and the reply reaching the customer's web chat.
func TestNewcomerFirstHour(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := Run(args, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}); code != 0 {
			t.Fatalf("parley %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
		}
		return out.String()
	}
	run("init", dir)
	run("lint", dir)
	run("test", dir)

	cfg := defaultConfig()
	cfg.Flows = dir
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DB = filepath.Join(t.TempDir(), "parley.db")
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Handoff.DemoAgent = true
	logs := &syncBuffer{}
	var printed bytes.Buffer
	s, err := newServer(context.Background(), cfg, zerolog.New(logs), IO{Stdout: &printed, Stderr: &printed})
	if err != nil {
		t.Fatalf("parley serve %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.shutdown(cfg.ShutdownTimeout); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	m := regexp.MustCompile(`one-time password: (\S+)`).FindStringSubmatch(printed.String())
	if m == nil {
		t.Fatalf("serve --demo-agent printed no one-time password:\n%s", printed.String())
	}
	oneTime := m[1]
	base := "http://" + s.addr

	// The customer opens the chat: the greeting and the menu are there
	// before they type, and nothing is stored yet.
	writes := s.db.Stats().Writes
	cust := russian(t, page{t, browsertest.New(t, browsertest.Phone)})
	if err := browsertest.Open(cust.ctx, base+"/", `document.querySelector('#parley-widget .parley-status') !== null`); err != nil {
		t.Fatalf("open the web chat: %v", err)
	}
	cust.poll("the greeting on open", `[...document.querySelectorAll('#parley-widget .parley-out .parley-bubble')].some(b => b.textContent.includes('Чем помочь?'))`)
	cust.poll("the menu on open", `[...document.querySelectorAll('#parley-widget .parley-button')].some(b => b.textContent === 'Доставка')`)
	if w := s.db.Stats().Writes; w != writes {
		t.Fatalf("opening the chat wrote %d times to the store; want nothing until the visitor writes", w-writes)
	}

	// The first message is a question, and it is answered at once.
	mk := cust.mark()
	cust.say("А доставка платная?")
	cust.waitBot(mk, "the answer to the first question", "3000")
	greetings := cust.eval(`[...document.querySelectorAll('#parley-widget .parley-out .parley-bubble')].filter(b => b.textContent.includes('Чем помочь?')).map(b => b.textContent)`)
	if len(greetings) != 1 {
		t.Errorf("the greeting shows %d times, want once: %q", len(greetings), cust.transcript())
	}

	// A request for a person opens a ticket.
	mk = cust.mark()
	cust.say("позовите оператора")
	cust.waitBot(mk, "the queue's notice", "оператор")

	// The agent signs in with the printed password and must choose their own.
	agent := page{t, browsertest.New(t, browsertest.Desktop)}
	if err := browsertest.Open(agent.ctx, base+"/console/", `document.querySelector("#login-form") !== null`); err != nil {
		t.Fatalf("open the console: %v", err)
	}
	const own = "my-own-long-password-1"
	agent.do("sign in with the one-time password",
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-name"), "demo"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), oneTime),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#pw-form")),
		chromedp.SendKeys(chromedp.CSS("#pw-old"), oneTime),
		chromedp.SendKeys(chromedp.CSS("#pw-new"), own),
		chromedp.SendKeys(chromedp.CSS("#pw-repeat"), own),
		chromedp.Click(chromedp.CSS("#pw-submit")),
	)
	agent.do("the queue", chromedp.WaitVisible(chromedp.CSS(".ticket-item")))
	agent.do("open the ticket", chromedp.Click(chromedp.CSS(".ticket-item")), chromedp.WaitVisible(chromedp.CSS("#ticket")))
	agent.poll("the customer's first question in the history", `[...document.querySelectorAll("#history .msg .text")].some(e => e.textContent === "А доставка платная?")`)

	const reply = "Здравствуйте! Доставка бесплатна от 3000 ₽, чем ещё помочь?"
	agent.do("claim", chromedp.Click(chromedp.CSS("#claim")), chromedp.WaitVisible(chromedp.CSS("#reply-box")))
	mk = cust.mark()
	agent.do("reply", chromedp.SendKeys(chromedp.CSS("#reply-text"), reply), chromedp.Click(chromedp.CSS("#reply-send")))
	cust.waitBot(mk, "the agent's reply in the web chat", reply)
}
