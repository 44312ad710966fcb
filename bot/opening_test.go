package bot

import (
	"context"
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
