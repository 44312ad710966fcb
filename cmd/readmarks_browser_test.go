package cmd

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/internal/browsertest"
)

// Read marks in a real chromium (issue 15, web chat only): the visitor's
// messages get "✓✓ прочитано оператором" once the agent holding the
// ticket has it on screen, and the agent's reply gets "клиент просмотрел"
// in the console once the visitor's widget shows it.
func TestReadMarksInBrowser(t *testing.T) {
	s, _ := startServer(t, nil)
	addAgent(t, s.db, "anna", "Анна", handoff.RoleAgent)
	base := "http://" + s.addr

	cust := russian(t, page{t, browsertest.New(t, browsertest.Phone)})
	if err := browsertest.Open(cust.ctx, base+"/", `document.querySelector('#parley-widget .parley-status') !== null`); err != nil {
		t.Fatalf("open the demo page: %v", err)
	}
	cust.poll("connected", `document.querySelector('#parley-widget .parley-status').textContent.includes('онлайн')`)
	m := cust.mark()
	cust.say("Хочу оставить жалобу")
	cust.waitBot(m, "the bot asks what happened", "Опишите")
	m = cust.mark()
	cust.say("Курьер опоздал на три дня")
	cust.waitBot(m, "the queue notice", "оператор")
	const readMarks = `[...document.querySelectorAll('#parley-widget .parley-in .parley-mark.parley-read')].length`
	if n := cust.eval(`[String(` + readMarks + `)]`); n[0] != "0" {
		t.Fatalf("%s messages marked read before any agent", n[0])
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
	queued, err := s.db.Tickets(handoff.StatusQueued)
	if err != nil || len(queued) != 1 {
		t.Fatalf("queued = %v, %v", queued, err)
	}
	agent.do("claim", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.ticket-item[data-id="%d"]`, queued[0].ID))),
		chromedp.WaitVisible(chromedp.CSS("#claim")), chromedp.Click(chromedp.CSS("#claim")), chromedp.WaitVisible(chromedp.CSS("#reply-box")))
	cust.poll("the visitor's messages are read", readMarks+` === document.querySelectorAll('#parley-widget .parley-in').length`)
	if got := cust.eval(`[document.querySelector('#parley-widget .parley-in .parley-read').textContent]`); got[0] != " ✓✓ прочитано оператором" {
		t.Errorf("read mark %q", got[0])
	}

	agent.do("reply", chromedp.SendKeys(chromedp.CSS("#reply-text"), "Здравствуйте, разбираюсь"), chromedp.Click(chromedp.CSS("#reply-send")))
	cust.waitBot(0, "the agent's reply", "разбираюсь")
	agent.poll("the console says the visitor saw it", `(() => { const s = document.querySelector("#history .msg.agent .seen"); return s !== null && s.textContent.includes("клиент просмотрел") })()`)

	tk, err := s.db.Ticket(queued[0].ID)
	if err != nil || tk.CustomerSeenAt.IsZero() || tk.AgentReadAt.IsZero() {
		t.Errorf("ticket read marks: read %v, seen %v (%v)", tk.AgentReadAt, tk.CustomerSeenAt, err)
	}
}
