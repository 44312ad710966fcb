package bot

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// writeSpy is the store with its writes counted: an opening must make none.
type writeSpy struct {
	*store.DB
	writes atomic.Int32
}

func (s *writeSpy) ResolveContact(ctx context.Context, identity, name, lang string) (store.Contact, bool, error) {
	s.writes.Add(1)
	return s.DB.ResolveContact(ctx, identity, name, lang)
}

func (s *writeSpy) Enqueue(ctx context.Context, contactID, eventKey string, data []byte) (uint64, bool, error) {
	s.writes.Add(1)
	return s.DB.Enqueue(ctx, contactID, eventKey, data)
}

func (s *writeSpy) Commit(ctx context.Context, t store.Turn) (store.TurnResult, error) {
	s.writes.Add(1)
	return s.DB.Commit(ctx, t)
}

func (s *writeSpy) AppendEvents(ctx context.Context, evs ...store.Event) error {
	s.writes.Add(1)
	return s.DB.AppendEvents(ctx, evs...)
}

// openingEngine runs testdata/opening: a greeting with two buttons in
// Russian (the default) and English, then a menu.
func openingEngine(t testing.TB) *flows.Engine {
	t.Helper()
	p, err := flows.LoadDir(filepath.Join("testdata", "opening"))
	if err != nil {
		t.Fatalf("load the test project: %v", err)
	}
	return p.NewEngine(flows.Options{})
}

func TestOpeningIsTheGreetingAndWritesNothing(t *testing.T) {
	db := &writeSpy{DB: storetest.Open(t)}
	rt := New(Config{Logger: quietLogger()}, db, openingEngine(t), &recordingSender{name: channel.Web})
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.Background())

	ru := []channel.Outbound{{Text: "Здравствуйте! Чем помочь?", Buttons: []channel.Button{
		{Text: "Доставка", Value: "delivery"}, {Text: "Оплата", Value: "payment"}}}}
	en := []channel.Outbound{{Text: "Hello! How can I help?", Buttons: []channel.Button{
		{Text: "Delivery", Value: "delivery"}, {Text: "Payment", Value: "payment"}}}}
	for _, tc := range []struct {
		lang string
		want []channel.Outbound
	}{
		{"ru", ru},
		{"en", en},
		{"de", ru}, // not spoken by the project: its default
		{"", ru},
	} {
		got := rt.Opening(context.Background(), channel.Web, tc.lang)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Opening(%q) (-want +got):\n%s", tc.lang, diff)
		}
	}
	if n := db.writes.Load(); n != 0 {
		t.Errorf("the opening wrote to the store %d times, want none", n)
	}
}

// TestOpeningSplitsLikeAReply: a greeting longer than the channel takes is
// split as a turn's reply is, the buttons with the last part.
func TestOpeningSplitsLikeAReply(t *testing.T) {
	rt := New(Config{Logger: quietLogger(), MaxText: map[channel.Name]int{channel.Web: 10}}, storetest.Open(t), openingEngine(t))
	got := rt.Opening(context.Background(), channel.Web, "en")
	if len(got) < 2 {
		t.Fatalf("got %d parts, want the greeting split", len(got))
	}
	var text []string
	for i, o := range got {
		text = append(text, o.Text)
		if last := i == len(got)-1; (len(o.Buttons) > 0) != last {
			t.Errorf("part %d has %d buttons; want them on the last part only", i+1, len(o.Buttons))
		}
	}
	if j := strings.Join(text, ""); strings.ReplaceAll(j, " ", "") != strings.ReplaceAll("Hello! How can I help?", " ", "") {
		t.Errorf("parts %q do not make up the greeting", text)
	}
}

// TestOpeningStopsWithTheRuntime: once shutting down, the opening is
// empty rather than a greeting for a conversation that cannot start.
func TestOpeningStopsWithTheRuntime(t *testing.T) {
	rt := New(Config{Logger: quietLogger()}, storetest.Open(t), openingEngine(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rt.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rt.Opening(context.Background(), channel.Web, "ru"); len(got) != 0 {
		t.Errorf("Opening after Shutdown = %+v, want nothing", got)
	}
}

// countingDoer answers every http node call with 200 and counts them.
type countingDoer struct{ n atomic.Int32 }

func (d *countingDoer) Do(r *http.Request) (*http.Response, error) {
	d.n.Add(1)
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{}`)), Header: http.Header{}, Request: r}, nil
}

// TestOpeningIsReusedBriefly: a start flow that calls an http node before
// its greeting is run once per openingTTL and language, not once per
// connection; a reload or the time passing runs it again.
func TestOpeningIsReusedBriefly(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"parley.yaml": "name: status\ndefault_lang: en\nlanguages: [en, ru]\nstart: main\nsafe_node: main.hello\nallowed_hosts: [status.example.com]\n",
		"flows/main.yaml": `flow: main
start: check
nodes:
  check:
    http:
      method: GET
      url: "https://status.example.com/open"
      timeout: 1s
      save:
        open: response.status == 200
    on_error: hello
    next: hello
  hello:
    say:
      en: "{{ vars.open ? 'We are open' : 'We are closed' }}"
      ru: "{{ vars.open ? 'Мы работаем' : 'Мы закрыты' }}"
    next: menu
  menu:
    wait: true
    branch:
      - if: text != ""
        goto: hello
    else: hello
`,
	}
	for name, body := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := flows.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	doer := &countingDoer{}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	rt := New(Config{Logger: quietLogger(), Clock: func() time.Time { return now }}, storetest.Open(t),
		p.NewEngine(flows.Options{HTTP: doer}))
	open := func(lang string) string {
		t.Helper()
		outs := rt.Opening(context.Background(), channel.Web, lang)
		if len(outs) != 1 {
			t.Fatalf("Opening(%q) = %+v, want one message", lang, outs)
		}
		return outs[0].Text
	}
	for range 5 {
		if got := open("en"); got != "We are open" {
			t.Fatalf("opening = %q", got)
		}
	}
	open("en-GB") // the same language
	open("de")    // not spoken: the default, which is en
	if n := doer.n.Load(); n != 1 {
		t.Errorf("http calls for 7 openings in English = %d, want 1", n)
	}
	if got := open("ru"); got != "Мы работаем" {
		t.Errorf("Russian opening = %q", got)
	}
	if n := doer.n.Load(); n != 2 {
		t.Errorf("http calls after a Russian opening = %d, want 2", n)
	}
	now = now.Add(openingTTL)
	open("en")
	if n := doer.n.Load(); n != 3 {
		t.Errorf("http calls after the TTL = %d, want 3", n)
	}
	rt.SetEngine(p.NewEngine(flows.Options{HTTP: doer}))
	open("en")
	if n := doer.n.Load(); n != 4 {
		t.Errorf("http calls after a reload = %d, want 4", n)
	}
}
