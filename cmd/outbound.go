package cmd

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"os"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/email"
	"github.com/parley-chat/parley/bot/gateway"
)

// outboundSenders are the outbound-only channels c turns on: the HTTP
// gateway (sms:) when its URL is set, e-mail when an SMTP host is.
// Gateway header values expand ${NAME} from getenv, so tokens stay in the
// environment.
func outboundSenders(c OutboundConfig, getenv func(string) string) ([]channel.Sender, error) {
	var out []channel.Sender
	if g := c.Gateway; g.URL != "" {
		headers := make(map[string]string, len(g.Headers))
		for k, v := range g.Headers {
			headers[k] = os.Expand(v, getenv)
		}
		gw, err := gateway.New(gateway.Config{URL: g.URL, Method: g.Method, Headers: headers, Body: g.Body, Timeout: g.Timeout})
		if err != nil {
			return nil, fmt.Errorf("outbound.gateway: %w", err)
		}
		out = append(out, gw)
	}
	if s := c.SMTP; s.Host != "" {
		m, err := email.New(email.Config{Host: s.Host, Port: s.Port, Username: s.Username, Password: s.Password,
			TLS: s.TLS, From: s.From, Subject: s.Subject})
		if err != nil {
			return nil, fmt.Errorf("outbound.smtp: %w", err)
		}
		out = append(out, m)
	}
	return out, nil
}

// unsubscribeKey derives the key that signs e-mail unsubscribe links from
// the web chat's secret: one secret to keep, two unrelated uses.
func unsubscribeKey(webSecret []byte) []byte {
	m := hmac.New(sha256.New, webSecret)
	m.Write([]byte("parley unsubscribe links"))
	return m.Sum(nil)
}
