// Package gateway owns the generic HTTP gateway channel: an outbound-only
// channel (an SMS provider, a messenger's business API) that Parley sends
// to with one HTTP request per message, its JSON body built from a
// template. Replies never come back through it. Messages reach it from the
// runtime's durable outbox, which retries what the gateway did not take.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/parley-chat/parley/bot/channel"
)

// Config configures a gateway.
type Config struct {
	// Channel is the identity kind it sends to (default "sms": sms:+7900...).
	Channel channel.Name
	// URL receives one request per message.
	URL string
	// Method is POST unless set.
	Method string
	// Headers go with every request (an Authorization header with the
	// provider's token, from the environment: never from a project file).
	Headers map[string]string
	// Body is a text/template of the request body. It sees .To (the
	// address without the channel: "+79001234567"), .Text and .Key (the
	// outbox entry's stable id, for the provider's idempotency); json
	// quotes a value as a JSON string. Default:
	// {"to":{{json .To}},"text":{{json .Text}},"id":{{json .Key}}}
	Body string
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
	// Client makes the requests (default: one with Timeout).
	Client *http.Client
}

// DefaultBody is the body template when Config.Body is empty.
const DefaultBody = `{"to":{{json .To}},"text":{{json .Text}},"id":{{json .Key}}}`

// Gateway is a channel.Sender.
type Gateway struct {
	cfg  Config
	body *template.Template
}

var _ channel.Sender = (*Gateway)(nil)

// New checks cfg and returns the gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.Channel == "" {
		cfg.Channel = channel.SMS
	}
	if !cfg.Channel.OutboundOnly() {
		return nil, fmt.Errorf("gateway: channel %q: want sms (or email)", cfg.Channel)
	}
	if !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		return nil, fmt.Errorf("gateway: url %q: want an http:// or https:// URL", cfg.URL)
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodPost
	}
	if cfg.Body == "" {
		cfg.Body = DefaultBody
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	t, err := template.New("body").Option("missingkey=error").Funcs(template.FuncMap{"json": jsonString}).Parse(cfg.Body)
	if err != nil {
		return nil, fmt.Errorf("gateway: body template: %w", err)
	}
	// A template that fails on a sample fails on every message: say so now.
	if _, err := render(t, message{To: "+70000000000", Text: "test \"quoted\"", Key: "out-1"}); err != nil {
		return nil, fmt.Errorf("gateway: body template: %w", err)
	}
	return &Gateway{cfg: cfg, body: t}, nil
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(fmt.Sprint(v))
	return string(b), err
}

type message struct{ To, Text, Key string }

func render(t *template.Template, m message) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Channel implements channel.Sender.
func (g *Gateway) Channel() channel.Name { return g.cfg.Channel }

// Send posts one message. A 2xx answer is delivery; 429 and 5xx are
// retried (429 after its Retry-After); another 4xx is permanent (the
// number is invalid, the request malformed): retrying cannot help.
func (g *Gateway) Send(ctx context.Context, out channel.Outbound) error {
	text := out.Text
	if text == "" {
		return &channel.PermanentError{Err: errors.New("gateway: empty message")}
	}
	body, err := render(g.body, message{To: out.To.ID, Text: text, Key: out.Key})
	if err != nil {
		return &channel.PermanentError{Err: fmt.Errorf("gateway: body: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, g.cfg.Method, g.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return &channel.PermanentError{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range g.cfg.Headers {
		req.Header.Set(k, v)
	}
	res, err := g.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	defer res.Body.Close()
	detail, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return nil
	case res.StatusCode == http.StatusTooManyRequests:
		after := time.Second
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
			after = time.Duration(s) * time.Second
		}
		return &channel.RetryAfterError{After: after, Err: fmt.Errorf("gateway: %s", res.Status)}
	case res.StatusCode >= 400 && res.StatusCode < 500:
		return &channel.PermanentError{Err: fmt.Errorf("gateway: %s: %s", res.Status, bytes.TrimSpace(detail))}
	}
	return fmt.Errorf("gateway: %s", res.Status)
}
