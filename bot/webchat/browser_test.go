package webchat

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/internal/browsertest"
)

// memHistory is the runtime's part in the browser test: it records both
// directions, as the runtime's store does, and serves them as History.
type memHistory struct {
	mu    sync.Mutex
	items map[string][]Item
	seen  map[string]bool // EventIDs: the runtime's dedupe
	// seqIDs replaces item ids with sequence numbers, as a store that keeps
	// neither event ids nor outbox keys would: the widget must not double
	// messages then either.
	seqIDs bool
	seq    int
}

func (m *memHistory) add(visitor string, it Item) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seqIDs {
		m.seq++
		it.ID = fmt.Sprint(m.seq)
	}
	m.items[visitor] = append(m.items[visitor], it)
}

func (m *memHistory) History(_ context.Context, v channel.Address, limit int) ([]Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	items := m.items[v.ID]
	if len(items) > limit {
		items = items[len(items)-limit:]
	}
	return append([]Item(nil), items...), nil
}

// echoBot answers every message with "You said: <text>" and a button, and
// the button with a tracking note; it shows typing first, like the runtime.
func echoBot(t *testing.T, hist *memHistory, a **Adapter) channel.Handler {
	var seq int
	var mu sync.Mutex
	return channel.HandlerFunc(func(ctx context.Context, in channel.Inbound) error {
		hist.mu.Lock()
		dup := hist.seen[in.EventID]
		hist.seen[in.EventID] = true
		hist.mu.Unlock()
		if dup {
			return nil
		}
		hist.add(in.From.ID, Item{ID: in.EventID, Dir: DirIn, Text: in.Text, At: in.At})
		mu.Lock()
		seq++
		key := fmt.Sprintf("ob-%d", seq)
		mu.Unlock()
		out := channel.Outbound{To: in.From, Key: key, Text: "You said: " + in.Text,
			Buttons: []channel.Button{{Text: "Track my order", Value: "track"}}}
		if in.Payload == "track" {
			out.Text, out.Buttons = "Order 1234567 is on its way.", nil
		}
		go func() {
			(*a).SendTyping(context.Background(), in.From)
			time.Sleep(30 * time.Millisecond)
			hist.add(in.From.ID, Item{ID: out.Key, Dir: DirOut, Text: out.Text, Buttons: out.Buttons, At: time.Now()})
			if err := (*a).Send(context.Background(), out); err != nil {
				t.Errorf("Send: %v", err)
			}
		}()
		return nil
	})
}

// transcript is what the widget shows: one line per message.
const transcriptJS = `Array.from(document.querySelectorAll('#parley-widget .parley-msg')).map(m =>
  (m.classList.contains('parley-in') ? 'customer: ' : (m.querySelector('.parley-sender').textContent + ': ')) +
  m.querySelector('.parley-bubble').textContent)`

