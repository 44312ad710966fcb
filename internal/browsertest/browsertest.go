// Package browsertest owns the shared set-up for real-browser tests: it starts
// Debian's headless chromium through chromedp with the flags that work in a
// container, sized like a phone or a desktop, fails the test on JavaScript
// errors seen in the page's console, and saves a screenshot when a test fails.
//
// A browser test looks like this:
//
//	ctx := browsertest.New(t, browsertest.Phone)
//	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
//		t.Fatal(err)
//	}
//
// When chromium is not installed the test is skipped, except on CI (CI=true),
// where it must be present and its absence fails the test.
package browsertest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Size is the browser's viewport.
type Size struct {
	Width, Height int
	// Mobile emulates a phone: device-width viewport and mobile user agent
	// hints, so the page's responsive layout is the one a phone gets.
	Mobile bool
}

// The two sizes our pages must work at.
var (
	Phone   = Size{Width: 390, Height: 844, Mobile: true}
	Desktop = Size{Width: 1280, Height: 800}
)

// Timeout bounds a whole browser session, so a hung page fails the test
// instead of hanging the suite. Browser tests should finish in ~10 s.
const Timeout = 60 * time.Second

// candidates are the names chromium has on the systems we run on.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// ExecPath returns the path of the chromium binary: $PARLEY_CHROMIUM if set,
// else the first of chromium, chromium-browser, google-chrome on PATH, else
// /usr/bin/chromium if it exists.
func ExecPath() (string, error) {
	if p := os.Getenv("PARLEY_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	return "", errors.New("browsertest: no chromium found (looked for " + strings.Join(candidates, ", ") + " on PATH; set PARLEY_CHROMIUM to its path)")
}

// New starts a headless chromium for the test and returns a chromedp context
// for its first tab. The browser is stopped when the test ends. Uncaught
// exceptions and console.error calls in the page fail the test (see
// ConsoleErrors to check earlier); if the test failed, a screenshot of the page
// is saved and its path logged.
func New(t testing.TB, size Size) context.Context {
	t.Helper()
	path, err := ExecPath()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; CI must install chromium", err)
		}
		t.Skipf("skipping browser test: %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // chromium refuses to start as root with its sandbox
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(size.Width, size.Height),
	}
	// Start the browser and the tab now, so that the console subscription
	// sees everything the page writes from its first navigation on. A
	// chromium that exits while starting (seen on a loaded two-core machine,
	// with two test binaries starting browsers at once) gets two more tries.
	var ctx context.Context
	var cancelCtx context.CancelFunc
	for attempt := 1; ; attempt++ {
		parent, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, append(opts, chromedp.UserDataDir(t.TempDir()))...)
		var c context.Context
		c, cancelCtx = chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
		err := chromedp.Do(c, chromedp.EmulateViewport(int64(size.Width), int64(size.Height), viewportOpts(size)...))
		if err == nil {
			ctx = c
			// Cleanups run last-in first-out: the browser stops after the
			// console check and the screenshot below.
			t.Cleanup(func() {
				cancelCtx()
				cancelAlloc()
				cancelTimeout()
			})
			break
		}
		cancelCtx()
		cancelAlloc()
		cancelTimeout()
		if attempt == 3 {
			t.Fatalf("browsertest: start %s: %v", path, err)
		}
		t.Logf("browsertest: start %s: %v; trying again", path, err)
		time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
	}
	col := &collector{}
	ctx = context.WithValue(ctx, collectorKey{}, col)
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return // the context ended: the browser is going away
			}
			col.add(m)
		}
	}()

	t.Cleanup(func() {
		if t.Failed() {
			Screenshot(t, ctx, "failure.png")
		}
		for _, m := range ConsoleErrors(ctx) {
			t.Errorf("browser console: %s", format(m))
		}
		for _, m := range col.all() {
			if !isError(m) {
				t.Logf("browser console: %s", format(m))
			}
		}
		cancelCtx()
		<-done
	})
	return ctx
}

func viewportOpts(size Size) []chromedp.EmulateViewportOption {
	if size.Mobile {
		return []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateScale(3)}
	}
	return nil
}

