package handoff

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// recorder is the runtime's side in tests: Deliver commits the history
// append and the ticket change in ONE store turn, as bot does, and records
// what the customer would receive.
type recorder struct {
	db      *store.DB
	mu      sync.Mutex
	sent    []Delivery
	resumed []string
	fail    error // Deliver fails with it before committing, when set
}

func (r *recorder) Deliver(ctx context.Context, d Delivery) error {
	if r.fail != nil {
		return r.fail
	}
	sender := "bot"
	if d.SenderID != "" {
		sender = "agent:" + d.SenderID
	}
	var buttons []store.Button
	for _, b := range d.Buttons {
		buttons = append(buttons, store.Button{Text: b.Text, Value: b.Value})
	}
	_, err := r.db.Commit(ctx, store.Turn{ContactID: d.ContactID, UpdateTicket: d.Ticket,
		Messages: []store.Message{{Dir: store.DirOut, Address: d.Address, Channel: channelOf(d.Address),
			Text: d.Text, Buttons: buttons, Sender: sender, SenderName: d.SenderName}}})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	d.Ticket = nil // funcs do not compare
	r.sent = append(r.sent, d)
	return nil
}

func (r *recorder) Resume(ctx context.Context, contactID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resumed = append(r.resumed, contactID)
	return nil
}

func (r *recorder) deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.sent...)
}

func (r *recorder) texts() []string {
	var out []string
	for _, d := range r.deliveries() {
		out = append(out, d.Text)
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent, r.resumed = nil, nil
}

// start is a Monday 10:00 UTC, inside the usual business hours.
var start = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

type env struct {
	t     *testing.T
	db    *store.DB
	clock *storetest.Clock
	svc   *Service
	rec   *recorder
	cfg   Config
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	clock := storetest.NewClock(start)
	db := storetest.OpenWith(t, store.Options{Clock: clock.Now, NoSync: true})
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.MinCost
	}
	cfg.Now = clock.Now
	e := &env{t: t, db: db, clock: clock, rec: &recorder{db: db}, cfg: cfg}
	e.svc = e.service(db)
	return e
}

func (e *env) service(db *store.DB) *Service {
	e.t.Helper()
	svc, err := New(db, e.cfg, e.rec, zerolog.New(io.Discard))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { svc.Close() })
	return svc
}

func (e *env) contact(identity, name, lang string) store.Contact {
	e.t.Helper()
	c, _, err := e.db.ResolveContact(context.Background(), identity, name, lang)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

const testPassword = "correct horse battery"

// link merges from into into as a customer's link code does.
func (e *env) link(into, from store.Contact) store.MergeResult {
	e.t.Helper()
	res, err := e.db.Merge(context.Background(), into.ID, from.ID, store.MergeOptions{Reason: "link_code", By: "customer"})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *env) agent(name, role string) store.Agent {
	e.t.Helper()
	a, err := AddAgent(context.Background(), e.db, NewAgent{Name: name, Role: role, Password: testPassword,
		DisplayName: strings.ToUpper(name[:1]) + name[1:]}, bcrypt.MinCost, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// online marks agents present as if their consoles were open.
func (e *env) online(as ...store.Agent) {
	for _, a := range as {
		e.svc.presence.set(a.ID, PresenceOnline)
	}
}

// say commits a customer message to the history, as the runtime does.
func (e *env) say(c store.Contact, text string) {
	e.t.Helper()
	_, err := e.db.Commit(context.Background(), store.Turn{ContactID: c.ID, Messages: []store.Message{{
		Dir: store.DirIn, Address: c.Identities[0], Channel: channelOf(c.Identities[0]), Text: text, Sender: "customer"}}})
	if err != nil {
		e.t.Fatal(err)
	}
}

// botSays commits a bot message to the history.
func (e *env) botSays(c store.Contact, text string) {
	e.t.Helper()
	_, err := e.db.Commit(context.Background(), store.Turn{ContactID: c.ID, Messages: []store.Message{{
		Dir: store.DirOut, Address: c.Identities[0], Channel: channelOf(c.Identities[0]), Text: text, Sender: "bot"}}})
	if err != nil {
		e.t.Fatal(err)
	}
}

// escalate does what the runtime does on a handoff output: Escalate, commit
// the ticket with the notices in one turn, then Opened.
func (e *env) escalate(c store.Contact, reason, priority string, evidence ...string) (store.Ticket, []Notice) {
	e.t.Helper()
	ctx := context.Background()
	tk, notices, err := e.svc.Escalate(ctx, Request{ContactID: c.ID, Address: c.Identities[0], Lang: c.Lang,
		Reason: reason, Priority: priority, Evidence: evidence, ResumeNode: "menu",
		Vars: map[string]string{"order": "1234567"}})
	if err != nil {
		e.t.Fatal(err)
	}
	turn := store.Turn{ContactID: c.ID, OpenTicket: &tk}
	for _, n := range notices {
		turn.Messages = append(turn.Messages, store.Message{Dir: store.DirOut, Address: c.Identities[0], Text: n.Text, Sender: "bot"})
	}
	res, err := e.db.Commit(ctx, turn)
	if err != nil {
		e.t.Fatal(err)
	}
	tk, err = e.db.Ticket(res.TicketID)
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc.Opened(ctx, tk)
	return tk, notices
}

// route runs Route and commits its decision with the inbound message, as
// the runtime does, returning the decision.
func (e *env) route(c store.Contact, text, payload string) Decision {
	e.t.Helper()
	ctx := context.Background()
	d, err := e.svc.Route(ctx, c.ID, text, payload)
	if err != nil {
		e.t.Fatal(err)
	}
	turn := store.Turn{ContactID: c.ID, UpdateTicket: d.Change, Events: d.Events,
		Messages: []store.Message{{Dir: store.DirIn, Address: c.Identities[0], Text: text, Payload: payload, Sender: "customer"}}}
	for _, n := range d.Notices {
		turn.Messages = append(turn.Messages, store.Message{Dir: store.DirOut, Address: c.Identities[0], Text: n.Text, Sender: "bot"})
	}
	if _, err := e.db.Commit(ctx, turn); err != nil {
		e.t.Fatal(err)
	}
	if d.Owner == OwnerTicket {
		t, err := e.db.Ticket(d.Ticket.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		e.svc.CustomerMessage(ctx, t, store.Message{Text: text})
	}
	return d
}

func (e *env) ticket(id uint64) store.Ticket {
	e.t.Helper()
	t, err := e.db.Ticket(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

// events returns the event types of the log, in order.
func (e *env) events() []string {
	e.t.Helper()
	var out []string
	err := e.db.Events(time.Time{}, e.clock.Now().Add(time.Hour), func(ev store.Event) error {
		out = append(out, ev.Type)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func mustErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

var _ Deliverer = (*recorder)(nil)
