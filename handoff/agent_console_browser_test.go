package handoff

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/browsertest"
	"github.com/parley-chat/parley/store"
)

// notificationStub replaces the browser's Notification API before the
// console's scripts run: permission granted, every notification recorded
// in window.__notes.
const notificationStub = `
window.__notes = [];
window.Notification = class {
  constructor(title, opts) { window.__notes.push({ title, body: (opts || {}).body || "" }); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};`

// onNewDocument runs src in every document the tab opens from now on.
func onNewDocument(src string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return err
	})
}

// shot saves a screenshot to /tmp/parley-shots/NAME when PARLEY_SHOTS is
// set (any value).
func shot(t *testing.T, ctx context.Context, name string) {
	if os.Getenv("PARLEY_SHOTS") == "" {
		return
	}
	browsertest.Screenshot(t, ctx, filepath.Join("/tmp/parley-shots", name))
}

// consoleSignIn opens the console with the notification stub and signs in.
func consoleSignIn(t *testing.T, ctx context.Context, url, name string) {
	t.Helper()
	if err := chromedp.Do(ctx, onNewDocument(notificationStub)); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.Open(ctx, url+"/console/login", `document.querySelector("#login-form") !== null`); err != nil {
		t.Fatalf("open the login page: %v", err)
	}
	doSteps(t, ctx, "sign in",
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-name"), name),
		chromedp.SendKeys(chromedp.CSS("#login-password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
	)
	// The page navigates to the console: a poll can meet the old document
	// going away (-32000) and is asked again.
	ready := `document.getElementById("live") !== null && document.getElementById("live").classList.contains("on")`
	for try := 0; ; try++ {
		err := chromedp.Do(ctx, pollJS(ready))
		if err == nil {
			return
		}
		if try == 5 || !strings.Contains(err.Error(), "(-32000)") {
			t.Fatalf("the console after signing in: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// setVars adds variables to a ticket as a flow would have collected them.
func (e *env) setVars(id uint64, kv ...string) {
	e.t.Helper()
	_, err := e.db.UpdateTicket(context.Background(), id, func(t *store.Ticket) error {
		if t.Vars == nil {
			t.Vars = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			t.Vars[kv[i]] = kv[i+1]
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// The console of a Russian project in a real chromium at 1366 px: Russian
// texts and labels, the customer's name as the title, every identity, the
// earlier ticket with its rating; a new ticket makes a desktop notification
// and an unread mark; after the claim the reply box has the focus and the
// newest message is in view; a saved reply is filled in with the customer's
// name and the order and sent; the customer's answer notifies, its link is
// clickable and safe; search, filters and the shortcut help work.
func TestConsoleRussianInBrowser(t *testing.T) {
	e := newEnv(t, Config{DefaultLang: "ru", Canned: []Canned{
		{ID: "hello", Title: "Приветствие", Lang: "ru", Text: "Здравствуйте, {{ contact.name }}! Проверяю заказ {{ vars.order }}."}}})
	srv := e.server()
	anna := e.agent("anna", RoleAgent)
	olga := e.contact("telegram:123456789", "Ольга Петрова", "ru")
	ctx0 := context.Background()
	olga.Fields = map[string]string{"phone": "+7 900 000-00-00"}
	if _, err := e.db.Commit(ctx0, store.Turn{ContactID: olga.ID, Contact: &olga}); err != nil {
		t.Fatal(err)
	}

	// Olga's earlier ticket, resolved and rated 5.
	old, _ := e.escalate(olga, "complaint", "")
	if _, err := e.svc.Claim(ctx0, anna, old.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Resolve(ctx0, anna, old.ID, OutcomeEnd); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateTicket(ctx0, old.ID, func(t *store.Ticket) error { t.CSAT = 5; return nil }); err != nil {
		t.Fatal(err)
	}
	visitor := e.contact("web:v_0123456789abcdefghijklmnopqrstuvwxyz_long_visitor_id", "", "ru")
	e.say(visitor, "Здравствуйте, где мой заказ?")
	e.escalate(visitor, "negative", "high", "где мой заказ")
	for i := 0; i < 30; i++ { // enough history that the newest message is below the fold
		e.say(olga, fmt.Sprintf("сообщение %d", i))
	}
	e.rec.reset()

	ctx := browsertest.New(t, browsertest.Size{Width: 1366, Height: 768})
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		doSteps(t, ctx, what, steps...)
	}
	js := func(expr string) string { return get(t, ctx, chromedp.Evaluate[string](expr)) }
	consoleSignIn(t, ctx, srv.URL, "anna")
	if got := js(`document.documentElement.lang + "|" + document.querySelector(".queue-head h2").textContent + "|" + document.getElementById("me").textContent`); got != "ru|Очередь|Anna (оператор)" {
		t.Errorf("Russian console: lang|queue|me = %q", got)
	}
	if got := js(`document.querySelector(".ticket-item .who").textContent`); !strings.HasPrefix(got, "Чат на сайте …") {
		t.Errorf("a nameless web visitor is titled %q, want the channel and the end of the id", got)
	}

	// A new ticket: a notification, an unread mark.
	tk, _ := e.escalate(olga, "requested", "")
	e.setVars(tk.ID, "order_found", "true")
	item := fmt.Sprintf(`.ticket-item[data-id="%d"]`, tk.ID)
	do("the new ticket", chromedp.WaitVisible(chromedp.CSS(item)), pollJS(`window.__notes.length === 1`))
	if got := js(`window.__notes[0].title + "|" + window.__notes[0].body`); !strings.HasPrefix(got, "Новое обращение: Ольга Петрова|Попросил оператора") {
		t.Errorf("notification %q", got)
	}
	if got := js(`document.querySelector('` + item + ` .unread-count').textContent`); got != "1" {
		t.Errorf("unread count %q, want 1", got)
	}
	shot(t, ctx, "console-1366-queue.png")

	do("open the ticket", chromedp.Click(chromedp.CSS(item)), chromedp.WaitVisible(chromedp.CSS("#ticket")),
		pollJS(`document.querySelectorAll("#history .msg").length >= 30 && document.querySelectorAll("#earlier li[data-id]").length === 1`))
	if got := js(`document.getElementById("t-title").textContent + "|" + document.getElementById("reason").textContent`); got != "Ольга Петрова|Попросил оператора" {
		t.Errorf("title|reason = %q", got)
	}
	if got := js(`document.getElementById("vars").innerText`); !strings.Contains(got, "Заказ найден\tда") || !strings.Contains(got, "Номер заказа\t1234567") {
		t.Errorf("variables shown as %q", got)
	}
	if got := js(`(b => b ? b.textContent + " / " + b.title : "")(document.getElementById("reply-attach"))`); got != "Файл… / Отправить клиенту файл или картинку" {
		t.Errorf("the file button reads %q in the Russian console", got)
	}
	if got := js(`document.getElementById("earlier").textContent`); !strings.Contains(got, "Жалоба") || !strings.Contains(got, "★5") || !strings.Contains(got, "завершён") {
		t.Errorf("earlier tickets %q: want the complaint, ended, rated 5", got)
	}
	if got := js(`document.getElementById("contact-fields").innerText`); got != "Телефон\t+7 900 000-00-00" {
		t.Errorf("contact fields shown as %q", got)
	}
	if got := js(`document.getElementById("channels").textContent`); !strings.Contains(got, "Telegram 123456789") {
		t.Errorf("identities %q", got)
	}
	if n := js(`String(document.querySelectorAll(".unread-count").length)`); n != "0" {
		t.Errorf("%s unread marks after opening the ticket", n)
	}

	do("claim", chromedp.Click(chromedp.CSS("#claim")), chromedp.WaitVisible(chromedp.CSS("#reply-box")),
		pollJS(`document.activeElement && document.activeElement.id === "reply-text"`))
	atEnd := `(() => { const h = document.getElementById("history"); return h.scrollHeight - h.scrollTop - h.clientHeight < 40 })()`
	do("newest message in view after the claim", pollJS(atEnd))

	do("saved reply", pollJS(selectJS("#canned", "hello")),
		pollJS(`document.getElementById("reply-text").value === "Здравствуйте, Ольга Петрова! Проверяю заказ 1234567."`),
		chromedp.Click(chromedp.CSS("#reply-send")),
		pollJS(`document.querySelectorAll("#history .msg.agent").length === 1`),
		pollJS(`document.getElementById("reply-text").value === "" && document.activeElement.id === "reply-text"`),
		pollJS(atEnd))
	var sent []string
	for _, d := range e.rec.deliveries() {
		sent = append(sent, d.Text)
	}
	if len(sent) != 2 || sent[1] != "Здравствуйте, Ольга Петрова! Проверяю заказ 1234567." {
		t.Errorf("delivered %q: want the assignment notice and the filled saved reply", sent)
	}

	// The customer answers with a link and a script URL.
	e.clock.Advance(0)
	e.route(olga, "Вот фото: https://example.com/photo.png?id=1. И javascript:alert(1)", "")
	do("the customer's reply", pollJS(`window.__notes.length === 2`), pollJS(`document.querySelector("#history .msg.customer:last-child a") !== null`))
	if got := js(`window.__notes[1].title`); got != "Ольга Петрова ответил(а)" {
		t.Errorf("reply notification %q", got)
	}
	if got := js(`[...document.querySelectorAll("#history a")].map(a => a.href + " " + a.rel + " " + a.target).join(";")`); got != "https://example.com/photo.png?id=1 noopener noreferrer nofollow _blank" {
		t.Errorf("links %q: want the https one only, without the trailing dot, safe", got)
	}
	shot(t, ctx, "console-1366-ticket.png")

	do("search", chromedp.SendKeys(chromedp.CSS("#search"), "фото"),
		// Olga's two tickets (the history is the contact's), not the visitor's.
		pollJS(`(() => { const hits = [...document.querySelectorAll("#queue .ticket-item")]; return hits.length === 2 && hits.every(h => h.querySelector(".who").textContent === "Ольга Петрова" && h.querySelector(".preview").textContent.includes("Вот фото")) })()`))
	do("clear the search", pollJS(`(() => { const s = document.getElementById("search"); s.value = ""; s.dispatchEvent(new Event("input")); return true })()`),
		pollJS(`document.querySelectorAll("#queue .ticket-item").length === 2`))
	do("filter by channel", pollJS(selectJS("#f-channel", "web")), pollJS(`document.querySelectorAll("#queue .ticket-item").length === 1`),
		pollJS(selectJS("#f-channel", "")), pollJS(`document.querySelectorAll("#queue .ticket-item").length === 2`))
	do("shortcut help", chromedp.Click(chromedp.CSS("#placeholder, .queue-head h2")),
		pollJS(`(() => { document.activeElement.blur(); document.dispatchEvent(new KeyboardEvent("keydown", { key: "?", bubbles: true })); return !document.getElementById("help").hidden })()`))
	if got := js(`document.getElementById("help-keys").textContent`); !strings.Contains(got, "Ctrl+Enter") || !strings.Contains(got, "взять обращение") {
		t.Errorf("help %q", got)
	}
	// No column overflows with the long web visitor id.
	if got := js(`String([...document.querySelectorAll(".queue-pane, .context")].filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className))`); got != "" {
		t.Errorf("overflowing columns: %s", got)
	}
}

// An admin adds an agent in the console and reads the one-time password
// once; the phone-width console (375 px) has no horizontal scrolling, and
// shows the queue, then the ticket with a way back.
func TestConsoleAdminAndPhoneInBrowser(t *testing.T) {
	e := newEnv(t, Config{DefaultLang: "en"})
	srv := e.server()
	e.agent("root", RoleAdmin)
	visitor := e.contact("web:v_0123456789abcdefghijklmnopqrstuvwxyz_long_visitor_id", "", "en")
	e.say(visitor, "Hello, my parcel https://example.com/track/0123456789012345678901234567890123456789 is late")
	e.escalate(visitor, "requested", "", "late parcel")

	ctx := browsertest.New(t, browsertest.Size{Width: 375, Height: 740, Mobile: true})
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		doSteps(t, ctx, what, steps...)
	}
	js := func(expr string) string { return get(t, ctx, chromedp.Evaluate[string](expr)) }
	consoleSignIn(t, ctx, srv.URL, "root")
	noScroll := `document.documentElement.scrollWidth <= 375 && window.innerWidth <= 375`
	do("the queue at 375 px", chromedp.WaitVisible(chromedp.CSS(".ticket-item")), pollJS(noScroll))
	shot(t, ctx, "console-375-queue.png")
	do("the ticket at 375 px", chromedp.Click(chromedp.CSS(".ticket-item")), chromedp.WaitVisible(chromedp.CSS("#ticket")),
		pollJS(`document.querySelector(".queue-pane").offsetParent === null`), chromedp.Click(chromedp.CSS("#claim")),
		chromedp.WaitVisible(chromedp.CSS("#reply-send")))
	if w := get(t, ctx, chromedp.Evaluate[float64](`document.getElementById("reply-text").getBoundingClientRect().width`)); w < 300 {
		t.Errorf("the reply box is %.0f px wide on a 375 px phone", w)
	}
	if wide := js(`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > 376).slice(0, 8).map(e => e.tagName + "#" + e.id + "." + e.className + ":" + Math.round(e.getBoundingClientRect().right)).join(" ")`); wide != "" {
		t.Errorf("wider than the 375 px phone: %s (innerWidth %s)", wide, js(`String(window.innerWidth)`))
	}
	// Text overflows without widening its box: a text node past the edge
	// (a long URL in the summary) is found by its range.
	if wide := js(`(() => { const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT); const out = []; let n; while ((n = w.nextNode())) { const r = document.createRange(); r.selectNodeContents(n); if (r.getBoundingClientRect().right > 376) out.push(n.parentElement.tagName + "#" + n.parentElement.id + ": " + n.textContent.slice(0, 30)); } return out.slice(0, 6).join(" | ") })()`); wide != "" {
		t.Errorf("text wider than the 375 px phone: %s", wide)
	}
	do("no horizontal scrolling", pollJS(noScroll))
	shot(t, ctx, "console-375-ticket.png")
	do("back to the queue", chromedp.Click(chromedp.CSS("#back")), chromedp.WaitVisible(chromedp.CSS(".queue-pane")))

	do("add an agent", chromedp.Click(chromedp.CSS("#agents-open")), chromedp.WaitVisible(chromedp.CSS("#agent-add")),
		chromedp.SendKeys(chromedp.CSS("#aa-name"), "boris"), chromedp.SendKeys(chromedp.CSS("#aa-display"), "Boris"),
		pollJS(selectJS("#aa-role", "lead")), chromedp.Click(chromedp.CSS("#aa-submit")),
		pollJS(`!document.getElementById("agents-secret").hidden && document.querySelector('#agents-table tr[data-agent="boris"]') !== null`), pollJS(noScroll))
	secret := js(`document.getElementById("agents-secret").textContent`)
	a, err := e.db.Agent("boris")
	if err != nil || a.Role != RoleLead || !a.PasswordOneTime {
		t.Fatalf("boris = %+v, %v", a, err)
	}
	pw := strings.Fields(strings.SplitN(secret, ": ", 2)[1])[0]
	if !passwordMatches(a.PasswordHash, pw) {
		t.Errorf("the password shown (%q) is not boris's", secret)
	}
	shot(t, ctx, "console-375-agents.png")
}
