package vk

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
)

// BenchmarkCallbackHandler measures one message_new through the Callback
// API handler (read, verify, decode, hand over, answer "ok") with a handler
// that records nothing: the adapter's own share of the webhook path.
func BenchmarkCallbackHandler(b *testing.B) {
	a, err := New(Config{Token: "t", GroupID: testGroup, Secret: testSecret, Confirmation: "c", Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	h := a.CallbackHandler(channel.HandlerFunc(func(context.Context, channel.Inbound) error { return nil }))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hooks/vk", strings.NewReader(messageNewBody)))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkRender measures turning a reply with buttons into messages.send
// parameters (keyboard JSON included).
func BenchmarkRender(b *testing.B) {
	out := channel.Outbound{To: vkPeer, Key: "k", Text: "Чем помочь?", Buttons: twoBtns}
	b.ReportAllocs()
	for b.Loop() {
		if m := render(out, clientCaps{}); len(m) != 1 || m[0].keyboard == "" {
			b.Fatal("no keyboard")
		}
	}
}
