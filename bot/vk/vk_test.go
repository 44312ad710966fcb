package vk

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
)

const (
	testToken        = "vk1.a.SECRET-TOKEN-4f9c"
	testGroup        = int64(4242)
	testSecret       = "s3cret-callback"
	testConfirmation = "c0nf1rm-9x"
	testLPKey        = "lp-key-SECRET-77"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// step is one action against the adapter: a Callback API request, a Send, a
// SendTyping or a long poll Run.
type step struct {
	callback string // request body; "file:NAME" reads a protocol sample and addresses it to the test community
	method   string // HTTP method of the callback request, default POST
	send     *channel.Outbound
	typing   *channel.Address
	poll     bool

	wantStatus int    // callback
	wantBody   string // callback: exact body ("" = not checked)
	wantErr    string // send/typing/poll: substring of the error, "" = success
	wantKind   string // "retry", "permanent" or "" (retried with backoff)
	wantAfter  time.Duration
	deadline   time.Duration // send: run under this deadline instead of the case's
}

type adapterCase struct {
	name        string
	mode        string
	handlerErrs []error // successive HandleInbound results; nil afterwards
	stopAfter   int     // poll: cancel Run after this many accepted events
	steps       []step
	api         []call            // body "file:NAME" is a protocol sample sent as is
	wantIn      []channel.Inbound // every HandleInbound call, in order
	trimURLs    bool              // compare attachment URLs by their size= parameter only
	// position is the stored long poll position before Run ("" none);
	// wantPosition, when set, the one stored at the end.
	position, wantPosition string
}

// memPositions is a PositionStore in memory.
type memPositions struct {
	mu sync.Mutex
	m  map[string]string
}

func (p *memPositions) Position(key string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[key], nil
}

func (p *memPositions) SetPosition(_ context.Context, key, value string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m[key] = value
	return nil
}

func rid(key string) string { return strconv.Itoa(int(randomID(key))) }

func ok(body string) call { return call{body: body} }

func sendParams(key, peer, text string, extra ...string) map[string]string {
	m := map[string]string{"peer_id": peer, "random_id": rid(key), "v": DefaultAPIVersion}
	if text != "" {
		m["message"] = text
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

const (
	kbDeliveryPayment = `{"buttons":[[{"action":{"label":"Доставка","payload":"{\"v\":\"delivery\"}","type":"callback"},"color":"secondary"}],[{"action":{"label":"Оплата","payload":"{\"v\":\"payment\"}","type":"callback"},"color":"secondary"}]],"inline":true}`
	kbTextButtons     = `{"buttons":[[{"action":{"label":"Доставка","payload":"{\"v\":\"delivery\"}","type":"text"},"color":"secondary"}],[{"action":{"label":"Оплата","payload":"{\"v\":\"payment\"}","type":"text"},"color":"secondary"}]],"inline":true}`
	messageNewBody    = `{"type":"message_new","group_id":4242,"event_id":"ev-1","v":"5.199","secret":"s3cret-callback","object":{"message":{"id":0,"date":1767323045,"peer_id":100500,"from_id":100500,"text":"Где мой заказ?","conversation_message_id":7,"ref":"promo42","attachments":[{"type":"doc","doc":{"title":"check.pdf","url":"https://vk.com/doc1_2"}},{"type":"audio_message","audio_message":{"link_ogg":"https://vk.com/a.ogg","link_mp3":"https://vk.com/a.mp3"}}]},"client_info":{"button_actions":["text","callback"],"keyboard":true,"inline_keyboard":true,"lang_id":3}}}`
	noInlineBody      = `{"type":"message_new","group_id":4242,"event_id":"ev-2","secret":"s3cret-callback","object":{"message":{"date":1767323045,"peer_id":100501,"text":"привет","conversation_message_id":1},"client_info":{"button_actions":["text"],"keyboard":true,"inline_keyboard":false,"lang_id":0}}}`
	noCallbackBody    = `{"type":"message_new","group_id":4242,"event_id":"ev-3","secret":"s3cret-callback","object":{"message":{"date":1767323045,"peer_id":100502,"text":"привет","conversation_message_id":1},"client_info":{"button_actions":["text"],"keyboard":true,"inline_keyboard":true,"lang_id":0}}}`
	textButtonBody    = `{"type":"message_new","group_id":4242,"event_id":"ev-4","secret":"s3cret-callback","object":{"message":{"date":1767323045,"peer_id":100500,"text":"Доставка","payload":"{\"v\":\"delivery\"}","conversation_message_id":8}}}`
	startButtonBody   = `{"type":"message_new","group_id":4242,"event_id":"ev-5","secret":"s3cret-callback","object":{"message":{"date":1767323045,"peer_id":100500,"text":"Начать","payload":"{\"command\":\"start\"}","conversation_message_id":9}}}`
	messageEventBody  = `{"type":"message_event","group_id":4242,"event_id":"ev-6","v":"5.199","secret":"s3cret-callback","object":{"user_id":100500,"peer_id":100500,"event_id":"btn-e1","payload":{"v":"payment"},"conversation_message_id":10}}`
	noEventIDBody     = `{"type":"message_new","group_id":4242,"secret":"s3cret-callback","object":{"message":{"date":1767323045,"peer_id":100500,"text":"hi","conversation_message_id":11}}}`
)

var (
	inMessageNew = channel.Inbound{
		From: channel.Address{Channel: channel.VK, ID: "100500"}, EventID: "vk:ev-1",
		Text: "Где мой заказ?", Ref: "promo42", Lang: "en", At: time.Unix(1767323045, 0).UTC(),
		Attachments: []channel.Attachment{
			{Kind: "document", URL: "https://vk.com/doc1_2", Name: "check.pdf"},
			{Kind: "voice", URL: "https://vk.com/a.ogg"},
		},
	}
	inButtonPress = channel.Inbound{
		From: channel.Address{Channel: channel.VK, ID: "100500"}, EventID: "vk:ev-6",
		Payload: "payment", At: testNow,
	}
	vkPeer       = channel.Address{Channel: channel.VK, ID: "100500"}
	twoBtns      = []channel.Button{{Text: "Доставка", Value: "delivery"}, {Text: "Оплата", Value: "payment"}}
	lpServerBody = `{"response":{"key":"lp-key-SECRET-77","server":"{{server}}","ts":"10"}}`
)

func TestAdapter(t *testing.T) {
	cases := []adapterCase{
		// --- sending ---
		{
			name:  "send text",
			steps: []step{{send: &channel.Outbound{To: vkPeer, Key: "out-1", Text: "Здравствуйте!"}}},
			api:   []call{{Method: "messages.send", Params: sendParams("out-1", "100500", "Здравствуйте!"), body: `{"response":17}`}},
		},
		{
			name:  "send with buttons renders inline callback keyboard",
			steps: []step{{send: &channel.Outbound{To: vkPeer, Key: "out-2", Text: "Чем помочь?", Buttons: twoBtns}}},
			api: []call{{Method: "messages.send", Params: sendParams("out-2", "100500", "Чем помочь?", "keyboard", kbDeliveryPayment),
				body: `{"response":18}`}},
		},
		{
			name: "button label over 40 characters falls back to numbered text",
			steps: []step{{send: &channel.Outbound{To: vkPeer, Key: "out-3", Text: "Выберите:",
				Buttons: []channel.Button{{Text: strings.Repeat("д", 41), Value: "a"}, {Text: "Оплата", Value: "b"}}}}},
			api: []call{{Method: "messages.send", Params: sendParams("out-3", "100500", "Выберите:\n\n1. "+strings.Repeat("д", 41)+"\n2. Оплата"),
				body: `{"response":19}`}},
		},
		{
			name: "payload over 255 characters falls back to numbered text",
			steps: []step{{send: &channel.Outbound{To: vkPeer, Key: "out-4", Text: "Выберите:",
				Buttons: []channel.Button{{Text: "Да", Value: strings.Repeat("x", 250)}}}}},
			api: []call{{Method: "messages.send", Params: sendParams("out-4", "100500", "Выберите:\n\n1. Да"), body: `{"response":20}`}},
		},
		{
			name: "eleven buttons do not fit an inline keyboard",
			steps: []step{{send: &channel.Outbound{To: vkPeer, Key: "out-5", Text: "N?",
				Buttons: func() []channel.Button {
					var bs []channel.Button
					for i := range 11 {
						bs = append(bs, channel.Button{Text: strconv.Itoa(i), Value: strconv.Itoa(i)})
					}
					return bs
				}()}}},
			api: []call{{Method: "messages.send", Params: sendParams("out-5", "100500",
				"N?\n\n1. 0\n2. 1\n3. 2\n4. 3\n5. 4\n6. 5\n7. 6\n8. 7\n9. 8\n10. 9\n11. 10"), body: `{"response":21}`}},
		},
		{
			name: "client without inline keyboards gets numbered text",
			steps: []step{
				{callback: noInlineBody, wantStatus: 200, wantBody: "ok"},
				{send: &channel.Outbound{To: channel.Address{Channel: channel.VK, ID: "100501"}, Key: "out-6", Text: "Чем помочь?", Buttons: twoBtns}},
			},
			wantIn: []channel.Inbound{{From: channel.Address{Channel: channel.VK, ID: "100501"}, EventID: "vk:ev-2", Text: "привет", Lang: "ru", At: time.Unix(1767323045, 0).UTC()}},
			api:    []call{{Method: "messages.send", Params: sendParams("out-6", "100501", "Чем помочь?\n\n1. Доставка\n2. Оплата"), body: `{"response":22}`}},
		},
		{
			name: "client without callback buttons gets inline text buttons",
			steps: []step{
				{callback: noCallbackBody, wantStatus: 200, wantBody: "ok"},
				{send: &channel.Outbound{To: channel.Address{Channel: channel.VK, ID: "100502"}, Key: "out-7", Text: "Чем помочь?", Buttons: twoBtns}},
			},
			wantIn: []channel.Inbound{{From: channel.Address{Channel: channel.VK, ID: "100502"}, EventID: "vk:ev-3", Text: "привет", Lang: "ru", At: time.Unix(1767323045, 0).UTC()}},
			api:    []call{{Method: "messages.send", Params: sendParams("out-7", "100502", "Чем помочь?", "keyboard", kbTextButtons), body: `{"response":23}`}},
		},
		{
			name:  "keyboard refused by VK (912) is resent as numbered text with the same random_id",
			steps: []step{{send: &channel.Outbound{To: vkPeer, Key: "out-8", Text: "Чем помочь?", Buttons: twoBtns}}},
			api: []call{
				{Method: "messages.send", Params: sendParams("out-8", "100500", "Чем помочь?", "keyboard", kbDeliveryPayment),
					body: `{"error":{"error_code":912,"error_msg":"This is a chat bot feature, change this status in settings"}}`},
				{Method: "messages.send", Params: sendParams("out-8", "100500", "Чем помочь?\n\n1. Доставка\n2. Оплата"), body: `{"response":24}`},
			},
		},
		{
			name: "VK attachment image is attached, URL image is linked, agent name shown",
			steps: []step{
				{send: &channel.Outbound{To: vkPeer, Key: "out-9", Text: "Вот", Image: "photo-1_2"}},
				{send: &channel.Outbound{To: vkPeer, Key: "out-10", Text: "Смотрите", Image: "https://example.com/a.png", Sender: "Анна"}},
			},
			api: []call{
				{Method: "messages.send", Params: sendParams("out-9", "100500", "Вот", "attachment", "photo-1_2"), body: `{"response":25}`},
				{Method: "messages.send", Params: sendParams("out-10", "100500", "Анна: Смотрите\n\nhttps://example.com/a.png"), body: `{"response":26}`},
			},
		},
		{
			name: "too many requests (6) is a RetryAfterError; the retry reuses random_id",
			steps: []step{
				{send: &channel.Outbound{To: vkPeer, Key: "out-11", Text: "a"}, wantErr: "error 6", wantKind: "retry", wantAfter: time.Second},
				{send: &channel.Outbound{To: vkPeer, Key: "out-11", Text: "a"}},
			},
			api: []call{
				{Method: "messages.send", Params: sendParams("out-11", "100500", "a"), body: `{"error":{"error_code":6,"error_msg":"Too many requests per second"}}`},
				{Method: "messages.send", Params: sendParams("out-11", "100500", "a"), body: `{"response":27}`},
			},
		},
		{
			name:  "flood control (9) is a RetryAfterError",
			steps: []step{{send: &channel.Outbound{To: vkPeer, Key: "out-12", Text: "a"}, wantErr: "error 9", wantKind: "retry", wantAfter: 10 * time.Second}},
			api:   []call{{Method: "messages.send", Params: sendParams("out-12", "100500", "a"), body: `{"error":{"error_code":9,"error_msg":"Flood control"}}`}},
		},
		{
			name: "a send that fails then succeeds keeps its random_id",
			steps: []step{
				{send: &channel.Outbound{To: vkPeer, Key: "out-13", Text: "b"}, wantErr: "error 10"},
				{send: &channel.Outbound{To: vkPeer, Key: "out-13", Text: "b"}, wantErr: "invalid content-type(text/html)"},
				{send: &channel.Outbound{To: vkPeer, Key: "out-13", Text: "b"}, wantErr: "EOF"},
				{send: &channel.Outbound{To: vkPeer, Key: "out-13", Text: "b"}},
			},
			api: []call{
				{Method: "messages.send", Params: sendParams("out-13", "100500", "b"), body: `{"error":{"error_code":10,"error_msg":"Internal server error"}}`},
				{Method: "messages.send", Params: sendParams("out-13", "100500", "b"), status: 502, contentType: "text/html", body: "<h1>bad gateway</h1>"},
				{Method: "messages.send", Params: sendParams("out-13", "100500", "b"), hangup: true},
				{Method: "messages.send", Params: sendParams("out-13", "100500", "b"), body: `{"response":28}`},
			},
		},
		{
			name: "blocked user (901), permission (7), bad param (100) are permanent",
			steps: []step{
				{send: &channel.Outbound{To: vkPeer, Key: "out-14", Text: "c"}, wantErr: "error 901", wantKind: "permanent"},
				{send: &channel.Outbound{To: vkPeer, Key: "out-15", Text: "c"}, wantErr: "error 7", wantKind: "permanent"},
				{send: &channel.Outbound{To: vkPeer, Key: "out-16", Text: "c"}, wantErr: "error 100", wantKind: "permanent"},
			},
			api: []call{
				{Method: "messages.send", Params: sendParams("out-14", "100500", "c"), body: `{"error":{"error_code":901,"error_msg":"Can't send messages for users without permission"}}`},
				{Method: "messages.send", Params: sendParams("out-15", "100500", "c"), body: `{"error":{"error_code":7,"error_msg":"Permission to perform this action is denied"}}`},
				{Method: "messages.send", Params: sendParams("out-16", "100500", "c"), body: `{"error":{"error_code":100,"error_msg":"One of the parameters specified was missing or invalid"}}`},
			},
		},
		{
			name: "bad outbound is permanent and makes no request",
			steps: []step{
				{send: &channel.Outbound{To: vkPeer, Text: "no key"}, wantErr: "Key is empty", wantKind: "permanent"},
				{send: &channel.Outbound{To: channel.Address{Channel: channel.VK, ID: "abc"}, Key: "k", Text: "x"}, wantErr: `bad VK peer id "abc"`, wantKind: "permanent"},
				{send: &channel.Outbound{To: channel.Address{Channel: channel.Telegram, ID: "1"}, Key: "k", Text: "x"}, wantErr: "not a VK address", wantKind: "permanent"},
				{send: &channel.Outbound{To: vkPeer, Key: "k"}, wantErr: "nothing to send", wantKind: "permanent"},
			},
		},
		{
			name: "per-conversation limit: a burst of 3 goes at once, the 4th waits past a short deadline and makes no request",
			steps: []step{
				{send: &channel.Outbound{To: vkPeer, Key: "b-1", Text: "1"}},
				{send: &channel.Outbound{To: vkPeer, Key: "b-2", Text: "2"}},
				{send: &channel.Outbound{To: vkPeer, Key: "b-3", Text: "3"}},
				{send: &channel.Outbound{To: vkPeer, Key: "b-4", Text: "4"}, deadline: 100 * time.Millisecond, wantErr: "exceed context deadline"},
			},
			api: []call{
				{Method: "messages.send", Params: sendParams("b-1", "100500", "1"), body: `{"response":31}`},
				{Method: "messages.send", Params: sendParams("b-2", "100500", "2"), body: `{"response":32}`},
				{Method: "messages.send", Params: sendParams("b-3", "100500", "3"), body: `{"response":33}`},
			},
		},
		{
			name:  "typing",
			steps: []step{{typing: &vkPeer}},
			api: []call{{Method: "messages.setActivity", Params: map[string]string{"peer_id": "100500", "type": "typing", "group_id": "4242", "v": DefaultAPIVersion},
				body: `{"response":1}`}},
		},

		// --- Callback API ---
		{
			name:  "confirmation sample is answered with the configured string",
			steps: []step{{callback: "file:botman-driver_confirmation.json", wantStatus: 200, wantBody: testConfirmation}},
		},
		{
			name:  "message_new sample is recorded, then ok",
			steps: []step{{callback: "file:astaroth-core_message_new_chat_with_photos.json", wantStatus: 200, wantBody: "ok"}},
			wantIn: []channel.Inbound{{
				From: channel.Address{Channel: channel.VK, ID: "2000000001"}, EventID: "vk:2ca14315a711218d7392a46b44e22e74ad6273c3",
				Text: "uwuwu", Payload: `{"foo":"bar"}`, Lang: "ru", At: time.Unix(1636985023, 0).UTC(),
				Attachments: []channel.Attachment{{Kind: "photo", URL: "266x109"}, {Kind: "photo", URL: "266x109"}},
			}},
			trimURLs: true,
		},
		{
			name: "own message_new: text, ref, lang, attachments; redelivery keeps the event id",
			steps: []step{
				{callback: messageNewBody, wantStatus: 200, wantBody: "ok"},
				{callback: messageNewBody, wantStatus: 200, wantBody: "ok"},
			},
			wantIn: []channel.Inbound{inMessageNew, inMessageNew},
		},
		{
			name:        "handler failure answers 500; VK's redelivery is then recorded",
			handlerErrs: []error{errors.New("disk full")},
			steps: []step{
				{callback: messageNewBody, wantStatus: 500},
				{callback: messageNewBody, wantStatus: 200, wantBody: "ok"},
			},
			wantIn: []channel.Inbound{inMessageNew, inMessageNew},
		},
		{
			name:  "text button payload string becomes the value, label the text",
			steps: []step{{callback: textButtonBody, wantStatus: 200, wantBody: "ok"}},
			wantIn: []channel.Inbound{{From: vkPeer, EventID: "vk:ev-4", Text: "Доставка", Payload: "delivery",
				At: time.Unix(1767323045, 0).UTC()}},
		},
		{
			name:   "VK's Start button is /start",
			steps:  []step{{callback: startButtonBody, wantStatus: 200, wantBody: "ok"}},
			wantIn: []channel.Inbound{{From: vkPeer, EventID: "vk:ev-5", Text: "/start", At: time.Unix(1767323045, 0).UTC()}},
		},
		{
			name:   "callback button press is recorded, then answered with sendMessageEventAnswer",
			steps:  []step{{callback: messageEventBody, wantStatus: 200, wantBody: "ok"}},
			wantIn: []channel.Inbound{inButtonPress},
			api: []call{{Method: "messages.sendMessageEventAnswer",
				Params: map[string]string{"event_id": "btn-e1", "user_id": "100500", "peer_id": "100500", "v": DefaultAPIVersion}, body: `{"response":1}`}},
		},
		{
			name:        "callback button press not recorded is not answered",
			handlerErrs: []error{errors.New("store closed")},
			steps:       []step{{callback: messageEventBody, wantStatus: 500}},
			wantIn:      []channel.Inbound{inButtonPress},
		},
		{
			name:   "message_new without event_id gets a stable id from peer and conversation_message_id",
			steps:  []step{{callback: noEventIDBody, wantStatus: 200, wantBody: "ok"}},
			wantIn: []channel.Inbound{{From: vkPeer, EventID: "vk:msg:100500_11", Text: "hi", At: time.Unix(1767323045, 0).UTC()}},
		},
		{
			name:  "other event types are acknowledged and ignored",
			steps: []step{{callback: "file:botman-driver_group_join.json", wantStatus: 200, wantBody: "ok"}},
		},
		{
			name: "forged and malformed requests are refused and nothing is handled",
			steps: []step{
				{callback: strings.Replace(messageNewBody, testSecret, "guess", 1), wantStatus: 401},
				{callback: strings.Replace(messageNewBody, `"secret":"s3cret-callback",`, "", 1), wantStatus: 401},
				{callback: strings.Replace(messageNewBody, `"group_id":4242`, `"group_id":1`, 1), wantStatus: 401},
				{callback: `{"type":"confirmation","group_id":1}`, wantStatus: 401},
				{callback: `{"type":"confirmation","group_id":4242}`, wantStatus: 401}, // the secret is required here too
				{callback: `{"type":"confirmation","group_id":4242,"secret":"guess"}`, wantStatus: 401},
				{callback: `{"type":"message_new",`, wantStatus: 400},
				{callback: `[]`, wantStatus: 400},
				{callback: `{"group_id":4242,"secret":"s3cret-callback"}`, wantStatus: 400},
				{callback: `{"type":"message_new","group_id":4242,"secret":"s3cret-callback","object":{"message":{"text":"no peer"}}}`, wantStatus: 400},
				{callback: `{"type":"message_event","group_id":4242,"secret":"s3cret-callback","object":{"peer_id":"x"}}`, wantStatus: 400},
				{callback: `{"type":"message_new","group_id":4242,"secret":"s3cret-callback","pad":"` + strings.Repeat("a", maxBodyBytes) + `"}`, wantStatus: 413},
				{callback: messageNewBody, method: http.MethodGet, wantStatus: 405},
			},
		},

		// --- Bots Long Poll ---
		{
			name:      "long poll: sample batch, wall post ignored, message recorded",
			mode:      ModeLongPoll,
			stopAfter: 1,
			steps:     []step{{poll: true}},
			api: []call{
				{Method: "groups.getLongPollServer", Params: map[string]string{"group_id": "4242", "v": DefaultAPIVersion}, body: lpServerBody},
				{Method: "a_check", Params: map[string]string{"key": testLPKey, "ts": "10", "wait": "25"}, body: "file:vkbottle_longpoll_updates_wall_post_new_message_new.json"},
			},
			wantIn: []channel.Inbound{{From: channel.Address{Channel: channel.VK, ID: "1"}, EventID: "vk:msg:1_1234", Text: "test", Lang: "ru",
				At: time.Unix(1, 0).UTC()}},
		},
		{
			name:      "long poll: failed=1, 2, 3 and a network error are handled per VK docs",
			mode:      ModeLongPoll,
			stopAfter: 1,
			steps:     []step{{poll: true}},
			api: []call{
				{Method: "groups.getLongPollServer", Params: map[string]string{"group_id": "4242", "v": DefaultAPIVersion}, body: lpServerBody},
				{Method: "a_check", Params: map[string]string{"key": testLPKey, "ts": "10", "wait": "25"}, body: `{"failed":1,"ts":"15"}`},
				{Method: "a_check", Params: map[string]string{"key": testLPKey, "ts": "15", "wait": "25"}, body: `{"failed":2}`},
				{Method: "groups.getLongPollServer", Params: map[string]string{"group_id": "4242", "v": DefaultAPIVersion},
					body: `{"response":{"key":"lp-key-SECRET-2","server":"{{server}}","ts":"99"}}`},
				{Method: "a_check", Params: map[string]string{"key": "lp-key-SECRET-2", "ts": "15", "wait": "25"}, hangup: true},
				{Method: "a_check", Params: map[string]string{"key": "lp-key-SECRET-2", "ts": "15", "wait": "25"}, status: 502, body: "{}"},
				{Method: "a_check", Params: map[string]string{"key": "lp-key-SECRET-2", "ts": "15", "wait": "25"}, body: `{"failed":3}`},
				{Method: "groups.getLongPollServer", Params: map[string]string{"group_id": "4242", "v": DefaultAPIVersion},
					body: `{"response":{"key":"lp-key-SECRET-3","server":"{{server}}","ts":"200"}}`},
				{Method: "a_check", Params: map[string]string{"key": "lp-key-SECRET-3", "ts": "200", "wait": "25"},
					body: `{"ts":"201","updates":[` + strings.Replace(messageNewBody, `"secret":"s3cret-callback",`, "", 1) + `]}`},
			},
			wantIn: []channel.Inbound{inMessageNew},
		},
		{
			name:        "long poll: handler failure refetches the same ts; callback button answered",
			mode:        ModeLongPoll,
			handlerErrs: []error{nil, errors.New("busy")},
			stopAfter:   3,
			steps:       []step{{poll: true}},
			api: []call{
				{Method: "groups.getLongPollServer", Params: map[string]string{"group_id": "4242", "v": DefaultAPIVersion}, body: lpServerBody},
				{Method: "a_check", Params: map[string]string{"key": testLPKey, "ts": "10", "wait": "25"},
					body: `{"ts":11,"updates":[` + messageNewBody + `,` + messageEventBody + `]}`},
				{Method: "a_check", Params: map[string]string{"key": testLPKey, "ts": "10", "wait": "25"},
					body: `{"ts":11,"updates":[` + messageNewBody + `,` + messageEventBody + `]}`},
				{Method: "messages.sendMessageEventAnswer",
					Params: map[string]string{"event_id": "btn-e1", "user_id": "100500", "peer_id": "100500", "v": DefaultAPIVersion}, body: `{"response":1}`},
			},
			wantIn: []channel.Inbound{inMessageNew, inButtonPress, inMessageNew, inButtonPress},
		},
		{
			name:         "long poll: resumes from the stored position and stores the next one",
			mode:         ModeLongPoll,
			stopAfter:    1,
			position:     "7",
			wantPosition: "12",
			steps:        []step{{poll: true}},
			api: []call{
				{Method: "groups.getLongPollServer", Params: map[string]string{"group_id": "4242", "v": DefaultAPIVersion}, body: lpServerBody},
				{Method: "a_check", Params: map[string]string{"key": testLPKey, "ts": "7", "wait": "25"},
					body: `{"ts":"12","updates":[` + strings.Replace(messageNewBody, `"secret":"s3cret-callback",`, "", 1) + `]}`},
			},
			wantIn: []channel.Inbound{inMessageNew},
		},
		{
			name:         "long poll: a stored position VK no longer has is replaced by the one it gives (failed=1)",
			mode:         ModeLongPoll,
			stopAfter:    1,
			position:     "3",
			wantPosition: "21",
			steps:        []step{{poll: true}},
			api: []call{
				{Method: "groups.getLongPollServer", Params: map[string]string{"group_id": "4242", "v": DefaultAPIVersion}, body: lpServerBody},
				{Method: "a_check", Params: map[string]string{"key": testLPKey, "ts": "3", "wait": "25"}, body: `{"failed":1,"ts":"20"}`},
				{Method: "a_check", Params: map[string]string{"key": testLPKey, "ts": "20", "wait": "25"},
					body: `{"ts":"21","updates":[` + strings.Replace(messageNewBody, `"secret":"s3cret-callback",`, "", 1) + `]}`},
			},
			wantIn: []channel.Inbound{inMessageNew},
		},
		{
			name:  "long poll: a refused token stops Run with an error",
			mode:  ModeLongPoll,
			steps: []step{{poll: true, wantErr: "error 5"}},
			api: []call{{Method: "groups.getLongPollServer", Params: map[string]string{"group_id": "4242", "v": DefaultAPIVersion},
				body: `{"error":{"error_code":5,"error_msg":"User authorization failed: invalid access_token (4)."}}`}},
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func runCase(t *testing.T, tc adapterCase) {
	script := make([]call, len(tc.api))
	for i, c := range tc.api {
		if name, ok := strings.CutPrefix(c.body, "file:"); ok {
			c.body = sample(t, name, nil)
		}
		script[i] = c
	}
	fake := newFakeVK(t, testToken, script)
	var logs bytes.Buffer
	mode := tc.mode
	if mode == "" {
		mode = ModeCallback
	}
	cfg := Config{
		Token: testToken, GroupID: testGroup, APIURL: fake.srv.URL, Mode: mode,
		Secret: testSecret, Confirmation: testConfirmation,
		HTTPClient: testClient(),
		Logger:     zerolog.New(&logs),
	}
	positions := &memPositions{m: map[string]string{}}
	if tc.position != "" {
		positions.m["vk.longpoll.4242"] = tc.position
	}
	if tc.position != "" || tc.wantPosition != "" {
		cfg.Positions = positions
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.now = func() time.Time { return testNow }
	a.backoffMin, a.backoffMax = time.Millisecond, 5*time.Millisecond
	a.global.SetLimit(1000) // the limiter itself is not under test here
	a.global.SetBurst(1000)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	var (
		mu       sync.Mutex
		gotIn    []channel.Inbound
		accepted int
	)
	h := channel.HandlerFunc(func(_ context.Context, in channel.Inbound) error {
		mu.Lock()
		defer mu.Unlock()
		var err error
		if n := len(gotIn); n < len(tc.handlerErrs) {
			err = tc.handlerErrs[n]
		}
		// Callback events must be queued ("ok" at once); long poll ones may
		// be answered before the handler returns.
		if in.Queue != (mode == ModeCallback) {
			t.Errorf("event %s: Queue = %v in mode %s", in.EventID, in.Queue, mode)
		}
		in.Queue = false
		gotIn = append(gotIn, in)
		if err == nil {
			accepted++
			if tc.stopAfter > 0 && accepted >= tc.stopAfter {
				stop()
			}
		}
		return err
	})
	cb := a.CallbackHandler(h)

	for i, s := range tc.steps {
		switch {
		case s.callback != "":
			body := s.callback
			if name, ok := strings.CutPrefix(body, "file:"); ok {
				body = sample(t, name, map[string]any{"secret": testSecret, "group_id": testGroup})
			}
			method := s.method
			if method == "" {
				method = http.MethodPost
			}
			rec := httptest.NewRecorder()
			cb.ServeHTTP(rec, httptest.NewRequest(method, "/hooks/vk", strings.NewReader(body)))
			if rec.Code != s.wantStatus {
				t.Errorf("step %d: status %d, want %d (body %q)", i, rec.Code, s.wantStatus, rec.Body.String())
			}
			if s.wantBody != "" && rec.Body.String() != s.wantBody {
				t.Errorf("step %d: body %q, want %q", i, rec.Body.String(), s.wantBody)
			}
		case s.send != nil:
			sctx := ctx
			if s.deadline > 0 {
				var c context.CancelFunc
				sctx, c = context.WithTimeout(ctx, s.deadline)
				defer c()
			}
			checkErr(t, i, a.Send(sctx, *s.send), s)
		case s.typing != nil:
			checkErr(t, i, a.SendTyping(ctx, *s.typing), s)
		case s.poll:
			done := make(chan error, 1)
			go func() { done <- a.Run(runCtx, h) }()
			select {
			case err := <-done:
				checkErr(t, i, err, s)
			case <-ctx.Done():
				t.Fatalf("step %d: Run did not return; requests so far: %+v", i, fake.requests())
			}
		}
	}

	if tc.wantPosition != "" {
		if p, _ := positions.Position("vk.longpoll.4242"); p != tc.wantPosition {
			t.Errorf("stored position %q, want %q", p, tc.wantPosition)
		}
	}
	mu.Lock()
	got := gotIn
	mu.Unlock()
	if tc.trimURLs {
		for i := range got {
			for j, at := range got[i].Attachments {
				if u, err := url.Parse(at.URL); err == nil {
					got[i].Attachments[j].URL = u.Query().Get("size")
				}
			}
		}
	}
	if diff := cmp.Diff(tc.wantIn, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("inbound events (-want +got):\n%s", diff)
	}
	reqs := fake.requests()
	if diff := cmp.Diff(tc.api, reqs, cmpopts.IgnoreUnexported(call{}), cmpopts.IgnoreFields(call{}, "Auth"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("requests to VK (-want +got):\n%s", diff)
	}
	for _, r := range reqs {
		if r.Method != "a_check" && !r.Auth {
			t.Errorf("%s: no Authorization: Bearer <token>", r.Method)
		}
		if _, ok := r.Params["access_token"]; ok {
			t.Errorf("%s: token sent as a form parameter", r.Method)
		}
	}
	if n := fake.unused(); n != 0 {
		t.Errorf("%d canned answers were never used", n)
	}
	// The token and every long poll key contain "SECRET".
	if strings.Contains(logs.String(), "SECRET") {
		t.Errorf("a secret appears in the logs:\n%s", logs.String())
	}
	if testing.Verbose() {
		t.Logf("logs:\n%s", logs.String())
	}
}

func checkErr(t *testing.T, i int, err error, s step) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "SECRET") {
		t.Errorf("step %d: error contains the token: %v", i, err)
	}
	if s.wantErr == "" {
		if err != nil {
			t.Errorf("step %d: unexpected error: %v", i, err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), s.wantErr) {
		t.Errorf("step %d: error %v, want one containing %q", i, err, s.wantErr)
		return
	}
	after, isRetry := channel.RetryAfter(err)
	switch s.wantKind {
	case "retry":
		if !isRetry || after != s.wantAfter {
			t.Errorf("step %d: want RetryAfterError(%s), got %T %v (after %s)", i, s.wantAfter, err, err, after)
		}
	case "permanent":
		if !channel.IsPermanent(err) {
			t.Errorf("step %d: want PermanentError, got %T %v", i, err, err)
		}
	default:
		if isRetry || channel.IsPermanent(err) {
			t.Errorf("step %d: want a plain (retryable) error, got %T %v", i, err, err)
		}
	}
}

// testClient refuses non-loopback hosts and opens a connection per request,
// so that a dropped connection is an error the adapter sees (Go's transport
// silently retries a GET on a dropped keep-alive connection).
func testClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &http.Client{Transport: loopbackOnly{tr}, Timeout: time.Minute}
}
