package handoff

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/browsertest"
)

// An admin creates an API key in the console, sees it once, and revokes
// it; the store recognises the shown key until then.
func TestAdminManagesAPIKeysInBrowser(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("root", RoleAdmin)
	ctx := browsertest.New(t, browsertest.Desktop)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		doSteps(t, ctx, what, steps...)
	}
	if err := browsertest.Open(ctx, srv.URL+"/console/", `document.querySelector("#login-form") !== null`); err != nil {
		t.Fatalf("open console: %v", err)
	}
	do("sign in and open the agents panel",
		pollJS(`(() => { const f = document.querySelector("#login-form"); return f !== null && f.offsetParent !== null })()`),
		chromedp.SendKeys(chromedp.CSS("#login-name"), "root"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#agents-open")),
		// Clicked until the panel opens: the button shows before the
		// console has bound its handlers.
		pollJS(`(() => { const p = document.getElementById("agents-panel"); if (p.hidden) document.getElementById("agents-open").click(); return !p.hidden })()`),
		chromedp.WaitVisible(chromedp.CSS("#apikey-add")),
		pollJS(`document.querySelectorAll("#ak-scopes input").length === 4`),
	)
	do("create a key",
		chromedp.SendKeys(chromedp.CSS("#ak-name"), "crm"),
		chromedp.Click(chromedp.CSS("#ak-submit")),
		pollJS(`!document.getElementById("agents-secret").hidden && document.querySelectorAll("#apikeys-table tr").length === 1`),
	)
	notice := get(t, ctx, chromedp.Text(chromedp.CSS("#agents-secret")))
	secret := regexp.MustCompile(`pk_[A-Za-z0-9_-]+`).FindString(notice)
	k, err := e.db.APIKeyBySecret(secret)
	if err != nil || k.Name != "crm" || !k.HasScope("triggers") || k.HasScope("broadcasts") {
		t.Fatalf("the key shown (%q) = %+v, %v", notice, k, err)
	}
	do("revoke it",
		chromedp.Click(chromedp.CSS("#apikeys-table .revoke")),
		pollJS(`document.querySelector("#apikeys-table .revoke").hidden`),
	)
	if _, err := e.db.APIKeyBySecret(secret); err == nil {
		t.Fatal("the revoked key still works")
	}
	if errs := browsertest.ConsoleErrors(ctx); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// The customer card shows that the customer opted out of promotions on a
// channel.
func TestCustomerCardShowsOptOutInBrowser(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("root", RoleAdmin)
	cust := e.contact("telegram:77", "Olga", "ru")
	e.say(cust, "стоп")
	tk, _ := e.escalate(cust, "requested", "normal")
	if _, err := e.db.SetConsent(t.Context(), cust.ID, "telegram", true, "message"); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t, browsertest.Desktop)
	if err := browsertest.Open(ctx, srv.URL+"/console/", `document.querySelector("#login-form") !== null`); err != nil {
		t.Fatalf("open console: %v", err)
	}
	item := fmt.Sprintf(`.ticket-item[data-id="%d"]`, tk.ID)
	doSteps(t, ctx, "sign in and open the ticket",
		pollJS(`(() => { const f = document.querySelector("#login-form"); return f !== null && f.offsetParent !== null })()`),
		chromedp.SendKeys(chromedp.CSS("#login-name"), "root"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS(item)),
		chromedp.Click(chromedp.CSS(item)),
		pollJS(`document.querySelector('#contact-fields tr[data-key="consent-telegram"]') !== null`),
	)
	row := get(t, ctx, chromedp.Text(chromedp.CSS(`#contact-fields tr[data-key="consent-telegram"]`)))
	if !strings.Contains(row, "telegram") {
		t.Errorf("consent row %q", row)
	}
	if errs := browsertest.ConsoleErrors(ctx); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
