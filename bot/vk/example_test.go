package vk_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/vk"
)

// The Callback API handler answers VK's confirmation request, refuses a
// forged event and records a genuine one before answering "ok".
func ExampleAdapter_CallbackHandler() {
	a, err := vk.New(vk.Config{Token: "token", GroupID: 77, Secret: "shh", Confirmation: "a1b2c3"})
	if err != nil {
		panic(err)
	}
	h := a.CallbackHandler(channel.HandlerFunc(func(_ context.Context, in channel.Inbound) error {
		fmt.Printf("recorded %s from %s: %q\n", in.EventID, in.From, in.Text)
		return nil // durably recorded: now VK may get "ok"
	}))
	post := func(body string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hooks/vk", strings.NewReader(body)))
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	post(`{"type":"confirmation","group_id":77,"secret":"shh"}`)
	post(`{"type":"message_new","group_id":77,"secret":"guess","event_id":"e1","object":{"message":{"peer_id":5,"text":"hi"}}}`)
	post(`{"type":"message_new","group_id":77,"secret":"shh","event_id":"e1","object":{"message":{"peer_id":5,"text":"hi"}}}`)
	// Output:
	// 200 a1b2c3
	// 401 vk callback: wrong secret or group id
	// recorded vk:e1 from vk:5: "hi"
	// 200 ok
}
