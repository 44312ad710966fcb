package handoff

import (
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/browsertest"
)

// A first sign-in with a printed one-time password in a real (headless)
// chromium: the console shows only the change form, refuses a mismatch and
// a too-short password with a readable message, and after a good change
// starts normally; the next sign-in uses the new password and goes straight
// to the queue.
func TestConsoleFirstLoginForcesPasswordChange(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.oneTimeAgent("anna", RoleAgent)

	ctx := browsertest.New(t, browsertest.Desktop)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		doSteps(t, ctx, what, steps...)
	}
	visible := func(sel string) bool {
		return get(t, ctx, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+jsString(sel)+`); return !!e && e.offsetParent !== null })()`))
	}
	signIn := func(password string) {
		t.Helper()
		if err := browsertest.Open(ctx, srv.URL+"/console/login", `document.querySelector("#login-form") !== null`); err != nil {
			t.Fatalf("open the login page: %v", err)
		}
		do("sign in",
			chromedp.WaitVisible(chromedp.CSS("#login-form")),
			chromedp.SendKeys(chromedp.CSS("#login-name"), "anna"),
			chromedp.SendKeys(chromedp.CSS("#login-password"), password),
			chromedp.Click(chromedp.CSS("#login-submit")),
		)
	}

	signIn(oneTimePassword)
	do("the change form", chromedp.WaitVisible(chromedp.CSS("#pw-form")))
	for _, sel := range []string{"header.top", "#queue", "#ticket", "#presence"} {
		if visible(sel) {
			t.Errorf("%s is visible next to the password change form", sel)
		}
	}
	if os.Getenv("PARLEY_SHOTS") != "" {
		browsertest.Screenshot(t, ctx, "/tmp/console-password-change.png")
	}
	if got := get(t, ctx, chromedp.Evaluate[string](`document.getElementById("pw-username").value`)); got != "anna" {
		t.Errorf("username for password managers = %q", got)
	}

	fill := func(old, next, repeat string, then ...chromedp.Action[chromedp.Void]) []chromedp.Action[chromedp.Void] {
		return append([]chromedp.Action[chromedp.Void]{
			chromedp.SetValue(chromedp.CSS("#pw-old"), old),
			chromedp.SetValue(chromedp.CSS("#pw-new"), next),
			chromedp.SetValue(chromedp.CSS("#pw-repeat"), repeat),
			chromedp.Click(chromedp.CSS("#pw-submit")),
		}, then...)
	}
	errText := func() string { return get(t, ctx, chromedp.Text(chromedp.CSS("#pw-error"))) }
	do("repeat differs", fill(oneTimePassword, "my own password 1", "my own password 2", chromedp.WaitVisible(chromedp.CSS("#pw-error")))...)
	if got := errText(); got != "The two new passwords differ." {
		t.Errorf("mismatch error %q", got)
	}
	do("too short", fill(oneTimePassword, "short", "short", pollJS(`document.getElementById("pw-error").textContent.includes("at least")`))...)
	if got := errText(); got != "new password: want at least 10 characters" {
		t.Errorf("short password error %q", got)
	}
	do("wrong one-time password", fill("not it at all", "my own password", "my own password", pollJS(`document.getElementById("pw-error").textContent.includes("wrong")`))...)
	if a, _ := e.db.Agent("anna"); !a.PasswordOneTime {
		t.Fatal("a refused change cleared the one-time mark")
	}

	do("change and continue", fill(oneTimePassword, "my own password", "my own password",
		chromedp.WaitVisible(chromedp.CSS("#queue-empty")),
		pollJS(`document.getElementById("live").classList.contains("on")`))...)
	if visible("#pw-change") {
		t.Error("the change form is still shown after the change")
	}
	if me := get(t, ctx, chromedp.Text(chromedp.CSS("#me"))); me != "anna (agent)" {
		t.Errorf("#me = %q", me)
	}
	if a, _ := e.db.Agent("anna"); a.PasswordOneTime {
		t.Error("the agent still has a one-time password after the change")
	}
	if os.Getenv("PARLEY_SHOTS") != "" {
		browsertest.Screenshot(t, ctx, "/tmp/console-password-changed.png")
	}

	do("sign out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	signIn("my own password")
	do("straight to the queue", chromedp.WaitVisible(chromedp.CSS("#queue-empty")))
	if visible("#pw-change") {
		t.Error("the change form is shown at a sign-in with the agent's own password")
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
