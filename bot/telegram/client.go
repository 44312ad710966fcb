package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/parley-chat/parley/bot/channel"
	"github.com/rs/zerolog"
)

// maxResponse bounds how much of a Bot API answer is read: 100 getUpdates
// results stay far below it.
const maxResponse = 16 << 20

// api returns a library client bound to ctx. The library's methods take no
// context, so each call gets a throwaway BotAPI (a few words; the library's
// constructors would call getMe, we do not) whose HTTP client attaches ctx.
func (a *Adapter) api(ctx context.Context) *tgbotapi.BotAPI {
	b := &tgbotapi.BotAPI{Token: a.token, Client: ctxDoer{ctx: ctx, a: a}}
	b.SetAPIEndpoint(a.endpoint)
	return b
}

// call runs one Bot API method with the adapter's per-call deadline.
func (a *Adapter) call(ctx context.Context, c tgbotapi.Chattable) (*tgbotapi.APIResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, a.callTimeout)
	defer cancel()
	resp, err := a.api(ctx).Request(c)
	return resp, a.redactErr(err)
}

// raw runs a method with params built here: setWebhook with secret_token
// (unknown to the library), getUpdates decoded update by update, and sends
// (the library's configs add "entities=null").
func (a *Adapter) raw(ctx context.Context, method string, params tgbotapi.Params, timeout time.Duration) (*tgbotapi.APIResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := a.api(ctx).MakeRequest(method, params)
	return resp, a.redactErr(err)
}

// ctxDoer is the library's HTTPClient: it attaches the call's context,
// redacts the token from transport errors at the source, and drains the
// response on close so the keep-alive connection is reused (the library
// stops reading at the end of the JSON value).
type ctxDoer struct {
	ctx context.Context
	a   *Adapter
}

func (d ctxDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.a.hc.Do(req.WithContext(d.ctx))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// *url.Error carries the URL, that is the token; keep Err so
			// errors.Is(err, context.Canceled) still works.
			return nil, &url.Error{Op: ue.Op, URL: d.a.redact(ue.URL), Err: redactedError{msg: d.a.redact(ue.Err.Error()), err: ue.Err}}
		}
		return nil, redactedError{msg: d.a.redact(err.Error()), err: err}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
		// Telegram always answers JSON; this is a proxy, a captive portal
		// or a wrong APIURL: say so rather than fail with a JSON syntax
		// error.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("bot api answered HTTP %d (%s)", resp.StatusCode, ct)
	}
	resp.Body = drainCloser{r: io.LimitReader(resp.Body, maxResponse), c: resp.Body}
	return resp, nil
}

type drainCloser struct {
	r io.Reader
	c io.Closer
}

func (d drainCloser) Read(p []byte) (int, error) { return d.r.Read(p) }
func (d drainCloser) Close() error {
	io.Copy(io.Discard, io.LimitReader(d.r, 64<<10))
	return d.c.Close()
}

// redactedError shows a redacted message and unwraps to the original, so
// errors.Is(err, context.DeadlineExceeded) keeps working.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// tokenInText matches a bot token wherever a URL or message carries one.
var tokenInText = regexp.MustCompile(`bot[0-9]+:[A-Za-z0-9_-]+`)

// redact removes the bot token from s: the configured token wherever it is,
// and anything shaped like "bot<digits>:<secret>".
func (a *Adapter) redact(s string) string {
	if a.token != "" {
		s = strings.ReplaceAll(s, a.token, "<token>")
	}
	return redactText(s)
}

func redactText(s string) string { return tokenInText.ReplaceAllString(s, "bot<token>") }

// redactErr returns err with the token removed from its message; API errors
// (*tgbotapi.Error) carry no URL and pass through for errors.As.
func (a *Adapter) redactErr(err error) error {
	if err == nil {
		return nil
	}
	var apiErr *tgbotapi.Error
	if errors.As(err, &apiErr) {
		return err
	}
	if msg := err.Error(); a.redact(msg) != msg {
		return redactedError{msg: a.redact(msg), err: err}
	}
	return err
}

// classify maps a failed call to the runtime's retry contract: 429 →
// *channel.RetryAfterError, 400 and 403 → *channel.PermanentError, anything
// else (network, 5xx, 401/404 of a revoked token that an operator may fix)
// is retried as it is.
func classify(method string, err error) error {
	var apiErr *tgbotapi.Error
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("telegram %s: %w", method, err)
	}
	wrapped := fmt.Errorf("telegram %s: %d %s", method, apiErr.Code, apiErr.Message)
	switch {
	case apiErr.RetryAfter > 0 || apiErr.Code == http.StatusTooManyRequests:
		after := time.Duration(apiErr.RetryAfter) * time.Second
		if after <= 0 {
			after = time.Second
		}
		return &channel.RetryAfterError{After: after, Err: wrapped}
	case apiErr.MigrateToChatID != 0:
		return &channel.PermanentError{Err: fmt.Errorf("%w (the group became supergroup %d)", wrapped, apiErr.MigrateToChatID)}
	case apiErr.Code == http.StatusBadRequest || apiErr.Code == http.StatusForbidden:
		return &channel.PermanentError{Err: wrapped}
	}
	return wrapped
}

// apiCode returns the Bot API error code of err, or 0.
func apiCode(err error) int {
	var apiErr *tgbotapi.Error
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	return 0
}

// The library logs through a package-level logger (only in debug mode and in
// helpers we do not use); route it, redacted, to the newest adapter's logger.
var (
	libLoggerOnce sync.Once
	libLogger     atomic.Pointer[zerolog.Logger]
)

func installLibraryLogger(l zerolog.Logger) {
	libLogger.Store(&l)
	libLoggerOnce.Do(func() { _ = tgbotapi.SetLogger(libraryLogger{}) })
}

type libraryLogger struct{}

func (libraryLogger) Println(v ...any) { libraryLogger{}.write(fmt.Sprintln(v...)) }
func (libraryLogger) Printf(format string, v ...any) {
	libraryLogger{}.write(fmt.Sprintf(format, v...))
}

func (libraryLogger) write(s string) {
	if l := libLogger.Load(); l != nil {
		l.Debug().Str("channel", string(channel.Telegram)).Str("source", "telegram-bot-api").
			Msg(redactText(strings.TrimSpace(s)))
	}
}
