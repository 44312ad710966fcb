package handoff

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/browsertest"
)

// An admin erases a customer from a ticket in a real (headless) chromium:
// the button asks for the contact id, a wrong answer erases nothing, the
// right one erases the contact and says that `parley compact` finishes it.
func TestAdminErasesACustomerInBrowser(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("root", RoleAdmin)
	cust := e.contact("web:v9", "Olga", "en")
	e.say(cust, "my card number is 4111 1111 1111 1111")
	tk, _ := e.escalate(cust, "requested", "normal")

	ctx := browsertest.New(t, browsertest.Desktop)
	answers := make(chan string, 2)
	answers <- "c_wrong"
	answers <- cust.ID
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			a := ""
			select {
			case a = <-answers:
			default:
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true, PromptText: a})
		}
	}()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		doSteps(t, ctx, what, steps...)
	}
	if err := browsertest.Open(ctx, srv.URL+"/console/", `document.querySelector("#login-form") !== null`); err != nil {
		t.Fatalf("open console: %v", err)
	}
	item := fmt.Sprintf(`.ticket-item[data-id="%d"]`, tk.ID)
	do("sign in and open the ticket",
		pollJS(`(() => { const f = document.querySelector("#login-form"); return f !== null && f.offsetParent !== null })()`),
		chromedp.SendKeys(chromedp.CSS("#login-name"), "root"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS(item)),
		chromedp.Click(chromedp.CSS(item)),
		chromedp.WaitVisible(chromedp.CSS("#forget")),
	)
	// The click is repeated while no prompt opened (a live update can
	// re-render the ticket under it; the answers wait in their channel).
	for try := 0; ; try++ {
		doSteps(t, ctx, "click erase", chromedp.Click(chromedp.CSS("#forget")))
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := chromedp.Do(actx, chromedp.Poll[chromedp.Void](`document.getElementById("action-error").textContent.includes("did not match")`))
		cancel()
		if err == nil {
			break
		}
		if try == 3 || len(answers) < 2 {
			t.Fatalf("a wrong contact id erases nothing: %v", err)
		}
	}
	if _, err := e.db.Contact(cust.ID); err != nil {
		t.Fatalf("erased after a wrong confirmation: %v", err)
	}
	do("erase",
		chromedp.Click(chromedp.CSS("#forget")),
		pollJS(`!document.getElementById("forget-done").hidden`),
	)
	done := get(t, ctx, chromedp.Text(chromedp.CSS("#forget-done")))
	if !strings.Contains(done, "Erased 2 messages of "+cust.ID) || !strings.Contains(done, "parley compact") {
		t.Errorf("notice %q", done)
	}
	if _, err := e.db.Contact(cust.ID); err == nil {
		t.Error("the contact is still stored")
	}
	if errs := browsertest.ConsoleErrors(ctx); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
