package bot

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// newLinkNodeRig is a linkRig over testdata/linknode, whose menu offers a
// flow's link node; observed collects the engine outputs as observers see
// them once the turn is committed.
func newLinkNodeRig(t *testing.T, cfg LinkConfig) (*linkRig, func() []flows.Output) {
	t.Helper()
	clk := storetest.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	db := storetest.OpenWith(t, store.Options{Clock: clk.Now})
	p, err := flows.LoadDir(filepath.Join("testdata", "linknode"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var outs []flows.Output
	observe := func(_ string, o []flows.Output) {
		mu.Lock()
		outs = append(outs, o...)
		mu.Unlock()
	}
	g := &linkRig{t: t, db: db, clk: clk, tg: &recordingSender{name: channel.Telegram}, web: &recordingSender{name: channel.Web}}
	g.rt = New(Config{Logger: quietLogger(), Clock: clk.Now, Link: cfg, Observe: observe}, db, p.NewEngine(flows.Options{Now: clk.Now}), g.tg, g.web)
	if err := g.rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.rt.Shutdown(context.Background()) })
	return g, func() []flows.Output {
		mu.Lock()
		defer mu.Unlock()
		return append([]flows.Output(nil), outs...)
	}
}

// tap presses a button: a message with a payload.
func (g *linkRig) tap(from channel.Address, text, payload string) {
	g.t.Helper()
	g.clk.Advance(time.Second)
	g.n++
	in := channel.Inbound{From: from, EventID: fmt.Sprint("e", g.n), Text: text, Payload: payload, Name: "Anna", Lang: "en"}
	if err := g.rt.HandleInbound(context.Background(), in); err != nil {
		g.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.rt.Flush(ctx); err != nil {
		g.t.Fatal(err)
	}
}

func sentTexts(s *recordingSender) []string {
	var out []string
	for _, o := range s.sent() {
		out = append(out, o.Text)
	}
	return out
}

func TestFlowLinkNodeGivesACodeThatLinksTwoChannels(t *testing.T) {
	g, observed := newLinkNodeRig(t, LinkConfig{TTL: 15 * time.Minute})
	g.tap(tgAddr, "/start", "") // opens the chat as Telegram does
	g.tap(tgAddr, "Link another chat", "link_chat")

	// The node's text with the code, then the flow goes on at next, in
	// the same turn and in order.
	got := sentTexts(g.tg)
	if len(got) != 3 {
		t.Fatalf("telegram got %q, want the greeting, the code message and what follows the node", got)
	}
	code := codeRE.FindString(got[1])
	if code == "" {
		t.Fatalf("no code in %q", got[1])
	}
	// Issued at 10:00:02 UTC for 15 minutes: 13:15 in Moscow.
	want := "Anna, your code is " + code + ": send it from your other chat within 15 min (before 13:15)."
	if diff := cmp.Diff([]string{"Hi! What would you like?", want, "I am waiting for the code."}, got); diff != "" {
		t.Fatalf("telegram messages (-want +got):\n%s", diff)
	}
	// Observers (parley chat) see the message as sent.
	var linkOuts []flows.Output
	for _, o := range observed() {
		if o.Kind == flows.LinkCode {
			linkOuts = append(linkOuts, o)
		}
	}
	if len(linkOuts) != 1 || linkOuts[0].Text != want {
		t.Errorf("observed link outputs %+v, want one with the text sent", linkOuts)
	}
	tgContact := g.contact(tgAddr)
	hist, err := g.db.History(tgContact.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if h := strings.Join(texts(hist), "\n"); strings.Contains(h, code) || !strings.Contains(h, "your code is ••••-••••:") {
		t.Errorf("history must keep the code masked:\n%s", h)
	}
	if evs := g.eventTypes(time.Time{}); !containsStr(evs, "link_requested") {
		t.Errorf("events %q: want link_requested", evs)
	}

	// The same code from the web chat joins the two conversations.
	g.tap(webAddr, "hello", "")
	g.tap(webAddr, code, "")
	done := "Done! Your channels are linked: it is one conversation now, no need to repeat anything."
	if last(t, g.tg) != done || last(t, g.web) != done {
		t.Errorf("confirmations: telegram %q, web %q", last(t, g.tg), last(t, g.web))
	}
	merged := g.contact(webAddr)
	if merged.ID != tgContact.ID {
		t.Fatalf("web:v1 belongs to %s, want the telegram contact %s", merged.ID, tgContact.ID)
	}
	if diff := cmp.Diff([]string{"telegram:100", "web:v1"}, merged.Identities); diff != "" {
		t.Errorf("identities (-want +got):\n%s", diff)
	}
	// The web chat goes on in the Telegram conversation: the menu waits
	// and knows what Telegram set.
	g.tap(webAddr, "a sofa", "")
	if got := last(t, g.web); got != "You said a sofa (city Kazan)." {
		t.Errorf("web chat after the link got %q", got)
	}
	// A used code links nothing again.
	g.tap(webAddr, code, "")
	if got := last(t, g.web); !strings.Contains(got, "wrong or has expired") {
		t.Errorf("a used code: %q", got)
	}
}

func TestFlowLinkNodeAddsDeepLinksAndMasksThem(t *testing.T) {
	g, _ := newLinkNodeRig(t, LinkConfig{TelegramBot: "parley_bot"})
	g.tap(webAddr, "/start", "")
	g.tap(webAddr, "Link another chat", "link_chat")
	got := sentTexts(g.web)
	if len(got) != 3 {
		t.Fatalf("web got %q", got)
	}
	msg := got[1]
	_, tok, ok := strings.Cut(msg, "\nOr just open:\nhttps://t.me/parley_bot?start=")
	if !ok || !strings.HasPrefix(tok, "link_") {
		t.Fatalf("code message without a Telegram deep link: %q", msg)
	}
	hist, err := g.db.History(g.contact(webAddr).ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := strings.Join(texts(hist), "\n")
	if strings.Contains(h, tok) || strings.Contains(h, codeRE.FindString(msg)) {
		t.Errorf("history keeps a code or token in clear:\n%s", h)
	}
	// Opening the deep link in Telegram links without typing.
	g.send(tgAddr, "/start "+tok, tok)
	if g.contact(tgAddr).ID != g.contact(webAddr).ID {
		t.Error("the deep link did not link the channels")
	}
}

func TestFlowLinkNodeWhenLinkingIsOff(t *testing.T) {
	g, observed := newLinkNodeRig(t, LinkConfig{Disabled: true})
	g.tap(tgAddr, "/start", "") // opens the chat as Telegram does
	g.tap(tgAddr, "Link another chat", "link_chat")
	want := []string{"Hi! What would you like?", "Linking channels is not available right now.", "I am waiting for the code."}
	if diff := cmp.Diff(want, sentTexts(g.tg)); diff != "" {
		t.Errorf("telegram messages (-want +got):\n%s", diff)
	}
	for _, o := range observed() {
		if o.Kind == flows.LinkCode && o.Text != want[1] {
			t.Errorf("observed %q", o.Text)
		}
	}
	if evs := g.eventTypes(time.Time{}); !containsStr(evs, "link_failed") || containsStr(evs, "link_requested") {
		t.Errorf("events %q: want link_failed and no link_requested", evs)
	}
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
