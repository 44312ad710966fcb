package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
)

func openClock(t *testing.T) (*store.DB, *storetest.Clock) {
	t.Helper()
	clk := storetest.NewClock(t0)
	return storetest.OpenWith(t, store.Options{Clock: clk.Now}), clk
}

func mustContact(t *testing.T, db *store.DB, identity string) store.Contact {
	t.Helper()
	c, _, err := db.ResolveContact(ctx, identity, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResolveContact(t *testing.T) {
	db, clk := openClock(t)
	c, created, err := db.ResolveContact(ctx, "telegram:42", "", "ru")
	if err != nil || !created {
		t.Fatalf("ResolveContact = %+v, %v, %v; want a new contact", c, created, err)
	}
	want := store.Contact{ID: c.ID, Lang: "ru", Identities: []string{"telegram:42"}, CreatedAt: t0, UpdatedAt: t0, Rev: 1}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("created contact (-want +got):\n%s", diff)
	}
	clk.Advance(time.Minute)
	// A later event brings a display name: it fills the empty one only.
	again, created, err := db.ResolveContact(ctx, "telegram:42", "Anna", "en")
	if err != nil || created {
		t.Fatalf("second ResolveContact: created=%v err=%v", created, err)
	}
	want.Name, want.UpdatedAt, want.Rev = "Anna", t0.Add(time.Minute), 2
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("resolved contact (-want +got):\n%s", diff)
	}
	byID, err := db.Contact(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, byID); diff != "" {
		t.Errorf("Contact(id) (-want +got):\n%s", diff)
	}
	if _, err := db.ContactByIdentity("vk:1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown identity: err = %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "telegram", "telegram:", ":42", "web:a\x00b"} {
		if _, _, err := db.ResolveContact(ctx, bad, "", ""); err == nil {
			t.Errorf("ResolveContact(%q) accepted a bad identity", bad)
		}
	}
}

func TestResolveContactConcurrentCreatesOne(t *testing.T) {
	db := storetest.Open(t)
	ids := make(chan string, 16)
	for range 16 {
		go func() {
			c, _, err := db.ResolveContact(ctx, "web:visitor", "", "")
			if err != nil {
				t.Error(err)
			}
			ids <- c.ID
		}()
	}
	first := <-ids
	for range 15 {
		if id := <-ids; id != first {
			t.Errorf("concurrent ResolveContact gave %q and %q", first, id)
		}
	}
}

func turnFor(cid string, inboxSeq uint64, text string) store.Turn {
	return store.Turn{
		ContactID: cid,
		InboxSeq:  inboxSeq,
		Session:   []byte(`{"node":"menu"}`),
		Messages: []store.Message{
			{Dir: store.DirIn, Channel: "telegram", Address: "telegram:42", Text: text, Sender: "customer"},
			{Dir: store.DirOut, Channel: "telegram", Address: "telegram:42", Text: "re: " + text, Sender: "bot",
				Buttons: []store.Button{{Text: "Menu", Value: "menu"}}},
		},
		Events: []store.Event{{Type: "message", Flow: "main", Node: "menu"}},
		Outbox: []store.OutboxEntry{{Address: "telegram:42", Data: []byte("re: " + text)}},
	}
}