func TestWidgetInBrowser(t *testing.T) {
	hist := &memHistory{items: map[string][]Item{}, seen: map[string]bool{}}
	var a *Adapter
	a, err := New(Config{Secret: testSecret, Title: "Leaf & Kettle", Logger: zerolog.New(zerolog.NewTestWriter(t))}, hist)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler(echoBot(t, hist, &a)))
	t.Cleanup(func() { a.Close(); srv.Close() })

	ctx := browsertest.New(t, browsertest.Phone)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	var dialogMu sync.Mutex
	var dialogSeen []string
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			dialogMu.Lock()
			dialogSeen = append(dialogSeen, ev.Message)
			dialogMu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()

	poll := func(what, expr string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v\ntranscript: %q", what, err, transcript(t, ctx))
		}
	}
	send := func(text string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#parley-widget .parley-input"), text+"\r")); err != nil {
			t.Fatal(err)
		}
	}
	lastOut := `(() => { const b = document.querySelectorAll('#parley-widget .parley-out .parley-bubble'); return b.length && b[b.length-1].textContent; })()`

	// The demo page opens the chat by default; on a phone it fills the screen.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	poll("the open panel", `document.querySelector('#parley-panel') && !document.querySelector('#parley-panel').hidden`)
	poll("connected", `document.querySelector('#parley-widget .parley-status').textContent.includes('online')`)
	width, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.querySelector('#parley-panel').getBoundingClientRect().width, window.innerWidth]`))
	if err != nil {
		t.Fatal(err)
	}
	if width[0] != width[1] {
		t.Errorf("panel is %dpx wide on a %dpx phone screen; want full width", width[0], width[1])
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#parley-widget .parley-title")))
	if err != nil || title != "Leaf & Kettle" {
		t.Errorf("title = %q, %v", title, err)
	}

	// Type, Enter, see the reply with its button.
	send("Where is my order?")
	poll("the reply", lastOut+` === 'You said: Where is my order?'`)
	poll("the message marked sent", `!document.querySelector('#parley-widget .parley-pending')`)
	poll("the input cleared", `document.querySelector('#parley-widget .parley-input').value === ''`)

	// Press the button: its label shows as the customer's message.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#parley-widget .parley-button"))); err != nil {
		t.Fatal(err)
	}
	poll("the button's reply", lastOut+` === 'Order 1234567 is on its way.'`)

	// HTML from the customer is text.
	const payload = `<img src=x onerror=alert(1)>`
	send(payload)
	poll("the reply to the HTML", lastOut+` === 'You said: `+payload+`'`)

	// Typing indicator and a named agent, pushed by the server.
	visitor := onlyVisitor(t, hist)
	if err := a.SendTyping(context.Background(), channel.Address{Channel: channel.Web, ID: visitor}); err != nil {
		t.Fatal(err)
	}
	poll("the typing indicator", `!document.querySelector('#parley-widget .parley-typing').hidden`)
	agentMsg := channel.Outbound{To: channel.Address{Channel: channel.Web, ID: visitor}, Key: "ob-agent", Text: "Hi, I'm Anna. Let me check.", Sender: "Anna"}
	hist.add(visitor, Item{ID: agentMsg.Key, Dir: DirOut, Text: agentMsg.Text, Sender: "Anna", At: time.Now()})
	if err := a.Send(context.Background(), agentMsg); err != nil {
		t.Fatal(err)
	}
	poll("the agent's message", lastOut+` === "Hi, I'm Anna. Let me check."`)
	poll("the typing indicator to go", `document.querySelector('#parley-widget .parley-typing').hidden`)
	poll("who is answering", `document.querySelector('#parley-widget .parley-status').textContent === 'Anna is answering'`)

	want := []string{
		"customer: Where is my order?",
		"Bot: You said: Where is my order?",
		"customer: Track my order",
		"Bot: Order 1234567 is on its way.",
		"customer: " + payload,
		"Bot: You said: " + payload,
		"Anna: Hi, I'm Anna. Let me check.",
	}
	if diff := cmp.Diff(want, transcript(t, ctx)); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
	checkNoInjection(t, ctx)

	// Reload: the same visitor, the history from the server, nothing doubled.
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	poll("the history", fmt.Sprintf(`document.querySelectorAll('#parley-widget .parley-msg').length >= %d`, len(want)))
	if diff := cmp.Diff(want, transcript(t, ctx)); diff != "" {
		t.Errorf("transcript after reload (-want +got):\n%s", diff)
	}
	if v := onlyVisitor(t, hist); v != visitor {
		t.Errorf("visitor after reload = %s, want %s", v, visitor)
	}
	checkNoInjection(t, ctx)
	dialogMu.Lock()
	if len(dialogSeen) != 0 {
		t.Errorf("the page opened dialogs %q: customer text ran as code", dialogSeen)
	}
	dialogMu.Unlock()
}

func transcript(t *testing.T, ctx context.Context) []string {
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](transcriptJS))
	if err != nil {
		t.Fatalf("transcript: %v", err)
	}
	return got
}

// checkNoInjection asserts that the widget holds no element made from data.
func checkNoInjection(t *testing.T, ctx context.Context) {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#parley-widget .parley-log img, #parley-widget .parley-bubble *').length`))
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d elements inside message bubbles: text was parsed as HTML", n)
	}
}

func onlyVisitor(t *testing.T, hist *memHistory) string {
	t.Helper()
	hist.mu.Lock()
	defer hist.mu.Unlock()
	var ids []string
	for id := range hist.items {
		ids = append(ids, id)
	}
	if len(ids) != 1 {
		t.Fatalf("visitors %v, want exactly one", ids)
	}
	return ids[0]
}

