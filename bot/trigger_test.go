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
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

type triggerEnv struct {
	t   *testing.T
	db  *store.DB
	rt  *Runtime
	tg  *recordingSender
	clk *storetest.Clock
	c   store.Contact
}

// newTriggerEnv runs the trigger test project with a Telegram sender and a
// customer who wrote "hi" (the bot now waits for their answer).
func newTriggerEnv(t *testing.T) *triggerEnv {
	t.Helper()
	p, err := flows.LoadDir(filepath.Join("testdata", "trigger"))
	if err != nil {
		t.Fatal(err)
	}
	clk := storetest.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	db := storetest.OpenWith(t, store.Options{Clock: clk.Now})
	tg := &recordingSender{name: channel.Telegram}
	rt := New(Config{Logger: quietLogger(), Clock: clk.Now, TriggerIdle: time.Hour, TriggerSweep: time.Hour}, db, p.NewEngine(flows.Options{}), tg)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Shutdown(context.Background()) })
	e := &triggerEnv{t: t, db: db, rt: rt, tg: tg, clk: clk}
	e.write("1", "hi")
	if e.c, err = db.ContactByIdentity("telegram:42"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *triggerEnv) write(id, text string) {
	e.t.Helper()
	if err := e.rt.HandleInbound(context.Background(), channel.Inbound{From: channel.Address{Channel: channel.Telegram, ID: "42"},
		EventID: id, Text: text}); err != nil {
		e.t.Fatal(err)
	}
	flush(e.t, e.rt)
}

// lastTexts are the texts sent after the first n.
func (e *triggerEnv) textsAfter(n int) []string {
	var out []string
	for _, o := range e.tg.sent()[n:] {
		out = append(out, o.Text)
	}
	return out
}

func (e *triggerEnv) events(typ string) []store.Event {
	var out []store.Event
	e.db.Events(time.Time{}, time.Time{}, func(ev store.Event) error {
		if ev.Type == typ {
			out = append(out, ev)
		}
		return nil
	})
	return out
}

func TestTriggerNeverBargesInAndRunsWhenFree(t *testing.T) {
	e := newTriggerEnv(t)
	ctx := context.Background()
	req := TriggerRequest{ContactID: e.c.ID, Flow: "shipped", Params: map[string]any{"order": "A-17"}}
	// The bot just asked the customer something: a trigger that may not
	// wait is refused, one that may is parked.
	var busy *BusyError
	if _, err := e.rt.Trigger(ctx, req); !errors.As(err, &busy) || !strings.Contains(busy.Reason, "waiting for the customer") {
		t.Fatalf("trigger into a live conversation = %v, want a BusyError", err)
	}
	req.Wait = true
	res, err := e.rt.Trigger(ctx, req)
	if err != nil || res.Status != TriggerWaiting || res.Channel != "telegram" {
		t.Fatalf("waiting trigger = %+v, %v", res, err)
	}
	before := len(e.tg.sent())
	if err := e.rt.sweepTriggers(ctx); err != nil {
		t.Fatal(err)
	}
	flush(t, e.rt)
	if got := e.textsAfter(before); len(got) != 0 {
		t.Fatalf("a parked trigger ran while the conversation was busy: %q", got)
	}
	// The customer went quiet: the conversation is free, the sweep runs it.
	e.clk.Advance(2 * time.Hour)
	if err := e.rt.sweepTriggers(ctx); err != nil {
		t.Fatal(err)
	}
	flush(t, e.rt)
	if got := strings.Join(e.textsAfter(before), " | "); got != "Order A-17 shipped. | Did it help?" {
		t.Fatalf("after the sweep sent %q", got)
	}
	if w, _ := e.db.WaitingTriggers(); len(w) != 0 {
		t.Fatalf("still parked: %+v", w)
	}
	// The customer's answer continues the triggered flow, params and all,
	// and everything is in the contact's history.
	before = len(e.tg.sent())
	e.write("2", "Yes")
	if got := strings.Join(e.textsAfter(before), " | "); got != "Thanks about A-17!" {
		t.Fatalf("reply to the trigger got %q", got)
	}
	hist, _ := e.db.History(e.c.ID, 0, 100)
	var h []string
	for _, m := range hist {
		h = append(h, m.Dir+": "+m.Text)
	}
	want := "in: hi | out: hello | out: say something | out: Order A-17 shipped. | out: Did it help? | in: Yes | out: Thanks about A-17!"
	if got := strings.Join(h, " | "); got != want {
		t.Fatalf("history:\n got %s\nwant %s", got, want)
	}
	if n := len(e.events("trigger_started")); n != 1 {
		t.Fatalf("trigger_started events = %d, want 1", n)
	}
}

