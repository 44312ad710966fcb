package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// The web chat's opening against the real runtime and store: the greeting
// shows when the chat connects, nothing is stored until the visitor writes
// or presses a button, and then the message is answered without a second
// greeting.

// webHistory shows a visitor the conversation from the store, as cmd's
// wiring does.
type webHistory struct{ rt *bot.Runtime }

func (h webHistory) History(ctx context.Context, v channel.Address, limit int) ([]webchat.Item, error) {
	msgs, err := h.rt.History(ctx, v, limit)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var items []webchat.Item
	for _, m := range msgs {
		it := webchat.Item{ID: fmt.Sprint(m.Seq), Dir: m.Dir, Text: m.Text, At: m.At}
		for _, b := range m.Buttons {
			it.Buttons = append(it.Buttons, channel.Button{Text: b.Text, Value: b.Value})
		}
		items = append(items, it)
	}
	return items, nil
}

// webBot serves the web chat of the project in dir with a runtime over a
// fresh store.
func webBot(t *testing.T, project *flows.Project) (*store.DB, *httptest.Server) {
	t.Helper()
	db := storetest.Open(t)
	var hist webHistory
	web, err := webchat.New(webchat.Config{Secret: []byte("0123456789abcdef0123456789abcdef"),
		Logger: zerolog.New(zerolog.NewTestWriter(t)), Title: project.Name, Lang: project.DefaultLang}, &hist)
	if err != nil {
		t.Fatal(err)
	}
	rt := bot.New(bot.Config{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}, db, project.NewEngine(flows.Options{}), web)
	hist.rt = rt
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.Handler(rt))
	t.Cleanup(func() {
		srv.Close()
		web.Close()
		rt.Shutdown(context.Background())
	})
	return db, srv
}

func loadProject(t *testing.T, dir string) *flows.Project {
	t.Helper()
	p, err := flows.LoadDir(dir)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return p
}

// wsFrame is a server frame, decoded loosely.
type wsFrame struct {
	Type    string           `json:"type"`
	Visitor string           `json:"visitor"`
	Token   string           `json:"token"`
	ID      string           `json:"id"`
	Text    string           `json:"text"`
	Buttons []channel.Button `json:"buttons"`
	Opening bool             `json:"opening"`
	Items   []struct {
		ID      string           `json:"id"`
		Dir     string           `json:"dir"`
		Text    string           `json:"text"`
		Buttons []channel.Button `json:"buttons"`
	} `json:"items"`
}

type widget struct {
	t  *testing.T
	ws *websocket.Conn
	in []wsFrame // read but not yet taken
}

// openWidget connects as a new visitor whose browser speaks lang.
func openWidget(t *testing.T, srv *httptest.Server, lang string) (*widget, wsFrame, wsFrame) {
	t.Helper()
	return dialWidget(t, srv, map[string]any{"type": "hello", "lang": lang, "batch": true})
}

// dialWidget connects, says hello and returns the hello and history frames.
func dialWidget(t *testing.T, srv *httptest.Server, hello map[string]any) (*widget, wsFrame, wsFrame) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	w := &widget{t: t, ws: ws}
	w.send(hello)
	h, hist := w.next(), w.next()
	if h.Type != "hello" || hist.Type != "history" {
		t.Fatalf("frames %+v, %+v; want hello and history", h, hist)
	}
	return w, h, hist
}

func (w *widget) send(v any) {
	w.t.Helper()
	b, _ := json.Marshal(v)
	if err := w.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *widget) next() wsFrame {
	w.t.Helper()
	for len(w.in) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := w.ws.Read(ctx)
		cancel()
		if err != nil {
			w.t.Fatalf("read: %v", err)
		}
		for line := range bytes.SplitSeq(b, []byte{'\n'}) {
			var f wsFrame
			if err := json.Unmarshal(line, &f); err != nil {
				w.t.Fatal(err)
			}
			w.in = append(w.in, f)
		}
	}
	f := w.in[0]
	w.in = w.in[1:]
	return f
}

// replies reads the frames up to the ack of id and the bot's messages that
// came in the same frame, and returns those messages' texts.
func (w *widget) replies(id string) []string {
	w.t.Helper()
	for f := w.next(); f.Type != "ack" || f.ID != id; f = w.next() {
		if f.Type == "error" {
			w.t.Fatalf("error frame %+v", f)
		}
	}
	var texts []string
	for len(w.in) > 0 {
		if f := w.next(); f.Type == "message" {
			texts = append(texts, f.Text)
		}
	}
	return texts
}