// TestWidgetResendsUnackedAfterReload: a message whose ack never came stays
// pending across a reload and is re-sent with the same client id, so the
// runtime sees the same EventID and the conversation shows it once.
func TestWidgetResendsUnackedAfterReload(t *testing.T) {
	hist := &memHistory{items: map[string][]Item{}, seen: map[string]bool{}}
	var a *Adapter
	a, err := New(Config{Secret: testSecret, Logger: zerolog.New(zerolog.NewTestWriter(t))}, hist)
	if err != nil {
		t.Fatal(err)
	}
	bot := echoBot(t, hist, &a)
	entered, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var events []string
	var calls int
	h := channel.HandlerFunc(func(ctx context.Context, in channel.Inbound) error {
		mu.Lock()
		events = append(events, in.EventID)
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			// The store is slow: the first attempt outlives its page.
			close(entered)
			<-release
			return errors.New("store timeout")
		}
		return bot.HandleInbound(ctx, in)
	})
	srv := httptest.NewServer(a.Handler(h))
	t.Cleanup(func() { a.Close(); srv.Close() })
	defer close(release)

	ctx := browsertest.New(t, browsertest.Desktop)
	poll := func(what, expr string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v\ntranscript: %q", what, err, transcript(t, ctx))
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#parley-widget .parley-input"), "slow\r")); err != nil {
		t.Fatal(err)
	}
	<-entered
	poll("the message shown as pending", `document.querySelector('#parley-widget .parley-in.parley-pending .parley-meta').textContent === 'Sending\u2026'`)
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	poll("the reply to the re-sent message", `Array.from(document.querySelectorAll('#parley-widget .parley-out .parley-bubble')).some(b => b.textContent === 'You said: slow')`)
	poll("nothing pending", `!document.querySelector('#parley-widget .parley-pending')`)
	if diff := cmp.Diff([]string{"customer: slow", "Bot: You said: slow"}, transcript(t, ctx)); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0] != events[1] {
		t.Errorf("EventIDs %q: want the same id twice", events)
	}
}

// TestWidgetReconnects: when the connection drops, the widget reconnects by
// itself, shows what was sent while it was away (from the history), and
// doubles nothing, even when the history's ids are not the live ids.
func TestWidgetReconnects(t *testing.T) {
	hist := &memHistory{items: map[string][]Item{}, seen: map[string]bool{}, seqIDs: true}
	var a *Adapter
	a, err := New(Config{Secret: testSecret, Logger: zerolog.New(zerolog.NewTestWriter(t))}, hist)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler(echoBot(t, hist, &a)))
	t.Cleanup(func() { a.Close(); srv.Close() })

	ctx := browsertest.New(t, browsertest.Desktop)
	poll := func(what, expr string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v\ntranscript: %q", what, err, transcript(t, ctx))
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#parley-widget .parley-input"), "hi\r")); err != nil {
		t.Fatal(err)
	}
	poll("the reply", `document.querySelectorAll('#parley-widget .parley-out').length === 1`)
	visitor := onlyVisitor(t, hist)
	// On a desktop the panel is a corner window, not the whole screen.
	rect, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(() => { const r = document.querySelector('#parley-panel').getBoundingClientRect(); return [Math.round(r.width), Math.round(r.right), window.innerWidth]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if rect[0] != 370 || rect[2]-rect[1] != 20 {
		t.Errorf("desktop panel: width %d, right edge %d of %d; want 370 wide, 20px from the right", rect[0], rect[1], rect[2])
	}

	// Drop the connection as a network failure would, and reply meanwhile.
	a.mu.Lock()
	for _, v := range a.visitors {
		for c := range v.conns {
			c.ws.CloseNow()
		}
	}
	a.mu.Unlock()
	waitFor(t, "the drop", func() bool { return a.Connections() == 0 })
	away := channel.Outbound{To: channel.Address{Channel: channel.Web, ID: visitor}, Key: "ob-away", Text: "Your parcel left the warehouse."}
	hist.add(visitor, Item{ID: away.Key, Dir: DirOut, Text: away.Text, At: time.Now()})
	if err := a.Send(context.Background(), away); err != nil {
		t.Fatal(err)
	}

	poll("the missed message", `Array.from(document.querySelectorAll('#parley-widget .parley-bubble')).some(b => b.textContent === 'Your parcel left the warehouse.')`)
	want := []string{"customer: hi", "Bot: You said: hi", "Bot: Your parcel left the warehouse."}
	if diff := cmp.Diff(want, transcript(t, ctx)); diff != "" {
		t.Errorf("transcript after reconnect (-want +got):\n%s", diff)
	}
	if n := a.Connections(); n != 1 {
		t.Errorf("Connections() = %d after the reconnect, want 1", n)
	}
}
