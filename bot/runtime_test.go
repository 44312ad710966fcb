package bot

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

func echoEngine(t testing.TB) *flows.Engine {
	t.Helper()
	p, err := flows.LoadDir(filepath.Join("testdata", "echo"))
	if err != nil {
		t.Fatalf("load test project: %v", err)
	}
	return p.NewEngine(flows.Options{})
}

func texts(msgs []store.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Dir+": "+m.Text)
	}
	return out
}

func TestMessagesAreProcessedOnceAndInOrderPerContact(t *testing.T) {
	db := storetest.Open(t)
	web := &recordingSender{name: channel.Web}
	rt := New(Config{Logger: quietLogger()}, db, echoEngine(t), web)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const contacts, msgs = 8, 12
	var wg sync.WaitGroup
	for c := 0; c < contacts; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			from := channel.Address{Channel: channel.Web, ID: fmt.Sprint("v", c)}
			for i := 0; i < msgs; i++ {
				in := channel.Inbound{From: from, EventID: fmt.Sprint("e", i), Text: fmt.Sprint("m", i)}
				// Every event arrives twice, as a platform redelivering would.
				for k := 0; k < 2; k++ {
					if err := rt.HandleInbound(context.Background(), in); err != nil {
						t.Error(err)
					}
				}
			}
		}(c)
	}
	wg.Wait()
	flush(t, rt)
	rt.Shutdown(context.Background())

	for c := 0; c < contacts; c++ {
		ct, err := db.ContactByIdentity(fmt.Sprint("web:v", c))
		if err != nil {
			t.Fatal(err)
		}
		hist, err := db.History(ct.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"in: m0", "out: hello", "out: say something"}
		for i := 1; i < msgs; i++ {
			want = append(want, fmt.Sprint("in: m", i), fmt.Sprint("out: echo m", i), "out: say something")
		}
		if diff := cmp.Diff(want, texts(hist)); diff != "" {
			t.Fatalf("contact %d history (-want +got):\n%s", c, diff)
		}
	}
	if got, want := len(web.sent()), contacts*2*msgs; got != want {
		t.Errorf("replies sent = %d, want %d", got, want)
	}
}

func TestButtonPayloadReachesTheFlow(t *testing.T) {
	db := storetest.Open(t)
	web := &recordingSender{name: channel.Web}
	rt := New(Config{Logger: quietLogger()}, db, echoEngine(t), web)
	rt.Start(context.Background())
	from := channel.Address{Channel: channel.Web, ID: "v"}
	rt.HandleInbound(context.Background(), channel.Inbound{From: from, EventID: "1", Text: "hi"})
	rt.HandleInbound(context.Background(), channel.Inbound{From: from, EventID: "2", Text: "Ping", Payload: "ping"})
	flush(t, rt)
	rt.Shutdown(context.Background())
	sent := web.sent()
	if len(sent) < 3 || sent[2].Text != "echo button ping" {
		t.Fatalf("replies %+v: want the 3rd to be %q", sent, "echo button ping")
	}
	if diff := cmp.Diff([]channel.Button{{Text: "Ping", Value: "ping"}}, sent[0].Buttons); diff != "" {
		t.Errorf("greeting buttons (-want +got):\n%s", diff)
	}
}

// failingCommits makes Commit fail, as a process killed before its turn
// commit would leave the store.
type failingCommits struct {
	*store.DB
}

func (f failingCommits) Commit(context.Context, store.Turn) (store.TurnResult, error) {
	return store.TurnResult{}, errors.New("killed before commit")
}

func TestAcknowledgedMessageSurvivesACrashBeforeItsTurn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	crashed := New(Config{Logger: quietLogger()}, failingCommits{db}, echoEngine(t), &recordingSender{name: channel.Web})
	crashed.Start(context.Background())
	from := channel.Address{Channel: channel.Web, ID: "v"}
	if err := crashed.HandleInbound(context.Background(), channel.Inbound{From: from, EventID: "1", Text: "hi"}); err != nil {
		t.Fatal(err) // acknowledged: the event is on disk
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	crashed.Shutdown(ctx)
	cancel()
	db.Close()

	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); storetest.CheckFile(t, path) }()
	web := &recordingSender{name: channel.Web}
	rt := New(Config{Logger: quietLogger()}, db, echoEngine(t), web)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The platform redelivers the same event after the restart: dropped.
	if err := rt.HandleInbound(context.Background(), channel.Inbound{From: from, EventID: "1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	flush(t, rt)
	rt.Shutdown(context.Background())
	var got []string
	for _, o := range web.sent() {
		got = append(got, o.Text)
	}
	if diff := cmp.Diff([]string{"hello", "say something"}, got); diff != "" {
		t.Errorf("replies after restart (-want +got):\n%s", diff)
	}
}

func TestLongRepliesAreSplitForTheChannel(t *testing.T) {
	db := storetest.Open(t)
	tg := &recordingSender{name: channel.Telegram}
	rt := New(Config{Logger: quietLogger(), MaxText: map[channel.Name]int{channel.Telegram: 10}}, db, echoEngine(t), tg)
	rt.Start(context.Background())
	from := channel.Address{Channel: channel.Telegram, ID: "1"}
	rt.HandleInbound(context.Background(), channel.Inbound{From: from, EventID: "1", Text: "hi"})
	rt.HandleInbound(context.Background(), channel.Inbound{From: from, EventID: "2", Text: "aaaa bbbb cccc"})
	flush(t, rt)
	rt.Shutdown(context.Background())
	var got []string
	for _, o := range tg.sent() {
		got = append(got, o.Text)
	}
	want := []string{"hello", "say", "something", "echo aaaa", "bbbb cccc", "say", "something"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
}

func TestInvalidInboundIsRefused(t *testing.T) {
	db := storetest.Open(t)
	rt := New(Config{Logger: quietLogger()}, db, echoEngine(t))
	for _, in := range []channel.Inbound{
		{From: channel.Address{Channel: channel.Web, ID: "v"}},                          // no event id
		{From: channel.Address{Channel: "fax", ID: "v"}, EventID: "1"},                  // unknown channel
		{From: channel.Address{Channel: channel.Telegram}, EventID: "1", Text: "hello"}, // no id
	} {
		if err := rt.HandleInbound(context.Background(), in); err == nil {
			t.Errorf("HandleInbound(%+v) = nil, want an error", in)
		}
	}
}

func TestWaitTimeoutFiresWithoutInputAndAfterARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); storetest.CheckFile(t, path) }()
	from := channel.Address{Channel: channel.Web, ID: "v"}
	ctx := context.Background()

	// The customer reaches a node that waits 1s, then the server stops.
	web := &recordingSender{name: channel.Web}
	rt := New(Config{Logger: quietLogger()}, db, echoEngine(t), web)
	rt.Start(ctx)
	rt.HandleInbound(ctx, channel.Inbound{From: from, EventID: "1", Text: "hi"})
	rt.HandleInbound(ctx, channel.Inbound{From: from, EventID: "2", Text: "timer"})
	flush(t, rt)
	rt.Shutdown(ctx)
	if got := web.sent(); got[len(got)-1].Text != "waiting" {
		t.Fatalf("last reply %q, want %q", got[len(got)-1].Text, "waiting")
	}

	// After the restart the deadline is found in the session and fires.
	web = &recordingSender{name: channel.Web}
	rt = New(Config{Logger: quietLogger()}, db, echoEngine(t), web)
	rt.Start(ctx)
	waitFor(t, func() bool { return len(web.sent()) == 2 })
	rt.Shutdown(ctx)
	var got []string
	for _, o := range web.sent() {
		got = append(got, o.Text)
	}
	if diff := cmp.Diff([]string{"are you there?", "say something"}, got); diff != "" {
		t.Errorf("replies after the timeout (-want +got):\n%s", diff)
	}
}

