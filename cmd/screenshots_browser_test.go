package cmd

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/internal/browsertest"
)

// TestScreenshots writes PNGs of the agent console and the web chat widget
// at 1366 px and 375 px wide, in the middle of a conversation a web
// visitor handed to an agent (issue 15):
//
//	PARLEY_SCREENSHOTS=/tmp/shots go test -count=1 -run TestScreenshots ./cmd
//	make screenshots                      # the same, into ./screenshots
//
// Off without PARLEY_SCREENSHOTS: each run costs two browsers. The files:
// widget-375-queued.png, console-1366-ticket.png, widget-375-agent.png,
// widget-1366.png, console-375-queue.png, console-375-ticket.png.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("PARLEY_SCREENSHOTS")
	if dir == "" {
		t.Skip("set PARLEY_SCREENSHOTS=DIR to write the console's and the widget's screenshots there")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startServer(t, nil)
	addAgent(t, s.db, "anna", "Анна", handoff.RoleAgent)
	base := "http://" + s.addr
	wide := browsertest.Size{Width: 1366, Height: 768}
	narrow := browsertest.Size{Width: 375, Height: 740, Mobile: true}
	shots := map[string]int{} // file -> the viewport width it must have
	shoot := func(p page, name string, width int) {
		t.Helper()
		p.poll("fonts and layout settled", `document.readyState === "complete"`)
		path := filepath.Join(dir, name)
		if browsertest.Screenshot(t, p.ctx, path) == "" {
			t.Fatalf("screenshot %s not written", name)
		}
		shots[path] = width
	}

	phone := russian(t, page{t, browsertest.New(t, narrow)})
	if err := browsertest.Open(phone.ctx, base+"/", `document.querySelector('#parley-widget .parley-status') !== null`); err != nil {
		t.Fatalf("open the demo page: %v", err)
	}
	openWidget := `(() => { const p = document.querySelector('#parley-widget .parley-panel'); if (p && p.hidden) document.querySelector('#parley-widget .parley-launcher').click(); return !!p && !p.hidden })()`
	phone.poll("the widget open", openWidget)
	phone.poll("connected", `document.querySelector('#parley-widget .parley-status').textContent.includes('онлайн')`)
	m := phone.mark()
	phone.say("Хочу оставить жалобу")
	phone.waitBot(m, "the bot asks what happened", "Опишите")
	m = phone.mark()
	phone.say("Курьер опоздал на три дня, заказ 1234567")
	phone.waitBot(m, "the queue notice", "оператор")
	phone.poll("queued", `document.querySelector('#parley-widget .parley-status').textContent.includes('В очереди')`)
	shoot(phone, "widget-375-queued.png", 375)

	desk := page{t, browsertest.New(t, wide)}
	signIn := func(p page) {
		t.Helper()
		if err := browsertest.Open(p.ctx, base+"/console/", `document.querySelector("#login-form") !== null`); err != nil {
			t.Fatalf("open the console: %v", err)
		}
		p.do("sign in", chromedp.WaitVisible(chromedp.CSS("#login-form")),
			chromedp.SendKeys(chromedp.CSS("#login-name"), "anna"), chromedp.SendKeys(chromedp.CSS("#login-password"), agentPassword),
			chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS(".ticket-item")))
	}
	signIn(desk)
	queued, err := s.db.Tickets(handoff.StatusQueued)
	if err != nil || len(queued) != 1 {
		t.Fatalf("queued = %v, %v", queued, err)
	}
	item := fmt.Sprintf(`.ticket-item[data-id="%d"]`, queued[0].ID)
	desk.do("claim and reply", chromedp.Click(chromedp.CSS(item)), chromedp.WaitVisible(chromedp.CSS("#claim")),
		chromedp.Click(chromedp.CSS("#claim")), chromedp.WaitVisible(chromedp.CSS("#reply-box")),
		chromedp.SendKeys(chromedp.CSS("#reply-text"), "Здравствуйте! Я Анна, проверяю заказ 1234567."),
		chromedp.Click(chromedp.CSS("#reply-send")))
	phone.waitBot(0, "the agent's reply", "проверяю заказ")
	desk.poll("the card and the seen mark", `document.querySelector("#channels .pf-browser") !== null && document.querySelector("#history .seen") !== null`)
	shoot(desk, "console-1366-ticket.png", 1366)
	phone.poll("read marks", `document.querySelector('#parley-widget .parley-read') !== null`)
	shoot(phone, "widget-375-agent.png", 375)

	// The widget on a wide screen, for a new visitor.
	desk = russian(t, page{t, browsertest.New(t, wide)})
	if err := browsertest.Open(desk.ctx, base+"/", `document.querySelector('#parley-widget .parley-status') !== null`); err != nil {
		t.Fatalf("open the demo page: %v", err)
	}
	desk.poll("the widget open", openWidget)
	desk.poll("the greeting", `document.querySelectorAll('#parley-widget .parley-out').length > 0`)
	shoot(desk, "widget-1366.png", 1366)

	// The console on a phone.
	signIn(phone)
	shoot(phone, "console-375-queue.png", 375)
	phone.do("open the ticket", chromedp.Click(chromedp.CSS(item)), chromedp.WaitVisible(chromedp.CSS("#reply-box")))
	shoot(phone, "console-375-ticket.png", 375)

	for path, width := range shots {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		// Mobile emulation may render at a device scale: the width is a
		// multiple of the viewport's.
		if cfg.Width%width != 0 || cfg.Height == 0 {
			t.Errorf("%s is %dx%d, want a width of %d px (or a multiple)", path, cfg.Width, cfg.Height, width)
		}
	}
	t.Logf("%d screenshots in %s", len(shots), dir)
}
