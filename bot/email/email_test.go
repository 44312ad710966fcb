package email_test

import (
	"context"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	smtp "github.com/emersion/go-smtp"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/email"
)

// inbox is an in-process SMTP server on loopback keeping what it receives.
type inbox struct {
	mu     sync.Mutex
	mails  []received
	refuse string // RCPT TO refused for this address, with a 550
}

type received struct {
	from string
	to   []string
	data string
}

func (b *inbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct {
	b   *inbox
	cur received
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.b.refuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(data)
	s.b.mu.Lock()
	s.b.mails = append(s.b.mails, s.cur)
	s.b.mu.Unlock()
	return nil
}

// StartSMTP runs the server and returns it with its port.
func startSMTP(t *testing.T) (*inbox, int) {
	t.Helper()
	b := &inbox{refuse: "gone@example.com"}
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b, ln.Addr().(*net.TCPAddr).Port
}

func TestEmailSends(t *testing.T) {
	b, port := startSMTP(t)
	s, err := email.New(email.Config{Host: "127.0.0.1", Port: port, TLS: "none", From: "Shop <shop@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	out := channel.Outbound{To: channel.Address{Channel: channel.Email, ID: "anna@example.com"}, Key: "out-9",
		Text: "Скидка 10% на всё\nТолько до пятницы.", Unsubscribe: "https://shop.example/unsubscribe?t=abc"}
	if err := s.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if len(b.mails) != 1 {
		t.Fatalf("server got %d mails", len(b.mails))
	}
	got := b.mails[0]
	if got.from != "shop@example.com" || len(got.to) != 1 || got.to[0] != "anna@example.com" {
		t.Fatalf("envelope %s -> %v", got.from, got.to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subj, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	if subj != "Скидка 10% на всё" {
		t.Errorf("subject %q", subj)
	}
	if msg.Header.Get("List-Unsubscribe") != "<https://shop.example/unsubscribe?t=abc>" || msg.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("unsubscribe headers %v", msg.Header)
	}
	if !strings.Contains(msg.Header.Get("Message-Id"), "out-9") {
		t.Errorf("Message-Id %q does not carry the outbox key", msg.Header.Get("Message-Id"))
	}
	if body := s.Body(out); !strings.Contains(body, "Только до пятницы.") || !strings.Contains(body, "https://shop.example/unsubscribe?t=abc") {
		t.Errorf("body %q", body)
	}
	// A transactional mail has no link.
	out.Unsubscribe = ""
	if body := s.Body(out); strings.Contains(body, "nsubscribe") {
		t.Errorf("transactional body has an unsubscribe line: %q", body)
	}
	// An address the server refuses for good is a permanent failure.
	out.To.ID = "gone@example.com"
	if err := s.Send(context.Background(), out); !channel.IsPermanent(err) {
		t.Errorf("refused recipient = %v, want permanent", err)
	}
	// No server: temporary, the outbox retries.
	s2, _ := email.New(email.Config{Host: "127.0.0.1", Port: 1, TLS: "none", From: "shop@example.com"})
	if err := s2.Send(context.Background(), channel.Outbound{To: channel.Address{Channel: channel.Email, ID: "a@example.com"}, Text: "x"}); err == nil || channel.IsPermanent(err) {
		t.Errorf("no server = %v, want a temporary error", err)
	}
}

func TestEmailConfig(t *testing.T) {
	for name, cfg := range map[string]email.Config{
		"no host": {From: "a@example.com"},
		"no from": {Host: "127.0.0.1"},
		"bad tls": {Host: "127.0.0.1", From: "a@example.com", TLS: "maybe"},
	} {
		if _, err := email.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
