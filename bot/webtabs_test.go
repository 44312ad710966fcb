package bot_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// webDesk serves the web chat of testdata/handoff with the human queue
// wired in as cmd does.
func webDesk(t *testing.T) (*store.DB, *bot.Runtime, *handoff.Service, *httptest.Server) {
	t.Helper()
	db := storetest.Open(t)
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	var hist webHistory
	web, err := webchat.New(webchat.Config{Secret: []byte("0123456789abcdef0123456789abcdef"), Logger: log}, &hist)
	if err != nil {
		t.Fatal(err)
	}
	p := loadProject(t, filepath.Join("testdata", "handoff"))
	rt := bot.New(bot.Config{Logger: log}, db, p.NewEngine(flows.Options{}), web, telegramSink{})
	hist.rt = rt
	svc, err := handoff.New(db, handoff.Config{}, rt, log)
	if err != nil {
		t.Fatal(err)
	}
	rt.SetHandoff(svc)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.Handler(rt))
	t.Cleanup(func() {
		srv.Close()
		web.Close()
		rt.Shutdown(context.Background())
		svc.Close()
	})
	return db, rt, svc, srv
}

// telegramSink accepts Telegram replies and forgets them.
type telegramSink struct{}

func (telegramSink) Channel() channel.Name                        { return channel.Telegram }
func (telegramSink) Send(context.Context, channel.Outbound) error { return nil }

// waitMessage reads w's frames until a message with text arrives.
func (w *widget) waitMessage(text string) {
	w.t.Helper()
	for {
		f := w.next()
		if f.Type == "message" && f.Text == text {
			return
		}
	}
}

// The customer: her Telegram and web chats are linked, she asked
// for a person in Telegram and then wrote from the website, where she has
// two tabs open. The agent's reply appears in both tabs, and in the
// history a reloaded tab shows.
func TestAgentReplyReachesEveryWebTab(t *testing.T) {
	db, rt, svc, srv := webDesk(t)
	ctx := context.Background()
	tg := channel.Address{Channel: channel.Telegram, ID: "42"}
	tgSays := func(id, text, payload string) {
		t.Helper()
		if err := rt.HandleInbound(ctx, channel.Inbound{From: tg, EventID: id, Text: text, Payload: payload, Lang: "en"}); err != nil {
			t.Fatal(err)
		}
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := rt.Flush(fctx); err != nil {
			t.Fatal(err)
		}
	}
	tgSays("t1", "hi", "")
	tab1, hello, _ := openWidget(t, srv, "en")
	tab2, _, _ := dialWidget(t, srv, map[string]any{"type": "hello", "token": hello.Token, "lang": "en", "batch": true})
	tab1.send(map[string]string{"type": "message", "id": "m1", "text": "hello"})
	tab1.replies("m1")
	c, err := db.ContactByIdentity(tg.String())
	if err != nil {
		t.Fatal(err)
	}
	w, err := db.ContactByIdentity("web:" + hello.Visitor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Merge(ctx, c.ID, w.ID, store.MergeOptions{Reason: "link_code", By: "customer"}); err != nil {
		t.Fatal(err)
	}
	tgSays("t2", "Talk to a person", "human")
	tab1.send(map[string]string{"type": "message", "id": "m2", "text": "I am on the website now"})
	tab1.replies("m2")
	var tk store.Ticket
	for deadline := time.Now().Add(5 * time.Second); ; {
		ts, err := db.TicketStateFor(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ts.HasOpen {
			tk = ts.Open
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no ticket opened")
		}
		time.Sleep(10 * time.Millisecond)
	}
	a, err := handoff.AddAgent(ctx, db, handoff.NewAgent{Name: "anna", Role: handoff.RoleAgent,
		Password: "correct horse battery", DisplayName: "Anna"}, 4, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Claim(ctx, a, tk.ID); err != nil {
		t.Fatal(err)
	}
	const reply = "Hello, I am Anna. Your parcel ships today."
	if _, err := svc.Reply(ctx, a, tk.ID, reply); err != nil {
		t.Fatal(err)
	}
	tab1.waitMessage(reply)
	tab2.waitMessage(reply)

	_, _, again := dialWidget(t, srv, map[string]any{"type": "hello", "token": hello.Token, "lang": "en", "batch": true})
	found := false
	for _, it := range again.Items {
		found = found || it.Text == reply
	}
	if !found {
		t.Errorf("the reloaded tab's history %+v lacks the agent's reply", again.Items)
	}
}
