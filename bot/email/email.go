// Package email owns the e-mail channel: outbound only, over SMTP with
// github.com/wneessen/go-mail. A message is a plain-text mail to the
// address of the contact's email: identity; one that is not transactional
// carries an unsubscribe link in its text and in the List-Unsubscribe
// headers (one click, RFC 8058). Messages reach it from the runtime's
// durable outbox, which retries what the server did not take.
package email

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	mail "github.com/wneessen/go-mail"

	"github.com/parley-chat/parley/bot/channel"
)

// Config configures the SMTP connection and the mails.
type Config struct {
	Host     string
	Port     int    // default 587
	Username string // empty: no authentication
	Password string
	// TLS is "mandatory" (STARTTLS required, the default), "opportunistic"
	// or "none" (a relay on the same host).
	TLS string
	// From is the sender, "Shop <shop@example.com>".
	From string
	// Subject is every mail's subject; empty: the message's first line.
	Subject string
	// UnsubscribeText introduces the link (default in Russian and English).
	UnsubscribeText string
	Timeout         time.Duration // per mail, default 30s
}

// Sender is a channel.Sender for channel.Email.
type Sender struct {
	cfg  Config
	opts []mail.Option
}

var _ channel.Sender = (*Sender)(nil)

// New checks cfg and returns the sender. No connection is made until the
// first mail.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("email: smtp host is empty")
	}
	if cfg.From == "" {
		return nil, errors.New("email: from is empty: set the sender address, e.g. \"Shop <shop@example.com>\"")
	}
	if err := mail.NewMsg().From(cfg.From); err != nil {
		return nil, fmt.Errorf("email: from %q: %w", cfg.From, err)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.UnsubscribeText == "" {
		cfg.UnsubscribeText = "Отписаться от рассылки / Unsubscribe:"
	}
	opts := []mail.Option{mail.WithPort(cfg.Port), mail.WithTimeout(cfg.Timeout)}
	switch cfg.TLS {
	case "", "mandatory":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		return nil, fmt.Errorf("email: tls %q: want mandatory, opportunistic or none", cfg.TLS)
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	if _, err := mail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	return &Sender{cfg: cfg, opts: opts}, nil
}

// Channel implements channel.Sender.
func (s *Sender) Channel() channel.Name { return channel.Email }

// subject is the configured subject or the text's first line, cut short.
func (s *Sender) subject(text string) string {
	if s.cfg.Subject != "" {
		return s.cfg.Subject
	}
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	if utf8.RuneCountInString(line) > 70 {
		line = string([]rune(line)[:69]) + "…"
	}
	return line
}

// Body is the text a mail carries: the message, its buttons as lines (an
// e-mail cannot answer them, but their words may matter), and the
// unsubscribe link when there is one.
func (s *Sender) Body(out channel.Outbound) string {
	var b strings.Builder
	b.WriteString(out.Text)
	for _, btn := range out.Buttons {
		b.WriteString("\n— " + btn.Text)
	}
	if out.Image != "" {
		b.WriteString("\n" + out.Image)
	}
	if out.Unsubscribe != "" {
		b.WriteString("\n\n--\n" + s.cfg.UnsubscribeText + " " + out.Unsubscribe + "\n")
	}
	return b.String()
}

// Send mails one message. The server refusing the address or the mail for
// good is permanent; anything else (no connection, a 4xx) is retried.
func (s *Sender) Send(ctx context.Context, out channel.Outbound) error {
	if strings.TrimSpace(out.Text) == "" {
		return &channel.PermanentError{Err: errors.New("email: empty message")}
	}
	m := mail.NewMsg()
	if err := m.From(s.cfg.From); err != nil {
		return &channel.PermanentError{Err: err}
	}
	if err := m.To(out.To.ID); err != nil {
		return &channel.PermanentError{Err: fmt.Errorf("email: address: %w", err)}
	}
	m.Subject(s.subject(out.Text))
	m.SetDate()
	if out.Key != "" {
		// Stable per outbox entry: a mail resent after a crash has the same
		// Message-ID, which receiving systems use to drop the repeat.
		m.SetMessageIDWithValue(out.Key + "." + strings.ReplaceAll(out.To.ID, "@", "=") + "@parley")
	}
	if out.Unsubscribe != "" {
		m.SetGenHeader("List-Unsubscribe", "<"+out.Unsubscribe+">")
		m.SetGenHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	m.SetBodyString(mail.TypeTextPlain, s.Body(out))
	c, err := mail.NewClient(s.cfg.Host, s.opts...)
	if err != nil {
		return &channel.PermanentError{Err: fmt.Errorf("email: %w", err)}
	}
	err = c.DialAndSendWithContext(ctx, m)
	if err == nil {
		return nil
	}
	var se *mail.SendError
	if errors.As(err, &se) && !se.IsTemp() && (se.Reason == mail.ErrSMTPRcptTo || se.Reason == mail.ErrSMTPData || se.Reason == mail.ErrSMTPDataClose) {
		return &channel.PermanentError{Err: fmt.Errorf("email: %w", err)}
	}
	return fmt.Errorf("email: %w", err)
}
