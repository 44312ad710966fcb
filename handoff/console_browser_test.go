package handoff

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/browsertest"
)

// The console in a real (headless) chromium: sign in, see a new ticket
// appear live, open it, read why it was escalated and the whole history
// (with a customer's HTML payload shown as inert text), claim, reply with a
// canned answer, add a note, resolve with a CSAT question.
func TestConsoleInBrowser(t *testing.T) {
	e := newEnv(t, Config{CSAT: true, Canned: []Canned{{ID: "sorry", Title: "Apology", Text: "I'm sorry about that, let me fix it."}}})
	srv := e.server()
	e.agent("anna", RoleAgent)
	cust := e.contact("web:v1", "Olga", "en")
	const payload = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`
	e.say(cust, "Where is my order 1234567?")
	e.botSays(cust, "Your order is on its way.")
	e.say(cust, payload)
	e.say(cust, "this is terrible service")

	ctx := browsertest.New(t, browsertest.Desktop)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		doSteps(t, ctx, what, steps...)
	}
	text := func(sel string) string { return get(t, ctx, chromedp.Text(chromedp.CSS(sel))) }

	if err := browsertest.Open(ctx, srv.URL+"/console/", `document.querySelector("#login-form") !== null`); err != nil {
		t.Fatalf("open console: %v", err)
	}
	// A JS poll, not WaitVisible: the redirect to the login page can swap
	// the document under a node-based wait (-32000 "No node with given id").
	do("login form", pollJS(`(() => { const f = document.querySelector("#login-form"); return f !== null && f.offsetParent !== null })()`))
	if loc := get(t, ctx, chromedp.Location()); !strings.HasSuffix(loc, "/console/login") {
		t.Fatalf("without a session the console went to %s, want the login page", loc)
	}
	do("sign in",
		chromedp.SendKeys(chromedp.CSS("#login-name"), "anna"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#queue-empty")),
		pollJS(`document.getElementById("live").classList.contains("on")`),
	)
	if me := text("#me"); me != "Anna (agent)" {
		t.Errorf("#me = %q", me)
	}

	// The ticket is opened while the console is open: it appears live.
	tk, _ := e.escalate(cust, "negative", "high", "this is terrible service")
	item := fmt.Sprintf(`.ticket-item[data-id="%d"]`, tk.ID)
	do("ticket appears live", chromedp.WaitVisible(chromedp.CSS(item)))
	do("open ticket",
		chromedp.Click(chromedp.CSS(item)),
		chromedp.WaitVisible(chromedp.CSS("#ticket")),
		pollJS(`document.querySelectorAll("#history .msg").length >= 5`),
	)
	if reason, evidence := text("#reason"), text("#evidence"); reason != "Unhappy" || evidence != "this is terrible service" {
		t.Errorf("reason %q evidence %q", reason, evidence)
	}
	highlighted := get(t, ctx, chromedp.Evaluate[bool](`getComputedStyle(document.getElementById("reason")).backgroundColor !== "rgba(0, 0, 0, 0)" && document.querySelector("#evidence mark") !== null`))
	if !highlighted {
		t.Error("reason and evidence are not highlighted")
	}
	summary, vars, channels := text("#summary"), text("#vars"), text("#channels")
	if !strings.Contains(summary, "Reason: Unhappy") || !strings.Contains(vars, "Order number") || !strings.Contains(vars, "1234567") || !strings.Contains(channels, "Web chat v1") {
		t.Errorf("summary %q vars %q channels %q", summary, vars, channels)
	}
	senders := get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#history .msg")].map(e => e.dataset.sender + ":" + e.querySelector(".who").textContent)`))
	if !slices.Contains(senders, "bot:Bot") || !slices.Contains(senders, "customer:Customer") {
		t.Errorf("history senders %q: want bot messages marked as such", senders)
	}
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#history img, #history script").length`)); n != 0 {
		t.Errorf("customer HTML became %d live elements", n)
	}
	if xss := get(t, ctx, chromedp.Evaluate[string](`String(window.__xss)`)); xss != "undefined" {
		t.Errorf("customer script ran: window.__xss=%s", xss)
	}
	texts := get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#history .msg .text")].map(e => e.textContent)`))
	if !slices.Contains(texts, payload) {
		t.Errorf("the HTML payload is not shown as text; history: %q", texts)
	}

	do("claim, canned reply",
		chromedp.Click(chromedp.CSS("#claim")),
		chromedp.WaitVisible(chromedp.CSS("#reply-box")),
		pollJS(selectJS("#canned", "sorry")),
		pollJS(`document.getElementById("reply-text").value.startsWith("I'm sorry")`),
		chromedp.Click(chromedp.CSS("#reply-send")),
		pollJS(`document.querySelectorAll("#history .msg.agent").length === 1`),
	)
	// Polled in the page: the history may be redrawn (a live update) between
	// a node query and the read of its text.
	whoJS := `(document.querySelector("#history .msg.agent .who") || {}).textContent`
	if err := chromedp.Do(ctx, pollJS(whoJS+` === "Anna"`)); err != nil {
		t.Errorf("agent message shown as %q: %v", get(t, ctx, chromedp.Evaluate[string](`String(`+whoJS+`)`)), err)
	}
	do("note",
		chromedp.SendKeys(chromedp.CSS("#note-text"), "VIP customer, offer a refund"),
		chromedp.Click(chromedp.CSS("#note-add")),
		pollJS(`document.getElementById("notes").textContent.includes("offer a refund")`),
	)
	do("resolve with CSAT",
		pollJS(selectJS("#resolve-outcome", "csat")),
		chromedp.Click(chromedp.CSS("#resolve")),
		pollJS(`document.getElementById("t-status").dataset.status === "resolved"`),
	)

	if os.Getenv("PARLEY_SHOTS") != "" {
		browsertest.Screenshot(t, ctx, "/tmp/console-resolved.png")
	}
	ds := e.rec.deliveries()
	var got []string
	for _, d := range ds {
		got = append(got, d.SenderName+"|"+d.Text)
	}
	want := []string{"|Anna has joined the conversation.", "Anna|I'm sorry about that, let me fix it.", "|" + DefaultTexts["en"].CSATQuestion}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("delivered:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if final := e.ticket(tk.ID); final.Status != StatusResolved || final.Outcome != OutcomeCSAT || len(final.Notes) != 1 || final.FirstReplyAt.IsZero() {
		t.Errorf("final ticket = %+v", final)
	}
}

// doSteps runs browser steps within 20 s, failing the test with what on
// an error.
func doSteps(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(actx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// pollJS waits up to 15 s for a JavaScript expression to be true in the
// page (a poll in the page, where a node-based wait could see a document
// swapped under it).
func pollJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second))
}

// get runs one browser action that yields a value, failing the test on error.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(actx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// selectJS picks an option of a <select> as a user would (value + change
// event); it evaluates to true for Poll.
func selectJS(sel, value string) string {
	return fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event("change")); return true })()`, sel, value)
}
