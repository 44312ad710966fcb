package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/gateway"
)

// provider is a fake SMS provider on loopback answering with status.
type provider struct {
	mu     sync.Mutex
	status int
	bodies []map[string]any
	auth   []string
}

func (p *provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	var m map[string]any
	json.Unmarshal(data, &m)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bodies = append(p.bodies, m)
	p.auth = append(p.auth, r.Header.Get("Authorization"))
	if p.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "7")
	}
	w.WriteHeader(p.status)
	io.WriteString(w, `{"error":"detail"}`)
}

func TestGatewaySends(t *testing.T) {
	p := &provider{status: 200}
	srv := httptest.NewServer(p)
	defer srv.Close()
	g, err := gateway.New(gateway.Config{URL: srv.URL, Headers: map[string]string{"Authorization": "Bearer tok"},
		Body: `{"phone":{{json .To}},"message":{{json .Text}},"ref":{{json .Key}},"sender":"SHOP"}`})
	if err != nil {
		t.Fatal(err)
	}
	if g.Channel() != channel.SMS {
		t.Fatalf("channel = %s", g.Channel())
	}
	out := channel.Outbound{To: channel.Address{Channel: channel.SMS, ID: "+79001234567"}, Key: "out-5", Text: "Заказ \"A-17\"\nотправлен"}
	if err := g.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	got := p.bodies[0]
	if got["phone"] != "+79001234567" || got["message"] != "Заказ \"A-17\"\nотправлен" || got["ref"] != "out-5" || got["sender"] != "SHOP" || p.auth[0] != "Bearer tok" {
		t.Fatalf("provider got %v (auth %q)", got, p.auth[0])
	}
	p.status = 429
	err = g.Send(context.Background(), out)
	if after, ok := channel.RetryAfter(err); !ok || after != 7*time.Second {
		t.Fatalf("429 = %v; want retry after 7s", err)
	}
	p.status = 400
	if err := g.Send(context.Background(), out); !channel.IsPermanent(err) {
		t.Fatalf("400 = %v; want permanent", err)
	}
	p.status = 503
	if err := g.Send(context.Background(), out); err == nil || channel.IsPermanent(err) {
		t.Fatalf("503 = %v; want a temporary error", err)
	}
}

func TestGatewayConfig(t *testing.T) {
	for name, cfg := range map[string]gateway.Config{
		"no url":       {},
		"bad template": {URL: "http://127.0.0.1:1", Body: `{"to":{{json .To}`},
		"unknown slot": {URL: "http://127.0.0.1:1", Body: `{"to":{{json .Phone}}}`},
		"not outbound": {URL: "http://127.0.0.1:1", Channel: channel.Telegram},
	} {
		if _, err := gateway.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
