package cmd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/internal/browsertest"
	"github.com/parley-chat/parley/store"
)

// The customer's wait in a real chromium (issue 15): a visitor who asks for
// a person sees their queue position in the widget's header; when the
// ticket ahead is claimed the position moves without a reload; when the
// agent claims the visitor's ticket the header names the agent, and the
// agent typing shows in the widget (the visitor typing, in the console).
// Each message the server recorded carries a ✓.
func TestCustomerWaitInBrowser(t *testing.T) {
	s, _ := startServer(t, nil)
	addAgent(t, s.db, "anna", "Анна", handoff.RoleAgent)
	base := "http://" + s.addr
	ctx := context.Background()

	// A Telegram customer's urgent ticket is ahead in the queue.
	ivan, _, err := s.db.ResolveContact(ctx, "telegram:42", "Ivan", "ru")
	if err != nil {
		t.Fatal(err)
	}
	ahead := store.Ticket{ContactID: ivan.ID, Address: "telegram:42", Status: handoff.StatusQueued,
		Reason: "requested", Priority: 3, Summary: "Reason: requested.", CreatedAt: time.Now()}
	res, err := s.db.Commit(ctx, store.Turn{ContactID: ivan.ID, OpenTicket: &ahead})
	if err != nil {
		t.Fatal(err)
	}
	ahead, err = s.db.Ticket(res.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	s.handoff.Opened(ctx, ahead)

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
	agent.poll("live updates", `document.getElementById("live").classList.contains("on")`)

	cust := russian(t, page{t, browsertest.New(t, browsertest.Phone)})
	if err := browsertest.Open(cust.ctx, base+"/", `document.querySelector('#parley-widget .parley-status') !== null`); err != nil {
		t.Fatalf("open the demo page: %v", err)
	}
	const status = `document.querySelector('#parley-widget .parley-status').textContent`
	cust.poll("connected", status+`.includes('онлайн')`)
	m := cust.mark()
	cust.say("Хочу оставить жалобу")
	cust.waitBot(m, "the bot asks what happened", "Опишите")
	m = cust.mark()
	cust.say("Курьер опоздал на три дня")
	cust.waitBot(m, "the queue notice", "оператор")
	cust.poll("the header says the visitor is second", status+`.includes('В очереди: вы №2')`)
	marks := cust.eval(`[...document.querySelectorAll('#parley-widget .parley-in .parley-meta')].map(e => e.textContent)`)
	if len(marks) != 2 || !containsAll(marks, "✓") {
		t.Errorf("the visitor's messages' marks = %q, want a ✓ on both", marks)
	}

	// The ticket ahead is claimed: the position moves without a reload.
	item := fmt.Sprintf(`.ticket-item[data-id="%d"]`, ahead.ID)
	agent.do("claim the ticket ahead", chromedp.Click(chromedp.CSS(item)), chromedp.WaitVisible(chromedp.CSS("#ticket")),
		chromedp.Click(chromedp.CSS("#claim")), chromedp.WaitVisible(chromedp.CSS("#reply-box")))
	cust.poll("the header says the visitor is next", status+`.includes('В очереди: вы №1')`)

	// A message written while queued is marked as joined to the request.
	cust.say("Жду")
	cust.poll("the mark says it reached the ticket", `[...document.querySelectorAll('#parley-widget .parley-in .parley-meta')].some(e => e.textContent.includes('✓ передано оператору'))`)

	// The agent claims the visitor's ticket: the header names her.
	tickets, err := s.db.Tickets(handoff.StatusQueued)
	if err != nil || len(tickets) != 1 {
		t.Fatalf("queued tickets = %v, %v; want the visitor's", tickets, err)
	}
	item = fmt.Sprintf(`.ticket-item[data-id="%d"]`, tickets[0].ID)
	agent.do("claim the visitor's ticket", chromedp.Click(chromedp.CSS(item)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`!document.getElementById("claim").hidden && document.getElementById("t-title").title.startsWith("#%d ")`, tickets[0].ID)),
		chromedp.Click(chromedp.CSS("#claim")), chromedp.WaitVisible(chromedp.CSS("#reply-box")))
	cust.poll("the header names the agent", status+` === 'Оператор Анна'`)

	// Typing both ways.
	agent.do("the agent types", chromedp.SendKeys(chromedp.CSS("#reply-text"), "Сейчас проверю"))
	cust.poll("the widget shows the agent typing", `(() => { const t = document.querySelector('#parley-widget .parley-typing'); return !t.hidden && t.textContent.includes('Оператор печатает') })()`)
	cust.do("the visitor types", chromedp.SendKeys(chromedp.CSS("#parley-widget .parley-input"), "Спасибо"))
	agent.poll("the console shows the visitor typing", `!document.getElementById("customer-typing").hidden`)
}

func containsAll(xs []string, sub string) bool {
	for _, x := range xs {
		if !strings.Contains(x, sub) {
			return false
		}
	}
	return true
}
