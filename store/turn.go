package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Button is a choice offered with an outbound message.
type Button struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// Message is one entry of a contact's history, inbound or outbound.
type Message struct {
	ContactID   string   `json:"contact_id"`
	Seq         uint64   `json:"seq,omitempty"` // assigned: 1, 2, ... per contact
	Dir         string   `json:"dir"`           // "in" | "out"
	Channel     string   `json:"channel,omitempty"`
	Address     string   `json:"address,omitempty"`
	Text        string   `json:"text,omitempty"`
	Payload     string   `json:"payload,omitempty"`
	Buttons     []Button `json:"buttons,omitempty"`
	Attachments []string `json:"attachments,omitempty"`
	// Sender is "customer", "bot" or "agent:<id>".
	Sender     string    `json:"sender,omitempty"`
	SenderName string    `json:"sender_name,omitempty"`
	At         time.Time `json:"at"`
	// Via lists the merges (MergeRecord.ID) that brought the message to its
	// contact, oldest first; UndoMerge uses it to send it back.
	Via []uint64 `json:"via,omitempty"`
}

// Message directions.
const (
	DirIn  = "in"
	DirOut = "out"
)

// Event is one analytics record.
type Event struct {
	Seq       uint64            `json:"seq,omitempty"` // assigned
	At        time.Time         `json:"at"`
	ContactID string            `json:"contact_id,omitempty"`
	Type      string            `json:"type"`
	Flow      string            `json:"flow,omitempty"`
	Node      string            `json:"node,omitempty"`
	Data      map[string]string `json:"data,omitempty"`
}

