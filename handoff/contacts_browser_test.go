package handoff

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/browsertest"
)

// A lead sees on the ticket which channel the customer linked, and splits
// a wrong link back with the button; customer text stays inert.
func TestConsoleUndoLinkInBrowser(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("lena", RoleLead)
	tg := e.contact("telegram:1", "Olga", "en")
	web := e.contact("web:v1", "", "en")
	e.say(tg, "hello from telegram")
	e.clock.Advance(time.Second)
	e.say(web, `<b id="inj">from the web</b>`)
	e.link(tg, web)
	tk, _ := e.escalate(tg, "requested", "normal")

	ctx := browsertest.New(t, browsertest.Desktop)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		doSteps(t, ctx, what, steps...)
	}
	item := fmt.Sprintf(`.ticket-item[data-id="%d"]`, tk.ID)
	if err := browsertest.Open(ctx, srv.URL+"/console/login", `document.querySelector("#login-form") !== null`); err != nil {
		t.Fatalf("open the login page: %v", err)
	}
	do("sign in and open the ticket",
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-name"), "lena"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS(item)),
		chromedp.Click(chromedp.CSS(item)),
		chromedp.WaitVisible(chromedp.CSS("#ticket")),
		pollJS(`document.querySelectorAll("#history .msg").length === 3`),
		pollJS(`document.querySelector("#links .undo-link") !== null`),
	)
	links := get(t, ctx, chromedp.Text(chromedp.CSS("#links")))
	if !strings.Contains(links, "linked web:v1 (link_code") {
		t.Errorf("#links = %q", links)
	}
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#inj").length`)); n != 0 {
		t.Error("customer HTML became an element")
	}
	do("undo the link",
		pollJS(`(() => { window.confirm = () => true; return true })()`),
		chromedp.Click(chromedp.CSS("#links .undo-link")),
		pollJS(`!document.getElementById("channels").textContent.includes("web:v1")`),
		pollJS(`document.querySelectorAll("#links li").length === 0`),
		pollJS(`document.querySelectorAll("#history .msg").length === 2`), // the web message went back
	)
	if c, _ := e.db.ContactByIdentity("web:v1"); c.ID != web.ID {
		t.Errorf("web:v1 -> %s after the undo, want %s", c.ID, web.ID)
	}
}
