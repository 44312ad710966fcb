package webchat

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/bot/channel"
)

var identitySecret = []byte("site-shared-identity-secret-0123")

// signedIdentity is the hello frame's identity as a site would sign it.
func signedIdentity(id string, ts int64, secret []byte) map[string]any {
	return map[string]any{"id": id, "ts": ts, "sig": SignIdentity(secret, id, ts)}
}

func TestSignedIdentityIsOneVisitorOnEveryBrowser(t *testing.T) {
	rec := &recorder{}
	_, srv := testServer(t, Config{IdentitySecret: identitySecret}, rec, nil)
	now := time.Now().Unix()
	var visitors []string
	// Two browsers (no shared token), signed at different times.
	for i, ts := range []int64{now, now - 3600} {
		c, err := dial(t, srv, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.send(map[string]any{"type": "hello", "identity": signedIdentity("cust-42@shop", ts, identitySecret)})
		hello := c.next()
		if hello.Type != "hello" || hello.Token == "" {
			t.Fatalf("browser %d: hello = %+v", i, hello)
		}
		if h := c.next(); h.Type != "history" {
			t.Fatalf("browser %d: want history, got %+v", i, h)
		}
		visitors = append(visitors, hello.Visitor)
		id := "m" + strconv.Itoa(i)
		c.send(map[string]string{"type": "message", "id": id, "text": "hi"})
		if ack := c.next(); ack.Type != "ack" || ack.ID != id {
			t.Fatalf("browser %d: want ack, got %+v", i, ack)
		}
	}
	if visitors[0] != "site.cust-42@shop" || visitors[1] != visitors[0] {
		t.Errorf("visitors = %q, want site.cust-42@shop twice", visitors)
	}
	for _, in := range rec.inbound() {
		if in.From != (channel.Address{Channel: channel.Web, ID: "site.cust-42@shop"}) {
			t.Errorf("inbound from %v", in.From)
		}
	}
}

func TestForgedIdentityRefused(t *testing.T) {
	rec := &recorder{}
	_, srv := testServer(t, Config{IdentitySecret: identitySecret, IdentityMaxAge: time.Hour}, rec, nil)
	now := time.Now().Unix()
	good := signedIdentity("42", now, identitySecret)
	forged := func(mut func(m map[string]any)) map[string]any {
		m := map[string]any{"id": good["id"], "ts": good["ts"], "sig": good["sig"]}
		mut(m)
		return m
	}
	for name, id := range map[string]map[string]any{
		"other secret":   signedIdentity("42", now, []byte("not-the-site-secret-at-all-01234")),
		"other customer": forged(func(m map[string]any) { m["id"] = "43" }),
		"other time":     forged(func(m map[string]any) { m["ts"] = now - 1 }),
		"flipped sig":    forged(func(m map[string]any) { s := []byte(m["sig"].(string)); s[0] ^= 1; m["sig"] = string(s) }),
		"no sig":         forged(func(m map[string]any) { m["sig"] = "" }),
		"no ts":          {"id": "42", "sig": SignIdentity(identitySecret, "42", 0)},
		"too old":        signedIdentity("42", now-2*3600, identitySecret),
		"future":         signedIdentity("42", now+3600, identitySecret),
		"colon in id":    signedIdentity("4:2", now, identitySecret),
		"empty id":       signedIdentity("", now, identitySecret),
		"id too long":    signedIdentity(strings.Repeat("a", 200), now, identitySecret),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := dial(t, srv, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.send(map[string]any{"type": "hello", "identity": id})
			if got := c.closed(); got != websocket.StatusPolicyViolation {
				t.Errorf("close status = %v, want %v", got, websocket.StatusPolicyViolation)
			}
		})
	}
	if got := rec.inbound(); len(got) != 0 {
		t.Errorf("handler called with %+v", got)
	}
}

func TestIdentityWithoutSecretStaysAnonymous(t *testing.T) {
	_, srv := testServer(t, Config{}, &recorder{}, nil)
	c, err := dial(t, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "hello", "identity": signedIdentity("42", time.Now().Unix(), identitySecret)})
	if hello := c.next(); hello.Type != "hello" || strings.HasPrefix(hello.Visitor, "site.") || len(hello.Visitor) != 32 {
		t.Errorf("hello = %+v, want an anonymous visitor", hello)
	}
}

func TestIdentitySecretIsValidated(t *testing.T) {
	if _, err := New(Config{IdentitySecret: []byte("short")}, nil); err == nil || !strings.Contains(err.Error(), "IdentitySecret") {
		t.Errorf("short identity secret: %v", err)
	}
}
