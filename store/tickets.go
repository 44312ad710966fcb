package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Ticket statuses.
const (
	TicketQueued   = "queued"
	TicketAssigned = "assigned"
	TicketResolved = "resolved"
)

// Note is an agent's internal note on a ticket (never sent to the customer).
type Note struct {
	AgentID string    `json:"agent_id"`
	Text    string    `json:"text"`
	At      time.Time `json:"at"`
}

// Ticket is one human handoff of a contact's conversation.
type Ticket struct {
	ID         uint64            `json:"id"`
	ContactID  string            `json:"contact_id"`
	Address    string            `json:"address,omitempty"`
	Status     string            `json:"status"` // queued, assigned, resolved
	Reason     string            `json:"reason,omitempty"`
	Evidence   []string          `json:"evidence,omitempty"`
	Priority   int               `json:"priority"` // 0 low, 1 normal, 2 high, 3 urgent
	Vars       map[string]string `json:"vars,omitempty"`
	Summary    string            `json:"summary,omitempty"`
	ResumeNode string            `json:"resume_node,omitempty"`
	AgentID    string            `json:"agent_id,omitempty"`
	Notes      []Note            `json:"notes,omitempty"`
	CSAT       int               `json:"csat,omitempty"`    // 0 none, 1..5
	Outcome    string            `json:"outcome,omitempty"` // bot, csat, end

	CreatedAt    time.Time `json:"created_at"`
	AssignedAt   time.Time `json:"assigned_at,omitzero"`
	FirstReplyAt time.Time `json:"first_reply_at,omitzero"`
	ResolvedAt   time.Time `json:"resolved_at,omitzero"`
	ReopenedAt   time.Time `json:"reopened_at,omitzero"`
	// AgentReadAt is when the agent holding the ticket last read the
	// conversation in the console; CustomerSeenAt when the customer last
	// saw the agent's replies (the web chat reports it; other channels
	// give bots no read receipts).
	AgentReadAt    time.Time `json:"agent_read_at,omitzero"`
	CustomerSeenAt time.Time `json:"customer_seen_at,omitzero"`
}

// TicketChange is a read-modify-write of ticket ID. Fn runs inside the
// writer's transaction: it may run more than once, must only change the
// ticket it is given, and must not call the DB (that would deadlock).
type TicketChange struct {
	ID uint64
	Fn func(*Ticket) error
}

func validTicket(t *Ticket) error {
	where := func(format string, args ...any) error {
		return fmt.Errorf("store: ticket %d of contact %q: "+format, append([]any{t.ID, t.ContactID}, args...)...)
	}
	switch {
	case t.Status != TicketQueued && t.Status != TicketAssigned && t.Status != TicketResolved:
		return where("status %q, want queued, assigned or resolved", t.Status)
	case t.Priority < 0 || t.Priority > 3:
		return where("priority %d, want 0..3", t.Priority)
	case t.CSAT < 0 || t.CSAT > 5:
		return where("csat %d, want 0..5", t.CSAT)
	case t.Outcome != "" && t.Outcome != "bot" && t.Outcome != "csat" && t.Outcome != "end":
		return where("outcome %q, want bot, csat or end", t.Outcome)
	case t.Status == TicketAssigned && t.AgentID == "":
		return where("assigned without an agent")
	}
	return nil
}

// prepareTicket fills the defaults of a new ticket and validates it.
func prepareTicket(t *Ticket, now time.Time) error {
	if err := validContactID(t.ContactID); err != nil {
		return err
	}
	t.ID = 0
	if t.Status == "" {
		t.Status = TicketQueued
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	return validTicket(t)
}

// openTicketTx assigns t.ID and stores t with its indexes.
func openTicketTx(tx *bolt.Tx, t *Ticket) error {
	if tx.Bucket(bContacts).Get([]byte(t.ContactID)) == nil {
		return fmt.Errorf("store: ticket for contact %q: %w", t.ContactID, ErrNotFound)
	}
	open := tx.Bucket(bTicketOpen)
	if t.Status != TicketResolved {
		if id := open.Get([]byte(t.ContactID)); id != nil {
			return fmt.Errorf("store: contact %q has ticket %d: %w", t.ContactID, be64(id), ErrTicketOpen)
		}
	}
	b := tx.Bucket(bTickets)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	t.ID = id
	if err := putJSON(b, u64(id), t); err != nil {
		return err
	}
	if t.Status != TicketResolved {
		if err := open.Put([]byte(t.ContactID), u64(id)); err != nil {
			return err
		}
	}
	return tx.Bucket(bTicketContact).Put(ticketContactKey(t.ContactID, id), nil)
}

func getTicket(tx *bolt.Tx, id uint64) (Ticket, error) {
	var t Ticket
	v := tx.Bucket(bTickets).Get(u64(id))
	if v == nil {
		return t, fmt.Errorf("store: ticket %d: %w", id, ErrNotFound)
	}
	if err := json.Unmarshal(v, &t); err != nil {
		return t, fmt.Errorf("store: ticket %d: %w", id, err)
	}
	t.ID = id
	return t, nil
}

// updateTicketTx runs fn on a fresh copy of the ticket and stores the
// result, keeping the open-ticket index in step with the status. fn's error
// is returned unwrapped so callers can test it with errors.Is.
func updateTicketTx(tx *bolt.Tx, id uint64, fn func(*Ticket) error, now time.Time) (Ticket, error) {
	t, err := getTicket(tx, id)
	if err != nil {
		return Ticket{}, err
	}
	oldStatus, contact := t.Status, t.ContactID
	if err := fn(&t); err != nil {
		return Ticket{}, err
	}
	if t.ID != id || t.ContactID != contact {
		return Ticket{}, fmt.Errorf("store: ticket %d: ID and ContactID cannot change", id)
	}
	if err := validTicket(&t); err != nil {
		return Ticket{}, err
	}
	open := tx.Bucket(bTicketOpen)
	wasOpen, isOpen := oldStatus != TicketResolved, t.Status != TicketResolved
	switch {
	case wasOpen && !isOpen:
		if err := open.Delete([]byte(contact)); err != nil {
			return Ticket{}, err
		}
		if t.ResolvedAt.IsZero() {
			t.ResolvedAt = now
		}
	case !wasOpen && isOpen:
		if other := open.Get([]byte(contact)); other != nil {
			return Ticket{}, fmt.Errorf("store: reopen ticket %d: contact %q has ticket %d: %w",
				id, contact, be64(other), ErrTicketOpen)
		}
		if err := open.Put([]byte(contact), u64(id)); err != nil {
			return Ticket{}, err
		}
		if t.ReopenedAt.IsZero() || !t.ReopenedAt.After(t.ResolvedAt) {
			t.ReopenedAt = now
		}
	}
	return t, putJSON(tx.Bucket(bTickets), u64(id), t)
}

// OpenTicket stores a new ticket (Status defaults to queued, CreatedAt to
// now) and returns it with its ID. ErrTicketOpen if the contact already has
// a non-resolved ticket.
func (db *DB) OpenTicket(ctx context.Context, t Ticket) (Ticket, error) {
	if err := prepareTicket(&t, db.now()); err != nil {
		return Ticket{}, err
	}
	var out Ticket
	err := db.write(ctx, func(tx *bolt.Tx) error {
		out = t
		return openTicketTx(tx, &out)
	})
	if err != nil {
		return Ticket{}, err
	}
	return out, nil
}

// Ticket returns ticket id.
func (db *DB) Ticket(id uint64) (Ticket, error) {
	var t Ticket
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		t, err = getTicket(tx, id)
		return err
	})
	return t, err
}

