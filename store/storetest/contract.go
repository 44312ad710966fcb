package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// Backend is the part of the store contract both backends (*store.DB on
// bbolt, *postgres.DB) implement so far; the Contract suite runs against
// each, so they cannot drift. It grows as the PostgreSQL store covers more.
type Backend interface {
	ResolveContact(ctx context.Context, identity, name, lang string) (store.Contact, bool, error)
	Contact(id string) (store.Contact, error)
	ContactByIdentity(identity string) (store.Contact, error)
	SetProfile(ctx context.Context, identity string, p store.Profile) error

	SavedReplies() ([]store.SavedReply, error)
	PutSavedReply(ctx context.Context, r store.SavedReply) (bool, error)
	DeleteSavedReply(ctx context.Context, id string) error
	PutCascade(ctx context.Context, id string, data []byte) error
	Cascade(id string) ([]byte, error)
	Cascades() ([]store.CascadeRecord, error)
	CreateAPIKey(ctx context.Context, name string, scopes []string) (store.APIKey, string, error)
	APIKeyBySecret(secret string) (store.APIKey, error)
	APIKeys() ([]store.APIKey, error)
	RevokeAPIKey(ctx context.Context, idOrName string) (store.APIKey, error)
	SetConsent(ctx context.Context, contactID, channel string, optedOut bool, source string) (bool, error)
	Consents(contactID string) ([]store.Consent, error)
	OptedOut(contactID, channel string) (bool, error)

	PutFile(ctx context.Context, f store.File, data []byte) (store.File, error)
	File(id string) (store.File, error)
	FileData(id string) (store.File, []byte, error)
	FileOf(contactID, id string) (store.File, error)
	PruneFiles(ctx context.Context, cutoff time.Time) (int, int64, error)

	Idempotency(key string) (store.Idempotent, bool, error)
	EnqueueTrigger(ctx context.Context, e store.TriggerEntry) (uint64, *store.Idempotent, error)
	WaitingTriggers() ([]store.WaitingTrigger, error)
	ReleaseTrigger(ctx context.Context, contactID string, seq uint64) (store.InboxEntry, error)
	ParkTrigger(ctx context.Context, inboxSeq uint64, contactID string, data []byte) error
	PruneIdempotency(ctx context.Context, before time.Time) (int, error)

	ContactFacts(id string) (store.ContactFacts, error)

	Commit(ctx context.Context, t store.Turn) (store.TurnResult, error)
	Session(contactID string) ([]byte, error)
	Sessions(fn func(contactID string, state []byte) error) error
	History(contactID string, afterSeq uint64, limit int) ([]store.Message, error)
	LastMessages(contactID string, n int) ([]store.Message, error)
	LastInboundAddress(contactID string) (string, error)

	Enqueue(ctx context.Context, contactID, eventKey string, data []byte) (uint64, bool, error)
	PendingInbox() ([]store.InboxEntry, error)
	PruneDedupe(ctx context.Context) (int, error)

	PendingOutbox() ([]store.OutboxEntry, error)
	DeleteOutbox(ctx context.Context, id uint64) error
	DeleteOutboxes(ctx context.Context, ids ...uint64) (int, error)
	RescheduleOutbox(ctx context.Context, id uint64, attempts int, notBefore time.Time) error
	OutboxDepth() int

	AppendEvents(ctx context.Context, evs ...store.Event) error
	Events(from, to time.Time, fn func(store.Event) error) error

	OpenTicket(ctx context.Context, t store.Ticket) (store.Ticket, error)
	Ticket(id uint64) (store.Ticket, error)
	OpenTicketFor(contactID string) (store.Ticket, bool, error)
	LastTicketFor(contactID string) (store.Ticket, bool, error)
	TicketStateFor(contactID string) (store.TicketState, error)
	Tickets(status string) ([]store.Ticket, error)
	UpdateTicket(ctx context.Context, id uint64, fn func(*store.Ticket) error) (store.Ticket, error)

	PutAgent(ctx context.Context, a store.Agent) error
	Agent(id string) (store.Agent, error)
	AgentByName(name string) (store.Agent, error)
	Agents() ([]store.Agent, error)
	DeleteAgent(ctx context.Context, id string) error

	PutConsoleSession(ctx context.Context, s store.ConsoleSession) error
	DeleteConsoleSessions(ctx context.Context, keys ...string) error
	ConsoleSessions() ([]store.ConsoleSession, error)

	Position(key string) (string, error)
	SetPosition(ctx context.Context, key, value string) error

	MergeContacts(ctx context.Context, intoID, fromID string) (store.Contact, error)
	Merge(ctx context.Context, intoID, fromID string, opts store.MergeOptions) (store.MergeResult, error)
	UndoMerge(ctx context.Context, mergeID uint64, by string) (store.MergeRecord, error)
	MergeRecordByID(id uint64) (store.MergeRecord, error)
	Merges(contactID string) ([]store.MergeRecord, error)

	IssueLinkCode(ctx context.Context, contactID, kind string, ttl time.Duration) (store.LinkCode, error)
	LookupLinkCode(code, by string) (store.LinkCode, error)
	LinkFailed(ctx context.Context, contactID string, window time.Duration) (int, error)
	LinkAttempts(contactID string, window time.Duration) (int, error)
	LinkByCode(ctx context.Context, req store.LinkRequest) (store.LinkResult, error)

	ExportContact(id string) (store.ContactExport, error)
	ForgetContact(ctx context.Context, id, by string) (store.ForgetResult, error)
}

// Config is what a contract test asks of a fresh backend.
type Config struct {
	Clock           func() time.Time
	DedupeRetention time.Duration // 0: the default
}

// Opener opens a fresh, empty backend for one test and closes it at cleanup.
type Opener func(t *testing.T, cfg Config) Backend

var (
	cctx = context.Background()
	ct0  = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
)

