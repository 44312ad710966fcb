package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/handoff"
)

const (
	tgToken  = "123456:SECRET-token-never-logged"
	tgSecret = "hook-secret-42"
)

// fakeBotAPI stands in for api.telegram.org on 127.0.0.1 and records every
// method call with its parameters.
type fakeBotAPI struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	calls []tgCall
}

type tgCall struct {
	Method string
	Params url.Values
}

func newFakeBotAPI(t *testing.T) *fakeBotAPI {
	f := &fakeBotAPI{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBotAPI) serve(w http.ResponseWriter, r *http.Request) {
	prefix := "/bot" + tgToken + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"ok":false,"error_code":404,"description":"Not Found"}`)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, prefix)
	r.ParseMultipartForm(1 << 20)
	r.ParseForm()
	f.mu.Lock()
	f.calls = append(f.calls, tgCall{Method: method, Params: r.Form})
	n := len(f.calls)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch method {
	case "getMe":
		fmt.Fprint(w, `{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"Parley","username":"parley_bot"}}`)
	case "sendMessage", "sendPhoto":
		fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"date":%d,"chat":{"id":%s,"type":"private"},"text":"ok"}}`,
			n, time.Now().Unix(), r.Form.Get("chat_id"))
	default:
		fmt.Fprint(w, `{"ok":true,"result":true}`)
	}
}

// sent returns the texts of sendMessage calls to chat, in order.
func (f *fakeBotAPI) sent(chat string) []tgCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []tgCall
	for _, c := range f.calls {
		if c.Method == "sendMessage" && c.Params.Get("chat_id") == chat {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeBotAPI) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

func postUpdate(t *testing.T, base, secret, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/hooks/telegram", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func tgMessage(id int, chat int64, text string) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private"},"from":{"id":%d,"is_bot":false,"first_name":"Иван","language_code":"ru"},"text":%q}}`,
		id, id, time.Now().Unix(), chat, chat, text)
}

func tgCallback(id int, chat int64, data string) string {
	return fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"cb%d","from":{"id":%d,"is_bot":false,"first_name":"Иван"},"chat_instance":"1","data":%q,"message":{"message_id":1,"date":%d,"chat":{"id":%d,"type":"private"},"text":"…"}}}`,
		id, id, chat, data, time.Now().Unix(), chat)
}

// apiClient is an agent using the console's JSON API.
type apiClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func (a *apiClient) call(method, path string, body any, out any) int {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.csrf != "" && method != "GET" {
		req.Header.Set("X-CSRF-Token", a.csrf)
	}
	res, err := a.c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		a.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return res.StatusCode
}

func agentLogin(t *testing.T, base, name string) *apiClient {
	jar, _ := cookiejar.New(nil)
	a := &apiClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	var me struct{ CSRF string }
	a.call("POST", "/api/login", map[string]string{"name": name, "password": agentPassword}, &me)
	a.csrf = me.CSRF
	return a
}