func TestAnsweredWaitDoesNotTimeOut(t *testing.T) {
	db := storetest.Open(t)
	web := &recordingSender{name: channel.Web}
	rt := New(Config{Logger: quietLogger()}, db, echoEngine(t), web)
	ctx := context.Background()
	rt.Start(ctx)
	from := channel.Address{Channel: channel.Web, ID: "v"}
	rt.HandleInbound(ctx, channel.Inbound{From: from, EventID: "1", Text: "hi"})
	rt.HandleInbound(ctx, channel.Inbound{From: from, EventID: "2", Text: "timer"})
	rt.HandleInbound(ctx, channel.Inbound{From: from, EventID: "3", Text: "here"})
	flush(t, rt)
	time.Sleep(1500 * time.Millisecond) // past the 1s deadline
	flush(t, rt)
	rt.Shutdown(ctx)
	for _, o := range web.sent() {
		if o.Text == "are you there?" {
			t.Fatalf("timeout fired although the customer answered: %+v", web.sent())
		}
	}
}

func TestMessageEventsCarryChannelAndDetectedLanguage(t *testing.T) {
	db := storetest.Open(t)
	rt := New(Config{Logger: quietLogger()}, db, echoEngine(t), &recordingSender{name: channel.Web})
	ctx := context.Background()
	rt.Start(ctx)
	rt.HandleInbound(ctx, channel.Inbound{From: channel.Address{Channel: channel.Web, ID: "v"}, EventID: "1", Text: "hello there"})
	flush(t, rt)
	rt.Shutdown(ctx)
	var in, out int
	db.Events(time.Time{}, time.Now().Add(time.Hour), func(e store.Event) error {
		switch e.Type {
		case "message_in":
			in++
			if e.Data["channel"] != "web" || e.Data["lang"] != "en" {
				t.Errorf("message_in data %v: want channel web, lang en", e.Data)
			}
		case "message_out":
			out++
			if e.Data["sender"] != "bot" {
				t.Errorf("message_out data %v: want sender bot", e.Data)
			}
		}
		return nil
	})
	if in != 1 || out != 2 {
		t.Errorf("message_in %d, message_out %d; want 1 and 2", in, out)
	}
}

func TestFloodIsRecordedButNotAnswered(t *testing.T) {
	db := storetest.Open(t)
	web := &recordingSender{name: channel.Web}
	rt := New(Config{Logger: quietLogger(), FloodRate: 1, FloodBurst: 3}, db, echoEngine(t), web)
	ctx := context.Background()
	rt.Start(ctx)
	from := channel.Address{Channel: channel.Web, ID: "v"}
	for i := 0; i < 10; i++ {
		if err := rt.HandleInbound(ctx, channel.Inbound{From: from, EventID: fmt.Sprint(i), Text: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, rt)
	rt.Shutdown(ctx)
	c, _ := db.ContactByIdentity("web:v")
	hist, _ := db.History(c.ID, 0, 100)
	in := 0
	for _, m := range hist {
		if m.Dir == "in" {
			in++
		}
	}
	if in != 10 {
		t.Errorf("recorded %d inbound messages, want all 10", in)
	}
	// 3 answered (the burst): greeting + prompt, then two echoes with prompts.
	if got := len(web.sent()); got != 6 {
		t.Errorf("sent %d replies, want 6 (only the burst answered)", got)
	}
	var limited int
	db.Events(time.Time{}, time.Now().Add(time.Hour), func(e store.Event) error {
		if e.Type == "flood_limited" {
			limited++
		}
		return nil
	})
	if limited != 7 {
		t.Errorf("flood_limited events = %d, want 7", limited)
	}
}