func TestTriggerIdempotencyKeyStartsOnce(t *testing.T) {
	e := newTriggerEnv(t)
	ctx := context.Background()
	e.clk.Advance(2 * time.Hour)
	req := TriggerRequest{ContactID: e.c.ID, Flow: "shipped", Params: map[string]any{"order": "B-2"},
		IdempotencyKey: "key|b2", BodyHash: "h"}
	before := len(e.tg.sent())
	first, err := e.rt.Trigger(ctx, req)
	if err != nil || first.Replayed {
		t.Fatalf("first = %+v, %v", first, err)
	}
	flush(t, e.rt)
	// The retry comes when the conversation is busy with the first one:
	// it still gets the first answer, not a refusal.
	again, err := e.rt.Trigger(ctx, req)
	if err != nil || !again.Replayed || again.ID != first.ID || again.Status != first.Status {
		t.Fatalf("retry = %+v, %v; want a replay of %+v", again, err, first)
	}
	flush(t, e.rt)
	if got := e.textsAfter(before); len(got) != 2 {
		t.Fatalf("sent %q; want the flow's two messages once", got)
	}
	req.BodyHash = "other"
	if _, err := e.rt.Trigger(ctx, req); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("same key, other body = %v, want ErrIdempotencyConflict", err)
	}
	if _, err := e.rt.Trigger(ctx, TriggerRequest{ContactID: e.c.ID, Flow: "nope"}); !errors.Is(err, flows.ErrUnknownFlow) {
		t.Fatalf("unknown flow = %v", err)
	}
	if _, err := e.rt.Trigger(ctx, TriggerRequest{ContactID: "c_nobody", Flow: "shipped"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown contact = %v", err)
	}
}

func TestStopOptsOutOfMarketingOnly(t *testing.T) {
	e := newTriggerEnv(t)
	ctx := context.Background()
	// A sentence with the word is not the command.
	before := len(e.tg.sent())
	e.write("2", "не могу остановить подписку, stop it")
	if out, _ := e.db.OptedOut(e.c.ID, "telegram"); out {
		t.Fatal("a sentence containing stop opted out")
	}
	before = len(e.tg.sent())
	e.write("3", " Стоп! ")
	got := e.textsAfter(before)
	if len(got) != 1 || !strings.Contains(got[0], "отписались") {
		t.Fatalf("stop answered %q; want one confirmation", got)
	}
	if out, _ := e.db.OptedOut(e.c.ID, "telegram"); !out {
		t.Fatal("stop did not opt out")
	}
	if n := len(e.events("opted_out")); n != 1 {
		t.Fatalf("opted_out events = %d", n)
	}
	e.clk.Advance(2 * time.Hour)
	before = len(e.tg.sent())
	if _, err := e.rt.Trigger(ctx, TriggerRequest{ContactID: e.c.ID, Flow: "shipped", Params: map[string]any{"order": "M"}}); !errors.Is(err, ErrOptedOut) {
		t.Fatalf("marketing trigger to an opted-out contact = %v, want ErrOptedOut", err)
	}
	res, err := e.rt.Trigger(ctx, TriggerRequest{ContactID: e.c.ID, Flow: "shipped", Params: map[string]any{"order": "T"}, Transactional: true})
	if err != nil || res.Status != TriggerQueued {
		t.Fatalf("transactional trigger = %+v, %v", res, err)
	}
	flush(t, e.rt)
	if got := strings.Join(e.textsAfter(before), " | "); got != "Order T shipped. | Did it help?" {
		t.Fatalf("after both triggers sent %q; want only the transactional one", got)
	}
}

func TestIsStopCommand(t *testing.T) {
	for text, want := range map[string]bool{"стоп": true, "СТОП!": true, "/stop": true, "Unsubscribe.": true, "отписаться": true,
		"stop it": false, "стоп-кран сломан": false, "": false, "не отписывайте меня": false} {
		if got := isStopCommand(text); got != want {
			t.Errorf("isStopCommand(%q) = %v, want %v", text, got, want)
		}
	}
}

// A trigger recorded before a crash (in the inbox, not yet run) runs at
// the next start, once.
func TestRecordedTriggerRunsAfterRestart(t *testing.T) {
	p, err := flows.LoadDir(filepath.Join("testdata", "trigger"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, _, _ := db.ResolveContact(context.Background(), "telegram:5", "", "")
	// What Trigger records, as a process killed right after the 202 left it.
	data := []byte(`{"kind":"trigger","trigger":{"id":"t_crash","flow":"shipped","params":{"order":"R-1"}}}`)
	if _, _, err := db.EnqueueTrigger(context.Background(), store.TriggerEntry{ContactID: c.ID, Data: data}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tg := &recordingSender{name: channel.Telegram}
	rt := New(Config{Logger: quietLogger()}, db, p.NewEngine(flows.Options{}), tg)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	flush(t, rt)
	rt.Shutdown(context.Background())
	var got []string
	for _, o := range tg.sent() {
		got = append(got, o.Text)
	}
	if strings.Join(got, " | ") != "Order R-1 shipped. | Did it help?" {
		t.Fatalf("after restart sent %q", got)
	}
	if pending, _ := db.PendingInbox(); len(pending) != 0 {
		t.Fatalf("the trigger is still in the inbox: %+v", pending)
	}
}