func TestTelegramCustomerReachesAnAgentAndComesBack(t *testing.T) {
	api := newFakeBotAPI(t)
	s, logs := startServer(t, func(c *Config) {
		c.Telegram = TelegramConfig{Token: tgToken, Mode: "webhook", APIURL: api.srv.URL, WebhookSecret: tgSecret}
		c.PublicURL = "https://parley.example"
	})
	addAgent(t, s.db, "anna", "Анна", handoff.RoleAgent)
	base := "http://" + s.addr
	waitUntil(t, "setWebhook", func() bool { return api.count("setWebhook") == 1 })
	const chat = int64(555)
	chatID := fmt.Sprint(chat)
	agent := agentLogin(t, base, "anna")

	// Forged and malformed webhook requests change nothing.
	if code := postUpdate(t, base, "wrong", tgMessage(1, chat, "привет")); code != http.StatusUnauthorized {
		t.Errorf("wrong secret: status %d, want 401", code)
	}
	if code := postUpdate(t, base, "", tgMessage(1, chat, "привет")); code != http.StatusUnauthorized {
		t.Errorf("no secret: status %d, want 401", code)
	}
	if code := postUpdate(t, base, tgSecret, `{"update_id":`); code != http.StatusBadRequest {
		t.Errorf("malformed: status %d, want 400", code)
	}

	// The customer starts and presses "Позвать человека".
	if code := postUpdate(t, base, tgSecret, tgMessage(1, chat, "/start")); code != 200 {
		t.Fatalf("update: %d", code)
	}
	waitUntil(t, "the greeting", func() bool { return len(api.sent(chatID)) == 1 })
	greeting := api.sent(chatID)[0].Params
	if !strings.Contains(greeting.Get("text"), "Чем помочь?") || !strings.Contains(greeting.Get("reply_markup"), `"callback_data":"human"`) {
		t.Fatalf("greeting %v: want the menu with an inline keyboard", greeting)
	}
	postUpdate(t, base, tgSecret, tgCallback(2, chat, "human"))
	// The bot's words and the queue's notice may go as one message (the
	// runtime joins a turn's consecutive texts): wait for the notice itself.
	waitUntil(t, "the queue notice", func() bool {
		for _, c := range api.sent(chatID)[1:] {
			if strings.Contains(c.Params.Get("text"), "Я передал ваш вопрос команде поддержки") {
				return true
			}
		}
		return false
	})
	// Telegram redelivers the same update: nothing happens twice.
	postUpdate(t, base, tgSecret, tgCallback(2, chat, "human"))
	if api.count("answerCallbackQuery") < 1 {
		t.Error("the button press was not answered (the button would spin)")
	}

	// The agent claims the ticket and replies: it arrives as a sendMessage.
	var queue struct {
		Tickets []struct {
			ID      uint64 `json:"id"`
			Reason  string `json:"reason"`
			Channel string `json:"channel"`
		} `json:"tickets"`
	}
	agent.call("GET", "/api/queue", nil, &queue)
	if len(queue.Tickets) != 1 || queue.Tickets[0].Reason != "requested" {
		t.Fatalf("queue = %+v, want one ticket for a requested human", queue.Tickets)
	}
	id := queue.Tickets[0].ID
	agent.call("POST", fmt.Sprintf("/api/tickets/%d/claim", id), nil, nil)
	const reply = "Здравствуйте, я Анна. Чем могу помочь?"
	before := len(api.sent(chatID))
	agent.call("POST", fmt.Sprintf("/api/tickets/%d/reply", id), map[string]string{"text": reply}, nil)
	waitUntil(t, "the agent's reply", func() bool {
		for _, c := range api.sent(chatID)[before:] {
			if strings.Contains(c.Params.Get("text"), reply) {
				return true
			}
		}
		return false
	})

	// While the agent has the conversation, the bot stays silent.
	before = len(api.sent(chatID))
	postUpdate(t, base, tgSecret, tgMessage(3, chat, "Мой заказ 1234567 не пришёл"))
	time.Sleep(300 * time.Millisecond)
	if n := len(api.sent(chatID)); n != before {
		t.Errorf("the bot answered %d message(s) while an agent held the ticket", n-before)
	}

	// Resolve with a rating question; the customer taps 4.
	agent.call("POST", fmt.Sprintf("/api/tickets/%d/resolve", id), map[string]string{"outcome": "csat"}, nil)
	waitUntil(t, "the CSAT question", func() bool {
		msgs := api.sent(chatID)
		return strings.Contains(msgs[len(msgs)-1].Params.Get("reply_markup"), "csat:4")
	})
	postUpdate(t, base, tgSecret, tgCallback(4, chat, "csat:4"))
	waitUntil(t, "back with the bot", func() bool {
		msgs := api.sent(chatID)
		return strings.Contains(msgs[len(msgs)-1].Params.Get("text"), "Могу ещё чем-то помочь?")
	})
	tk, err := s.db.Ticket(id)
	if err != nil || tk.CSAT != 4 || tk.Status != "resolved" {
		t.Errorf("ticket = %+v, %v; want resolved with CSAT 4", tk, err)
	}
	var texts []string
	for _, c := range api.sent(chatID) {
		texts = append(texts, c.Params.Get("text"))
	}
	if n := strings.Count(strings.Join(texts, "\n"), "Соединяю с оператором"); n != 1 {
		t.Errorf("the handoff message was sent %d times, want once:\n%s", n, strings.Join(texts, "\n"))
	}
	// The history the agent sees has the customer's message sent during the ticket.
	var hist struct {
		Messages []struct{ Text, Sender string } `json:"messages"`
	}
	agent.call("GET", fmt.Sprintf("/api/tickets/%d/history", id), nil, &hist)
	found := false
	for _, m := range hist.Messages {
		found = found || m.Text == "Мой заказ 1234567 не пришёл"
	}
	if !found {
		t.Errorf("the customer's message during the ticket is missing from the history: %+v", hist.Messages)
	}
	if strings.Contains(logs.String(), "SECRET-token") {
		t.Error("the bot token appears in the server log")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
