package telegram

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parley-chat/parley/bot/channel"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

func diff(want, got any) string { return cmp.Diff(want, got) }

// now is the adapter's clock in tests: button presses carry no date.
var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// A case drives the adapter against the fake Bot API: Run (poll or webhook
// mode), requests to the webhook handler, or sends; then asserts the exact
// Bot API requests, the events the handler saw, and a log without the token.
type adapterCase struct {
	name    string
	cfg     func(*Config)
	script  []exchange // the Bot API requests expected, with their answers
	apiDown bool       // point the adapter at a closed port instead

	// Run until the script reaches a hang or stop exchange, or for runFor.
	run        bool
	runFor     time.Duration
	fail       map[int]bool // handler calls (from 0) that fail
	wantRunErr error

	hooks []hookReq  // requests posted to WebhookHandler
	sends []sendCall // Send / SendTyping calls, in order

	wantInbound []channel.Inbound // as the handler saw them, stably sorted by chat
	wantLog     []string          // substrings the log must contain
}

type hookReq struct {
	method     string // default POST
	secret     string // header value; "-" sends no header
	body       string
	wantStatus int
	// contentType is the Content-Type header: application/json when "",
	// none when "-".
	contentType string
}

type sendCall struct {
	out    channel.Outbound
	typing bool
	// want is the error class: "ok", "permanent", "temporary" or
	// "retry <duration>".
	want    string
	wantErr string // substring of the error
}

const getMeOK = `{"ok":true,"result":{"id":123456789,"is_bot":true,"first_name":"Parley","username":"parley_bot"}}`

// pollStart is what every poll-mode Run begins with.
var pollStart = []exchange{
	{method: "getMe", body: getMeOK},
	{method: "deleteWebhook"},
}

func getUpdates(offset string) url.Values {
	v := form("limit", "64", "allowed_updates", `["message","callback_query"]`, "timeout", "1")
	if offset != "" {
		v.Set("offset", offset)
	}
	return v
}

var shortPoll = form("limit", "64", "allowed_updates", `["message","callback_query"]`)

func withOffset(v url.Values, offset string) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = vs
	}
	c.Set("offset", offset)
	return c
}

// confirm is the final getUpdates that confirms handled updates on shutdown.
func confirm(offset string) exchange {
	return exchange{method: "getUpdates", params: form("offset", offset, "limit", "1"), body: ok("[]")}
}

func tgAddr(id string) channel.Address { return channel.Address{Channel: channel.Telegram, ID: id} }

