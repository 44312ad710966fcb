package cmd

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/internal/browsertest"
	"github.com/parley-chat/parley/store"
)

// The customer card in a real chromium (issue 15): a web visitor asks for a
// person; the same customer, on Telegram (the fake Bot API), is linked to
// them. The agent's card names both channels: the Telegram name with a
// t.me link to the @username, and the web identity with the page the
// visitor was on and their browser.
func TestCustomerCardInBrowser(t *testing.T) {
	api := newFakeBotAPI(t)
	s, _ := startServer(t, func(c *Config) {
		c.Telegram = TelegramConfig{Token: tgToken, Mode: "webhook", APIURL: api.srv.URL, WebhookSecret: tgSecret}
		c.PublicURL = "https://parley.example"
	})
	addAgent(t, s.db, "anna", "Анна", handoff.RoleAgent)
	base := "http://" + s.addr
	ctx := context.Background()

	// The visitor asks for a person in the widget.
	cust := russian(t, page{t, browsertest.New(t, browsertest.Phone)})
	if err := browsertest.Open(cust.ctx, base+"/?utm=secret-campaign", `document.querySelector('#parley-widget .parley-status') !== null`); err != nil {
		t.Fatalf("open the demo page: %v", err)
	}
	cust.poll("connected", `document.querySelector('#parley-widget .parley-status').textContent.includes('онлайн')`)
	m := cust.mark()
	cust.say("Хочу оставить жалобу")
	cust.waitBot(m, "the bot asks what happened", "Опишите")
	m = cust.mark()
	cust.say("Курьер опоздал на три дня")
	cust.waitBot(m, "the queue notice", "оператор")
	queued, err := s.db.Tickets(handoff.StatusQueued)
	if err != nil || len(queued) != 1 {
		t.Fatalf("queued tickets = %v, %v; want the visitor's", queued, err)
	}
	tk := queued[0]

	// The same customer writes to the Telegram bot, then links the chats.
	const update = `{"update_id":1,"message":{"message_id":1,"date":1765000000,"chat":{"id":777,"type":"private"},` +
		`"from":{"id":777,"is_bot":false,"first_name":"Ольга","last_name":"Кузнецова","username":"olga_k","language_code":"ru"},"text":"/start"}}`
	if code := postUpdate(t, base, tgSecret, update); code != 200 {
		t.Fatalf("telegram update: %d", code)
	}
	var tg store.Contact
	waitUntil(t, "the Telegram profile", func() bool {
		tg, err = s.db.ContactByIdentity("telegram:777")
		return err == nil && tg.Profiles["telegram:777"]["username"] == "olga_k"
	})
	if _, err := s.db.Merge(ctx, tk.ContactID, tg.ID, store.MergeOptions{Reason: "link_code"}); err != nil {
		t.Fatal(err)
	}

	agent := page{t, browsertest.New(t, browsertest.Desktop)}
	if err := browsertest.Open(agent.ctx, base+"/console/", `document.querySelector("#login-form") !== null`); err != nil {
		t.Fatalf("open the console: %v", err)
	}
	agent.do("sign in",
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-name"), "anna"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), agentPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS(".ticket-item")),
	)
	agent.do("open the ticket", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.ticket-item[data-id="%d"]`, tk.ID))),
		chromedp.WaitVisible(chromedp.CSS("#ticket")))
	agent.poll("the card lists both channels", `document.querySelectorAll("#channels li").length === 2`)
	got := agent.eval(`[...document.querySelectorAll("#channels li")].map(li => li.title + " | " + li.innerText.replace(/\s+/g, " ") + " | " +
		[...li.querySelectorAll("a")].map(a => a.href).join(" "))`)
	web := tk.Address
	want := map[string][]string{
		"telegram:777": {"Ольга Кузнецова", "@olga_k", "https://t.me/olga_k"},
		web:            {"(это обращение)", "страница: " + base + "/ ", "браузер: Chrome 131 on Android", base + "/"},
	}
	for _, line := range got {
		for id, parts := range want {
			if !strings.HasPrefix(line, id+" ") {
				continue
			}
			for _, p := range parts {
				if !strings.Contains(line, p) {
					t.Errorf("card line for %s = %q, want it to show %q", id, line, p)
				}
			}
			delete(want, id)
		}
	}
	if len(want) > 0 {
		t.Errorf("the card lacks %v; it shows %q", want, got)
	}
	if title := agent.eval(`[document.getElementById("t-title").textContent]`); !strings.Contains(title[0], "Ольга Кузнецова") {
		t.Errorf("the ticket's title %q does not name the customer", title[0])
	}
	for _, line := range got {
		if strings.Contains(line, "secret-campaign") {
			t.Errorf("the card shows the page's query: %q", line)
		}
	}
}
