package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// recordingSender records what it accepted; fail, when set, decides per
// call whether to refuse (and how).
type recordingSender struct {
	name channel.Name
	mu   sync.Mutex
	got  []channel.Outbound
	at   []time.Time
	fail func(ctx context.Context, n int, out channel.Outbound) error // n counts calls from 1
	n    int
}

func (s *recordingSender) Channel() channel.Name { return s.name }

func (s *recordingSender) Send(ctx context.Context, out channel.Outbound) error {
	s.mu.Lock()
	s.n++
	n := s.n
	fail := s.fail
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	if fail != nil {
		if err := fail(ctx, n, out); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.got = append(s.got, out)
	s.mu.Unlock()
	return nil
}

func (s *recordingSender) sent() []channel.Outbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]channel.Outbound(nil), s.got...)
}

// queueReplies commits turns that only put replies in the outbox: n replies
// to each address, texts "<addr> #i".
func queueReplies(t *testing.T, db *store.DB, addrs []channel.Address, n int) {
	t.Helper()
	ctx := context.Background()
	for _, a := range addrs {
		c, _, err := db.ResolveContact(ctx, a.String(), "", "")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			data, _ := json.Marshal(channel.Outbound{To: a, Text: fmt.Sprintf("%s #%d", a, i)})
			if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Outbox: []store.OutboxEntry{{
				ContactID: c.ID, Address: a.String(), Data: data, CreatedAt: time.Now(),
			}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func quietLogger() zerolog.Logger { return zerolog.Nop() }

func TestOutboxRestartDeliversEveryPendingReplyExactlyOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addrs := []channel.Address{{Channel: channel.Web, ID: "a"}, {Channel: channel.Web, ID: "b"}, {Channel: channel.Web, ID: "c"}}
	const perAddr = 10
	queueReplies(t, db, addrs, perAddr)

	// First run: the channel accepts 8 messages, then hangs until the
	// runtime shuts down (a platform outage at the moment of a restart).
	first := &recordingSender{name: channel.Web, fail: func(ctx context.Context, n int, _ channel.Outbound) error {
		if n > 8 {
			<-ctx.Done() // hangs until the runtime stops
			return fmt.Errorf("platform unavailable: %w", ctx.Err())
		}
		return nil
	}}
	rt := New(Config{Logger: quietLogger(), RetryBase: time.Hour}, db, nil, first)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(first.sent()) == 8 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	rt.Shutdown(ctx)
	cancel()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Second run on the same file: everything not yet accepted goes out.
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); storetest.CheckFile(t, path) }()
	second := &recordingSender{name: channel.Web}
	rt = New(Config{Logger: quietLogger()}, db, nil, second)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	flush(t, rt)
	rt.Shutdown(context.Background())

	count := map[string]int{}
	order := map[string][]string{}
	for _, o := range append(first.sent(), second.sent()...) {
		count[o.Text]++
		order[o.To.String()] = append(order[o.To.String()], o.Text)
	}
	for _, a := range addrs {
		for i := 0; i < perAddr; i++ {
			text := fmt.Sprintf("%s #%d", a, i)
			if count[text] != 1 {
				t.Errorf("%q delivered %d times, want exactly once", text, count[text])
			}
		}
		for i, text := range order[a.String()] {
			if want := fmt.Sprintf("%s #%d", a, i); text != want {
				t.Errorf("%s: reply %d is %q, want %q (order per customer broken)", a, i, text, want)
				break
			}
		}
	}
	if n := db.OutboxDepth(); n != 0 {
		t.Errorf("outbox depth after delivery = %d, want 0", n)
	}
}