// OpenTicketFor returns the contact's non-resolved ticket, if any.
func (db *DB) OpenTicketFor(contactID string) (Ticket, bool, error) {
	var t Ticket
	var ok bool
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		t, ok, err = openTicketOf(tx, contactID)
		return err
	})
	return t, ok, err
}

func openTicketOf(tx *bolt.Tx, contactID string) (Ticket, bool, error) {
	id := tx.Bucket(bTicketOpen).Get([]byte(contactID))
	if id == nil {
		return Ticket{}, false, nil
	}
	t, err := getTicket(tx, be64(id))
	return t, err == nil, err
}

// LastTicketFor returns the contact's most recent ticket of any status (for
// a reopen window after resolution).
func (db *DB) LastTicketFor(contactID string) (Ticket, bool, error) {
	var t Ticket
	var ok bool
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		t, ok, err = lastTicketOf(tx, contactID)
		return err
	})
	return t, ok, err
}

func lastTicketOf(tx *bolt.Tx, contactID string) (Ticket, bool, error) {
	id := lastComposite(tx.Bucket(bTicketContact), contactID)
	if id == 0 {
		return Ticket{}, false, nil
	}
	t, err := getTicket(tx, id)
	return t, err == nil, err
}

// TicketState is what routing a customer's message needs to know of the
// contact's tickets.
type TicketState struct {
	Open    Ticket // the non-resolved ticket, if HasOpen
	HasOpen bool
	Last    Ticket // the most recent ticket of any status, if HasLast
	HasLast bool
}

// TicketStateFor reads OpenTicketFor and LastTicketFor in one transaction
// (the runtime asks on every customer message).
func (db *DB) TicketStateFor(contactID string) (TicketState, error) {
	var ts TicketState
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		if ts.Open, ts.HasOpen, err = openTicketOf(tx, contactID); err != nil {
			return err
		}
		ts.Last, ts.HasLast, err = lastTicketOf(tx, contactID)
		return err
	})
	return ts, err
}

// Tickets returns the tickets with the given status ("" for all) in ID
// order. Queued and assigned tickets are found through the open-ticket
// index, so the agent console's queue does not scan resolved history.
func (db *DB) Tickets(status string) ([]Ticket, error) {
	switch status {
	case "", TicketQueued, TicketAssigned, TicketResolved:
	default:
		return nil, fmt.Errorf("store: ticket status %q, want queued, assigned, resolved or empty", status)
	}
	var out []Ticket
	err := db.view(func(tx *bolt.Tx) error {
		if status == TicketQueued || status == TicketAssigned {
			return tx.Bucket(bTicketOpen).ForEach(func(_, id []byte) error {
				t, err := getTicket(tx, be64(id))
				if err == nil && t.Status == status {
					out = append(out, t)
				}
				return err
			})
		}
		return tx.Bucket(bTickets).ForEach(func(k, v []byte) error {
			var t Ticket
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("store: ticket %d: %w", be64(k), err)
			}
			t.ID = be64(k)
			if status == "" || t.Status == status {
				out = append(out, t)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Ticket) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

// UpdateTicket atomically reads ticket id, applies fn and stores the
// result. fn may run more than once and must be free of side effects; an
// error from fn (ErrConflict for a lost claim) is returned as is and nothing
// is written. Resolving sets ResolvedAt and reopening sets ReopenedAt when
// fn left them unset.
func (db *DB) UpdateTicket(ctx context.Context, id uint64, fn func(*Ticket) error) (Ticket, error) {
	if fn == nil {
		return Ticket{}, fmt.Errorf("store: update ticket %d: nil fn", id)
	}
	now := db.now()
	var out Ticket
	err := db.write(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = updateTicketTx(tx, id, fn, now)
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	return out, nil
}