// OutboxEntry is a reply waiting to be delivered.
type OutboxEntry struct {
	ID        uint64    `json:"id,omitempty"` // assigned, increasing
	ContactID string    `json:"contact_id"`
	Address   string    `json:"address"`
	Data      []byte    `json:"data"`
	Attempts  int       `json:"attempts,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
	CreatedAt time.Time `json:"created_at"`
}

// Turn is everything one processed message changes. Commit writes it in one
// transaction.
type Turn struct {
	ContactID string
	// InboxSeq > 0 deletes this inbox entry in the same transaction. If the
	// entry is gone (the turn was already committed) Commit fails with
	// ErrNotFound and writes nothing, so a message is never processed twice.
	InboxSeq uint64
	// EventKey, when set, makes the turn itself the durable record of the
	// inbound event it answers (instead of an inbox entry): Commit fails
	// with ErrDuplicate and writes nothing when the key was recorded before
	// (within the dedupe retention), and records it otherwise, as Enqueue
	// does.
	EventKey string
	Session  []byte // nil: leave unchanged
	// Contact, when set, is the contact's new name, lang, fields and
	// identities (all replaced; CreatedAt is kept, UpdatedAt set). Adding an
	// identity links that channel to the contact (ErrConflict if another
	// contact owns it); removing one releases it.
	Contact  *Contact
	Messages []Message
	// Events are recorded at the first one's At (now if zero): a turn's
	// events share one time and one record.
	Events []Event
	Outbox []OutboxEntry
	// OpenTicket opens a ticket with the turn (ErrTicketOpen if the contact
	// has a non-resolved one). It is applied after UpdateTicket.
	OpenTicket *Ticket
	// UpdateTicket is a read-modify-write in the same transaction; an error
	// from Fn aborts the whole turn with that error.
	UpdateTicket *TicketChange
}

// TurnResult reports what Commit assigned.
type TurnResult struct {
	MessageSeqs []uint64
	OutboxIDs   []uint64
	TicketID    uint64 // the opened ticket, else the updated one, else 0
}

// preparedTurn is a Turn validated and encoded outside the transaction, so
// the single writer goroutine only copies bytes into pages.
type preparedTurn struct {
	t        Turn
	contact  []byte
	session  []byte
	messages [][]byte
	events   []preparedEvent
	outbox   [][]byte
	open     *Ticket
	now      time.Time
	// dedupeFrom is the oldest time an event key is remembered from.
	dedupeFrom time.Time
}

type preparedEvent struct {
	at   []byte
	data []byte
}

// Commit durably applies t and reports the assigned numbers.
func (db *DB) Commit(ctx context.Context, t Turn) (TurnResult, error) {
	p, err := db.prepareTurn(t)
	if err != nil {
		return TurnResult{}, err
	}
	var res TurnResult
	err = db.write(ctx, func(tx *bolt.Tx) error {
		var err error
		res, err = p.apply(tx)
		return err
	})
	if err != nil {
		return TurnResult{}, err
	}
	db.outboxDepth.Add(int64(len(res.OutboxIDs)))
	return res, nil
}

func (db *DB) prepareTurn(t Turn) (*preparedTurn, error) {
	if err := validContactID(t.ContactID); err != nil {
		return nil, err
	}
	where := func(format string, args ...any) error {
		return fmt.Errorf("store: turn for %q: "+format, append([]any{t.ContactID}, args...)...)
	}
	if len(t.EventKey) > maxEventKey {
		return nil, where("event key of %d bytes, limit %d", len(t.EventKey), maxEventKey)
	}
	now := db.now()
	p := &preparedTurn{t: t, now: now, dedupeFrom: now.Add(-db.retain)}
	if t.Session != nil {
		if len(t.Session) > maxValue {
			return nil, where("session of %d bytes, limit %d", len(t.Session), maxValue)
		}
		p.session = bytes.Clone(t.Session)
	}
	if t.Contact != nil {
		c := *t.Contact
		if c.ID == "" {
			c.ID = t.ContactID
		}
		if c.ID != t.ContactID {
			return nil, where("contact update is for %q", c.ID)
		}
		if err := validContactUpdate(&c); err != nil {
			return nil, err
		}
		p.t.Contact = &c
	}
	for i, m := range t.Messages {
		if m.ContactID == "" {
			m.ContactID = t.ContactID
		}
		if m.ContactID != t.ContactID {
			return nil, where("messages[%d] is for contact %q", i, m.ContactID)
		}
		if m.Dir != DirIn && m.Dir != DirOut {
			return nil, where("messages[%d]: direction %q, want %q or %q", i, m.Dir, DirIn, DirOut)
		}
		if m.At.IsZero() {
			m.At = now
		}
		m.At = m.At.UTC().Round(0)
		m.Seq = 0
		// Encoded behind room for the log entry's header (history.go).
		data, err := appendMessage(make([]byte, msgHeader, msgHeader+messageSize(&m)), &m)
		if err != nil {
			return nil, where("messages[%d]: %w", i, err)
		}
		if len(data)-msgHeader > maxValue {
			return nil, where("messages[%d] of %d bytes, limit %d", i, len(data)-msgHeader, maxValue)
		}
		p.messages = append(p.messages, data)
	}
	// A turn's events share one time and are stored as one record (a JSON
	// array): one key instead of one per event, on the hottest write.
	var at time.Time
	size := 0
	for i, e := range t.Events {
		if e.ContactID == "" {
			e.ContactID = t.ContactID
		}
		if i == 0 {
			if e.At.IsZero() {
				e.At = now
			}
			at = e.At
		} else {
			e.At = at
		}
		pe, err := prepareEvent(e, now)
		if err != nil {
			return nil, where("events[%d]: %w", i, err)
		}
		p.events = append(p.events, pe)
		size += len(pe.data) + 1
	}
	if len(p.events) > 1 && size+1 <= maxValue {
		batch := make([]byte, 0, size+1)
		for i, pe := range p.events {
			if i == 0 {
				batch = append(batch, '[')
			} else {
				batch = append(batch, ',')
			}
			batch = append(batch, pe.data...)
		}
		batch = append(batch, ']')
		p.events = []preparedEvent{{at: p.events[0].at, data: batch}}
	}
	for i, o := range t.Outbox {
		if o.ContactID == "" {
			o.ContactID = t.ContactID
		}
		data, err := prepareOutbox(o, now)
		if err != nil {
			return nil, where("outbox[%d]: %w", i, err)
		}
		p.outbox = append(p.outbox, data)
	}
	if t.OpenTicket != nil {
		tk := *t.OpenTicket
		if tk.ContactID == "" {
			tk.ContactID = t.ContactID
		}
		if tk.ContactID != t.ContactID {
			return nil, where("ticket is for contact %q", tk.ContactID)
		}
		if err := prepareTicket(&tk, now); err != nil {
			return nil, err
		}
		p.open = &tk
	}
	if t.UpdateTicket != nil && t.UpdateTicket.Fn == nil {
		return nil, where("UpdateTicket without Fn")
	}
	return p, nil
}

func prepareEvent(e Event, now time.Time) (preparedEvent, error) {
	if e.Type == "" {
		return preparedEvent{}, fmt.Errorf("event without type")
	}
	if e.At.IsZero() {
		e.At = now
	}
	e.At = e.At.UTC().Round(0)
	e.Seq = 0
	data, err := encodeEvent(&e)
	if err == nil && len(data) > maxValue {
		err = fmt.Errorf("event of %d bytes, limit %d", len(data), maxValue)
	}
	return preparedEvent{at: timeKey(e.At), data: data}, err
}

func prepareOutbox(o OutboxEntry, now time.Time) ([]byte, error) {
	if err := validContactID(o.ContactID); err != nil {
		return nil, err
	}
	if o.Address == "" {
		return nil, fmt.Errorf("outbox entry without address")
	}
	if len(o.Data) > maxValue {
		return nil, fmt.Errorf("outbox data of %d bytes, limit %d", len(o.Data), maxValue)
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	o.CreatedAt = o.CreatedAt.UTC().Round(0)
	o.NotBefore = o.NotBefore.UTC().Round(0)
	o.ID = 0
	return encodeOutbox(&o)
}

// apply runs inside the writer's transaction; it may run more than once.
func (p *preparedTurn) apply(tx *bolt.Tx) (TurnResult, error) {
	var res TurnResult
	cid := p.t.ContactID
	if tx.Bucket(bContacts).Get([]byte(cid)) == nil {
		return res, fmt.Errorf("store: turn for contact %q: %w", cid, ErrNotFound)
	}
	if p.t.EventKey != "" {
		if err := recordEventKey(tx, cid, p.t.EventKey, p.now, p.dedupeFrom); err != nil {
			return res, err
		}
	}
	if p.t.InboxSeq > 0 {
		in := tx.Bucket(bInbox)
		k := u64(p.t.InboxSeq)
		v := in.Get(k)
		if v == nil {
			return res, fmt.Errorf("store: turn for %q: inbox entry %d: %w", cid, p.t.InboxSeq, ErrNotFound)
		}
		owned, err := inboxOwnedBy(v, cid)
		if err != nil {
			return res, fmt.Errorf("store: inbox entry %d: %w", p.t.InboxSeq, err)
		}
		if !owned {
			var e struct {
				ContactID string `json:"contact_id"`
			}
			_ = json.Unmarshal(v, &e) // inboxOwnedBy decoded it already
			return res, fmt.Errorf("store: turn for %q: inbox entry %d belongs to contact %q", cid, p.t.InboxSeq, e.ContactID)
		}
		if err := in.Delete(k); err != nil {
			return res, err
		}
	}
	if p.session != nil {
		if err := tx.Bucket(bSessions).Put([]byte(cid), p.session); err != nil {
			return res, err
		}
	}
	if p.t.Contact != nil {
		if err := updateContactTx(tx, *p.t.Contact, p.now); err != nil {
			return res, err
		}
	}
	if len(p.messages) > 0 {
		var err error
		if res.MessageSeqs, err = appendMessages(tx, cid, p.messages); err != nil {
			return res, err
		}
	}
	if err := putEvents(tx, p.events); err != nil {
		return res, err
	}
	if len(p.outbox) > 0 {
		ob := appendBucket(tx, bOutbox)
		res.OutboxIDs = make([]uint64, len(p.outbox))
		for i, data := range p.outbox {
			id, err := ob.NextSequence()
			if err != nil {
				return res, err
			}
			if err := ob.Put(u64(id), data); err != nil {
				return res, err
			}
			res.OutboxIDs[i] = id
		}
	}
	if ch := p.t.UpdateTicket; ch != nil {
		tk, err := updateTicketTx(tx, ch.ID, ch.Fn, p.now)
		if err != nil {
			return res, err
		}
		if tk.ContactID != cid {
			return res, fmt.Errorf("store: turn for %q updates ticket %d of contact %q", cid, tk.ID, tk.ContactID)
		}
		res.TicketID = tk.ID
	}
	if p.open != nil {
		tk := *p.open
		if err := openTicketTx(tx, &tk); err != nil {
			return res, err
		}
		res.TicketID = tk.ID
	}
	return res, nil
}

func putEvents(tx *bolt.Tx, evs []preparedEvent) error {
	if len(evs) == 0 {
		return nil
	}
	b := appendBucket(tx, bEvents)
	for _, e := range evs {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		k := make([]byte, 16)
		copy(k, e.at)
		putU64(k[8:], seq)
		if err := b.Put(k, e.data); err != nil {
			return err
		}
	}
	return nil
}

// Session returns the contact's session state, nil (and no error) when none.
func (db *DB) Session(contactID string) ([]byte, error) {
	var out []byte
	err := db.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bSessions).Get([]byte(contactID)); v != nil {
			out = bytes.Clone(v)
		}
		return nil
	})
	return out, err
}

// chunk is how many records a scanning read copies per transaction.
const chunk = 512

// Sessions calls fn for every stored session in contact id order. fn runs
// outside any transaction (on copies), so it may take its time and write.
func (db *DB) Sessions(fn func(contactID string, state []byte) error) error {
	return scanChunks(db, bSessions, nil, nil, func(k, v []byte) error {
		if _, aux := auxKey(k); aux {
			return nil // a history head or event ring (history.go, dedupe.go)
		}
		return fn(string(k), v)
	})
}

// scanChunks copies up to chunk records from bucket starting at from (up to
// but excluding to, nil for no bound) per read transaction and calls fn on
// each outside the transaction.
func scanChunks(db *DB, bucket, from, to []byte, fn func(k, v []byte) error) error {
	type kv struct{ k, v []byte }
	next := from
	for {
		var batch []kv
		err := db.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucket).Cursor()
			var k, v []byte
			if next == nil {
				k, v = c.First()
			} else {
				k, v = c.Seek(next)
			}
			for ; k != nil && len(batch) < chunk; k, v = c.Next() {
				if to != nil && bytes.Compare(k, to) >= 0 {
					break
				}
				batch = append(batch, kv{bytes.Clone(k), bytes.Clone(v)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range batch {
			if err := fn(r.k, r.v); err != nil {
				return err
			}
		}
		if len(batch) < chunk {
			return nil
		}
		// The smallest key after the last one seen.
		next = append(batch[len(batch)-1].k, 0)
	}
}