// Contract runs the store contract against the backend open gives.
func Contract(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"ResolveContact", contractResolveContact},
		{"ResolveContactConcurrentCreatesOne", contractResolveConcurrent},
		{"CommitTurn", contractCommitTurn},
		{"CommitRejectsBadTurns", contractRejectsBadTurns},
		{"TurnAtomicity", contractTurnAtomicity},
		{"StaleContactUpdateIsAConflict", contractStaleContact},
		{"Dedupe", contractDedupe},
		{"TurnRecordsEventKey", contractTurnEventKey},
		{"ConcurrentTurnsOfOneContact", contractConcurrentTurns},
		{"Outbox", contractOutbox},
		{"HistoryPaging", contractHistoryPaging},
		{"LastInboundAddress", contractLastInbound},
		{"EventsByTime", contractEventsByTime},
		{"TurnEventsShareOneSeq", contractTurnEvents},
		{"SessionsInOrder", contractSessions},
		{"Tickets", contractTickets},
		{"Agents", contractAgents},
		{"ConsoleSessions", contractConsoleSessions},
		{"Positions", contractPositions},
		{"MergeContacts", contractMerge},
		{"MergeContactsRefuses", contractMergeRefuses},
		{"MergeKeepsRecentEventKeys", contractMergeEventKeys},
		{"LookupLinkCode", contractLookupLinkCode},
		{"LinkAttemptsWindow", contractLinkAttempts},
		{"LinkByCodeSurvivorAndTurn", contractLinkByCode},
		{"LinkByCodeOpenTicketSurvives", contractLinkOpenTicket},
		{"StaleContactAfterMerge", contractStaleAfterMerge},
		{"UndoMerge", contractUndoMerge},
		{"UndoNestedMergesNewestFirst", contractUndoNested},
		{"ExportContact", contractExport},
		{"ForgetContact", contractForget},
		{"Profiles", contractProfiles},
		{"ProfilesDuringMerges", contractProfilesDuringMerges},
		{"SavedReplies", contractSavedReplies},
		{"SavedRepliesLimit", contractSavedRepliesLimit},
		{"Cascades", contractCascades},
		{"APIKeys", contractAPIKeys},
		{"Consent", contractConsent},
		{"ConsentMergeForget", contractConsentMergeForget},
		{"Files", contractFiles},
		{"PruneFiles", contractPruneFiles},
		{"TriggerIdempotent", contractTriggerIdempotent},
		{"ParkAndReleaseTrigger", contractParkAndRelease},
		{"TriggersMergeForget", contractTriggersMergeForget},
		{"ContactFacts", contractContactFacts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

func openAt(t *testing.T, open Opener) (Backend, *Clock) {
	clk := NewClock(ct0)
	return open(t, Config{Clock: clk.Now}), clk
}

func contact(t *testing.T, db Backend, identity string) store.Contact {
	t.Helper()
	c, _, err := db.ResolveContact(cctx, identity, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func same(t *testing.T, what string, want, got any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func contractResolveContact(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	c, created, err := db.ResolveContact(cctx, "telegram:42", "", "ru")
	if err != nil || !created {
		t.Fatalf("ResolveContact = %+v, %v, %v; want a new contact", c, created, err)
	}
	want := store.Contact{ID: c.ID, Lang: "ru", Identities: []string{"telegram:42"}, CreatedAt: ct0, UpdatedAt: ct0, Rev: 1}
	same(t, "created contact", want, c)
	if !strings.HasPrefix(c.ID, "c_") {
		t.Errorf("contact id %q, want c_...", c.ID)
	}
	clk.Advance(time.Minute)
	again, created, err := db.ResolveContact(cctx, "telegram:42", "Anna", "en")
	if err != nil || created {
		t.Fatalf("second ResolveContact: created=%v err=%v", created, err)
	}
	want.Name, want.UpdatedAt, want.Rev = "Anna", ct0.Add(time.Minute), 2
	same(t, "resolved contact", want, again)
	byID, err := db.Contact(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Contact(id)", want, byID)
	if _, err := db.ContactByIdentity("vk:1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown identity: err = %v, want ErrNotFound", err)
	}
	if _, err := db.Contact("c_none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown contact: err = %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "telegram", "telegram:", ":42", "web:a\x00b"} {
		if _, _, err := db.ResolveContact(cctx, bad, "", ""); err == nil {
			t.Errorf("ResolveContact(%q) accepted a bad identity", bad)
		}
	}
	long := strings.Repeat("я", 300)
	c2, _, err := db.ResolveContact(cctx, "web:long", long, "")
	if err != nil || len(c2.Name) != 200 {
		t.Errorf("a long channel name: %d bytes, %v; want it clipped to 200", len(c2.Name), err)
	}
}

func contractResolveConcurrent(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	ids := make(chan string, 16)
	for range 16 {
		go func() {
			c, _, err := db.ResolveContact(cctx, "web:visitor", "", "")
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
		Events: []store.Event{{Type: "message", Flow: "main", Node: "menu", Data: map[string]string{"k": "v"}}},
		Outbox: []store.OutboxEntry{{Address: "telegram:42", Data: []byte("re: " + text)}},
	}
}

func allEvents(t *testing.T, db Backend) []store.Event {
	t.Helper()
	var evs []store.Event
	if err := db.Events(time.Time{}, time.Time{}, func(e store.Event) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return evs
}

func contractCommitTurn(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	c := contact(t, db, "telegram:42")
	seq, dup, err := db.Enqueue(cctx, c.ID, "tg:1", []byte(`{"text":"hi"}`))
	if err != nil || dup || seq == 0 {
		t.Fatalf("Enqueue = %d, %v, %v", seq, dup, err)
	}
	turn := turnFor(c.ID, seq, "hi")
	turn.Contact = &store.Contact{Name: "Anna", Fields: map[string]string{"order": "123456"},
		Identities: []string{"telegram:42", "vk:7"}}
	turn.OpenTicket = &store.Ticket{Reason: "requested", Priority: 1}
	turn.Messages[1].Attachments = []string{"https://example.org/a.png"}
	res, err := db.Commit(cctx, turn)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.OutboxIDs) != 1 || res.TicketID == 0 {
		t.Fatalf("TurnResult = %+v; want one outbox id and a ticket", res)
	}
	same(t, "message seqs", []uint64{1, 2}, res.MessageSeqs)
	if pending, err := db.PendingInbox(); err != nil || len(pending) != 0 {
		t.Errorf("PendingInbox after the turn = %v, %v; want empty", pending, err)
	}
	if s, err := db.Session(c.ID); err != nil || string(s) != `{"node":"menu"}` {
		t.Errorf("Session = %q, %v", s, err)
	}
	if s, err := db.Session("c_none"); err != nil || s != nil {
		t.Errorf("Session of an unknown contact = %q, %v; want nil, nil", s, err)
	}
	hist, err := db.History(c.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantHist := []store.Message{
		{ContactID: c.ID, Seq: 1, Dir: "in", Channel: "telegram", Address: "telegram:42", Text: "hi", Sender: "customer", At: ct0},
		{ContactID: c.ID, Seq: 2, Dir: "out", Channel: "telegram", Address: "telegram:42", Text: "re: hi", Sender: "bot",
			Buttons: []store.Button{{Text: "Menu", Value: "menu"}}, Attachments: []string{"https://example.org/a.png"}, At: ct0},
	}
	same(t, "History", wantHist, hist)
	linked, err := db.ContactByIdentity("vk:7")
	if err != nil || linked.ID != c.ID || linked.Name != "Anna" || linked.Fields["order"] != "123456" ||
		linked.Rev != 2 || !reflect.DeepEqual(linked.Identities, []string{"telegram:42", "vk:7"}) {
		t.Errorf("ContactByIdentity(vk:7) = %+v, %v", linked, err)
	}
	out, err := db.PendingOutbox()
	if err != nil {
		t.Fatal(err)
	}
	same(t, "PendingOutbox", []store.OutboxEntry{{ID: res.OutboxIDs[0], ContactID: c.ID, Address: "telegram:42",
		Data: []byte("re: hi"), CreatedAt: ct0}}, out)
	if got := db.OutboxDepth(); got != 1 {
		t.Errorf("OutboxDepth = %d, want 1", got)
	}
	tk, ok, err := db.OpenTicketFor(c.ID)
	if err != nil || !ok || tk.ID != res.TicketID || tk.Status != store.TicketQueued || tk.CreatedAt != ct0 || tk.Reason != "requested" {
		t.Errorf("OpenTicketFor = %+v, %v, %v", tk, ok, err)
	}
	evs := allEvents(t, db)
	if len(evs) != 1 || evs[0].Seq == 0 {
		t.Fatalf("Events = %+v; want one with a seq", evs)
	}
	same(t, "Events", []store.Event{{Seq: evs[0].Seq, At: ct0, ContactID: c.ID, Type: "message", Flow: "main", Node: "menu",
		Data: map[string]string{"k": "v"}}}, evs)
	// Committing the same inbox entry again is refused and writes nothing.
	if _, err := db.Commit(cctx, turnFor(c.ID, seq, "hi")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Commit of inbox entry %d: err = %v, want ErrNotFound", seq, err)
	}
	if hist, _ := db.History(c.ID, 0, 0); len(hist) != 2 {
		t.Errorf("history has %d messages after a refused duplicate turn, want 2", len(hist))
	}
	// The next turn continues the contact's seqs.
	res, err = db.Commit(cctx, store.Turn{ContactID: c.ID, Messages: []store.Message{{Dir: "in", Text: "more"}}})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "next turn's seqs", []uint64{3}, res.MessageSeqs)
}

func contractRejectsBadTurns(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	c := contact(t, db, "web:v1")
	other := contact(t, db, "web:v2")
	seq, _, err := db.Enqueue(cctx, other.ID, "", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
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
		"foreign inbox":   {ContactID: c.ID, InboxSeq: seq},
		"huge session":    {ContactID: c.ID, Session: make([]byte, store.MaxValue+1)},
	}
	for name, turn := range cases {
		if _, err := db.Commit(cctx, turn); err == nil {
			t.Errorf("%s: Commit accepted it", name)
		}
	}
	if hist, _ := db.History(c.ID, 0, 0); len(hist) != 0 {
		t.Errorf("rejected turns left %d messages", len(hist))
	}
	if got, _ := db.ContactByIdentity("web:v2"); got.ID != other.ID {
		t.Errorf("web:v2 moved to %q", got.ID)
	}
	if in, _ := db.PendingInbox(); len(in) != 1 {
		t.Errorf("another contact's inbox entry consumed: %+v", in)
	}
}

// A failing UpdateTicket Fn leaves nothing of its turn behind.
func contractTurnAtomicity(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	c := contact(t, db, "telegram:42")
	tk, err := db.OpenTicket(cctx, store.Ticket{ContactID: c.ID, Reason: "negative"})
	if err != nil {
		t.Fatal(err)
	}
	seq, _, err := db.Enqueue(cctx, c.ID, "tg:9", []byte("x"))
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
	if _, err := db.Commit(cctx, turn); !errors.Is(err, boom) {
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
	if got, _ := db.Contact(c.ID); got.Name != "" || got.Rev != 1 {
		t.Errorf("contact changed by a failed turn: %+v", got)
	}
	if got, _ := db.Ticket(tk.ID); got.Summary != "" {
		t.Errorf("ticket changed: %+v", got)
	}
	if evs := allEvents(t, db); len(evs) != 0 {
		t.Errorf("%d events written", len(evs))
	}
	// A later turn of the contact still starts at seq 1.
	res, err := db.Commit(cctx, store.Turn{ContactID: c.ID, Messages: []store.Message{{Dir: "in"}}})
	if err != nil || !reflect.DeepEqual(res.MessageSeqs, []uint64{1}) {
		t.Errorf("turn after a failed one: %+v, %v; want seq 1", res, err)
	}
}

func contractStaleContact(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	c := contact(t, db, "web:s1")
	stale := c
	if _, err := db.Commit(cctx, store.Turn{ContactID: c.ID, Contact: &store.Contact{Name: "New", Identities: c.Identities, Rev: c.Rev}}); err != nil {
		t.Fatal(err)
	}
	stale.Name = "Stale"
	if _, err := db.Commit(cctx, store.Turn{ContactID: c.ID, Contact: &stale}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("update from a stale copy: %v, want ErrConflict", err)
	}
	if got, _ := db.Contact(c.ID); got.Name != "New" || got.Rev != 2 {
		t.Errorf("contact = %+v; want the first update", got)
	}
	// Removing an identity releases it.
	if _, err := db.Commit(cctx, store.Turn{ContactID: c.ID, Contact: &store.Contact{Identities: []string{"web:s2"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ContactByIdentity("web:s1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("released identity still resolves: %v", err)
	}
	if got, err := db.ContactByIdentity("web:s2"); err != nil || got.ID != c.ID {
		t.Errorf("new identity: %+v, %v", got, err)
	}
}

func contractDedupe(t *testing.T, open Opener) {
	clk := NewClock(ct0)
	db := open(t, Config{Clock: clk.Now, DedupeRetention: 24 * time.Hour})
	c := contact(t, db, "vk:5")
	s1, dup, err := db.Enqueue(cctx, c.ID, "vk:ev1", []byte("first"))
	if err != nil || dup {
		t.Fatalf("first Enqueue: %d %v %v", s1, dup, err)
	}
	s2, dup, err := db.Enqueue(cctx, c.ID, "vk:ev1", []byte("redelivered"))
	if err != nil || !dup || s2 != 0 {
		t.Fatalf("redelivered Enqueue = %d, %v, %v; want 0, true, nil", s2, dup, err)
	}
	if _, dup, _ := db.Enqueue(cctx, c.ID, "vk:ev2", []byte("second")); dup {
		t.Error("a new event key reported as duplicate")
	}
	for range 2 {
		if _, dup, err := db.Enqueue(cctx, c.ID, "", []byte("keyless")); dup || err != nil {
			t.Errorf("keyless Enqueue: dup=%v err=%v", dup, err)
		}
	}
	pending, err := db.PendingInbox()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	prev := uint64(0)
	for _, e := range pending {
		if e.Seq <= prev || e.ContactID != c.ID || !e.At.Equal(ct0) {
			t.Errorf("inbox entry %+v after seq %d", e, prev)
		}
		prev = e.Seq
		got = append(got, fmt.Sprintf("%s:%s", e.EventKey, e.Data))
	}
	same(t, "PendingInbox", []string{"vk:ev1:first", "vk:ev2:second", ":keyless", ":keyless"}, got)
	if _, _, err := db.Enqueue(cctx, "c_nobody", "k", nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Enqueue for a missing contact: %v", err)
	}
	other := contact(t, db, "vk:6")
	if _, dup, _ := db.Enqueue(cctx, other.ID, "vk:ev1", nil); dup {
		t.Error("another contact's event key counts as a duplicate")
	}
	// Within the retention a key is remembered; after it, it is not.
	clk.Advance(23 * time.Hour)
	if _, dup, _ := db.Enqueue(cctx, c.ID, "vk:ev3", nil); dup {
		t.Error("vk:ev3 duplicate")
	}
	if _, dup, _ := db.Enqueue(cctx, c.ID, "vk:ev1", nil); !dup {
		t.Error("vk:ev1 forgotten inside the retention")
	}
	clk.Advance(2 * time.Hour)
	if _, dup, _ := db.Enqueue(cctx, c.ID, "vk:ev1", nil); dup {
		t.Error("vk:ev1 still a duplicate after the retention")
	}
	if _, dup, _ := db.Enqueue(cctx, c.ID, "vk:ev3", nil); !dup {
		t.Error("vk:ev3 forgotten before its retention")
	}
	if _, err := db.PruneDedupe(cctx); err != nil {
		t.Fatal(err)
	}
	if _, dup, _ := db.Enqueue(cctx, c.ID, "vk:ev3", nil); !dup {
		t.Error("vk:ev3 pruned before its retention")
	}
	if _, _, err := db.Enqueue(cctx, c.ID, strings.Repeat("k", store.MaxEventKey+1), nil); err == nil {
		t.Error("an over-long event key was accepted")
	}
}

// A turn that carries its event key is the event's durable record.
func contractTurnEventKey(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	c := contact(t, db, "web:v1")
	turn := func(text string) store.Turn {
		return store.Turn{ContactID: c.ID, EventKey: "web:v1|m1", Session: []byte(text),
			Messages: []store.Message{{Dir: store.DirIn, Text: text}},
			Outbox:   []store.OutboxEntry{{Address: "web:v1", Data: []byte(text)}}}
	}
	if _, err := db.Commit(cctx, turn("first")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(cctx, turn("again")); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("second turn with the same event key: %v, want ErrDuplicate", err)
	}
	if _, dup, err := db.Enqueue(cctx, c.ID, "web:v1|m1", nil); err != nil || !dup {
		t.Errorf("Enqueue of a key a turn recorded: dup=%v err=%v", dup, err)
	}
	if _, _, err := db.Enqueue(cctx, c.ID, "web:v1|m2", nil); err != nil {
		t.Fatal(err)
	}
	t2 := turn("late")
	t2.EventKey = "web:v1|m2"
	if _, err := db.Commit(cctx, t2); !errors.Is(err, store.ErrDuplicate) {
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
}

// Turns of one contact committed at once keep its history dense and in
// commit order; each redelivered key is taken once.
func contractConcurrentTurns(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	c := contact(t, db, "web:busy")
	const n = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	dups := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every event is delivered twice.
			for range 2 {
				_, err := db.Commit(cctx, store.Turn{ContactID: c.ID, EventKey: fmt.Sprint("ev", i),
					Messages: []store.Message{{Dir: "in", Text: fmt.Sprint(i)}, {Dir: "out", Text: fmt.Sprint("re ", i)}}})
				if errors.Is(err, store.ErrDuplicate) {
					mu.Lock()
					dups++
					mu.Unlock()
				} else if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if dups != n {
		t.Errorf("%d duplicates refused, want %d", dups, n)
	}
	h, err := db.History(c.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2*n {
		t.Fatalf("history has %d messages, want %d", len(h), 2*n)
	}
	for i := 0; i < len(h); i += 2 {
		if h[i].Seq != uint64(i+1) || h[i+1].Seq != uint64(i+2) || h[i+1].Text != "re "+h[i].Text {
			t.Errorf("messages %d, %d: %+v, %+v; a turn's messages must be adjacent and seqs dense", i, i+1, h[i], h[i+1])
		}
	}
}

func contractOutbox(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	c := contact(t, db, "telegram:1")
	var ids []uint64
	for i := range 3 {
		turn := store.Turn{ContactID: c.ID, Outbox: []store.OutboxEntry{
			{Address: "telegram:1", Data: fmt.Appendf(nil, "m%da", i)},
			{Address: "telegram:1", Data: fmt.Appendf(nil, "m%db", i)},
		}}
		res, err := db.Commit(cctx, turn)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.OutboxIDs...)
	}
	if !slices.IsSorted(ids) || len(ids) != 6 || ids[0] == 0 {
		t.Fatalf("outbox ids %v: want 6 increasing", ids)
	}
	if got := db.OutboxDepth(); got != 6 {
		t.Errorf("OutboxDepth = %d, want 6", got)
	}
	later := ct0.Add(30 * time.Second)
	if err := db.RescheduleOutbox(cctx, ids[1], 1, later); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteOutbox(cctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteOutbox(cctx, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteOutbox: %v, want ErrNotFound", err)
	}
	if err := db.RescheduleOutbox(cctx, ids[5]+100, 1, later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RescheduleOutbox(unknown): %v, want ErrNotFound", err)
	}
	if err := db.RescheduleOutbox(cctx, ids[1], -1, later); err == nil {
		t.Error("negative attempts accepted")
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
	want := []row{{ids[1], "m0b", 1, later}, {ids[2], "m1a", 0, time.Time{}}, {ids[3], "m1b", 0, time.Time{}},
		{ids[4], "m2a", 0, time.Time{}}, {ids[5], "m2b", 0, time.Time{}}}
	same(t, "PendingOutbox", want, got)
	if got := db.OutboxDepth(); got != 5 {
		t.Errorf("OutboxDepth = %d, want 5", got)
	}
	if n, err := db.DeleteOutboxes(cctx, ids[0], ids[2], ids[4], ids[5]+100); n != 2 || err != nil {
		t.Errorf("DeleteOutboxes = %d, %v; want 2, nil", n, err)
	}
	out, _ = db.PendingOutbox()
	var left []uint64
	for _, o := range out {
		left = append(left, o.ID)
	}
	same(t, "after DeleteOutboxes", []uint64{ids[1], ids[3], ids[5]}, left)
	if got := db.OutboxDepth(); got != 3 {
		t.Errorf("OutboxDepth = %d, want 3", got)
	}
}

func contractHistoryPaging(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	a := contact(t, db, "web:a")
	b := contact(t, db, "web:b")
	for i := range 5 {
		for _, c := range []store.Contact{a, b} {
			_, err := db.Commit(cctx, store.Turn{ContactID: c.ID, Messages: []store.Message{
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
	same(t, "History(a, 2, 2)", []string{"3:web:a-2", "4:web:a-3"}, texts(db.History(a.ID, 2, 2)))
	same(t, "LastMessages(b, 2)", []string{"4:web:b-3", "5:web:b-4"}, texts(db.LastMessages(b.ID, 2)))
	if got := texts(db.LastMessages(a.ID, 50)); len(got) != 5 {
		t.Errorf("LastMessages(a, 50) = %v, want all 5", got)
	}
	if got := texts(db.LastMessages(a.ID, 0)); len(got) != 0 {
		t.Errorf("LastMessages(a, 0) = %v, want none", got)
	}
	if got := texts(db.History("c_none", 0, 0)); len(got) != 0 {
		t.Errorf("History of unknown contact = %v", got)
	}
}

func contractLastInbound(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	c := contact(t, db, "telegram:5")
	if addr, err := db.LastInboundAddress(c.ID); err != nil || addr != "" {
		t.Errorf("without messages: %q, %v", addr, err)
	}
	_, err := db.Commit(cctx, store.Turn{ContactID: c.ID,
		Contact: &store.Contact{Identities: []string{"telegram:5", "web:w5"}},
		Messages: []store.Message{
			{Dir: "in", Address: "telegram:5", Text: "a"},
			{Dir: "in", Address: "web:w5", Text: "b"},
			{Dir: "out", Address: "vk:9", Text: "c"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if addr, err := db.LastInboundAddress(c.ID); err != nil || addr != "web:w5" {
		t.Errorf("LastInboundAddress = %q, %v; want web:w5", addr, err)
	}
	// An address that is no longer the contact's is skipped.
	if _, err := db.Commit(cctx, store.Turn{ContactID: c.ID, Contact: &store.Contact{Identities: []string{"telegram:5"}}}); err != nil {
		t.Fatal(err)
	}
	if addr, err := db.LastInboundAddress(c.ID); err != nil || addr != "telegram:5" {
		t.Errorf("after web:w5 left: %q, %v; want telegram:5", addr, err)
	}
	if _, err := db.LastInboundAddress("c_none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown contact: %v, want ErrNotFound", err)
	}
}

func contractEventsByTime(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	at := func(min int) time.Time { return ct0.Add(time.Duration(min) * time.Minute) }
	// Appended out of time order: read back in time order, each with its own seq.
	err := db.AppendEvents(cctx,
		store.Event{Type: "c", At: at(30)},
		store.Event{Type: "a", At: at(10), Data: map[string]string{"k": "v"}},
		store.Event{Type: "b", At: at(20)},
		store.Event{Type: "d", At: at(40)},
	)
	if err != nil {
		t.Fatal(err)
	}
	var got []store.Event
	err = db.Events(at(10), at(40), func(e store.Event) error { got = append(got, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range got {
		types = append(types, e.Type)
	}
	same(t, "Events [10m, 40m)", []string{"a", "b", "c"}, types)
	if len(got) == 3 && !(got[2].Seq < got[0].Seq && got[0].Seq < got[1].Seq) {
		t.Errorf("seqs %d, %d, %d: want them in append order (c, a, b)", got[0].Seq, got[1].Seq, got[2].Seq)
	}
	if len(got) > 0 && (!reflect.DeepEqual(got[0].Data, map[string]string{"k": "v"}) || !got[0].At.Equal(at(10))) {
		t.Errorf("event a = %+v", got[0])
	}
	stop := errors.New("stop")
	if err := db.Events(time.Time{}, time.Time{}, func(store.Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Events did not return the callback's error: %v", err)
	}
	if err := db.AppendEvents(cctx, store.Event{}); err == nil {
		t.Error("AppendEvents accepted an event without type")
	}
	// More than a read chunk, in order, none lost.
	var many []store.Event
	for i := range 1100 {
		many = append(many, store.Event{Type: "bulk", At: at(100).Add(time.Duration(i%7) * time.Second)})
	}
	if err := db.AppendEvents(cctx, many...); err != nil {
		t.Fatal(err)
	}
	n := 0
	var last time.Time
	err = db.Events(at(100), time.Time{}, func(e store.Event) error {
		if e.At.Before(last) {
			t.Fatalf("event at %v after %v", e.At, last)
		}
		last = e.At
		n++
		return nil
	})
	if err != nil || n != 1100 {
		t.Errorf("Events over chunks: %d, %v; want 1100", n, err)
	}
}

// A turn's events share one seq and the turn's time; they read back one by
// one in recording order, and a time range never cuts inside them.
func contractTurnEvents(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	c := contact(t, db, "telegram:7")
	d := contact(t, db, "telegram:8")
	if err := db.AppendEvents(cctx, store.Event{Type: "before", ContactID: d.ID}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	turnAt := clk.Now()
	_, err := db.Commit(cctx, store.Turn{ContactID: c.ID, Events: []store.Event{
		{Type: "message_in", Data: map[string]string{"address": "telegram:7"}},
		{Type: "node", Flow: "main", Node: "menu", At: turnAt.Add(time.Millisecond)},
		{Type: "message_out", At: turnAt.Add(2 * time.Millisecond)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if _, err := db.Commit(cctx, store.Turn{ContactID: d.ID, Events: []store.Event{{Type: "single"}}}); err != nil {
		t.Fatal(err)
	}
	evs := allEvents(t, db)
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s %s %s", e.Type, e.ContactID, e.At.Sub(ct0)))
	}
	same(t, "events", []string{
		"before " + d.ID + " 0s",
		"message_in " + c.ID + " 1s", "node " + c.ID + " 1s", "message_out " + c.ID + " 1s",
		"single " + d.ID + " 2s",
	}, got)
	if len(evs) == 5 && !(evs[0].Seq < evs[1].Seq && evs[1].Seq == evs[2].Seq && evs[2].Seq == evs[3].Seq && evs[3].Seq < evs[4].Seq) {
		t.Errorf("seqs %d %d %d %d %d: want the turn's three to share one, between the others", evs[0].Seq, evs[1].Seq, evs[2].Seq, evs[3].Seq, evs[4].Seq)
	}
	got = nil
	_ = db.Events(turnAt, turnAt.Add(time.Microsecond), func(e store.Event) error { got = append(got, e.Type); return nil })
	same(t, "events of the turn's instant", []string{"message_in", "node", "message_out"}, got)
}

func contractSessions(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	const n = 1030 // more than two read chunks of 512
	for i := range n {
		c := contact(t, db, fmt.Sprintf("web:%05d", i))
		if _, err := db.Commit(cctx, store.Turn{ContactID: c.ID, Session: []byte(c.Identities[0])}); err != nil {
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
		if len(seen) == 700 {
			// Writing from the callback must not deadlock.
			_, _, err := db.ResolveContact(cctx, "web:during-scan", "", "")
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

func contractTickets(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	c := contact(t, db, "telegram:1")
	d := contact(t, db, "vk:2")
	tk, err := db.OpenTicket(cctx, store.Ticket{ContactID: c.ID, Reason: "negative", Evidence: []string{"ужас"}, Priority: 2,
		Vars: map[string]string{"order": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if tk.ID == 0 || tk.Status != store.TicketQueued || !tk.CreatedAt.Equal(ct0) {
		t.Errorf("opened ticket %+v", tk)
	}
	if got, err := db.Ticket(tk.ID); err != nil || !reflect.DeepEqual(got, tk) {
		t.Errorf("Ticket(%d) = %+v, %v; want %+v", tk.ID, got, err, tk)
	}
	if _, err := db.OpenTicket(cctx, store.Ticket{ContactID: c.ID}); !errors.Is(err, store.ErrTicketOpen) {
		t.Errorf("second open ticket: %v, want ErrTicketOpen", err)
	}
	if _, err := db.OpenTicket(cctx, store.Ticket{ContactID: "c_none"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ticket for a missing contact: %v, want ErrNotFound", err)
	}
	other, err := db.OpenTicket(cctx, store.Ticket{ContactID: d.ID, Reason: "requested"})
	if err != nil {
		t.Fatal(err)
	}
	claim := func(agent string) func(*store.Ticket) error {
		return func(t *store.Ticket) error {
			if t.Status != store.TicketQueued {
				return fmt.Errorf("ticket %d taken by %s: %w", t.ID, t.AgentID, store.ErrConflict)
			}
			t.Status, t.AgentID, t.AssignedAt = store.TicketAssigned, agent, ct0
			return nil
		}
	}
	errs := make(chan error, 2)
	for _, agent := range []string{"a_1", "a_2"} {
		go func() { _, err := db.UpdateTicket(cctx, tk.ID, claim(agent)); errs <- err }()
	}
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) || !(errors.Is(e1, store.ErrConflict) || errors.Is(e2, store.ErrConflict)) {
		t.Errorf("concurrent claims: %v and %v; want one success and one ErrConflict", e1, e2)
	}
	if queued, _ := db.Tickets(store.TicketQueued); len(queued) != 1 || queued[0].ID != other.ID {
		t.Errorf("Tickets(queued) = %+v", queued)
	}
	if assigned, _ := db.Tickets(store.TicketAssigned); len(assigned) != 1 || assigned[0].ID != tk.ID {
		t.Errorf("Tickets(assigned) = %+v", assigned)
	}
	clk.Advance(time.Hour)
	resolved, err := db.UpdateTicket(cctx, tk.ID, func(t *store.Ticket) error {
		t.Status, t.Outcome = store.TicketResolved, "bot"
		return nil
	})
	if err != nil || !resolved.ResolvedAt.Equal(ct0.Add(time.Hour)) {
		t.Fatalf("resolve: %+v, %v", resolved, err)
	}
	if _, ok, _ := db.OpenTicketFor(c.ID); ok {
		t.Error("OpenTicketFor still finds the resolved ticket")
	}
	last, ok, err := db.LastTicketFor(c.ID)
	if err != nil || !ok || last.ID != tk.ID || last.Status != store.TicketResolved || last.Vars["order"] != "1" {
		t.Errorf("LastTicketFor = %+v, %v, %v", last, ok, err)
	}
	tk2, err := db.OpenTicket(cctx, store.Ticket{ContactID: c.ID, Reason: "requested"})
	if err != nil {
		t.Fatal(err)
	}
	if tk2.ID <= tk.ID {
		t.Errorf("ticket ids %d then %d: want increasing", tk.ID, tk2.ID)
	}
	reopen := func(t *store.Ticket) error { t.Status = store.TicketQueued; t.AgentID = ""; return nil }
	if _, err := db.UpdateTicket(cctx, tk.ID, reopen); !errors.Is(err, store.ErrTicketOpen) {
		t.Errorf("reopen while another is open: %v, want ErrTicketOpen", err)
	}
	if _, err := db.UpdateTicket(cctx, tk2.ID, func(t *store.Ticket) error { t.Status = store.TicketResolved; return nil }); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	re, err := db.UpdateTicket(cctx, tk.ID, reopen)
	if err != nil || !re.ReopenedAt.Equal(ct0.Add(time.Hour+time.Minute)) {
		t.Errorf("reopen: %+v, %v", re, err)
	}
	if got, ok, _ := db.OpenTicketFor(c.ID); !ok || got.ID != tk.ID {
		t.Errorf("OpenTicketFor after reopen = %+v, %v", got, ok)
	}
	if st, err := db.TicketStateFor(c.ID); err != nil || !st.HasOpen || st.Open.ID != tk.ID || !st.HasLast || st.Last.ID != tk2.ID {
		t.Errorf("TicketStateFor after reopen = %+v, %v; want open %d, last %d", st, err, tk.ID, tk2.ID)
	}
	if st, err := db.TicketStateFor(contact(t, db, "web:3").ID); err != nil || st.HasOpen || st.HasLast {
		t.Errorf("TicketStateFor without tickets = %+v, %v", st, err)
	}
	if _, err := db.UpdateTicket(cctx, tk.ID, func(t *store.Ticket) error { t.ContactID = d.ID; return nil }); err == nil {
		t.Error("UpdateTicket moved a ticket to another contact")
	}
	if _, err := db.UpdateTicket(cctx, tk.ID, func(t *store.Ticket) error { t.Priority = 7; return nil }); err == nil {
		t.Error("UpdateTicket stored an invalid priority")
	}
	if _, err := db.UpdateTicket(cctx, 999999, reopen); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateTicket(999999): %v, want ErrNotFound", err)
	}
	all, err := db.Tickets("")
	if err != nil || len(all) != 3 || !slices.IsSortedFunc(all, func(a, b store.Ticket) int { return int(a.ID) - int(b.ID) }) {
		t.Errorf("Tickets(\"\") = %d tickets, %v; want 3 in id order", len(all), err)
	}
	if _, err := db.Tickets("closed"); err == nil {
		t.Error("Tickets accepted an unknown status")
	}
	// A turn updates a ticket and opens one atomically.
	res, err := db.Commit(cctx, store.Turn{ContactID: c.ID, UpdateTicket: &store.TicketChange{ID: tk.ID, Fn: func(t *store.Ticket) error {
		t.Status = store.TicketResolved
		return nil
	}}, OpenTicket: &store.Ticket{Reason: "again"}})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := db.TicketStateFor(c.ID); !st.HasOpen || st.Open.ID != res.TicketID || st.Open.Reason != "again" {
		t.Errorf("after the turn: %+v; want ticket %d open", st, res.TicketID)
	}
	if _, err := db.Commit(cctx, store.Turn{ContactID: d.ID, UpdateTicket: &store.TicketChange{ID: tk.ID, Fn: func(*store.Ticket) error { return nil }}}); err == nil {
		t.Error("a turn updated another contact's ticket")
	}
}

func contractAgents(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	a := store.Agent{Name: "olga", DisplayName: "Ольга", Role: "agent", PasswordHash: []byte("$2a$12$hash"), PasswordOneTime: true}
	if err := db.PutAgent(cctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := db.AgentByName("OLGA")
	if err != nil {
		t.Fatal(err)
	}
	a.ID, a.CreatedAt = got.ID, ct0
	same(t, "AgentByName", a, got)
	if err := db.PutAgent(cctx, store.Agent{ID: "a_other", Name: "Olga", Role: "lead"}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("duplicate name: %v, want ErrDuplicate", err)
	}
	a.Name = "olga.k"
	if err := db.PutAgent(cctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AgentByName("olga"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old name still resolves: %v", err)
	}
	if err := db.PutAgent(cctx, store.Agent{ID: "a_other", Name: "olga", Role: "lead"}); err != nil {
		t.Errorf("reusing a freed name: %v", err)
	}
	all, err := db.Agents()
	if err != nil || len(all) != 2 || all[0].ID > all[1].ID {
		t.Errorf("Agents = %+v, %v", all, err)
	}
	byID, err := db.Agent(a.ID)
	if err != nil || byID.Name != "olga.k" || string(byID.PasswordHash) != "$2a$12$hash" || !byID.CreatedAt.Equal(ct0) {
		t.Errorf("Agent(id) = %+v, %v", byID, err)
	}
	for _, bad := range []store.Agent{{Role: "agent"}, {Name: "two words", Role: "agent"}, {Name: "x"}} {
		if err := db.PutAgent(cctx, bad); err == nil {
			t.Errorf("PutAgent accepted %+v", bad)
		}
	}
	if err := db.DeleteAgent(cctx, "a_other"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AgentByName("olga"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted agent's name resolves: %v", err)
	}
	if err := db.DeleteAgent(cctx, "a_other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteAgent: %v, want ErrNotFound", err)
	}
}

func consoleKey(cookie string) string {
	h := sha256.Sum256([]byte(cookie))
	return string(h[:])
}

func contractConsoleSessions(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	for _, a := range []store.Agent{
		{ID: "olga", Name: "olga", Role: "agent", PasswordHash: []byte("h1")},
		{ID: "ivan", Name: "ivan", Role: "lead", PasswordHash: []byte("h2")},
	} {
		if err := db.PutAgent(cctx, a); err != nil {
			t.Fatal(err)
		}
	}
	exp := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	put := func(cookie, agent string) {
		t.Helper()
		if err := db.PutConsoleSession(cctx, store.ConsoleSession{Key: consoleKey(cookie), AgentID: agent, CSRF: "x-" + cookie, Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	put("o1", "olga")
	put("o2", "olga")
	put("i1", "ivan")
	for _, bad := range []store.ConsoleSession{
		{Key: "short", AgentID: "olga", Expires: exp},
		{Key: consoleKey("z"), Expires: exp},
		{Key: consoleKey("z"), AgentID: "olga"},
	} {
		if err := db.PutConsoleSession(cctx, bad); err == nil {
			t.Errorf("PutConsoleSession(%+v) accepted", bad)
		}
	}
	agentsOf := func() []string {
		t.Helper()
		all, err := db.ConsoleSessions()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range all {
			if !s.Expires.Equal(exp) || !strings.HasPrefix(s.CSRF, "x-") || s.Key != consoleKey(s.CSRF[2:]) {
				t.Errorf("session %+v: key, expiry or csrf lost", s)
			}
			out = append(out, s.AgentID+":"+s.CSRF[2:])
		}
		slices.Sort(out)
		return out
	}
	same(t, "sessions", []string{"ivan:i1", "olga:o1", "olga:o2"}, agentsOf())
	olga, _ := db.Agent("olga")
	olga.DisplayName = "Ольга"
	if err := db.PutAgent(cctx, olga); err != nil {
		t.Fatal(err)
	}
	if got := agentsOf(); len(got) != 3 {
		t.Fatalf("after a new display name: %q, want all three", got)
	}
	olga.PasswordHash = []byte("h3")
	if err := db.PutAgent(cctx, olga); err != nil {
		t.Fatal(err)
	}
	same(t, "after olga's new password", []string{"ivan:i1"}, agentsOf())
	if err := db.DeleteConsoleSessions(cctx, consoleKey("i1"), consoleKey("never")); err != nil {
		t.Fatal(err)
	}
	if got := agentsOf(); len(got) != 0 {
		t.Fatalf("after deleting: %q", got)
	}
	put("i2", "ivan")
	if err := db.DeleteAgent(cctx, "ivan"); err != nil {
		t.Fatal(err)
	}
	if got := agentsOf(); len(got) != 0 {
		t.Fatalf("a deleted agent's sessions stayed: %q", got)
	}
}

func contractPositions(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	if v, err := db.Position("vk.longpoll.1"); err != nil || v != "" {
		t.Fatalf("unset position = %q, %v", v, err)
	}
	if err := db.SetPosition(cctx, "vk.longpoll.1", "42"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPosition(cctx, "vk.longpoll.1", "43"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPosition(cctx, "", "1"); err == nil {
		t.Error("an empty key was accepted")
	}
	if v, err := db.Position("vk.longpoll.1"); err != nil || v != "43" {
		t.Errorf("position = %q, %v; want 43", v, err)
	}
}
