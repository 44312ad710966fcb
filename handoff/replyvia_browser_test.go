package handoff

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/browsertest"
)

// The console's "reply via" line in a real chromium: a linked customer who
// wrote from the web chat last is answered there (the line says so); the
// agent picks Telegram for one reply, and the next goes to the web chat
// again.
func TestConsoleReplyViaInBrowser(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	tg := e.contact("telegram:42", "Olga", "en")
	web := e.contact("web:v1", "", "en")
	e.link(tg, web)
	e.say(tg, "I need a person")
	tk, _ := e.escalate(tg, "requested", "normal")
	e.clock.Advance(1)
	e.sayFrom(tg.ID, "web:v1", "I am on the website now")
	e.rec.reset()

	ctx := browsertest.New(t, browsertest.Size{Width: 1366, Height: 768})
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		doSteps(t, ctx, what, steps...)
	}
	js := func(expr string) string { return get(t, ctx, chromedp.Evaluate[string](expr)) }
	consoleSignIn(t, ctx, srv.URL, "anna")
	item := fmt.Sprintf(`.ticket-item[data-id="%d"]`, tk.ID)
	do("open and claim", chromedp.WaitVisible(chromedp.CSS(item)), chromedp.Click(chromedp.CSS(item)),
		chromedp.WaitVisible(chromedp.CSS("#ticket")), chromedp.Click(chromedp.CSS("#claim")),
		chromedp.WaitVisible(chromedp.CSS("#reply-via-row")))
	if got := js(`document.getElementById("reply-via").value`); got != "web:v1" {
		t.Errorf("reply via %q, want web:v1", got)
	}
	if got := js(`document.getElementById("reply-via-row").textContent`); !strings.Contains(got, "Reply via") ||
		!strings.Contains(got, "Web chat v1") || !strings.Contains(got, "(the customer wrote from here last)") || !strings.Contains(got, "Telegram 42") {
		t.Errorf("reply-via line %q", got)
	}
	send := func(text string, n int) {
		t.Helper()
		do("send "+text, chromedp.SendKeys(chromedp.CSS("#reply-text"), text), chromedp.Click(chromedp.CSS("#reply-send")),
			pollJS(fmt.Sprintf(`document.querySelectorAll("#history .msg.agent").length === %d`, n)))
	}
	send("to the website", 1)
	do("pick telegram", pollJS(selectJS("#reply-via", "telegram:42")))
	if got := js(`document.getElementById("reply-via-note").textContent`); got != "" {
		t.Errorf("note %q beside a picked channel, want none", got)
	}
	send("to telegram", 2)
	if got := js(`document.getElementById("reply-via").value`); got != "web:v1" {
		t.Errorf("after the picked reply the choice is %q, want the customer's last channel again", got)
	}
	send("to the website again", 3)
	var got []string
	for _, d := range e.rec.deliveries() {
		got = append(got, d.Address+" "+d.Text)
	}
	want := []string{"web:v1 to the website", "web:v1 to the website again", "telegram:42 to telegram"}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("deliveries %q lack %q", got, w)
		}
	}
	if len(got) != 4 { // the assignment notice and three replies
		t.Errorf("deliveries %q, want the assignment notice and three replies", got)
	}
}
