package handoff

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/browsertest"
)

// A lead manages saved replies in the console: the project's are listed
// read-only, a new one is added, edited and deleted, and the saved
// replies' menu follows each change without a reload (the "config" event
// every open console gets). Agents' 403s: TestSavedRepliesAPI.
func TestSavedRepliesInBrowser(t *testing.T) {
	e := newEnv(t, Config{DefaultLang: "ru", Canned: []Canned{{ID: "refund", Title: "Возврат", Lang: "ru", Text: "Деньги придут за 3–10 дней."}}})
	srv := e.server()
	e.agent("lena", RoleLead)

	menu := `[...document.querySelectorAll("#canned option")].slice(1).map(o => o.textContent).join("|")`

	ctx := browsertest.New(t, browsertest.Size{Width: 1366, Height: 768})
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		doSteps(t, ctx, what, steps...)
	}
	js := func(expr string) string { return get(t, ctx, chromedp.Evaluate[string](expr)) }
	consoleSignIn(t, ctx, srv.URL, "lena")
	do("open the saved replies", chromedp.Click(chromedp.CSS("#replies-open")), chromedp.WaitVisible(chromedp.CSS("#reply-edit")),
		pollJS(`document.querySelector('#replies-table tr[data-reply="refund"]') !== null`))
	if got := js(`document.querySelector('#replies-table tr[data-reply="refund"]').innerText`); !strings.Contains(got, "из parley.yaml") || strings.Contains(got, "Удалить") {
		t.Errorf("the project's reply reads %q: want it read-only", got)
	}
	do("add a reply", chromedp.SendKeys(chromedp.CSS("#re-title"), "Опоздание"), pollJS(selectJS("#re-lang", "ru")),
		chromedp.SendKeys(chromedp.CSS("#re-text"), "{{ contact.name }}, курьер задерживается."),
		chromedp.Click(chromedp.CSS("#re-submit")),
		pollJS(`document.querySelectorAll("#replies-table tr").length === 2 && document.getElementById("re-title").value === ""`))
	stored, err := e.db.SavedReplies()
	if err != nil || len(stored) != 1 || stored[0].Title != "Опоздание" || stored[0].UpdatedBy != "lena" || stored[0].Lang != "ru" {
		t.Fatalf("stored = %+v, %v", stored, err)
	}
	do("the menu offers it", pollJS(menu+` === "Возврат|Опоздание"`))

	do("edit it", chromedp.Click(chromedp.CSS(`#replies-table tr[data-reply="`+stored[0].ID+`"] .edit`)),
		pollJS(`document.getElementById("re-text").value.includes("задерживается")`),
		pollJS(`(() => { const t = document.getElementById("re-title"); t.value = "Курьер опаздывает"; return true })()`),
		chromedp.Click(chromedp.CSS("#re-submit")),
		pollJS(`document.querySelector("#replies-table").innerText.includes("Курьер опаздывает")`))
	do("the menu has the new title", pollJS(menu+` === "Возврат|Курьер опаздывает"`))

	do("delete it", pollJS(`(() => { window.confirm = () => true; return true })()`),
		chromedp.Click(chromedp.CSS(`#replies-table tr[data-reply="`+stored[0].ID+`"] .remove`)),
		pollJS(`document.querySelectorAll("#replies-table tr").length === 1`))
	do("the menu drops it", pollJS(menu+` === "Возврат"`))
	if stored, _ := e.db.SavedReplies(); len(stored) != 0 {
		t.Errorf("after delete: %+v", stored)
	}
	shot(t, ctx, "console-1366-replies.png")
}
