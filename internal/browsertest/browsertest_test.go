package browsertest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const page = `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>
<body><p id="w"></p><button id="boom" onclick="throw new Error('kaboom')">boom</button>
<script>document.getElementById('w').textContent = window.innerWidth + 'x' + window.innerHeight; console.log('hello from the page');</script></body></html>`

func server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSizesAndConsole(t *testing.T) {
	srv := server(t)
	for _, tc := range []struct {
		name string
		size Size
		want string
	}{
		{"phone", Phone, "390x844"},
		{"desktop", Desktop, "1280x800"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := New(t, tc.size)
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
				t.Fatal(err)
			}
			got, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("w")))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("viewport = %q, want %q", got, tc.want)
			}
			waitFor(t, func() bool {
				for _, m := range ConsoleMessages(ctx) {
					if m.Text == "hello from the page" {
						return true
					}
				}
				return false
			})
			if errs := ConsoleErrors(ctx); len(errs) != 0 {
				t.Errorf("unexpected console errors: %v", errs)
			}

			// An uncaught exception is captured as an error.
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("boom"))); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool {
				for _, m := range ConsoleErrors(ctx) {
					if strings.Contains(m.Text, "kaboom") {
						return true
					}
				}
				return false
			})
			ClearConsole(ctx) // provoked on purpose
		})
	}
}

func TestScreenshot(t *testing.T) {
	t.Setenv("PARLEY_ARTIFACTS", t.TempDir())
	srv := server(t)
	ctx := New(t, Desktop)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	path := Screenshot(t, ctx, "page.png")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "\x89PNG\r\n\x1a\n") {
		t.Errorf("screenshot %s is not a PNG (starts %q)", path, b[:min(8, len(b))])
	}
}

func TestExecPathOverride(t *testing.T) {
	t.Setenv("PARLEY_CHROMIUM", "/opt/x/chrome")
	got, err := ExecPath()
	if err != nil || got != "/opt/x/chrome" {
		t.Errorf("ExecPath() = %q, %v; want /opt/x/chrome", got, err)
	}
}

// waitFor polls cond for up to 5 s: console events arrive asynchronously.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
