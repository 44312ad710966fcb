package bot

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// handoffRig is a linkRig over testdata/handoff (a menu with a person and
// a link button) with the human queue wired in as cmd does, and an agent.
type handoffRig struct {
	*linkRig
	svc   *handoff.Service
	agent store.Agent
}

func newHandoffRig(t *testing.T) *handoffRig {
	t.Helper()
	clk := storetest.NewClock(time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC))
	db := storetest.OpenWith(t, store.Options{Clock: clk.Now})
	p, err := flows.LoadDir(filepath.Join("testdata", "handoff"))
	if err != nil {
		t.Fatal(err)
	}
	g := &linkRig{t: t, db: db, clk: clk, tg: &recordingSender{name: channel.Telegram}, web: &recordingSender{name: channel.Web}}
	g.rt = New(Config{Logger: quietLogger(), Clock: clk.Now}, db, p.NewEngine(flows.Options{Now: clk.Now}), g.tg, g.web)
	svc, err := handoff.New(db, handoff.Config{Now: clk.Now, CSAT: true}, g.rt, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	g.rt.SetHandoff(svc)
	if err := g.rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.rt.Shutdown(context.Background())
		svc.Close()
	})
	a, err := handoff.AddAgent(context.Background(), db, handoff.NewAgent{Name: "anna", Role: handoff.RoleAgent,
		Password: "correct horse battery", DisplayName: "Anna"}, 4, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &handoffRig{linkRig: g, svc: svc, agent: a}
}

// linked links the web chat to the Telegram chat with a code, as the
// customer does, and returns the contact.
func (h *handoffRig) linked() store.Contact {
	h.t.Helper()
	h.tap(tgAddr, "hi", "")
	h.tap(webAddr, "hello", "")
	code := h.askCode(tgAddr, h.tg)
	h.send(webAddr, code, "")
	c := h.contact(webAddr)
	if c.ID != h.contact(tgAddr).ID {
		h.t.Fatalf("not linked: %+v", c)
	}
	return c
}

func (h *handoffRig) openTicket(c store.Contact) store.Ticket {
	h.t.Helper()
	ts, err := h.db.TicketStateFor(c.ID)
	if err != nil || !ts.HasOpen {
		h.t.Fatalf("no open ticket for %s: %v", c.ID, err)
	}
	return ts.Open
}

func (h *handoffRig) flush() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.rt.Flush(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// The scenario end to end through the runtime: Olga linked her
// Telegram and web chats, asked for a person in Telegram and then wrote
// from the website. The assignment notice and the agent's reply reach the
// web chat, not Telegram; a reply the agent sends to Telegram on purpose
// goes there; an address that is not hers is refused and nothing is sent.
func TestAgentReplyFollowsTheCustomer(t *testing.T) {
	h := newHandoffRig(t)
	c := h.linked()
	h.tap(tgAddr, "Talk to a person", "human")
	tk := h.openTicket(c)
	if tk.Address != tgAddr.String() {
		t.Fatalf("ticket opened from %q, want %s", tk.Address, tgAddr)
	}
	h.tap(webAddr, "I am on the website now", "")
	tgBefore, webBefore := len(h.tg.sent()), len(h.web.sent())

	ctx := context.Background()
	if _, err := h.svc.Claim(ctx, h.agent, tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Reply(ctx, h.agent, tk.ID, "Hello Olga, your parcel ships today"); err != nil {
		t.Fatal(err)
	}
	h.flush()
	if got := sentTexts(h.tg)[tgBefore:]; len(got) != 0 {
		t.Errorf("telegram got %q after the customer moved to the web chat", got)
	}
	web := sentTexts(h.web)[webBefore:]
	if len(web) != 2 || web[1] != "Hello Olga, your parcel ships today" {
		t.Errorf("web chat got %q, want the assignment notice and the reply", web)
	}

	if _, err := h.svc.ReplyVia(ctx, h.agent, tk.ID, "And here in Telegram", tgAddr.String()); err != nil {
		t.Fatal(err)
	}
	h.flush()
	if got := last(t, h.tg); got != "And here in Telegram" {
		t.Errorf("telegram's last message %q, want the reply sent there on purpose", got)
	}
	for _, addr := range []string{"telegram:999", "web:someone_else", "nonsense"} {
		_, err := h.svc.ReplyVia(ctx, h.agent, tk.ID, "Not for you", addr)
		if !errors.Is(err, handoff.ErrBadRequest) {
			t.Errorf("reply to %s: %v, want a bad request", addr, err)
		}
	}
	h.flush()
	for _, s := range []*recordingSender{h.tg, h.web} {
		for _, m := range sentTexts(s) {
			if m == "Not for you" {
				t.Errorf("%s got a refused reply", s.name)
			}
		}
	}
	// The runtime refuses a channel that is not the contact's on its own.
	err := h.rt.Deliver(ctx, handoff.Delivery{ContactID: c.ID, Address: "telegram:999", Text: "stray"})
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "telegram:999") {
		t.Errorf("Deliver to a foreign channel: %v, want a conflict naming it", err)
	}
}

// While a ticket is open, the flow's "Link another chat" button gets a
// code from the runtime (the queue used to hand the tap to the agent, and
// the customer got no answer); other messages still go to the agent.
func TestLinkButtonDuringAHandoff(t *testing.T) {
	h := newHandoffRig(t)
	h.tap(tgAddr, "hi", "")
	h.tap(tgAddr, "Talk to a person", "human")
	c := h.contact(tgAddr)
	h.openTicket(c)
	before := len(h.tg.sent())
	h.tap(tgAddr, "Link another chat", "link_chat")
	got := sentTexts(h.tg)[before:]
	if len(got) != 1 || codeRE.FindString(got[0]) == "" {
		t.Fatalf("link button during the handoff: telegram got %q, want one message with a code", got)
	}
	code := codeRE.FindString(got[0])
	if evs := h.eventTypes(time.Time{}); !containsStr(evs, "link_requested") {
		t.Errorf("events %q: want link_requested", evs)
	}
	// The code works: the web chat joins the contact, ticket and all.
	h.tap(webAddr, "hello", "")
	h.send(webAddr, code, "")
	if h.contact(webAddr).ID != c.ID {
		t.Errorf("the code from the handoff did not link the web chat")
	}
	// An ordinary message is still the agent's: no bot answer.
	before = len(h.tg.sent())
	h.tap(tgAddr, "are you there?", "")
	if got := sentTexts(h.tg)[before:]; len(got) != 0 {
		t.Errorf("a message during the handoff was answered by the bot: %q", got)
	}
}
