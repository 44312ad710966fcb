package webchat

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/bot/channel"
)

// openingBot is a Handler that is also an Opener, as the runtime is: it
// records the inbound events and the languages it was asked to open in.
type openingBot struct {
	recorder
	outs  []channel.Outbound
	mu    sync.Mutex
	langs []string
}

func (b *openingBot) Opening(_ context.Context, ch channel.Name, lang string) []channel.Outbound {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ch != channel.Web {
		panic("opening asked for channel " + ch)
	}
	b.langs = append(b.langs, lang)
	return b.outs
}

func (b *openingBot) asked() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.langs...)
}

func greetingBot() *openingBot {
	return &openingBot{outs: []channel.Outbound{
		{Text: "Здравствуйте! Чем помочь?", Buttons: []channel.Button{{Text: "Доставка", Value: "delivery"}, {Text: "Оплата", Value: "payment"}}},
		{Text: "Или просто напишите вопрос.", Image: "javascript:alert(1)"},
	}}
}

// hello dials and says hello with token and lang, and returns the hello and
// history frames.
func hello(t *testing.T, srv string, token, lang string, dialSrv func() (*client, error)) (*client, frame, frame) {
	t.Helper()
	c, err := dialSrv()
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "hello", "token": token, "lang": lang, "batch": true})
	h := c.next()
	if h.Type != "hello" {
		t.Fatalf("%s: first frame = %+v, want hello", srv, h)
	}
	hist := c.next()
	if hist.Type != "history" {
		t.Fatalf("%s: second frame = %+v, want history", srv, hist)
	}
	return c, h, hist
}

// TestOpeningShownWithoutRecordingAnything: a new visitor gets the greeting
// and its buttons in the browser's language, and the handler (the runtime,
// which makes contacts) hears nothing until the visitor writes; that first
// message is marked Greeted, the next one is not.
func TestOpeningShownWithoutRecordingAnything(t *testing.T) {
	bot := greetingBot()
	hist := &memHistory{items: map[string][]Item{}, seen: map[string]bool{}}
	_, srv := testServer(t, Config{}, bot, hist)
	c, _, h := hello(t, "new visitor", "", "ru-RU", func() (*client, error) { return dial(t, srv, nil) })

	if !h.Opening {
		t.Error(`history frame of a new visitor is not marked "opening"`)
	}
	want := []itemFrame{
		{ID: "opening-1", Dir: DirOut, Text: "Здравствуйте! Чем помочь?", Buttons: bot.outs[0].Buttons},
		{ID: "opening-2", Dir: DirOut, Text: "Или просто напишите вопрос."}, // the unsafe image is dropped
	}
	if diff := cmp.Diff(want, h.Items, cmpItems); diff != "" {
		t.Errorf("opening items (-want +got):\n%s", diff)
	}
	if got := bot.asked(); !cmp.Equal(got, []string{"ru"}) {
		t.Errorf("opening asked in %q, want [ru]", got)
	}
	c.quiet(100 * time.Millisecond)
	if got := bot.inbound(); len(got) != 0 {
		t.Fatalf("the handler got %+v before the visitor wrote", got)
	}

	c.send(map[string]string{"type": "message", "id": "m1", "text": "Сколько стоит доставка?"})
	if f := c.next(); f.Type != "ack" || f.ID != "m1" {
		t.Fatalf("got %+v, want the ack of m1", f)
	}
	c.send(map[string]string{"type": "message", "id": "m2", "text": "А оплата?"})
	if f := c.next(); f.Type != "ack" || f.ID != "m2" {
		t.Fatalf("got %+v, want the ack of m2", f)
	}
	got := bot.inbound()
	if len(got) != 2 || !got[0].Greeted || got[1].Greeted {
		t.Fatalf("Greeted of the two messages = %v; want the first only", greetedOf(got))
	}
	if got[0].Lang != "" {
		t.Errorf("typed text reported Lang %q; want \"\", its language is the engine's to detect", got[0].Lang)
	}
}

// cmpItems ignores the time of items (the opening's is "now").
var cmpItems = cmp.Transformer("noTime", func(it itemFrame) itemFrame { it.At = time.Time{}; return it })

func greetedOf(ins []channel.Inbound) []bool {
	var g []bool
	for _, in := range ins {
		g = append(g, in.Greeted)
	}
	return g
}

// TestOpeningButtonIsTheFirstMessage: pressing a greeting's button before
// writing anything sends its value as the first inbound, marked Greeted.
func TestOpeningButtonIsTheFirstMessage(t *testing.T) {
	bot := greetingBot()
	_, srv := testServer(t, Config{}, bot, histFunc(func(context.Context, channel.Address, int) ([]Item, error) { return nil, nil }))
	c, hf, h := hello(t, "new visitor", "", "en-US", func() (*client, error) { return dial(t, srv, nil) })
	b := h.Items[0].Buttons[0]
	c.send(map[string]string{"type": "button", "id": "b1", "value": b.Value, "text": b.Text})
	if f := c.next(); f.Type != "ack" {
		t.Fatalf("got %+v, want an ack", f)
	}
	got := bot.inbound()
	want := channel.Inbound{From: channel.Address{Channel: channel.Web, ID: hf.Visitor}, EventID: "web:" + hf.Visitor + ":b1",
		Text: "Доставка", Payload: "delivery", Greeted: true, Lang: "en"}
	if len(got) != 1 {
		t.Fatalf("handler got %d events, want 1", len(got))
	}
	got[0].At = time.Time{}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("the button's inbound (-want +got):\n%s", diff)
	}
	if l := bot.asked(); !cmp.Equal(l, []string{"en"}) {
		t.Errorf("opening asked in %q, want [en]", l)
	}
}

