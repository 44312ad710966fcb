package webchat

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/internal/browsertest"
)

// The widget in a real browser on a shop page that signs its logged-in
// customer: the customer chats as site.<id>; a page with a forged
// signature falls back to an anonymous visitor instead of failing.
func TestWidgetSignedIdentityInBrowser(t *testing.T) {
	hist := &memHistory{items: map[string][]Item{}, seen: map[string]bool{}}
	var a *Adapter
	a, err := New(Config{Secret: testSecret, IdentitySecret: identitySecret, Logger: zerolog.New(zerolog.NewTestWriter(t))}, hist)
	if err != nil {
		t.Fatal(err)
	}
	page := func(id, sig string, ts int64) string {
		return fmt.Sprintf(`<!doctype html><html><body><h1>Shop</h1>
<script src="/widget.js" data-open="true" data-customer-id="%s" data-customer-ts="%d" data-customer-sig="%s" async></script>
</body></html>`, html.EscapeString(id), ts, html.EscapeString(sig))
	}
	now := time.Now().Unix()
	mux := http.NewServeMux()
	mux.Handle("/", a.Handler(echoBot(t, hist, &a)))
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page("cust-7", SignIdentity(identitySecret, "cust-7", now), now))
	})
	mux.HandleFunc("GET /forged", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page("cust-8", SignIdentity([]byte("guessed-secret-guessed-secret-00"), "cust-8", now), now))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { a.Close(); srv.Close() })

	ctx := browsertest.New(t, browsertest.Desktop)
	poll := func(what, expr string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	chat := func(path, text string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path)); err != nil {
			t.Fatal(err)
		}
		poll("connected", `document.querySelector('#parley-widget .parley-status') && document.querySelector('#parley-widget .parley-status').textContent.includes('online')`)
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#parley-widget .parley-input"), text+"\r")); err != nil {
			t.Fatal(err)
		}
		poll("the reply", `Array.from(document.querySelectorAll('#parley-widget .parley-out .parley-bubble')).some(b => b.textContent === 'You said: `+text+`')`)
	}
	chat("/account", "hello as a customer")
	chat("/forged", "hello with a forged signature")

	hist.mu.Lock()
	defer hist.mu.Unlock()
	var signed, anonymous []string
	for id, items := range hist.items {
		for _, it := range items {
			if it.Dir == DirIn {
				if strings.HasPrefix(id, "site.") {
					signed = append(signed, id+": "+it.Text)
				} else if len(id) == 32 {
					anonymous = append(anonymous, it.Text)
				}
			}
		}
	}
	if len(signed) != 1 || signed[0] != "site.cust-7: hello as a customer" {
		t.Errorf("signed visitor messages = %q", signed)
	}
	if len(anonymous) != 1 || anonymous[0] != "hello with a forged signature" {
		t.Errorf("anonymous visitor messages = %q (the forged page must chat anonymously)", anonymous)
	}
}