func TestCommitTurn(t *testing.T) {
	db, _ := openClock(t)
	c := mustContact(t, db, "telegram:42")
	seq, dup, err := db.Enqueue(ctx, c.ID, "tg:1", []byte(`{"text":"hi"}`))
	if err != nil || dup || seq == 0 {
		t.Fatalf("Enqueue = %d, %v, %v", seq, dup, err)
	}
	turn := turnFor(c.ID, seq, "hi")
	turn.Contact = &store.Contact{Name: "Anna", Fields: map[string]string{"order": "123456"},
		Identities: []string{"telegram:42", "vk:7"}}
	turn.OpenTicket = &store.Ticket{Reason: "requested", Priority: 1}
	res, err := db.Commit(ctx, turn)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.TurnResult{MessageSeqs: []uint64{1, 2}, OutboxIDs: []uint64{1}, TicketID: 1}, res); diff != "" {
		t.Errorf("TurnResult (-want +got):\n%s", diff)
	}
	if pending, err := db.PendingInbox(); err != nil || len(pending) != 0 {
		t.Errorf("PendingInbox after the turn = %v, %v; want empty", pending, err)
	}
	if s, err := db.Session(c.ID); err != nil || string(s) != `{"node":"menu"}` {
		t.Errorf("Session = %q, %v", s, err)
	}
	hist, err := db.History(c.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantHist := []store.Message{
		{ContactID: c.ID, Seq: 1, Dir: "in", Channel: "telegram", Address: "telegram:42", Text: "hi", Sender: "customer", At: t0},
		{ContactID: c.ID, Seq: 2, Dir: "out", Channel: "telegram", Address: "telegram:42", Text: "re: hi", Sender: "bot",
			Buttons: []store.Button{{Text: "Menu", Value: "menu"}}, At: t0},
	}
	if diff := cmp.Diff(wantHist, hist); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	// The linked identity now resolves to the same contact.
	linked, err := db.ContactByIdentity("vk:7")
	if err != nil || linked.ID != c.ID || linked.Name != "Anna" || linked.Fields["order"] != "123456" {
		t.Errorf("ContactByIdentity(vk:7) = %+v, %v", linked, err)
	}
	out, err := db.PendingOutbox()
	if err != nil {
		t.Fatal(err)
	}
	wantOut := []store.OutboxEntry{{ID: 1, ContactID: c.ID, Address: "telegram:42", Data: []byte("re: hi"), CreatedAt: t0}}
	if diff := cmp.Diff(wantOut, out); diff != "" {
		t.Errorf("PendingOutbox (-want +got):\n%s", diff)
	}
	if got := db.OutboxDepth(); got != 1 {
		t.Errorf("OutboxDepth = %d, want 1", got)
	}
	tk, ok, err := db.OpenTicketFor(c.ID)
	if err != nil || !ok || tk.ID != 1 || tk.Status != store.TicketQueued || tk.CreatedAt != t0 {
		t.Errorf("OpenTicketFor = %+v, %v, %v", tk, ok, err)
	}
	var evs []store.Event
	if err := db.Events(time.Time{}, time.Time{}, func(e store.Event) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatal(err)
	}
	wantEv := []store.Event{{Seq: 1, At: t0, ContactID: c.ID, Type: "message", Flow: "main", Node: "menu"}}
	if diff := cmp.Diff(wantEv, evs); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}
	// Committing the same inbox entry again is refused and writes nothing.
	if _, err := db.Commit(ctx, turnFor(c.ID, seq, "hi")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Commit of inbox entry %d: err = %v, want ErrNotFound", seq, err)
	}
	if hist, _ := db.History(c.ID, 0, 0); len(hist) != 2 {
		t.Errorf("history has %d messages after a refused duplicate turn, want 2", len(hist))
	}
}