// TestOpeningNotForVisitorsWithHistory: a returning visitor sees the
// history and no opening; one who came before but never wrote gets the
// opening again.
func TestOpeningNotForVisitorsWithHistory(t *testing.T) {
	bot := greetingBot()
	hist := &memHistory{items: map[string][]Item{}, seen: map[string]bool{}}
	a, srv := testServer(t, Config{}, bot, hist)
	dialer := func() (*client, error) { return dial(t, srv, nil) }

	_, quietToken := a.signer.issue()
	_, _, h := hello(t, "returning, never wrote", quietToken, "ru", dialer)
	if !h.Opening || len(h.Items) != 2 {
		t.Errorf("a visitor without history got %+v, want the opening", h)
	}

	talker, token := a.signer.issue()
	hist.add(talker, Item{ID: "web:" + talker + ":m1", Dir: DirIn, Text: "привет", At: time.Now()})
	hist.add(talker, Item{ID: "7", Dir: DirOut, Text: "Здравствуйте!", At: time.Now()})
	c, _, h := hello(t, "returning with history", token, "ru", dialer)
	if h.Opening || len(h.Items) != 2 || h.Items[0].ID != "m1" {
		t.Errorf("a visitor with history got %+v, want the history only", h)
	}
	if n := len(bot.asked()); n != 1 {
		t.Errorf("opening asked %d times, want once (not for the visitor with history)", n)
	}
	c.send(map[string]string{"type": "message", "id": "m2", "text": "ещё вопрос"})
	c.next()
	if got := bot.inbound(); len(got) != 1 || got[0].Greeted {
		t.Errorf("a visitor with history: Greeted = %v, want [false]", greetedOf(got))
	}
}

// TestOpeningGreetedSurvivesARetry: a first message the runtime could not
// record is re-sent still marked Greeted, so the greeting is not repeated
// when it goes through.
func TestOpeningGreetedSurvivesARetry(t *testing.T) {
	bot := greetingBot()
	calls := 0
	bot.fn = func(channel.Inbound) error {
		calls++
		if calls == 1 {
			return errors.New("store busy")
		}
		return nil
	}
	_, srv := testServer(t, Config{}, bot, histFunc(func(context.Context, channel.Address, int) ([]Item, error) { return nil, nil }))
	c, _, _ := hello(t, "new visitor", "", "", func() (*client, error) { return dial(t, srv, nil) })
	c.send(map[string]string{"type": "message", "id": "m1", "text": "hi"})
	if f := c.next(); f.Code != codeRetry {
		t.Fatalf("got %+v, want a retry error", f)
	}
	c.send(map[string]string{"type": "message", "id": "m1", "text": "hi"})
	if f := c.next(); f.Type != "ack" {
		t.Fatalf("got %+v, want an ack", f)
	}
	if got := greetedOf(bot.inbound()); !cmp.Equal(got, []bool{true, true}) {
		t.Errorf("Greeted = %v, want [true true]", got)
	}
}

// TestNoOpening: a handler that is no Opener, or an opening with nothing to
// say, leaves the chat empty and the first message unmarked; without a
// History only a new visitor can be told from a returning one.
func TestNoOpening(t *testing.T) {
	t.Run("handler is no opener", func(t *testing.T) {
		rec := &recorder{}
		_, srv := testServer(t, Config{}, rec, nil)
		c, _, h := connect(t, srv, "")
		if h.Opening || len(h.Items) != 0 {
			t.Errorf("history = %+v, want empty", h)
		}
		c.send(map[string]string{"type": "message", "id": "m1", "text": "hi"})
		c.next()
		if got := greetedOf(rec.inbound()); !cmp.Equal(got, []bool{false}) {
			t.Errorf("Greeted = %v, want [false]", got)
		}
	})
	t.Run("nothing to say", func(t *testing.T) {
		bot := &openingBot{}
		_, srv := testServer(t, Config{}, bot, nil)
		c, _, h := connect(t, srv, "")
		if h.Opening || len(h.Items) != 0 {
			t.Errorf("history = %+v, want empty", h)
		}
		c.send(map[string]string{"type": "message", "id": "m1", "text": "hi"})
		c.next()
		if got := greetedOf(bot.inbound()); !cmp.Equal(got, []bool{false}) {
			t.Errorf("Greeted = %v, want [false]", got)
		}
	})
	t.Run("no history: only a new visitor", func(t *testing.T) {
		bot := greetingBot()
		a, srv := testServer(t, Config{}, bot, nil)
		if _, _, h := connect(t, srv, ""); !h.Opening {
			t.Error("a new visitor got no opening")
		}
		_, token := a.signer.issue()
		if _, _, h := connect(t, srv, token); h.Opening {
			t.Error("a returning visitor got the opening although nothing tells whether they wrote before")
		}
	})
}

func TestLangCode(t *testing.T) {
	for in, want := range map[string]string{
		"ru": "ru", "ru-RU": "ru", "EN-us": "en", "fil-PH": "fil", "": "", "r": "", "russian": "", "ру": "", "e1": "",
	} {
		if got := langCode(in); got != want {
			t.Errorf("langCode(%q) = %q, want %q", in, got, want)
		}
	}
}
