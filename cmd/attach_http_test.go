package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
)

// fileVisitor is a web chat visitor over a raw WebSocket: it keeps its
// token and every frame the server sent.
type fileVisitor struct {
	ws     *websocket.Conn
	mu     sync.Mutex
	token  string
	frames []map[string]any
}

func openVisitor(t *testing.T, addr string) *fileVisitor {
	t.Helper()
	ws, _, err := websocket.Dial(context.Background(), "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	v := &fileVisitor{ws: ws}
	ws.Write(context.Background(), websocket.MessageText, []byte(`{"type":"hello","batch":true,"lang":"ru"}`))
	go func() {
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			for line := range bytes.SplitSeq(data, []byte{'\n'}) {
				var f map[string]any
				if json.Unmarshal(line, &f) != nil {
					continue
				}
				v.mu.Lock()
				if f["type"] == "hello" {
					v.token, _ = f["token"].(string)
				}
				v.frames = append(v.frames, f)
				v.mu.Unlock()
			}
		}
	}()
	waitUntil(t, "hello", func() bool { v.mu.Lock(); defer v.mu.Unlock(); return v.token != "" })
	return v
}

func (v *fileVisitor) frame(typ, field, want string) map[string]any {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, f := range v.frames {
		if f["type"] == typ && (field == "" || fmt.Sprint(f[field]) == want) {
			return f
		}
	}
	return nil
}

func upload(t *testing.T, base, token, name string, data []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/files?name="+name, bytes.NewReader(data))
	if token != "" {
		req.Header.Set("X-Parley-Token", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// TestFileEndpointsRules: web chat uploads need the visitor's token and an
// open chat, and pass the operator's policy (sniffed type, size); a file
// link works only with its visitor's signature; a visitor cannot send
// another visitor's file; agents download with a session only, always with
// nosniff and a Content-Disposition, and send only on a ticket they hold.
func TestFileEndpointsRules(t *testing.T) {
	s, _ := startServer(t, func(c *Config) { c.Files.MaxBytes = 20000 })
	addAgent(t, s.db, "anna", "Анна", handoff.RoleAgent)
	base := "http://" + s.addr
	_, photo := pngFile(t, t.TempDir(), "p.png", 20, 20, color.RGBA{1, 2, 3, 255})

	if code, _ := upload(t, base, "", "p.png", photo); code != http.StatusUnauthorized {
		t.Errorf("upload without a token: %d, want 401", code)
	}
	olga := openVisitor(t, s.addr)
	if code, body := upload(t, base, olga.token, "setup.exe", append([]byte("MZ\x90\x00"), make([]byte, 100)...)); code != http.StatusUnsupportedMediaType ||
		!strings.Contains(fmt.Sprint(body["error"]), "not accepted") {
		t.Errorf("an executable: %d %v, want 415", code, body)
	}
	if code, _ := upload(t, base, olga.token, "big.png", append(photo, make([]byte, 30000)...)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("over files.max_bytes: %d, want 413", code)
	}
	code, f := upload(t, base, olga.token, "p.png", photo)
	if code != http.StatusOK || f["kind"] != "image" || f["type"] != "image/png" {
		t.Fatalf("upload: %d %v", code, f)
	}
	link := base + f["url"].(string)
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(got, photo) || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
		res.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "inline") {
		t.Errorf("download: %d %v", res.StatusCode, res.Header)
	}
	if res, _ := http.Get(strings.Replace(link, "&s=", "&s=x", 1)); res.StatusCode != http.StatusNotFound {
		t.Errorf("a tampered link: %d, want 404", res.StatusCode)
	}

	// Another visitor cannot send Olga's file as theirs.
	mallory := openVisitor(t, s.addr)
	mallory.ws.Write(context.Background(), websocket.MessageText, []byte(fmt.Sprintf(`{"type":"message","id":"m1","files":[%q]}`, f["id"])))
	waitUntil(t, "refusal", func() bool { return mallory.frame("error", "id", "m1") != nil })
	// Olga can, and the message goes to the conversation with its file.
	olga.ws.Write(context.Background(), websocket.MessageText, []byte(fmt.Sprintf(`{"type":"message","id":"o1","text":"оператор","files":[%q]}`, f["id"])))
	waitUntil(t, "ack", func() bool { return olga.frame("ack", "id", "o1") != nil })

	// The console: a session is needed to download; sending needs the ticket.
	var tickets []struct{ ID uint64 }
	waitUntil(t, "ticket", func() bool {
		ts, _ := s.db.Tickets("")
		tickets = tickets[:0]
		for _, tk := range ts {
			tickets = append(tickets, struct{ ID uint64 }{tk.ID})
		}
		return len(tickets) == 1
	})
	if res, _ := http.Get(base + "/api/files/" + f["id"].(string)); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("console download without a session: %d, want 401", res.StatusCode)
	}
	agent := agentLogin(t, base, "anna")
	var hist struct {
		Messages []struct {
			Files []struct{ ID, Kind, URL string }
		}
	}
	agent.call("GET", fmt.Sprintf("/api/tickets/%d/history", tickets[0].ID), nil, &hist)
	found := false
	for _, m := range hist.Messages {
		for _, hf := range m.Files {
			found = found || (hf.ID == f["id"] && hf.Kind == "image" && hf.URL == "/api/files/"+hf.ID)
		}
	}
	if !found {
		t.Errorf("history lacks the file: %+v", hist)
	}
	req, _ := http.NewRequest("GET", base+"/api/files/"+f["id"].(string), nil)
	res, err = agent.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(got, photo) || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("console download: %d %v", res.StatusCode, res.Header)
	}
	send := func(name string, data []byte) int {
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/tickets/%d/files?name=%s", base, tickets[0].ID, name), bytes.NewReader(data))
		req.Header.Set("X-CSRF-Token", agent.csrf)
		res, err := agent.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := send("a.png", photo); code != http.StatusConflict {
		t.Errorf("sending on an unclaimed ticket: %d, want 409", code)
	}
	agent.call("POST", fmt.Sprintf("/api/tickets/%d/claim", tickets[0].ID), map[string]any{}, nil)
	if code := send("page.html", []byte("<html><script>alert(1)</script></html>")); code != http.StatusUnsupportedMediaType {
		t.Errorf("an HTML page from the agent: %d, want 415", code)
	}
	if code := send("label.png", photo); code != http.StatusOK {
		t.Fatalf("agent's file: %d", code)
	}
	waitUntil(t, "the agent's file in the widget", func() bool {
		olga.mu.Lock()
		defer olga.mu.Unlock()
		for _, fr := range olga.frames {
			if files, ok := fr["files"].([]any); ok && fr["type"] == "message" && len(files) == 1 && fr["sender"] == "Анна" {
				return true
			}
		}
		return false
	})
}

// TestUploadFromAnEmbeddingSite: a site listed in web.allowed_origins may
// upload through the widget (CORS preflight and answer carry its origin);
// any other site is refused before the upload is read.
func TestUploadFromAnEmbeddingSite(t *testing.T) {
	s, _ := startServer(t, func(c *Config) { c.Web.AllowedOrigins = []string{"shop.example"} })
	base := "http://" + s.addr
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest("OPTIONS", base+"/files", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "x-parley-token")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := preflight("https://shop.example"); res.StatusCode != http.StatusNoContent ||
		res.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "X-Parley-Token") {
		t.Errorf("preflight from the shop: %d %v", res.StatusCode, res.Header)
	}
	if res := preflight("https://evil.example"); res.StatusCode != http.StatusForbidden || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another site: %d %v", res.StatusCode, res.Header)
	}
	v := openVisitor(t, s.addr)
	_, photo := pngFile(t, t.TempDir(), "p.png", 8, 8, color.Black)
	for origin, want := range map[string]int{"https://shop.example": http.StatusOK, "https://evil.example": http.StatusForbidden} {
		req, _ := http.NewRequest("POST", base+"/files?name=p.png", bytes.NewReader(photo))
		req.Header.Set("Origin", origin)
		req.Header.Set("X-Parley-Token", v.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("upload from %s: %d, want %d", origin, res.StatusCode, want)
		}
	}
}