func TestCommitRejectsBadTurns(t *testing.T) {
	db := storetest.Open(t)
	c := mustContact(t, db, "web:v1")
	other := mustContact(t, db, "web:v2")
	cases := map[string]store.Turn{
		"no contact":      {},
		"unknown contact": {ContactID: "c_missing", Session: []byte("x")},
		"bad direction":   {ContactID: c.ID, Messages: []store.Message{{Dir: "sideways"}}},
		"foreign message": {ContactID: c.ID, Messages: []store.Message{{ContactID: other.ID, Dir: "in"}}},
		"event type":      {ContactID: c.ID, Events: []store.Event{{}}},
		"outbox address":  {ContactID: c.ID, Outbox: []store.OutboxEntry{{Data: []byte("x")}}},
		"identity taken":  {ContactID: c.ID, Contact: &store.Contact{Identities: []string{"web:v1", "web:v2"}}},
		"no identities":   {ContactID: c.ID, Contact: &store.Contact{}},
		"bad priority":    {ContactID: c.ID, OpenTicket: &store.Ticket{Priority: 9}},
		"inbox missing":   {ContactID: c.ID, InboxSeq: 99},
	}
	for name, turn := range cases {
		if _, err := db.Commit(ctx, turn); err == nil {
			t.Errorf("%s: Commit accepted %+v", name, turn)
		}
	}
	if hist, _ := db.History(c.ID, 0, 0); len(hist) != 0 {
		t.Errorf("rejected turns left %d messages", len(hist))
	}
	if got, _ := db.ContactByIdentity("web:v2"); got.ID != other.ID {
		t.Errorf("web:v2 moved to %q", got.ID)
	}
}