func TestOutboxHonoursRetryAfterAndRetriesFailures(t *testing.T) {
	db := storetest.Open(t)
	addr := channel.Address{Channel: channel.Telegram, ID: "42"}
	queueReplies(t, db, []channel.Address{addr}, 2)
	s := &recordingSender{name: channel.Telegram, fail: func(ctx context.Context, n int, _ channel.Outbound) error {
		switch n {
		case 1:
			return &channel.RetryAfterError{After: 300 * time.Millisecond, Err: errors.New("429")}
		case 2:
			return errors.New("connection reset")
		}
		return nil
	}}
	rt := New(Config{Logger: quietLogger(), RetryBase: 50 * time.Millisecond}, db, nil, s)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(s.sent()) == 2 })
	rt.Shutdown(context.Background())

	s.mu.Lock()
	at := s.at
	s.mu.Unlock()
	if len(at) != 4 {
		t.Fatalf("send attempts = %d, want 4 (429, failure, then two successes)", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < 300*time.Millisecond {
		t.Errorf("retried %v after a 429 with retry_after 300ms", gap)
	}
	if gap := at[2].Sub(at[1]); gap < 40*time.Millisecond {
		t.Errorf("retried %v after a failure, want the backoff (~50ms)", gap)
	}
	got := s.sent()
	if got[0].Text != addr.String()+" #0" || got[1].Text != addr.String()+" #1" {
		t.Errorf("delivered %q, %q: order broken by retries", got[0].Text, got[1].Text)
	}
	if got[0].Key == "" || got[0].Key == got[1].Key {
		t.Errorf("outbound keys %q, %q: want stable distinct keys for idempotency", got[0].Key, got[1].Key)
	}
}

func TestOutboxDropsPermanentFailuresWithAnEvent(t *testing.T) {
	db := storetest.Open(t)
	addr := channel.Address{Channel: channel.VK, ID: "7"}
	queueReplies(t, db, []channel.Address{addr}, 2)
	s := &recordingSender{name: channel.VK, fail: func(ctx context.Context, n int, _ channel.Outbound) error {
		if n == 1 {
			return &channel.PermanentError{Err: errors.New("user blocked the bot")}
		}
		return nil
	}}
	rt := New(Config{Logger: quietLogger()}, db, nil, s)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(s.sent()) == 1 })
	rt.Shutdown(context.Background())
	if got := s.sent()[0].Text; got != addr.String()+" #1" {
		t.Errorf("delivered %q, want the second reply", got)
	}
	var failed int
	db.Events(time.Time{}, time.Now().Add(time.Hour), func(e store.Event) error {
		if e.Type == "send_failed" {
			failed++
		}
		return nil
	})
	if failed != 1 {
		t.Errorf("send_failed events = %d, want 1", failed)
	}
	if n := db.OutboxDepth(); n != 0 {
		t.Errorf("outbox depth = %d, want 0", n)
	}
}

func flush(t *testing.T, rt *Runtime) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// gatedRemovals holds the removal of delivered replies until release is
// closed, as a slow disk would.
type gatedRemovals struct {
	*store.DB
	release chan struct{}
}

func (g gatedRemovals) DeleteOutboxes(ctx context.Context, ids ...uint64) (int, error) {
	<-g.release
	return g.DB.DeleteOutboxes(ctx, ids...)
}

// A crash between a send and the durable removal of its entry sends that
// reply again. The address's next reply must wait for the removal, so at
// most the one reply in flight per address is repeated; other addresses
// are not held up.
func TestOutboxSendsAnAddresssNextReplyOnlyAfterTheRemovalIsDurable(t *testing.T) {
	db := storetest.Open(t)
	a := channel.Address{Channel: channel.Telegram, ID: "1"}
	b := channel.Address{Channel: channel.Telegram, ID: "2"}
	queueReplies(t, db, []channel.Address{a, b}, 2)
	g := gatedRemovals{DB: db, release: make(chan struct{})}
	var once sync.Once
	release := func() { once.Do(func() { close(g.release) }) }
	s := &recordingSender{name: channel.Telegram}
	rt := New(Config{Logger: quietLogger()}, g, nil, s)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.Background())
	defer release() // before the shutdown, which waits for the removals
	waitFor(t, func() bool { return len(s.sent()) >= 2 })
	time.Sleep(100 * time.Millisecond) // room for a wrong early send
	if got := s.sent(); len(got) != 2 || got[0].Text == got[1].Text {
		t.Fatalf("sent before the first removals landed: %v; want exactly %s #0 and %s #0", outTexts(got), a, b)
	}
	release()
	waitFor(t, func() bool { return len(s.sent()) == 4 })
	flush(t, rt)
	if n := db.OutboxDepth(); n != 0 {
		t.Errorf("outbox depth = %d, want 0", n)
	}
}

func outTexts(outs []channel.Outbound) []string {
	var s []string
	for _, o := range outs {
		s = append(s, o.Text)
	}
	return s
}

// joiningSender is a channel that takes a turn's texts as one message.
type joiningSender struct{ *recordingSender }

func (joiningSender) JoinsTexts() bool { return true }