// TestVKPhotoThroughTheServer: a VK customer's photo (the largest size's
// URL in message_new) is downloaded by the running server and stored with
// the conversation; the history refers to the stored copy.
func TestVKPhotoThroughTheServer(t *testing.T) {
	_, photo := pngFile(t, t.TempDir(), "p.png", 30, 20, color.RGBA{0, 120, 0, 255})
	api := newFakeVKAPI(t)
	userapi := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/impg/big.png" {
			http.NotFound(w, r)
			return
		}
		w.Write(photo)
	}))
	t.Cleanup(userapi.Close)
	s, _ := startServer(t, func(c *Config) {
		c.VK = VKConfig{Token: vkToken, GroupID: vkGroup, Mode: "callback", APIURL: api.srv.URL, Secret: vkSecret, Confirmation: "abc123"}
	})
	base := "http://" + s.addr
	msg := fmt.Sprintf(`{"type":"message_new","group_id":%d,"event_id":"p1","v":"5.199","secret":%q,"object":{"message":{"date":1767323045,"peer_id":300,"from_id":300,"text":"","conversation_message_id":1,
		"attachments":[{"type":"photo","photo":{"sizes":[{"type":"s","url":%q,"width":75,"height":50},{"type":"x","url":%q,"width":604,"height":403}]}}]}}}`,
		vkGroup, vkSecret, userapi.URL+"/impg/small.png", userapi.URL+"/impg/big.png")
	if code, body := postVK(t, base, msg); code != 200 || body != "ok" {
		t.Fatalf("message_new: %d %q", code, body)
	}
	var ref string
	waitUntil(t, "the photo in the history", func() bool {
		c, err := s.db.ContactByIdentity("vk:300")
		if err != nil {
			return false
		}
		hist, _ := s.db.History(c.ID, 0, 10)
		for _, m := range hist {
			for _, a := range m.Attachments {
				if strings.HasPrefix(a, "image:parley:") {
					ref = a
				}
			}
		}
		return ref != ""
	})
	id, _ := store.ParseAttachmentRef(ref)
	f, data, err := s.db.FileData(id)
	if err != nil || !bytes.Equal(data, photo) || f.Source != "vk" || f.Type != "image/png" || f.Name != "big.png" {
		t.Errorf("stored: %+v, %d bytes, %v", f, len(data), err)
	}
}