// A failing UpdateTicket Fn leaves nothing of its turn behind.
func TestTurnAtomicity(t *testing.T) {
	db := storetest.Open(t)
	c := mustContact(t, db, "telegram:42")
	tk, err := db.OpenTicket(ctx, store.Ticket{ContactID: c.ID, Reason: "negative"})
	if err != nil {
		t.Fatal(err)
	}
	seq, _, err := db.Enqueue(ctx, c.ID, "tg:9", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("agent already replied")
	turn := turnFor(c.ID, seq, "hello")
	turn.Contact = &store.Contact{Name: "Changed", Identities: []string{"telegram:42", "web:x"}}
	turn.UpdateTicket = &store.TicketChange{ID: tk.ID, Fn: func(t *store.Ticket) error {
		t.Summary = "written before the failure"
		return boom
	}}
	if _, err := db.Commit(ctx, turn); !errors.Is(err, boom) {
		t.Fatalf("Commit err = %v, want the Fn's error", err)
	}
	if s, _ := db.Session(c.ID); s != nil {
		t.Errorf("session written: %q", s)
	}
	if h, _ := db.History(c.ID, 0, 0); len(h) != 0 {
		t.Errorf("history written: %+v", h)
	}
	if o, _ := db.PendingOutbox(); len(o) != 0 || db.OutboxDepth() != 0 {
		t.Errorf("outbox written: %+v (depth %d)", o, db.OutboxDepth())
	}
	if in, _ := db.PendingInbox(); len(in) != 1 || in[0].Seq != seq {
		t.Errorf("inbox entry consumed: %+v", in)
	}
	if _, err := db.ContactByIdentity("web:x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("identity linked by a failed turn: %v", err)
	}
	if got, _ := db.Ticket(tk.ID); got.Summary != "" {
		t.Errorf("ticket changed: %+v", got)
	}
	n := 0
	_ = db.Events(time.Time{}, time.Time{}, func(store.Event) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d events written", n)
	}
}

func TestDedupe(t *testing.T) {
	clk := storetest.NewClock(t0)
	db := storetest.OpenWith(t, store.Options{Clock: clk.Now, DedupeRetention: 24 * time.Hour})
	c := mustContact(t, db, "vk:5")
	s1, dup, err := db.Enqueue(ctx, c.ID, "vk:ev1", []byte("first"))
	if err != nil || dup {
		t.Fatalf("first Enqueue: %d %v %v", s1, dup, err)
	}
	s2, dup, err := db.Enqueue(ctx, c.ID, "vk:ev1", []byte("redelivered"))
	if err != nil || !dup || s2 != 0 {
		t.Fatalf("redelivered Enqueue = %d, %v, %v; want 0, true, nil", s2, dup, err)
	}
	if _, dup, _ := db.Enqueue(ctx, c.ID, "vk:ev2", []byte("second")); dup {
		t.Error("a new event key reported as duplicate")
	}
	// No dedupe without a key.
	for range 2 {
		if _, dup, err := db.Enqueue(ctx, c.ID, "", []byte("keyless")); dup || err != nil {
			t.Errorf("keyless Enqueue: dup=%v err=%v", dup, err)
		}
	}
	pending, err := db.PendingInbox()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range pending {
		got = append(got, fmt.Sprintf("%d:%s:%s", e.Seq, e.EventKey, e.Data))
	}
	if diff := cmp.Diff([]string{"1:vk:ev1:first", "2:vk:ev2:second", "3::keyless", "4::keyless"}, got); diff != "" {
		t.Errorf("PendingInbox (-want +got):\n%s", diff)
	}
	if _, _, err := db.Enqueue(ctx, "c_nobody", "k", nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Enqueue for a missing contact: %v", err)
	}

	// Within the retention a key is remembered; after it, it is not.
	clk.Advance(23 * time.Hour)
	if _, dup, _ := db.Enqueue(ctx, c.ID, "vk:ev3", nil); dup {
		t.Error("vk:ev3 duplicate")
	}
	if _, dup, _ := db.Enqueue(ctx, c.ID, "vk:ev1", nil); !dup {
		t.Error("vk:ev1 forgotten inside the retention")
	}
	clk.Advance(2 * time.Hour)
	if _, dup, _ := db.Enqueue(ctx, c.ID, "vk:ev1", nil); dup {
		t.Error("vk:ev1 still a duplicate after the retention")
	}
	if _, dup, _ := db.Enqueue(ctx, c.ID, "vk:ev3", nil); !dup {
		t.Error("vk:ev3 forgotten before its retention")
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

// A contact's last 64 event keys are remembered: a redelivery comes for an
// event the channel did not see acknowledged, and a contact's events are
// acknowledged in order.
func TestDedupeRememberesTheContactsRecentEvents(t *testing.T) {
	db, _ := openClock(t)
	a, b := mustContact(t, db, "telegram:1"), mustContact(t, db, "telegram:2")
	for i := range 64 {
		if _, dup, err := db.Enqueue(ctx, a.ID, fmt.Sprint("tg:", i), nil); dup || err != nil {
			t.Fatalf("event %d: dup=%v err=%v", i, dup, err)
		}
	}
	if _, dup, _ := db.Enqueue(ctx, a.ID, "tg:0", nil); !dup {
		t.Error("the 64th most recent event is not recognised")
	}
	if _, dup, _ := db.Enqueue(ctx, b.ID, "tg:0", nil); dup {
		t.Error("another contact's event key counts as a duplicate")
	}
	if _, dup, _ := db.Enqueue(ctx, a.ID, "tg:64", nil); dup {
		t.Fatal("tg:64 duplicate")
	}
	if _, dup, _ := db.Enqueue(ctx, a.ID, "tg:0", nil); dup {
		t.Error("an event 65 back is still remembered; the ring holds 64")
	}
	if _, dup, _ := db.Enqueue(ctx, a.ID, "tg:2", nil); !dup {
		t.Error("tg:2 forgotten")
	}
	// A merge keeps both contacts' recent events on the survivor.
	if _, err := db.MergeContacts(ctx, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tg:0", "tg:64"} {
		if _, dup, _ := db.Enqueue(ctx, a.ID, k, nil); !dup {
			t.Errorf("%s not recognised after the merge", k)
		}
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

func TestOutbox(t *testing.T) {
	db, clk := openClock(t)
	c := mustContact(t, db, "telegram:1")
	for i := range 3 {
		turn := store.Turn{ContactID: c.ID, Outbox: []store.OutboxEntry{
			{Address: "telegram:1", Data: fmt.Appendf(nil, "m%da", i)},
			{Address: "telegram:1", Data: fmt.Appendf(nil, "m%db", i)},
		}}
		if _, err := db.Commit(ctx, turn); err != nil {
			t.Fatal(err)
		}
	}
	if got := db.OutboxDepth(); got != 6 {
		t.Errorf("OutboxDepth = %d, want 6", got)
	}
	later := t0.Add(30 * time.Second)
	if err := db.RescheduleOutbox(ctx, 2, 1, later); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteOutbox(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteOutbox(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteOutbox: %v, want ErrNotFound", err)
	}
	if err := db.RescheduleOutbox(ctx, 99, 1, later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RescheduleOutbox(99): %v, want ErrNotFound", err)
	}
	clk.Advance(time.Hour)
	out, err := db.PendingOutbox()
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID       uint64
		Data     string
		Attempts int
		Due      time.Time
	}
	var got []row
	for _, o := range out {
		got = append(got, row{o.ID, string(o.Data), o.Attempts, o.NotBefore})
	}
	want := []row{{2, "m0b", 1, later}, {3, "m1a", 0, time.Time{}}, {4, "m1b", 0, time.Time{}},
		{5, "m2a", 0, time.Time{}}, {6, "m2b", 0, time.Time{}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PendingOutbox (-want +got):\n%s", diff)
	}
	if got := db.OutboxDepth(); got != 5 {
		t.Errorf("OutboxDepth = %d, want 5", got)
	}
	// Removals collected from many deliveries: gone ids are skipped.
	if n, err := db.DeleteOutboxes(ctx, 1, 3, 5, 99); n != 2 || err != nil {
		t.Errorf("DeleteOutboxes(1, 3, 5, 99) = %d, %v; want 2, nil", n, err)
	}
	out, _ = db.PendingOutbox()
	var ids []uint64
	for _, o := range out {
		ids = append(ids, o.ID)
	}
	if diff := cmp.Diff([]uint64{2, 4, 6}, ids); diff != "" {
		t.Errorf("after DeleteOutboxes (-want +got):\n%s", diff)
	}
	if got := db.OutboxDepth(); got != 3 {
		t.Errorf("OutboxDepth = %d, want 3", got)
	}
}

// A turn that carries its event key is the event's durable record: a second
// turn or an Enqueue with the same key is a duplicate and writes nothing.
func TestTurnRecordsEventKey(t *testing.T) {
	db, _ := openClock(t)
	c := mustContact(t, db, "web:v1")
	turn := func(text string) store.Turn {
		return store.Turn{ContactID: c.ID, EventKey: "web:v1|m1", Session: []byte(text),
			Messages: []store.Message{{Dir: store.DirIn, Text: text}},
			Outbox:   []store.OutboxEntry{{Address: "web:v1", Data: []byte(text)}}}
	}
	if _, err := db.Commit(ctx, turn("first")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(ctx, turn("again")); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("second turn with the same event key: %v, want ErrDuplicate", err)
	}
	if _, dup, err := db.Enqueue(ctx, c.ID, "web:v1|m1", nil); err != nil || !dup {
		t.Errorf("Enqueue of a key a turn recorded: dup=%v err=%v", dup, err)
	}
	if _, _, err := db.Enqueue(ctx, c.ID, "web:v1|m2", nil); err != nil {
		t.Fatal(err)
	}
	t2 := turn("late")
	t2.EventKey = "web:v1|m2" // recorded by the Enqueue above
	if _, err := db.Commit(ctx, t2); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("turn for an enqueued key: %v, want ErrDuplicate", err)
	}
	if h, _ := db.History(c.ID, 0, 0); len(h) != 1 || h[0].Text != "first" {
		t.Errorf("history %+v; want only the first turn's message", h)
	}
	if s, _ := db.Session(c.ID); string(s) != "first" {
		t.Errorf("session %q; want the first turn's", s)
	}
	if out, _ := db.PendingOutbox(); len(out) != 1 {
		t.Errorf("outbox has %d entries, want 1", len(out))
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

func TestHistoryPaging(t *testing.T) {
	db := storetest.Open(t)
	a := mustContact(t, db, "web:a")
	b := mustContact(t, db, "web:b")
	for i := range 5 {
		for _, c := range []store.Contact{a, b} {
			_, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Messages: []store.Message{
				{Dir: "in", Text: fmt.Sprintf("%s-%d", c.Identities[0], i)}}})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	texts := func(ms []store.Message, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%d:%s", m.Seq, m.Text))
		}
		return out
	}
	if diff := cmp.Diff([]string{"3:web:a-2", "4:web:a-3"}, texts(db.History(a.ID, 2, 2))); diff != "" {
		t.Errorf("History(a, 2, 2) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"4:web:b-3", "5:web:b-4"}, texts(db.LastMessages(b.ID, 2))); diff != "" {
		t.Errorf("LastMessages(b, 2) (-want +got):\n%s", diff)
	}
	if got := texts(db.LastMessages(a.ID, 50)); len(got) != 5 {
		t.Errorf("LastMessages(a, 50) = %v, want all 5", got)
	}
	if got := texts(db.History("c_none", 0, 0)); len(got) != 0 {
		t.Errorf("History of unknown contact = %v", got)
	}
}

func TestEventsByTime(t *testing.T) {
	db := storetest.Open(t)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	// Appended out of time order: read back in time order.
	err := db.AppendEvents(ctx,
		store.Event{Type: "c", At: at(30)},
		store.Event{Type: "a", At: at(10), Data: map[string]string{"k": "v"}},
		store.Event{Type: "b", At: at(20)},
		store.Event{Type: "d", At: at(40)},
	)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = db.Events(at(10), at(40), func(e store.Event) error {
		got = append(got, fmt.Sprintf("%s@%d", e.Type, e.Seq))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a@2", "b@3", "c@1"}, got); diff != "" {
		t.Errorf("Events [10m, 40m) (-want +got):\n%s", diff)
	}
	stop := errors.New("stop")
	if err := db.Events(time.Time{}, time.Time{}, func(store.Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Events did not return the callback's error: %v", err)
	}
	if err := db.AppendEvents(ctx, store.Event{}); err == nil {
		t.Error("AppendEvents accepted an event without type")
	}
}

// TestTurnEventsAreOneRecord: a turn's events are stored as one record
// under one time; they read back one by one, in order, with the turn's
// time, beside single events; export and forget see each of them.
func TestTurnEventsAreOneRecord(t *testing.T) {
	db, clk := openClock(t)
	c := mustContact(t, db, "telegram:7")
	d := mustContact(t, db, "telegram:8")
	if err := db.AppendEvents(ctx, store.Event{Type: "before", ContactID: d.ID}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	turnAt := clk.Now()
	_, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Events: []store.Event{
		{Type: "message_in", Data: map[string]string{"address": "telegram:7"}},
		{Type: "node", Flow: "main", Node: "menu", At: turnAt.Add(time.Millisecond)},
		{Type: "message_out", At: turnAt.Add(2 * time.Millisecond)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if _, err := db.Commit(ctx, store.Turn{ContactID: d.ID, Events: []store.Event{{Type: "single"}}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = db.Events(time.Time{}, time.Time{}, func(e store.Event) error {
		got = append(got, fmt.Sprintf("%s %s@%d %s", e.Type, e.ContactID, e.Seq, e.At.Sub(t0)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"before " + d.ID + "@1 0s",
		"message_in " + c.ID + "@2 1s", "node " + c.ID + "@2 1s", "message_out " + c.ID + "@2 1s",
		"single " + d.ID + "@3 2s",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// A time range cuts between records, never inside a turn's.
	got = nil
	db.Events(turnAt, turnAt.Add(time.Nanosecond), func(e store.Event) error { got = append(got, e.Type); return nil })
	if diff := cmp.Diff([]string{"message_in", "node", "message_out"}, got); diff != "" {
		t.Errorf("events of the turn's instant (-want +got):\n%s", diff)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	exp, err := db.ExportContact(c.ID)
	if err != nil || len(exp.Events) != 3 {
		t.Fatalf("export has %d events (%v), want the turn's 3", len(exp.Events), err)
	}
	res, err := db.ForgetContact(ctx, c.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 3 {
		t.Errorf("forget anonymised %d events, want 3", res.Events)
	}
	got = nil
	db.Events(time.Time{}, time.Time{}, func(e store.Event) error {
		if e.ContactID == c.ID || e.Data["address"] == "telegram:7" {
			t.Errorf("event %+v still names the forgotten contact", e)
		}
		got = append(got, e.Type)
		return nil
	})
	if diff := cmp.Diff([]string{"before", "message_in", "node", "message_out", "single", "contact_forgotten"}, got); diff != "" {
		t.Errorf("events after forget (-want +got):\n%s", diff)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestSessionsIteratesInChunks(t *testing.T) {
	db := storetest.OpenWith(t, store.Options{NoSync: true})
	const n = 1300 // more than two read chunks
	for i := range n {
		c := mustContact(t, db, fmt.Sprintf("web:%05d", i))
		if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Session: []byte(c.Identities[0])}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	prev := ""
	err := db.Sessions(func(id string, state []byte) error {
		if id <= prev {
			t.Errorf("Sessions out of order: %q after %q", id, prev)
		}
		prev = id
		seen[string(state)] = true
		// Writing from the callback must not deadlock: it runs outside the read tx.
		if len(seen) == 700 {
			_, _, err := db.ResolveContact(ctx, "web:during-scan", "", "")
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Errorf("Sessions visited %d, want %d", len(seen), n)
	}
}

func TestAgents(t *testing.T) {
	db, _ := openClock(t)
	a := store.Agent{Name: "olga", DisplayName: "Ольга", Role: "agent", PasswordHash: []byte("$2a$12$hash")}
	if err := db.PutAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := db.AgentByName("OLGA")
	if err != nil {
		t.Fatal(err)
	}
	a.ID, a.CreatedAt = got.ID, t0
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("AgentByName (-want +got):\n%s", diff)
	}
	if err := db.PutAgent(ctx, store.Agent{ID: "a_other", Name: "Olga", Role: "lead"}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("duplicate name: %v, want ErrDuplicate", err)
	}
	// Renaming frees the old name.
	a.Name = "olga.k"
	if err := db.PutAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AgentByName("olga"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old name still resolves: %v", err)
	}
	if err := db.PutAgent(ctx, store.Agent{ID: "a_other", Name: "olga", Role: "lead"}); err != nil {
		t.Errorf("reusing a freed name: %v", err)
	}
	all, err := db.Agents()
	if err != nil || len(all) != 2 {
		t.Errorf("Agents = %+v, %v", all, err)
	}
	byID, err := db.Agent(a.ID)
	if err != nil || byID.Name != "olga.k" || string(byID.PasswordHash) != "$2a$12$hash" {
		t.Errorf("Agent(id) = %+v, %v", byID, err)
	}
	for _, bad := range []store.Agent{{Role: "agent"}, {Name: "two words", Role: "agent"}, {Name: "x"}} {
		if err := db.PutAgent(ctx, bad); err == nil {
			t.Errorf("PutAgent accepted %+v", bad)
		}
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := t.TempDir() + "/sub/dir/parley.db"
	clk := storetest.NewClock(t0)
	db, err := store.Open(path, store.Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := mustContact(t, db, "telegram:42")
	seq, _, _ := db.Enqueue(ctx, c.ID, "tg:1", []byte("pending"))
	if _, err := db.Commit(ctx, turnFor(c.ID, 0, "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenTicket(ctx, store.Ticket{ContactID: c.ID}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Enqueue(ctx, c.ID, "tg:2", nil); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Enqueue after Close: %v, want ErrClosed", err)
	}
	if _, err := db.Contact(c.ID); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Contact after Close: %v, want ErrClosed", err)
	}

	db2, err := store.Open(path, store.Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if err := db2.Check(); err != nil {
		t.Error(err)
	}
	got, err := db2.ContactByIdentity("telegram:42")
	if diff := cmp.Diff(c, got); diff != "" || err != nil {
		t.Errorf("contact after reopen (%v) (-want +got):\n%s", err, diff)
	}
	if in, _ := db2.PendingInbox(); len(in) != 1 || in[0].Seq != seq {
		t.Errorf("inbox after reopen = %+v", in)
	}
	if h, _ := db2.History(c.ID, 0, 0); len(h) != 2 {
		t.Errorf("history after reopen has %d messages", len(h))
	}
	if db2.OutboxDepth() != 1 {
		t.Errorf("OutboxDepth after reopen = %d, want 1", db2.OutboxDepth())
	}
	if _, ok, _ := db2.OpenTicketFor(c.ID); !ok {
		t.Error("open ticket lost")
	}
	if _, dup, _ := db2.Enqueue(ctx, c.ID, "tg:1", nil); !dup {
		t.Error("dedupe key lost across reopen")
	}
	// Sequences continue, they do not restart.
	res, err := db2.Commit(ctx, turnFor(c.ID, 0, "y"))
	if err != nil || !cmp.Equal(res.MessageSeqs, []uint64{3, 4}) || !cmp.Equal(res.OutboxIDs, []uint64{2}) {
		t.Errorf("turn after reopen = %+v, %v", res, err)
	}
}

func TestReadOnly(t *testing.T) {
	path := t.TempDir() + "/parley.db"
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := mustContact(t, db, "web:1")
	// The writer holds the file lock: a second open times out clearly.
	if _, err := store.Open(path, store.Options{ReadOnly: true, Timeout: 50 * time.Millisecond}); !errors.Is(err, store.ErrLocked) {
		t.Errorf("open of a locked file: %v, want ErrLocked", err)
	}
	db.Close()
	ro, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got, err := ro.Contact(c.ID); err != nil || got.ID != c.ID {
		t.Errorf("read-only Contact = %+v, %v", got, err)
	}
	if _, _, err := ro.ResolveContact(ctx, "web:2", "", ""); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("write on read-only: %v, want ErrReadOnly", err)
	}
	if _, err := store.Open(t.TempDir()+"/missing.db", store.Options{ReadOnly: true}); err == nil {
		t.Error("read-only open created a missing file")
	}
}

func TestContextCancelled(t *testing.T) {
	db := storetest.Open(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := db.ResolveContact(cctx, "web:1", "", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, err := db.ContactByIdentity("web:1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cancelled write was applied: %v", err)
	}
}

// Reads go through a cache of decoded contacts: a change is seen at once,
// and what a caller does to its copy stays its own.
func TestContactReadsSeeChangesAndOwnTheirCopies(t *testing.T) {
	db, _ := openClock(t)
	c := mustContact(t, db, "web:v1")
	c.Fields = map[string]string{"city": "Омск", "order": "123"}
	if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Contact: &c}); err != nil {
		t.Fatal(err)
	}
	got, err := db.ContactByIdentity("web:v1")
	if err != nil {
		t.Fatal(err)
	}
	got.Fields["city"] = "changed by the caller"
	got.Identities[0] = "changed:too"
	again, _ := db.Contact(c.ID)
	if again.Fields["city"] != "Омск" || again.Identities[0] != "web:v1" {
		t.Errorf("a caller's changes leaked into the next read: %+v", again)
	}
	upd := again
	upd.Fields = map[string]string{"order": "456"} // city removed
	if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Contact: &upd}); err != nil {
		t.Fatal(err)
	}
	for _, read := range []func() (store.Contact, error){
		func() (store.Contact, error) { return db.Contact(c.ID) },
		func() (store.Contact, error) { return db.ContactByIdentity("web:v1") },
	} {
		got, err := read()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"order": "456"}, got.Fields); diff != "" {
			t.Errorf("fields after an update (-want +got):\n%s", diff)
		}
	}
}