func TestWebChatOpeningWithTheRuntime(t *testing.T) {
	db, srv := webBot(t, loadProject(t, filepath.Join("testdata", "opening")))

	w, hello, hist := openWidget(t, srv, "ru-RU")
	var shown []string
	for _, it := range hist.Items {
		shown = append(shown, it.Text)
	}
	if !hist.Opening || !cmp.Equal(shown, []string{"Здравствуйте! Чем помочь?"}) || len(hist.Items[0].Buttons) != 2 {
		t.Fatalf("on open: %+v; want the greeting with two buttons, marked opening", hist)
	}
	visitor := "web:" + hello.Visitor
	if _, err := db.ContactByIdentity(visitor); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a contact exists after opening the chat (%v); want none until the visitor writes", err)
	}

	w.send(map[string]string{"type": "message", "id": "m1", "text": "Сколько стоит доставка?"})
	if got, want := w.replies("m1"), []string{"Доставка стоит 300 ₽, от 3000 ₽ бесплатно."}; !cmp.Equal(got, want) {
		t.Errorf("the first message's replies %q, want %q: answered, no second greeting", got, want)
	}
	c, err := db.ContactByIdentity(visitor)
	if err != nil {
		t.Fatalf("no contact after the first message: %v", err)
	}
	msgs, err := db.History(c.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, m := range msgs {
		stored = append(stored, m.Dir+": "+m.Text)
	}
	if want := []string{"in: Сколько стоит доставка?", "out: Доставка стоит 300 ₽, от 3000 ₽ бесплатно."}; !cmp.Equal(stored, want) {
		t.Errorf("stored history %q, want %q", stored, want)
	}

	// A returning visitor sees the history, not the opening again.
	_, _, again := dialWidget(t, srv, map[string]any{"type": "hello", "token": hello.Token, "lang": "ru", "batch": true})
	if again.Opening || len(again.Items) != 2 {
		t.Errorf("returning visitor got %+v; want the two stored messages", again)
	}
}

func TestWebChatOpeningButtonWithTheRuntime(t *testing.T) {
	db, srv := webBot(t, loadProject(t, filepath.Join("testdata", "opening")))
	w, hello, hist := openWidget(t, srv, "en-GB")
	if len(hist.Items) != 1 || hist.Items[0].Text != "Hello! How can I help?" {
		t.Fatalf("on open in English: %+v", hist.Items)
	}
	b := hist.Items[0].Buttons[1] // Payment
	w.send(map[string]string{"type": "button", "id": "b1", "value": b.Value, "text": b.Text})
	if got, want := w.replies("b1"), []string{"By card or in cash."}; !cmp.Equal(got, want) {
		t.Errorf("the opening button's replies %q, want %q", got, want)
	}
	if _, err := db.ContactByIdentity("web:" + hello.Visitor); err != nil {
		t.Errorf("no contact after the button: %v", err)
	}
}

// TestWebChatNewVisitorFloodMakesBoundedContacts: one address connecting
// as new visitors and writing as fast as it can makes at most the new
// visitor burst of contacts (webchat.DefaultNewVisitorBurst); the rest are
// refused with 1013 before anything is stored.
func TestWebChatNewVisitorFloodMakesBoundedContacts(t *testing.T) {
	db, srv := webBot(t, loadProject(t, filepath.Join("testdata", "opening")))
	const tries = webchat.DefaultNewVisitorBurst + 10
	var admitted []string
	refused := 0
	start := time.Now()
	for i := range tries {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		w := &widget{t: t, ws: ws}
		w.send(map[string]any{"type": "hello", "batch": true})
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := ws.Read(rctx)
		cancel()
		if websocket.CloseStatus(err) == websocket.StatusTryAgainLater {
			refused++
			continue
		}
		if err != nil {
			t.Fatalf("visitor %d: %v", i, err)
		}
		var hello wsFrame
		if err := json.Unmarshal(b, &hello); err != nil || hello.Type != "hello" {
			t.Fatalf("visitor %d: first frame %s, %v", i, b, err)
		}
		w.next() // the history with the opening
		w.send(map[string]string{"type": "message", "id": "m1", "text": "Сколько стоит доставка?"})
		w.replies("m1")
		admitted = append(admitted, hello.Visitor)
		ws.CloseNow()
	}
	// The budget refills at DefaultNewVisitorRate while the test runs (a
	// fraction of a visitor in a fast run).
	most := webchat.DefaultNewVisitorBurst + int(time.Since(start).Seconds()*webchat.DefaultNewVisitorRate)
	if n := len(admitted); n < webchat.DefaultNewVisitorBurst || n > most || n+refused != tries {
		t.Errorf("admitted %d new visitors and refused %d of %d; want %d to %d admitted, the rest refused",
			n, refused, tries, webchat.DefaultNewVisitorBurst, most)
	}
	for _, v := range admitted {
		if _, err := db.ContactByIdentity("web:" + v); err != nil {
			t.Errorf("admitted visitor %s has no contact: %v", v, err)
		}
	}
}