// ConsoleErrors returns the uncaught exceptions and console.error calls the
// page produced so far in the browser of ctx (made by New). Browser log
// entries such as a failed favicon load are not errors of our code and are
// only logged.
func ConsoleErrors(ctx context.Context) []chromedp.ConsoleMessage {
	col, _ := ctx.Value(collectorKey{}).(*collector)
	if col == nil {
		return nil
	}
	var errs []chromedp.ConsoleMessage
	for _, m := range col.all() {
		if isError(m) {
			errs = append(errs, m)
		}
	}
	return errs
}

// ConsoleMessages returns every console message seen so far.
func ConsoleMessages(ctx context.Context) []chromedp.ConsoleMessage {
	col, _ := ctx.Value(collectorKey{}).(*collector)
	if col == nil {
		return nil
	}
	return col.all()
}

func isError(m chromedp.ConsoleMessage) bool {
	if m.IsException() {
		return true
	}
	return m.Type == chromedp.ConsoleError && m.Source == ""
}

func format(m chromedp.ConsoleMessage) string {
	s := m.String()
	if m.URL != "" {
		s += " (" + m.URL + ":" + strconv.FormatInt(m.Line+1, 10) + ":" + strconv.FormatInt(m.Column+1, 10) + ")"
	}
	return s
}

// Screenshot saves a PNG of the page in the browser of ctx and logs where.
// A relative name goes into a directory that outlives the test (t.TempDir
// is removed when the test ends, which would delete the evidence):
// $PARLEY_ARTIFACTS if set, else a fresh directory under os.TempDir().
// It returns the path written, or "" (with the error logged) if it failed.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	path := name
	if !filepath.IsAbs(path) {
		dir := os.Getenv("PARLEY_ARTIFACTS")
		if dir == "" {
			d, err := os.MkdirTemp("", "parley-browsertest-")
			if err != nil {
				t.Logf("browsertest: screenshot: %v", err)
				return ""
			}
			dir = d
		}
		safe := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
		path = filepath.Join(dir, safe+"-"+name)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	buf, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("browsertest: screenshot: %v", err)
		return ""
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Logf("browsertest: screenshot: %v", err)
		return ""
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Logf("browsertest: screenshot: %v", err)
		return ""
	}
	t.Logf("browsertest: screenshot saved to %s", path)
	return path
}

// ClearConsole forgets the console messages seen so far, for a test that
// provoked an error on purpose and has checked it.
func ClearConsole(ctx context.Context) {
	if col, _ := ctx.Value(collectorKey{}).(*collector); col != nil {
		col.mu.Lock()
		col.msgs = nil
		col.mu.Unlock()
	}
}

type collectorKey struct{}

type collector struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func (c *collector) add(m chromedp.ConsoleMessage) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *collector) all() []chromedp.ConsoleMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), c.msgs...)
}

// Open navigates to url and waits until the JavaScript expression ready is
// true. Right after a navigation DevTools now and then answers a query
// about the old document with "No node with given id found" or "Cannot find
// context with specified id" (code -32000); Open retries those, so tests do
// not flake on them. Later steps see it too when a page re-renders a list
// under a click (the console's live ticket list): retry those with
// NodeRace.
func Open(ctx context.Context, url, ready string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var err error
	for try := 0; try < 3; try++ {
		if err = chromedp.Do(ctx, chromedp.Navigate(url)); err == nil || !NodeRace(err) {
			break
		}
	}
	if err != nil {
		return err
	}
	// A page that redirects (the console to its login page) swaps the
	// document under the poll: poll again, without navigating again, until
	// the page settles or the time is up.
	for {
		err = chromedp.Do(ctx, chromedp.Poll[chromedp.Void](ready, chromedp.WithPollingTimeout(15*time.Second)))
		if err == nil || !NodeRace(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// NodeRace reports chromium's "No node with given id" and similar
// (-32000) errors, which come from a document or a node replaced under a
// command; steps that are safe to repeat can be retried on them.
func NodeRace(err error) bool { return strings.Contains(err.Error(), "(-32000)") }
