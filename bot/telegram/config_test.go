package telegram

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none = valid
	}{
		{name: "poll defaults", cfg: Config{Token: testToken}},
		{name: "webhook", cfg: Config{Token: testToken, Mode: ModeWebhook, WebhookURL: "https://x.example/hooks/telegram", WebhookSecret: "s"}},
		{name: "no token", cfg: Config{}, want: []string{"token is empty"}},
		{name: "token with bot prefix", cfg: Config{Token: "bot" + testToken}, want: []string{"does not look like a BotFather token"}},
		{name: "bad api url", cfg: Config{Token: testToken, APIURL: "127.0.0.1:9001"}, want: []string{`api url "127.0.0.1:9001"`}},
		{name: "bad mode", cfg: Config{Token: testToken, Mode: "push"}, want: []string{`mode "push"`}},
		{name: "webhook without url and secret", cfg: Config{Token: testToken, Mode: ModeWebhook},
			want: []string{"needs WebhookURL", "needs a WebhookSecret"}},
		{name: "secret with bad characters", cfg: Config{Token: testToken, Mode: ModeWebhook, WebhookURL: "https://x.example/h", WebhookSecret: "a b"},
			want: []string{"webhook secret"}},
		{name: "client timeout below the long poll", cfg: Config{Token: testToken, HTTPClient: &http.Client{Timeout: 10 * time.Second}},
			want: []string{"must exceed the poll timeout"}},
		{name: "negative poll timeout", cfg: Config{Token: testToken, PollTimeout: -time.Second}, want: []string{"poll timeout"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.cfg)
			if len(tc.want) == 0 {
				if err != nil || a == nil {
					t.Fatalf("New: %v", err)
				}
				if a.Channel() != channel.Telegram {
					t.Errorf("Channel() = %q", a.Channel())
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted a bad config")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), tokenTail) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	a := &Adapter{token: testToken}
	for in, want := range map[string]string{
		`Post "http://127.0.0.1:1/bot` + testToken + `/getMe": dial tcp`: `Post "http://127.0.0.1:1/bot<token>/getMe": dial tcp`,
		"other bot987:ZZZ-yy_1/x": "other bot<token>/x",
		"raw " + testToken:        "raw <token>",
		"nothing here":            "nothing here",
	} {
		if got := a.redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// A chat gets ChatBurst messages at once, then one per interval; groups
// are slower; buckets of chats idle long enough to have refilled go away.
func TestChatLimiters(t *testing.T) {
	clock := time.Unix(0, 0)
	c := newChatLimiters(rate.Every(time.Second), 3)
	c.now = func() time.Time { return clock }
	l := c.get(42)
	for i := range 3 {
		if !l.AllowN(clock, 1) {
			t.Fatalf("message %d of the burst refused", i)
		}
	}
	if l.AllowN(clock, 1) {
		t.Fatal("a fourth message at once allowed")
	}
	if !l.AllowN(clock.Add(time.Second), 1) {
		t.Fatal("a message a second later refused")
	}
	if g := c.get(-100); g.Limit() != groupRate {
		t.Errorf("group limit %v, want %v", g.Limit(), groupRate)
	}
	if c.get(42) != l {
		t.Fatal("a busy chat got a new bucket")
	}
	clock = clock.Add(c.idle)
	c.get(7) // triggers the sweep
	if n := c.len(); n != 1 {
		t.Errorf("%d buckets after everyone but chat 7 went idle, want 1", n)
	}
}

// Send waits for the chat's bucket and gives up with the context.
func TestSendWaitsForTheRateLimit(t *testing.T) {
	a, err := New(Config{Token: testToken, APIURL: "http://" + closedAddr(t), HTTPClient: loopbackClient(),
		ChatRate: rate.Every(time.Hour), ChatBurst: 1, GlobalRate: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	a.chats.get(42).Allow() // spend the only token
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = a.Send(ctx, channel.Outbound{To: tgAddr("42"), Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "rate limit") || channel.IsPermanent(err) {
		t.Fatalf("Send = %v, want a retryable rate-limit wait error", err)
	}
}

func TestProgressIsBounded(t *testing.T) {
	p := newProgress(2)
	p.set("a", 1)
	p.set("b", 1)
	p.set("c", 2)
	if p.get("a") != 0 || p.get("b") != 1 || p.get("c") != 2 {
		t.Errorf("got a=%d b=%d c=%d, want the oldest evicted", p.get("a"), p.get("b"), p.get("c"))
	}
	p.clear("c")
	if p.get("c") != 0 {
		t.Error("cleared key remembered")
	}
	p.set("", 1)
	if p.get("") != 0 {
		t.Error("a reply without key must not be tracked")
	}
}

func TestSplitUTF16(t *testing.T) {
	inputs := []string{
		"", "short", strings.Repeat("a", 10), strings.Repeat("🙂", 7), "abc def ghi jkl mno",
		"para one.\n\npara two is longer\nline", strings.Repeat("ж ", 9) + strings.Repeat("z", 20),
	}
	for _, in := range inputs {
		for _, max := range []int{1, 2, 5, 8, 4096} {
			parts := splitUTF16(in, max)
			var joined strings.Builder
			for _, p := range parts {
				if utf16Len(p) > max && utf16Len(p) > 2 {
					t.Errorf("splitUTF16(%q, %d): part %q has %d units", in, max, p, utf16Len(p))
				}
				joined.WriteString(p)
			}
			strip := func(s string) string { return strings.NewReplacer(" ", "", "\n", "").Replace(s) }
			if strip(joined.String()) != strip(in) {
				t.Errorf("splitUTF16(%q, %d) = %q: text lost or changed", in, max, parts)
			}
		}
	}
	if got := splitUTF16("aaaa bbbb", 6); len(got) != 2 || got[0] != "aaaa" || got[1] != "bbbb" {
		t.Errorf("word break not used: %q", got)
	}
}

// APIURL may carry a path (a proxy prefix) and escapes; it becomes the
// library's format string, so a "%" in it must survive.
func TestEndpoint(t *testing.T) {
	a, err := New(Config{Token: testToken, APIURL: "http://127.0.0.1:9001/tg%2Fproxy/"})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf(a.endpoint, "T", "getMe")
	if want := "http://127.0.0.1:9001/tg%2Fproxy/botT/getMe"; got != want {
		t.Errorf("endpoint %q, want %q", got, want)
	}
}

// The library's own log lines (debug mode, helpers) go through the newest
// adapter's logger with the token redacted.
func TestLibraryLoggerRedacts(t *testing.T) {
	var buf syncBuffer
	if _, err := New(Config{Token: testToken, Logger: zerolog.New(&buf).Level(zerolog.DebugLevel)}); err != nil {
		t.Fatal(err)
	}
	libraryLogger{}.Printf("Endpoint: %s", "http://x/bot"+testToken+"/getMe")
	out := buf.String()
	if strings.Contains(out, tokenTail) || !strings.Contains(out, "bot<token>/getMe") {
		t.Errorf("library log line not redacted: %s", out)
	}
}
