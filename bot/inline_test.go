package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// countingStore counts the durable writes of the message path and can hold
// or fail turn commits.
type countingStore struct {
	*store.DB
	enqueues, commits atomic.Int32
	hold              chan struct{} // when set, a commit with an event key waits for it
	entered           chan struct{} // signalled when a held commit starts waiting
	failKeyed         atomic.Int32  // commits with an event key to fail
}

func (s *countingStore) Enqueue(ctx context.Context, contactID, key string, data []byte) (uint64, bool, error) {
	s.enqueues.Add(1)
	return s.DB.Enqueue(ctx, contactID, key, data)
}

func (s *countingStore) Commit(ctx context.Context, t store.Turn) (store.TurnResult, error) {
	s.commits.Add(1)
	if t.EventKey != "" {
		if s.failKeyed.Add(-1) >= 0 {
			return store.TurnResult{}, errors.New("disk hiccup")
		}
		if s.hold != nil {
			s.entered <- struct{}{}
			<-s.hold
		}
	}
	return s.DB.Commit(ctx, t)
}

// hiPingHistory is the echo flow's history after "hi" and "ping".
var hiPingHistory = []string{"in: hi", "out: hello", "out: say something", "in: ping", "out: echo ping", "out: say something"}

func historyTexts(t *testing.T, db *store.DB, identity string) []string {
	t.Helper()
	c, err := db.ContactByIdentity(identity)
	if err != nil {
		t.Fatal(err)
	}
	h, err := db.History(c.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return texts(h)
}

// A message that finds its contact idle is answered before HandleInbound
// returns, with one commit that also records the event key: no inbox entry,
// and a redelivery is recognised.
func TestIdleContactIsAnsweredWithOneWrite(t *testing.T) {
	db := storetest.Open(t)
	s := &countingStore{DB: db}
	web := &recordingSender{name: channel.Web}
	rt := New(Config{Logger: quietLogger()}, s, echoEngine(t), web)
	rt.Start(context.Background())
	defer rt.Shutdown(context.Background())
	from := channel.Address{Channel: channel.Web, ID: "v"}
	ctx := context.Background()
	for _, e := range []channel.Inbound{
		{From: from, EventID: "1", Text: "hi"},
		{From: from, EventID: "2", Text: "ping"},
		{From: from, EventID: "2", Text: "ping"}, // redelivered
	} {
		if err := rt.HandleInbound(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.enqueues.Load(); n != 0 {
		t.Errorf("%d inbox writes; want 0", n)
	}
	if n := s.commits.Load(); n != 3 {
		t.Errorf("%d commits; want 3 (the redelivery's fails as a duplicate)", n)
	}
	if p, _ := db.PendingInbox(); len(p) != 0 {
		t.Errorf("inbox holds %d entries", len(p))
	}
	want := hiPingHistory
	if diff := cmp.Diff(want, historyTexts(t, db, "web:v")); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	flush(t, rt)
	if n := len(web.sent()); n != 4 {
		t.Errorf("%d replies sent, want 4", n)
	}
}

// While a message's turn runs in HandleInbound, its redelivery waits for it
// (and is dropped), and the contact's next message queues behind it.
func TestRedeliveryWaitsForTheRunningTurn(t *testing.T) {
	db := storetest.Open(t)
	s := &countingStore{DB: db, hold: make(chan struct{}), entered: make(chan struct{}, 4)}
	rt := New(Config{Logger: quietLogger()}, s, echoEngine(t), &recordingSender{name: channel.Web})
	rt.Start(context.Background())
	defer rt.Shutdown(context.Background())
	from := channel.Address{Channel: channel.Web, ID: "v"}
	ctx := context.Background()
	first := channel.Inbound{From: from, EventID: "1", Text: "hi"}
	results := make(chan error, 3)
	go func() { results <- rt.HandleInbound(ctx, first) }()
	<-s.entered // the first turn is committing
	var returned atomic.Int32
	var wg sync.WaitGroup
	for _, in := range []channel.Inbound{first, {From: from, EventID: "2", Text: "ping"}} {
		wg.Go(func() {
			results <- rt.HandleInbound(ctx, in)
			returned.Add(1)
		})
	}
	// The second message is recorded in the inbox and returns; the
	// redelivery keeps waiting for the running turn.
	waitFor(t, func() bool { return returned.Load() == 1 })
	time.Sleep(20 * time.Millisecond)
	if n := returned.Load(); n != 1 {
		t.Fatalf("%d calls returned while the turn runs; want 1 (the new message)", n)
	}
	close(s.hold)
	wg.Wait()
	for range 3 {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}
	flush(t, rt)
	want := hiPingHistory
	if diff := cmp.Diff(want, historyTexts(t, db, "web:v")); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

// A turn that cannot commit sends its message through the inbox, still
// ahead of the contact's later messages; a channel that needs an
// acknowledgement at once (Queue) always goes through the inbox.
func TestFailedOrQueuedTurnsGoThroughTheInbox(t *testing.T) {
	db := storetest.Open(t)
	s := &countingStore{DB: db}
	s.failKeyed.Store(1)
	rt := New(Config{Logger: quietLogger()}, s, echoEngine(t), &recordingSender{name: channel.Web})
	rt.Start(context.Background())
	defer rt.Shutdown(context.Background())
	from := channel.Address{Channel: channel.Web, ID: "v"}
	ctx := context.Background()
	if err := rt.HandleInbound(ctx, channel.Inbound{From: from, EventID: "1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if n := s.enqueues.Load(); n != 1 {
		t.Errorf("after a failed commit: %d inbox writes, want 1", n)
	}
	if err := rt.HandleInbound(ctx, channel.Inbound{From: from, EventID: "2", Text: "ping", Queue: true}); err != nil {
		t.Fatal(err)
	}
	if n := s.enqueues.Load(); n != 2 {
		t.Errorf("after a queued event: %d inbox writes, want 2", n)
	}
	flush(t, rt)
	want := hiPingHistory
	if diff := cmp.Diff(want, historyTexts(t, db, "web:v")); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if p, _ := db.PendingInbox(); len(p) != 0 {
		t.Errorf("inbox holds %d entries after the turns", len(p))
	}
}

// typingSender records typing signals besides replies.
type typingSender struct {
	recordingSender
	typing atomic.Int32
}

func (s *typingSender) SendTyping(context.Context, channel.Address) error {
	s.typing.Add(1)
	return nil
}

// The typing signal goes out only for a turn that takes a while.
func TestTypingOnlyForSlowTurns(t *testing.T) {
	db := storetest.Open(t)
	s := &countingStore{DB: db}
	web := &typingSender{recordingSender: recordingSender{name: channel.Web}}
	rt := New(Config{Logger: quietLogger(), TypingDelay: 200 * time.Millisecond}, s, echoEngine(t), web)
	rt.Start(context.Background())
	defer rt.Shutdown(context.Background())
	from := channel.Address{Channel: channel.Web, ID: "v"}
	ctx := context.Background()
	if err := rt.HandleInbound(ctx, channel.Inbound{From: from, EventID: "1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond)
	if n := web.typing.Load(); n != 0 {
		t.Errorf("a fast turn sent %d typing signals", n)
	}
	s.hold, s.entered = make(chan struct{}), make(chan struct{}, 1)
	go func() {
		<-s.entered
		time.Sleep(500 * time.Millisecond) // a slow turn
		close(s.hold)
	}()
	if err := rt.HandleInbound(ctx, channel.Inbound{From: from, EventID: "2", Text: "ping"}); err != nil {
		t.Fatal(err)
	}
	if n := web.typing.Load(); n != 1 {
		t.Errorf("a slow turn sent %d typing signals, want 1", n)
	}
}

// syncingSender is a channel that shows the stored history on connect.
type syncingSender struct{ recordingSender }

func (*syncingSender) SyncsHistory() {}

// Replies for a history-synced channel are pushed right after their turn,
// keyed by their history seq, and take no outbox entry; one that cannot be
// pushed is not retried (the history has it).
func TestHistorySyncedRepliesSkipTheOutbox(t *testing.T) {
	db := storetest.Open(t)
	web := &syncingSender{recordingSender{name: channel.Web}}
	web.fail = func(_ context.Context, n int, _ channel.Outbound) error {
		if n == 3 {
			return errors.New("tab closed")
		}
		return nil
	}
	rt := New(Config{Logger: quietLogger()}, db, echoEngine(t), web)
	rt.Start(context.Background())
	defer rt.Shutdown(context.Background())
	from := channel.Address{Channel: channel.Web, ID: "v"}
	ctx := context.Background()
	for i, text := range []string{"hi", "ping"} {
		if err := rt.HandleInbound(ctx, channel.Inbound{From: from, EventID: fmt.Sprint(i), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, rt)
	var got []string
	for _, o := range web.sent() {
		got = append(got, o.Key+" "+o.Text)
	}
	// History: 1 hi, 2 hello, 3 say something, 4 ping, 5 echo ping, 6 say
	// something; the third send ("echo ping") failed.
	if diff := cmp.Diff([]string{"2 hello", "3 say something", "6 say something"}, got); diff != "" {
		t.Errorf("pushed replies (-want +got):\n%s", diff)
	}
	if out, _ := db.PendingOutbox(); len(out) != 0 {
		t.Errorf("outbox holds %d entries", len(out))
	}
	want := hiPingHistory
	if diff := cmp.Diff(want, historyTexts(t, db, "web:v")); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}
