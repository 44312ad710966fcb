package cmd

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

const (
	vkToken  = "vk1.a.SECRET-community-token"
	vkSecret = "s3cret-callback"
	vkGroup  = 4242
)

// fakeVKAPI stands in for api.vk.com on 127.0.0.1 and records every call.
type fakeVKAPI struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []tgCall // method + form, as for Telegram
}

func newFakeVKAPI(t *testing.T) *fakeVKAPI {
	f := &fakeVKAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		method := strings.TrimPrefix(r.URL.Path, "/method/")
		f.mu.Lock()
		f.calls = append(f.calls, tgCall{Method: method, Params: r.Form})
		n := len(f.calls)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch method {
		case "messages.send":
			fmt.Fprintf(w, `{"response":%d}`, n)
		default:
			fmt.Fprint(w, `{"response":1}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVKAPI) sends(peer string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []url.Values
	for _, c := range f.calls {
		if c.Method == "messages.send" && c.Params.Get("peer_id") == peer {
			out = append(out, c.Params)
		}
	}
	return out
}

func postVK(t *testing.T, base, body string) (int, string) {
	t.Helper()
	res, err := http.Post(base+"/hooks/vk", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func vkMessage(event string, peer int, text, payload string) string {
	p := ""
	if payload != "" {
		p = fmt.Sprintf(`,"payload":%q`, fmt.Sprintf(`{"v":%q}`, payload))
	}
	return fmt.Sprintf(`{"type":"message_new","group_id":%d,"event_id":%q,"v":"5.199","secret":%q,"object":{"message":{"date":1767323045,"peer_id":%d,"from_id":%d,"text":%q,"conversation_message_id":1%s},"client_info":{"button_actions":["text","callback"],"keyboard":true,"inline_keyboard":true,"lang_id":0}}}`,
		vkGroup, event, vkSecret, peer, peer, text, p)
}

func TestVKCallbackConversation(t *testing.T) {
	api := newFakeVKAPI(t)
	s, logs := startServer(t, func(c *Config) {
		c.VK = VKConfig{Token: vkToken, GroupID: vkGroup, Mode: "callback", APIURL: api.srv.URL, Secret: vkSecret, Confirmation: "abc123"}
	})
	base := "http://" + s.addr

	if code, body := postVK(t, base, fmt.Sprintf(`{"type":"confirmation","group_id":%d,"secret":%q}`, vkGroup, vkSecret)); code != 200 || body != "abc123" {
		t.Errorf("confirmation: %d %q, want the configured string", code, body)
	}
	if code, body := postVK(t, base, fmt.Sprintf(`{"type":"confirmation","group_id":%d}`, vkGroup)); code != http.StatusUnauthorized {
		t.Errorf("confirmation without the secret: %d %q, want 401", code, body)
	}
	forged := strings.Replace(vkMessage("e0", 100, "привет", ""), vkSecret, "guess", 1)
	if code, _ := postVK(t, base, forged); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("forged secret: status %d, want 401/403", code)
	}
	if code, _ := postVK(t, base, `{"type":"message_new",`); code != http.StatusBadRequest {
		t.Errorf("malformed: status %d, want 400", code)
	}

	if code, body := postVK(t, base, vkMessage("e1", 100, "привет", "")); code != 200 || body != "ok" {
		t.Fatalf("message_new: %d %q", code, body)
	}
	waitUntil(t, "the greeting", func() bool { return len(api.sends("100")) == 1 })
	greeting := api.sends("100")[0]
	if !strings.Contains(greeting.Get("message"), "Чем помочь?") || !strings.Contains(greeting.Get("keyboard"), "Доставка") {
		t.Fatalf("greeting %v: want the menu with a keyboard", greeting)
	}
	// A text button press, redelivered by VK: answered once.
	postVK(t, base, vkMessage("e2", 100, "Оплата", "payment"))
	postVK(t, base, vkMessage("e2", 100, "Оплата", "payment"))
	waitUntil(t, "the payment answer", func() bool { return len(api.sends("100")) == 3 })
	got := api.sends("100")
	if !strings.Contains(got[1].Get("message"), "Оплатить можно картой") {
		t.Errorf("answer to the button: %q", got[1].Get("message"))
	}
	ids := map[string]bool{}
	for _, p := range got {
		if ids[p.Get("random_id")] {
			t.Errorf("random_id %s used twice", p.Get("random_id"))
		}
		ids[p.Get("random_id")] = true
	}
	if strings.Contains(logs.String(), "SECRET-community-token") {
		t.Error("the VK token appears in the server log")
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	for _, c := range api.calls {
		if c.Params.Get("access_token") != "" && strings.Contains(c.Params.Encode(), "SECRET") {
			// The token travels in the Authorization header, not in forms that proxies log.
			t.Errorf("%s carries the token in its parameters", c.Method)
		}
	}
}