// textUpdate is a private message in chat, from a Russian-speaking user.
func textUpdate(id int, chat int64, text string) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1763900000,"chat":{"id":%d,"type":"private"},`+
		`"from":{"id":%d,"is_bot":false,"first_name":"Анна","last_name":"Петрова","language_code":"ru-RU"},"text":%q}}`,
		id, id, chat, chat, text)
}

// pressUpdate is a press of the "pay" button under a message with two buttons.
const pressUpdate = `{"update_id":5003,"callback_query":{"id":"cbq-77","chat_instance":"-1",` +
	`"from":{"id":42,"is_bot":false,"first_name":"Анна","language_code":"en"},"data":"pay",` +
	`"message":{"message_id":9,"date":1763900000,"chat":{"id":42,"type":"private"},"text":"Чем помочь?",` +
	`"reply_markup":{"inline_keyboard":[[{"text":"Доставка","callback_data":"delivery"},{"text":"Оплата","callback_data":"pay"}]]}}}}`

const photoUpdate = `{"update_id":5002,"message":{"message_id":8,"date":1763900001,"chat":{"id":-100777,"type":"supergroup"},` +
	`"from":{"id":43,"is_bot":false,"username":"ivan"},"caption":"чек",` +
	`"photo":[{"file_id":"small","file_unique_id":"s","width":90,"height":90},{"file_id":"BIG","file_unique_id":"b","width":800,"height":800}]}}`

// testProfile is the card's view of Telegram's own example user.
var testProfile = map[string]string{"name": "Test Firstname Test Lastname", "username": "Testusername"}

var inAnna = channel.Inbound{From: tgAddr("42"), Name: "Анна Петрова", Lang: "ru", Profile: map[string]string{"name": "Анна Петрова"}, At: time.Unix(1763900000, 0).UTC()}

func with(in channel.Inbound, f func(*channel.Inbound)) channel.Inbound { f(&in); return in }

var cases = []adapterCase{
	// --- long polling ---
	{
		name: "poll: text, deep link, photo and a button press; offset confirmed after handling",
		run:  true,
		script: append(append([]exchange{}, pollStart...),
			exchange{method: "getUpdates", params: getUpdates(""), body: ok("[" +
				textUpdate(5000, 42, "/start promo_7") + "," + textUpdate(5001, 42, "Привет") + "," + photoUpdate + "," + pressUpdate + "]")},
			exchange{method: "answerCallbackQuery", params: form("callback_query_id", "cbq-77")},
			exchange{method: "getUpdates", params: getUpdates("5004"), hang: true},
			confirm("5004"),
		),
		wantInbound: []channel.Inbound{
			{From: tgAddr("-100777"), EventID: "tg:5002", Text: "чек", Name: "ivan", Profile: map[string]string{"username": "ivan"}, At: time.Unix(1763900001, 0).UTC(),
				Attachments: []channel.Attachment{{Kind: "photo", URL: "tg-file:BIG"}}},
			with(inAnna, func(in *channel.Inbound) { in.EventID, in.Text, in.Ref = "tg:5000", "/start", "promo_7" }),
			with(inAnna, func(in *channel.Inbound) { in.EventID, in.Text = "tg:5001", "Привет" }),
			{From: tgAddr("42"), EventID: "tg:5003", Text: "Оплата", Payload: "pay", Name: "Анна", Lang: "en", Profile: map[string]string{"name": "Анна"}, At: now},
		},
	},
	{
		name: "poll: Telegram's own example updates; odd ones are acknowledged without handling",
		run:  true,
		script: append(append([]exchange{}, pollStart...),
			exchange{method: "getUpdates", params: getUpdates(""), body: ok("[" +
				sampleLazy("message_with_text", 7001) + "," + sampleLazy("inline_query", 7002) + "," +
				sampleLazy("edited_message", 7003) + "," + sampleLazy("message_with_a_document", 7004) + "," +
				sampleLazy("callback_query", 7005) + "," + sampleLazy("chosen_inline_query", 7006) + "]")},
			exchange{method: "answerCallbackQuery", params: form("callback_query_id", "4382bfdwdsb323b2d9")},
			exchange{method: "getUpdates", params: getUpdates("7007"), hang: true},
			confirm("7007"),
		),
		wantInbound: []channel.Inbound{
			{From: tgAddr("1111111"), EventID: "tg:7001", Text: "/start", Name: "Test Firstname Test Lastname", Profile: testProfile, At: time.Unix(1441645532, 0).UTC()},
			{From: tgAddr("1111111"), EventID: "tg:7004", Name: "Test Firstname Test Lastname", Profile: testProfile, At: time.Unix(1441645532, 0).UTC(),
				Attachments: []channel.Attachment{{Kind: "document", URL: "tg-file:AwADBAADbXXXXXXXXXXXGBdhD2l6_XX", Name: "Testfile.pdf"}}},
			{From: tgAddr("1111111"), EventID: "tg:7005", Payload: "Data from button callback", Name: "Test Firstname Test Lastname", Profile: testProfile, At: now},
		},
		wantLog: []string{`"reason":"undecodable: json: cannot unmarshal number`, `"reason":"edited message"`},
	},
	{
		name: "poll: a handler error keeps the offset; the redelivered update has the same EventID",
		run:  true,
		fail: map[int]bool{1: true},
		script: append(append([]exchange{}, pollStart...),
			exchange{method: "getUpdates", params: getUpdates(""), body: ok("[" + textUpdate(3001, 42, "a") + "," + textUpdate(3002, 42, "b") + "]")},
			exchange{method: "getUpdates", params: getUpdates("3002"), body: ok("[" + textUpdate(3002, 42, "b") + "]")},
			exchange{method: "getUpdates", params: getUpdates("3003"), hang: true},
			confirm("3003"),
		),
		wantInbound: []channel.Inbound{
			with(inAnna, func(in *channel.Inbound) { in.EventID, in.Text = "tg:3001", "a" }),
			with(inAnna, func(in *channel.Inbound) { in.EventID, in.Text = "tg:3002", "b" }),
			with(inAnna, func(in *channel.Inbound) { in.EventID, in.Text = "tg:3002", "b" }),
		},
		wantLog: []string{"handler did not record an update"},
	},
	{
		name: "poll: 429 on getUpdates waits retry_after, 409 conflict is explained, 502 from a proxy is retried",
		run:  true,
		script: append(append([]exchange{}, pollStart...),
			exchange{method: "getUpdates", params: getUpdates(""), status: 429, body: apiError(429, "Too Many Requests: retry after 1", `{"retry_after":1}`)},
			exchange{method: "getUpdates", params: getUpdates(""), status: 409, body: apiError(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running", "")},
			exchange{method: "getUpdates", params: getUpdates(""), status: 502, body: "<html>Bad Gateway</html>"},
			exchange{method: "getUpdates", params: getUpdates(""), body: ok("[" + textUpdate(4001, 42, "ok") + "]")},
			exchange{method: "getUpdates", params: getUpdates("4002"), hang: true},
			confirm("4002"),
		),
		wantInbound: []channel.Inbound{with(inAnna, func(in *channel.Inbound) { in.EventID, in.Text = "tg:4001", "ok" })},
		wantLog:     []string{`"retry_in":1000`, "another instance is polling this bot", "bot api answered HTTP 502"},
	},
	{
		name: "poll: below one second the poll is a short poll, paced between empty answers",
		cfg:  func(c *Config) { c.PollTimeout = 100 * time.Millisecond },
		run:  true,
		script: append(append([]exchange{}, pollStart...),
			exchange{method: "getUpdates", params: shortPoll, body: ok("[]")},
			exchange{method: "getUpdates", params: shortPoll, body: ok("[" + textUpdate(4101, 42, "hi") + "]")},
			exchange{method: "getUpdates", params: withOffset(shortPoll, "4102"), hang: true},
			confirm("4102"),
		),
		wantInbound: []channel.Inbound{with(inAnna, func(in *channel.Inbound) { in.EventID, in.Text = "tg:4101", "hi" })},
	},
	{
		name: "run: getMe retries a failing server, then a rejected token stops Run",
		run:  true,
		script: []exchange{
			{method: "getMe", status: 500, body: apiError(500, "Internal Server Error", "")},
			{method: "getMe", status: 401, body: apiError(401, "Unauthorized", "")},
		},
		wantRunErr: ErrTokenRejected,
		wantLog:    []string{"telegram call failed; retrying"},
	},
	{
		name:    "run: an unreachable API is retried with the token redacted from every log line",
		run:     true,
		apiDown: true,
		runFor:  150 * time.Millisecond,
		wantLog: []string{"bot<token>/getMe", "connection refused"},
	},

	// --- webhook mode ---
	{
		name: "webhook: Run registers the webhook with secret_token and allowed_updates, then waits",
		cfg:  webhookMode,
		run:  true,
		script: []exchange{
			{method: "getMe", body: getMeOK},
			{method: "setWebhook", params: form("url", "https://parley.example/hooks/telegram", "secret_token", testSecret,
				"allowed_updates", `["message","callback_query"]`), stop: true},
		},
	},
	{
		name: "webhook: Telegram refusing the URL stops Run",
		cfg:  webhookMode,
		run:  true,
		script: []exchange{
			{method: "getMe", body: getMeOK},
			{method: "setWebhook", params: form("url", "https://parley.example/hooks/telegram", "secret_token", testSecret,
				"allowed_updates", `["message","callback_query"]`), status: 400, body: apiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook", "")},
		},
		wantRunErr: errAny,
	},
	{
		name:   "webhook: updates are acknowledged after handling; a redelivery has the same EventID; presses are answered",
		cfg:    webhookMode,
		script: []exchange{{method: "answerCallbackQuery", params: form("callback_query_id", "cbq-77")}},
		hooks: []hookReq{
			{secret: testSecret, body: textUpdate(6001, 42, "Где мой заказ?"), wantStatus: 200},
			{secret: testSecret, body: textUpdate(6001, 42, "Где мой заказ?"), wantStatus: 200},
			{secret: testSecret, body: pressUpdate, wantStatus: 200},
			{secret: testSecret, body: sampleLazy("edited_message", 6002), wantStatus: 200},
			{secret: testSecret, body: sampleLazy("inline_query", 6003), wantStatus: 200},
		},
		wantInbound: []channel.Inbound{
			with(inAnna, func(in *channel.Inbound) { in.EventID, in.Text = "tg:6001", "Где мой заказ?" }),
			with(inAnna, func(in *channel.Inbound) { in.EventID, in.Text = "tg:6001", "Где мой заказ?" }),
			{From: tgAddr("42"), EventID: "tg:5003", Text: "Оплата", Payload: "pay", Name: "Анна", Lang: "en", Profile: map[string]string{"name": "Анна"}, At: now},
		},
	},
	{
		name: "webhook: forged, malformed and oversized requests are refused and never handled",
		cfg:  webhookMode,
		hooks: []hookReq{
			{secret: "-", body: textUpdate(1, 42, "x"), wantStatus: 401},
			{secret: "wrong", body: textUpdate(1, 42, "x"), wantStatus: 401},
			{secret: testSecret + "x", body: textUpdate(1, 42, "x"), wantStatus: 401},
			{secret: "", body: textUpdate(1, 42, "x"), wantStatus: 401},
			{secret: testSecret, body: `{"update_id":1,"message":`, wantStatus: 400},
			{secret: testSecret, body: `{"message":{"text":"no id"}}`, wantStatus: 400},
			{secret: testSecret, body: `[1,2]`, wantStatus: 400},
			{secret: testSecret, body: "", wantStatus: 400},
			{secret: testSecret, body: `{"update_id":1,"pad":"` + strings.Repeat("a", maxWebhookBody) + `"}`, wantStatus: 413},
			{method: http.MethodGet, secret: testSecret, wantStatus: 405},
			{method: http.MethodGet, secret: "-", wantStatus: 401},
			// Telegram posts application/json; anything else is refused unread.
			{secret: testSecret, body: textUpdate(1, 42, "x"), contentType: "text/plain", wantStatus: 415},
			{secret: testSecret, body: "update_id=1", contentType: "application/x-www-form-urlencoded", wantStatus: 415},
			{secret: testSecret, body: textUpdate(1, 42, "x"), contentType: "-", wantStatus: 415},
			{secret: testSecret, body: textUpdate(1, 42, "x"), contentType: "application/json; charset", wantStatus: 415},
			// Chat id 0 is acknowledged and never handled: no contact is made.
			{secret: testSecret, body: textUpdate(2, 0, "x"), contentType: "application/json; charset=utf-8", wantStatus: 200},
		},
		wantLog: []string{"wrong secret token", "malformed update"},
	},
	{
		name: "webhook: a handler error answers 500 so Telegram redelivers",
		cfg:  webhookMode,
		fail: map[int]bool{0: true},
		hooks: []hookReq{
			{secret: testSecret, body: textUpdate(6101, 42, "a"), wantStatus: 500},
			{secret: testSecret, body: textUpdate(6101, 42, "a"), wantStatus: 200},
		},
		wantInbound: []channel.Inbound{
			with(inAnna, func(in *channel.Inbound) { in.EventID, in.Text = "tg:6101", "a" }),
			with(inAnna, func(in *channel.Inbound) { in.EventID, in.Text = "tg:6101", "a" }),
		},
	},
	{
		name: "webhook: in poll mode the handler refuses everything",
		hooks: []hookReq{
			{secret: "", body: textUpdate(1, 42, "x"), wantStatus: 404},
		},
	},

	// --- sending ---
	{
		name: "send: text with four buttons becomes an inline keyboard of rows of three",
		script: []exchange{{method: "sendMessage", params: form("chat_id", "42", "text", "Чем помочь?",
			"reply_markup", `{"inline_keyboard":[[{"text":"Заказ","callback_data":"order"},{"text":"Оплата","callback_data":"pay"},{"text":"Доставка","callback_data":"delivery"}],[{"text":"Оператор","callback_data":"human"}]]}`),
			body: ok(`{"message_id":1,"date":1,"chat":{"id":42,"type":"private"}}`)}},
		sends: []sendCall{{out: channel.Outbound{To: tgAddr("42"), Key: "k1", Text: "Чем помочь?", Buttons: []channel.Button{
			{Text: "Заказ", Value: "order"}, {Text: "Оплата", Value: "pay"}, {Text: "Доставка", Value: "delivery"}, {Text: "Оператор", Value: "human"}}},
			want: "ok"}},
	},
	{
		name: "send: a value longer than callback_data allows falls back to numbered choices; an agent's name is shown",
		script: []exchange{{method: "sendMessage", params: form("chat_id", "42", "text", "Мария:\nВыберите:\n\n1. Доставка\n2. Оплата"),
			body: ok(`{"message_id":2,"date":1,"chat":{"id":42,"type":"private"}}`)}},
		sends: []sendCall{{out: channel.Outbound{To: tgAddr("42"), Key: "k2", Text: "Выберите:", Sender: "Мария", Buttons: []channel.Button{
			{Text: "Доставка", Value: strings.Repeat("d", 65)}, {Text: "Оплата", Value: "pay"}}},
			want: "ok"}},
	},
	{
		name: "send: an image with a short text is one photo with caption and keyboard",
		script: []exchange{{method: "sendPhoto", params: form("chat_id", "42", "photo", "https://cdn.example/map.png", "caption", "Мы здесь",
			"reply_markup", `{"inline_keyboard":[[{"text":"Маршрут","callback_data":"route"}]]}`),
			body: ok(`{"message_id":3,"date":1,"chat":{"id":42,"type":"private"}}`)}},
		sends: []sendCall{{out: channel.Outbound{To: tgAddr("42"), Text: "Мы здесь", Image: "https://cdn.example/map.png",
			Buttons: []channel.Button{{Text: "Маршрут", Value: "route"}}}, want: "ok"}},
	},
	{
		name: "send: a text too long for a caption goes as the photo, then the message; a retry resumes after the photo",
		script: []exchange{
			{method: "sendPhoto", params: form("chat_id", "42", "photo", "https://cdn.example/a.png"), body: ok(`{"message_id":4,"date":1,"chat":{"id":42,"type":"private"}}`)},
			{method: "sendMessage", params: form("chat_id", "42", "text", strings.Repeat("я", 1025)), status: 500, body: apiError(500, "Internal Server Error", "")},
			{method: "sendMessage", params: form("chat_id", "42", "text", strings.Repeat("я", 1025)), body: ok(`{"message_id":5,"date":1,"chat":{"id":42,"type":"private"}}`)},
		},
		sends: []sendCall{
			{out: channel.Outbound{To: tgAddr("42"), Key: "k4", Text: strings.Repeat("я", 1025), Image: "https://cdn.example/a.png"}, want: "temporary", wantErr: "500 Internal Server Error"},
			{out: channel.Outbound{To: tgAddr("42"), Key: "k4", Text: strings.Repeat("я", 1025), Image: "https://cdn.example/a.png"}, want: "ok"},
		},
	},
	{
		name: "send: 429 becomes RetryAfterError; a send that fails then succeeds; 403 and 400 are permanent",
		script: []exchange{
			{method: "sendMessage", params: form("chat_id", "42", "text", "a"), status: 429, body: apiError(429, "Too Many Requests: retry after 7", `{"retry_after":7}`)},
			{method: "sendMessage", params: form("chat_id", "42", "text", "a"), status: 502, body: "<html>Bad Gateway</html>"},
			{method: "sendMessage", params: form("chat_id", "42", "text", "a"), body: ok(`{"message_id":6,"date":1,"chat":{"id":42,"type":"private"}}`)},
			{method: "sendMessage", params: form("chat_id", "43", "text", "b"), status: 403, body: apiError(403, "Forbidden: bot was blocked by the user", "")},
			{method: "sendMessage", params: form("chat_id", "44", "text", "c"), status: 400, body: apiError(400, "Bad Request: chat not found", "")},
		},
		sends: []sendCall{
			{out: channel.Outbound{To: tgAddr("42"), Text: "a"}, want: "retry 7s", wantErr: "Too Many Requests"},
			{out: channel.Outbound{To: tgAddr("42"), Text: "a"}, want: "temporary", wantErr: "HTTP 502"},
			{out: channel.Outbound{To: tgAddr("42"), Text: "a"}, want: "ok"},
			{out: channel.Outbound{To: tgAddr("43"), Text: "b"}, want: "permanent", wantErr: "blocked by the user"},
			{out: channel.Outbound{To: tgAddr("44"), Text: "c"}, want: "permanent", wantErr: "chat not found"},
		},
	},
	{
		name: "send: what Telegram cannot take is refused before any request",
		sends: []sendCall{
			{out: channel.Outbound{To: channel.Address{Channel: channel.VK, ID: "1"}, Text: "a"}, want: "permanent", wantErr: "another channel"},
			{out: channel.Outbound{To: tgAddr("abc"), Text: "a"}, want: "permanent", wantErr: "not a number"},
			{out: channel.Outbound{To: tgAddr("42"), Text: "  "}, want: "permanent", wantErr: "nothing to send"},
		},
	},
	{
		name: "send: a text within the runtime's 4096 runes but over 4096 UTF-16 units is split at the paragraph; the keyboard goes last; a retry resumes",
		script: []exchange{
			{method: "sendMessage", params: form("chat_id", "42", "text", strings.Repeat("🙂", 1500)), body: ok(`{"message_id":7,"date":1,"chat":{"id":42,"type":"private"}}`)},
			{method: "sendMessage", params: form("chat_id", "42", "text", strings.Repeat("🙂", 700), "reply_markup", `{"inline_keyboard":[[{"text":"Да","callback_data":"yes"}]]}`),
				status: 500, body: apiError(500, "Internal Server Error", "")},
			{method: "sendMessage", params: form("chat_id", "42", "text", strings.Repeat("🙂", 700), "reply_markup", `{"inline_keyboard":[[{"text":"Да","callback_data":"yes"}]]}`),
				body: ok(`{"message_id":8,"date":1,"chat":{"id":42,"type":"private"}}`)},
		},
		sends: []sendCall{
			{out: emojiReply, want: "temporary", wantErr: "500"},
			{out: emojiReply, want: "ok"},
		},
	},
	{
		name:   "send: typing",
		script: []exchange{{method: "sendChatAction", params: form("chat_id", "42", "action", "typing")}},
		sends:  []sendCall{{typing: true, out: channel.Outbound{To: tgAddr("42")}, want: "ok"}},
	},
	{
		name:    "send: a transport error is retried and never shows the token",
		apiDown: true,
		sends:   []sendCall{{out: channel.Outbound{To: tgAddr("42"), Text: "a"}, want: "temporary", wantErr: "bot<token>/sendMessage"}},
	},
}

var emojiReply = channel.Outbound{To: tgAddr("42"), Key: "k9", Text: strings.Repeat("🙂", 1500) + "\n\n" + strings.Repeat("🙂", 700),
	Buttons: []channel.Button{{Text: "Да", Value: "yes"}}}

// errAny matches any non-nil Run error.
var errAny = errors.New("any error")

func webhookMode(c *Config) {
	c.Mode = ModeWebhook
	c.WebhookURL = "https://parley.example/hooks/telegram"
	c.WebhookSecret = testSecret
}

// Samples are read when the table runs, so a missing dataset skips the
// cases that need it instead of the whole package.
type lazySample struct {
	name string
	id   int
}

var lazy []lazySample

func sampleLazy(name string, id int) string {
	lazy = append(lazy, lazySample{name, id})
	return fmt.Sprintf("@sample:%s:%d@", name, id)
}

func expandSamples(t *testing.T, s string) string {
	for _, l := range lazy {
		mark := fmt.Sprintf("@sample:%s:%d@", l.name, l.id)
		if strings.Contains(s, mark) {
			s = strings.ReplaceAll(s, mark, sample(t, l.name, l.id))
		}
	}
	return s
}

func TestAdapter(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runCase(t, tc)
		})
	}
}

