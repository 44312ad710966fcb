package webchat

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/internal/browsertest"
)

// TestWidgetSaysBusyOnceInBrowser: a new visitor over the address's limit
// sees one friendly line and the widget does not keep knocking: one
// refusal, not a burst of reconnects.
func TestWidgetSaysBusyOnceInBrowser(t *testing.T) {
	reg := prometheus.NewRegistry()
	rec := &recorder{}
	a, err := New(Config{Secret: testSecret, Logger: zerolog.New(zerolog.NewTestWriter(t)),
		NewVisitorRate: 0.001, NewVisitorBurst: 1, Metrics: reg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler(rec))
	t.Cleanup(func() { a.Close(); srv.Close() })

	ctx := browsertest.New(t, browsertest.Desktop)
	poll := func(what, expr string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	status := `document.querySelector('#parley-widget .parley-status').textContent`
	// The first visitor takes the address's only new visitor.
	if err := browsertest.Open(ctx, srv.URL+"/", `document.querySelector('#parley-widget .parley-status') !== null`); err != nil {
		t.Fatal(err)
	}
	poll("connected", status+`.includes('online')`)

	// Forget the visitor, as a new browser would be: now over the limit.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`localStorage.clear()`), chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	poll("the busy line", status+` === 'The chat is busy right now. We\u2019ll reconnect in a minute.'`)
	// Typing while busy waits for the scheduled reconnect.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#parley-widget .parley-input"), "hello?\r")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if n := metric(t, reg, "parley_webchat_refused_total", refusedNewVisitors); n != 1 {
		t.Errorf("refused %g times in 2 s; want once, the widget waiting about a minute before the next try", n)
	}
	got, err := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](status))
	if err != nil || got != "The chat is busy right now. We\u2019ll reconnect in a minute." {
		t.Errorf("status after typing = %q, %v; want the busy line kept", got, err)
	}
	if n := len(rec.inbound()); n != 0 {
		t.Errorf("the handler got %d events from a refused visitor", n)
	}
}