// A turn's answer and the question after it go as one message on a channel
// that allows it (half the sends against Telegram's bot-wide limit); a text
// with buttons ends a message, and the history keeps every text apart.
func TestTurnTextsGoAsOneMessageWhereTheChannelAllows(t *testing.T) {
	db := storetest.Open(t)
	tg := joiningSender{&recordingSender{name: channel.Telegram}}
	rt := New(Config{Logger: quietLogger()}, db, echoEngine(t), tg)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	from := channel.Address{Channel: channel.Telegram, ID: "5"}
	for i, text := range []string{"hi", "first", "second"} {
		if err := rt.HandleInbound(context.Background(), channel.Inbound{From: from, EventID: fmt.Sprint(i), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, rt)
	rt.Shutdown(context.Background())
	// "hello" has a button: it ends its message; "say something" is then
	// the start of the next one.
	want := []string{"hello", "say something", "echo first\n\nsay something", "echo second\n\nsay something"}
	if diff := cmp.Diff(want, outTexts(tg.sent())); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if got := tg.sent()[0].Buttons; len(got) != 1 || got[0].Value != "ping" {
		t.Errorf("greeting buttons %v, want the Ping button", got)
	}
	c, err := db.ContactByIdentity(from.String())
	if err != nil {
		t.Fatal(err)
	}
	hist, err := db.History(c.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(hist); got != 9 {
		t.Errorf("history has %d messages, want 9 (3 in, 6 out, kept apart): %q", got, texts(hist))
	}
}

func TestJoinTextsKeepsLimitsButtonsAndSenders(t *testing.T) {
	to := channel.Address{Channel: channel.Telegram, ID: "1"}
	btn := []channel.Button{{Text: "Да", Value: "yes"}}
	cases := []struct {
		name string
		a, b channel.Outbound
		max  int
		want string // "" = not joined
	}{
		{"plain", channel.Outbound{To: to, Text: "a"}, channel.Outbound{To: to, Text: "b", Buttons: btn}, 10, "a\n\nb"},
		{"fits exactly", channel.Outbound{To: to, Text: "ааа"}, channel.Outbound{To: to, Text: "ббб"}, 8, "ааа\n\nббб"},
		{"one rune over", channel.Outbound{To: to, Text: "ааа"}, channel.Outbound{To: to, Text: "бббб"}, 8, ""},
		{"earlier has buttons", channel.Outbound{To: to, Text: "a", Buttons: btn}, channel.Outbound{To: to, Text: "b"}, 10, ""},
		{"later has an image", channel.Outbound{To: to, Text: "a"}, channel.Outbound{To: to, Text: "b", Image: "http://x/y.png"}, 10, ""},
		{"another sender", channel.Outbound{To: to, Text: "a"}, channel.Outbound{To: to, Text: "b", Sender: "Anna"}, 10, ""},
		{"another chat", channel.Outbound{To: to, Text: "a"}, channel.Outbound{To: channel.Address{Channel: channel.Telegram, ID: "2"}, Text: "b"}, 10, ""},
		{"blank text", channel.Outbound{To: to, Text: " "}, channel.Outbound{To: to, Text: "b"}, 10, ""},
	}
	for _, c := range cases {
		got, ok := joinTexts(c.a, c.b, c.max)
		switch {
		case c.want == "" && ok:
			t.Errorf("%s: joined into %q, want two messages", c.name, got.Text)
		case c.want != "" && (!ok || got.Text != c.want):
			t.Errorf("%s: got %q (joined %v), want %q", c.name, got.Text, ok, c.want)
		case ok && len(got.Buttons) != len(c.b.Buttons):
			t.Errorf("%s: buttons %v, want the later message's %v", c.name, got.Buttons, c.b.Buttons)
		}
	}
}

// VK drops a repeat by its random_id, so its replies do not wait for the
// previous removal.
func TestOutboxDoesNotHoldVKRepliesForTheRemoval(t *testing.T) {
	db := storetest.Open(t)
	a := channel.Address{Channel: channel.VK, ID: "7"}
	queueReplies(t, db, []channel.Address{a}, 2)
	g := gatedRemovals{DB: db, release: make(chan struct{})}
	s := &recordingSender{name: channel.VK}
	rt := New(Config{Logger: quietLogger()}, g, nil, s)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.Background())
	defer close(g.release)
	waitFor(t, func() bool { return len(s.sent()) == 2 })
}

func (s *slots) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiting[0]) + len(s.waiting[1])
}

// When every send slot is taken, a turn's first reply gets the next free
// one before the follow-ups that waited longer.
func TestSendSlotsServeFirstRepliesFirst(t *testing.T) {
	s := &slots{free: 1}
	s.acquire(false)
	var mu sync.Mutex
	var order []string
	take := func(name string, first bool) {
		s.acquire(first)
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
		s.release()
	}
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { take(fmt.Sprint("follow-up ", i), false) })
		waitFor(t, func() bool { return s.queued() == i+1 })
	}
	wg.Go(func() { take("first reply", true) })
	waitFor(t, func() bool { return s.queued() == 4 })
	s.release()
	wg.Wait()
	if order[0] != "first reply" {
		t.Errorf("slots went to %q, want the first reply first", order)
	}
	if s.free != 1 {
		t.Errorf("%d free slots after every release, want 1", s.free)
	}
}
