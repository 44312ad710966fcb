package bot_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/demo"
	"github.com/parley-chat/parley/internal/browsertest"
	"github.com/parley-chat/parley/store"
)

const transcriptJS = `Array.from(document.querySelectorAll('#parley-widget .parley-msg')).map(m =>
  (m.classList.contains('parley-in') ? 'customer: ' : 'bot: ') + m.querySelector('.parley-bubble').textContent)`

// TestDemoGreetsOnOpenInBrowser: the demo shop's page in a Russian browser
// shows the greeting and its buttons before the visitor types, with no
// contact stored; the first question is answered, the greeting not
// repeated.
func TestDemoGreetsOnOpenInBrowser(t *testing.T) {
	project, err := flows.LoadFS(demo.FS())
	if err != nil {
		t.Fatalf("load the demo: %v", err)
	}
	db, srv := webBot(t, project)
	ctx := browsertest.New(t, browsertest.Phone)
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		UserAgent: "Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36", AcceptLanguage: "ru-RU"}); err != nil {
		t.Fatal(err)
	}
	poll := func(what, expr string) {
		t.Helper()
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(pctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v\ntranscript: %q", what, err, transcript(ctx))
		}
	}
	if err := browsertest.Open(ctx, srv.URL+"/", `document.querySelector('#parley-widget .parley-status') !== null`); err != nil {
		t.Fatal(err)
	}

	// Before typing: the greeting and its buttons, in Russian.
	poll("the greeting", `[...document.querySelectorAll('#parley-widget .parley-out .parley-bubble')].some(b => b.textContent.includes('Чем помочь?'))`)
	labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#parley-widget .parley-button')].map(b => b.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(labels, "Доставка") || !slices.Contains(labels, "Позвать человека") {
		t.Errorf("buttons on open = %q; want the demo menu (Доставка, ..., Позвать человека)", labels)
	}
	visitor := visitorOf(t, ctx)
	if _, err := db.ContactByIdentity("web:" + visitor); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a contact exists after opening the chat (%v); want none before the visitor writes", err)
	}

	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#parley-widget .parley-input"), "Сколько стоит доставка?\r")); err != nil {
		t.Fatal(err)
	}
	poll("the answer", `[...document.querySelectorAll('#parley-widget .parley-out .parley-bubble')].some(b => b.textContent.includes('Доставляем курьером'))`)
	poll("the message marked sent", `!document.querySelector('#parley-widget .parley-pending')`)
	got := transcript(ctx)
	greetings := 0
	for _, line := range got {
		if strings.Contains(line, "Чем помочь?") {
			greetings++
		}
	}
	if greetings != 1 || len(got) < 3 || !strings.HasPrefix(got[0], "bot: Здравствуйте") ||
		got[1] != "customer: Сколько стоит доставка?" || !strings.Contains(got[2], "Доставляем курьером") {
		t.Errorf("transcript %q; want the greeting once, the question, then its answer", got)
	}
	if _, err := db.ContactByIdentity("web:" + visitor); err != nil {
		t.Errorf("no contact after the first message: %v", err)
	}
}

// TestDemoOpeningButtonInBrowser: pressing a button of the greeting before
// writing anything is the first message, answered without a second
// greeting.
func TestDemoOpeningButtonInBrowser(t *testing.T) {
	project, err := flows.LoadFS(demo.FS())
	if err != nil {
		t.Fatalf("load the demo: %v", err)
	}
	_, srv := webBot(t, project)
	ctx := browsertest.New(t, browsertest.Desktop)
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36", AcceptLanguage: "ru"}); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.Open(ctx, srv.URL+"/", `[...document.querySelectorAll('#parley-widget .parley-button')].some(b => b.textContent === 'Оплата')`); err != nil {
		t.Fatalf("the greeting's buttons: %v\ntranscript: %q", err, transcript(ctx))
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('#parley-widget .parley-button')].find(b => b.textContent === 'Оплата').click()`)); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(pctx, chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('#parley-widget .parley-out .parley-bubble')].some(b => b.textContent.includes('Оплатить можно'))`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the payment answer: %v\ntranscript: %q", err, transcript(ctx))
	}
	got := transcript(ctx)
	if len(got) < 3 || !strings.HasPrefix(got[0], "bot: Здравствуйте") || got[1] != "customer: Оплата" ||
		!strings.Contains(got[2], "Оплатить можно") || strings.Contains(strings.Join(got[1:], "\n"), "Чем помочь?") {
		t.Errorf("transcript %q; want the greeting, the pressed button, its answer, and no second greeting", got)
	}
}

func transcript(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](transcriptJS))
	return v
}

// visitorOf reads the visitor id from the token the widget keeps
// ("v1." + base64url(id) + "." + mac).
func visitorOf(t *testing.T, ctx context.Context) string {
	t.Helper()
	tok, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.parse(localStorage.getItem('parley.token@' + location.host) || '""')`))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q in localStorage; want v1.<id>.<mac>", tok)
	}
	id, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(fmt.Errorf("token id: %w", err))
	}
	return hex.EncodeToString(id)
}
