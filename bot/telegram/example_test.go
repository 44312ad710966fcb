package telegram_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/telegram"
)

// Mounting the webhook: a request without the secret registered with
// setWebhook is refused before its body is read; a genuine update reaches
// the handler and is acknowledged after it returned nil.
func ExampleAdapter_WebhookHandler() {
	a, err := telegram.New(telegram.Config{
		Token:         "123456:ABC-def",
		Mode:          telegram.ModeWebhook,
		WebhookURL:    "https://bot.example/hooks/telegram",
		WebhookSecret: "s3cret",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	record := channel.HandlerFunc(func(_ context.Context, in channel.Inbound) error {
		fmt.Println("handled", in.EventID, in.From, in.Text)
		return nil
	})
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/telegram", a.WebhookHandler(record))

	update := `{"update_id":7,"message":{"message_id":1,"date":1,"chat":{"id":42,"type":"private"},"text":"hi"}}`
	for _, secret := range []string{"forged", "s3cret"} {
		req := httptest.NewRequest(http.MethodPost, "/hooks/telegram", strings.NewReader(update))
		req.Header.Set(telegram.SecretHeader, secret)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// 401
	// handled tg:7 telegram:42 hi
	// 200
}
