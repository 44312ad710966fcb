package telegram

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

func BenchmarkDecodeUpdate(b *testing.B) {
	raw := []byte(pressUpdate)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeUpdate(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWebhook is the adapter's share of the webhook path: secret check,
// body read, decode, handler call, 200.
func BenchmarkWebhook(b *testing.B) {
	a, err := New(Config{Token: testToken, Mode: ModeWebhook, WebhookURL: "https://x.example/h", WebhookSecret: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	h := a.WebhookHandler(channel.HandlerFunc(func(context.Context, channel.Inbound) error { return nil }))
	body := textUpdate(1, 42, "Где мой заказ?")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/hooks/telegram", strings.NewReader(body))
			req.Header.Set(SecretHeader, testSecret)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
}

// BenchmarkSend is one sendMessage with a keyboard over loopback HTTP to a
// minimal fake Bot API, rate limits off: the adapter's cost per reply.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"result":{"message_id":1,"date":1,"chat":{"id":42,"type":"private"}}}`)
	}))
	defer srv.Close()
	hc := loopbackClient()
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	a, err := New(Config{Token: testToken, APIURL: srv.URL, HTTPClient: hc, Logger: zerolog.Nop(),
		GlobalRate: rate.Inf, ChatRate: rate.Inf})
	if err != nil {
		b.Fatal(err)
	}
	out := channel.Outbound{To: tgAddr("42"), Text: "Чем помочь?", Buttons: []channel.Button{{Text: "Заказ", Value: "order"}, {Text: "Оператор", Value: "human"}}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := a.Send(context.Background(), out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