func runCase(t *testing.T, tc adapterCase) {
	script := append([]exchange(nil), tc.script...)
	for i := range script {
		script[i].body = expandSamples(t, script[i].body)
	}
	api := newFakeAPI(t, script)
	logs := &syncBuffer{}
	cfg := Config{
		Token:       testToken,
		APIURL:      api.srv.URL,
		HTTPClient:  loopbackClient(),
		Logger:      zerolog.New(logs).Level(zerolog.DebugLevel),
		PollTimeout: time.Second,
		GlobalRate:  rate.Inf,
		ChatRate:    rate.Inf,
	}
	if tc.apiDown {
		cfg.APIURL = "http://" + closedAddr(t)
	}
	if tc.cfg != nil {
		tc.cfg(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.backoffMin, a.backoffMax = time.Millisecond, 5*time.Millisecond
	a.now = func() time.Time { return now }
	h := &recorder{fail: tc.fail}

	if tc.run {
		runAdapter(t, a, h, api, tc)
	}
	hook := a.WebhookHandler(h)
	for i, hr := range tc.hooks {
		method := hr.method
		if method == "" {
			method = http.MethodPost
		}
		req := httptest.NewRequest(method, "/hooks/telegram", strings.NewReader(expandSamples(t, hr.body)))
		if hr.secret != "-" {
			req.Header.Set(SecretHeader, hr.secret)
		}
		switch hr.contentType {
		case "":
			req.Header.Set("Content-Type", "application/json")
		case "-":
		default:
			req.Header.Set("Content-Type", hr.contentType)
		}
		rec := httptest.NewRecorder()
		hook.ServeHTTP(rec, req)
		if rec.Code != hr.wantStatus {
			t.Errorf("hook %d: status %d, want %d (%s)", i, rec.Code, hr.wantStatus, rec.Body)
		}
		if hr.wantStatus == 200 && rec.Body.Len() != 0 {
			t.Errorf("hook %d: body %q, want none", i, rec.Body)
		}
	}
	for i, sc := range tc.sends {
		var err error
		if sc.typing {
			err = a.SendTyping(context.Background(), sc.out.To)
		} else {
			err = a.Send(context.Background(), sc.out)
		}
		if got := errClass(err); got != sc.want {
			t.Errorf("send %d: %s (%v), want %s", i, got, err, sc.want)
		}
		if err != nil && !strings.Contains(err.Error(), sc.wantErr) {
			t.Errorf("send %d: error %q does not say %q", i, err, sc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), tokenTail) {
			t.Errorf("send %d: error shows the token: %v", i, err)
		}
	}

	if !tc.apiDown {
		api.check(t)
	}
	got := h.events()
	sort.SliceStable(got, func(i, j int) bool { return got[i].From.ID < got[j].From.ID })
	if d := cmp.Diff(tc.wantInbound, got); d != "" {
		t.Errorf("handled events (-want +got):\n%s", d)
	}
	out := logs.String()
	if strings.Contains(out, tokenTail) {
		t.Errorf("the log shows the token:\n%s", out)
	}
	for _, s := range tc.wantLog {
		if !strings.Contains(out, s) {
			t.Errorf("log does not contain %q:\n%s", s, out)
		}
	}
}

// runAdapter runs a until the fake API reaches a hang/stop exchange (or for
// runFor), then cancels it and checks how Run ended.
func runAdapter(t *testing.T, a *Adapter, h channel.Handler, api *fakeAPI, tc adapterCase) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	var stop <-chan time.Time
	if tc.runFor > 0 {
		stop = time.After(tc.runFor)
	}
	var err error
	select {
	case <-api.stop:
		cancel()
		err = <-done
	case <-stop:
		cancel()
		err = <-done
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run neither reached the end of the script nor returned")
	}
	switch {
	case tc.wantRunErr == nil && err != nil:
		t.Errorf("Run: %v", err)
	case tc.wantRunErr == errAny && err == nil, tc.wantRunErr != nil && tc.wantRunErr != errAny && !errors.Is(err, tc.wantRunErr):
		t.Errorf("Run = %v, want %v", err, tc.wantRunErr)
	}
	if err != nil && strings.Contains(err.Error(), tokenTail) {
		t.Errorf("Run error shows the token: %v", err)
	}
}

func errClass(err error) string {
	if err == nil {
		return "ok"
	}
	if d, ok := channel.RetryAfter(err); ok {
		return "retry " + d.String()
	}
	if channel.IsPermanent(err) {
		return "permanent"
	}
	return "temporary"
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
