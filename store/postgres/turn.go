package postgres

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// Commit durably applies t in one transaction and reports the assigned
// numbers, with the bbolt store's semantics (store.Turn). The contact's row
// is locked first: a contact's turns are serialised across processes, and
// its message seqs stay dense.
//
// Ids from sequences (outbox, tickets, event seqs) are increasing but may
// have gaps: a rolled-back turn does not give its numbers back.
func (db *DB) Commit(ctx context.Context, t store.Turn) (store.TurnResult, error) {
	p, err := db.prepareTurn(t)
	if err != nil {
		return store.TurnResult{}, err
	}
	if p.fastPath() {
		return db.commitPipelined(ctx, p)
	}
	var res store.TurnResult
	err = db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		res, err = p.apply(ctx, tx)
		return err
	})
	if err != nil {
		return store.TurnResult{}, err
	}
	return res, nil
}

type preparedTurn struct {
	t          store.Turn
	now        time.Time
	dedupeFrom time.Time
	eventsAt   time.Time
}

func (db *DB) prepareTurn(t store.Turn) (*preparedTurn, error) {
	if err := store.ValidContactID(t.ContactID); err != nil {
		return nil, err
	}
	where := func(format string, args ...any) error {
		return fmt.Errorf("store: turn for %q: "+format, append([]any{t.ContactID}, args...)...)
	}
	if len(t.EventKey) > store.MaxEventKey {
		return nil, where("event key of %d bytes, limit %d", len(t.EventKey), store.MaxEventKey)
	}
	if len(t.Session) > store.MaxValue {
		return nil, where("session of %d bytes, limit %d", len(t.Session), store.MaxValue)
	}
	now := db.now()
	p := &preparedTurn{now: now, dedupeFrom: now.Add(-db.retain)}
	if t.Contact != nil {
		c := *t.Contact
		if c.ID == "" {
			c.ID = t.ContactID
		}
		if c.ID != t.ContactID {
			return nil, where("contact update is for %q", c.ID)
		}
		if err := store.ValidContactUpdate(&c); err != nil {
			return nil, err
		}
		t.Contact = &c
	}
	msgs := make([]store.Message, len(t.Messages))
	for i, m := range t.Messages {
		if m.ContactID == "" {
			m.ContactID = t.ContactID
		}
		if m.ContactID != t.ContactID {
			return nil, where("messages[%d] is for contact %q", i, m.ContactID)
		}
		if m.Dir != store.DirIn && m.Dir != store.DirOut {
			return nil, where("messages[%d]: direction %q, want %q or %q", i, m.Dir, store.DirIn, store.DirOut)
		}
		if n := len(m.Text) + len(m.Payload); n > store.MaxValue {
			return nil, where("messages[%d] of %d bytes, limit %d", i, n, store.MaxValue)
		}
		if m.At.IsZero() {
			m.At = now
		}
		m.At, m.Seq = pgTime(m.At), 0
		msgs[i] = m
	}
	t.Messages = msgs
	evs := make([]store.Event, len(t.Events))
	for i, e := range t.Events {
		if e.ContactID == "" {
			e.ContactID = t.ContactID
		}
		if i == 0 {
			if e.At.IsZero() {
				e.At = now
			}
			p.eventsAt = pgTime(e.At)
		}
		e.At = p.eventsAt
		if err := store.ValidEvent(e); err != nil {
			return nil, where("events[%d]: %w", i, err)
		}
		evs[i] = e
	}
	t.Events = evs
	obs := make([]store.OutboxEntry, len(t.Outbox))
	for i, o := range t.Outbox {
		if o.ContactID == "" {
			o.ContactID = t.ContactID
		}
		if err := store.ValidOutbox(o); err != nil {
			return nil, where("outbox[%d]: %w", i, err)
		}
		if o.CreatedAt.IsZero() {
			o.CreatedAt = now
		}
		obs[i] = o
	}
	t.Outbox = obs
	if t.OpenTicket != nil {
		tk := *t.OpenTicket
		if tk.ContactID == "" {
			tk.ContactID = t.ContactID
		}
		if tk.ContactID != t.ContactID {
			return nil, where("ticket is for contact %q", tk.ContactID)
		}
		if err := store.PrepareTicket(&tk, now); err != nil {
			return nil, err
		}
		t.OpenTicket = &tk
	}
	if t.UpdateTicket != nil && t.UpdateTicket.Fn == nil {
		return nil, where("UpdateTicket without Fn")
	}
	p.t = t
	return p, nil
}

// apply runs inside the transaction; it may run more than once.
func (p *preparedTurn) apply(ctx context.Context, tx pgx.Tx) (store.TurnResult, error) {
	var res store.TurnResult
	cid := p.t.ContactID
	var msgSeq uint64
	err := tx.QueryRow(ctx, "SELECT msg_seq FROM contacts WHERE id = $1 FOR UPDATE", cid).Scan(&msgSeq)
	if noRows(err) {
		return res, fmt.Errorf("store: turn for contact %q: %w", cid, store.ErrNotFound)
	}
	if err != nil {
		return res, err
	}
	if p.t.EventKey != "" {
		if err := recordEventKey(ctx, tx, cid, p.t.EventKey, p.now, p.dedupeFrom); err != nil {
			return res, err
		}
	}
	if p.t.InboxSeq > 0 {
		if err := consumeInbox(ctx, tx, cid, p.t.InboxSeq); err != nil {
			return res, err
		}
	}
	if p.t.Contact != nil {
		if err := updateContactTx(ctx, tx, *p.t.Contact, p.now); err != nil {
			return res, err
		}
	}
	// The rest only inserts: one round trip for all of it.
	b := &pgx.Batch{}
	if p.t.Session != nil {
		b.Queue(`INSERT INTO sessions (contact_id, state) VALUES ($1, $2)
			ON CONFLICT (contact_id) DO UPDATE SET state = EXCLUDED.state`, cid, p.t.Session)
	}
	if n := len(p.t.Messages); n > 0 {
		res.MessageSeqs = make([]uint64, n)
		for i, m := range p.t.Messages {
			res.MessageSeqs[i] = msgSeq + uint64(i) + 1
			queueMessage(b, m, res.MessageSeqs[i])
		}
		b.Queue("UPDATE contacts SET msg_seq = $2 WHERE id = $1", cid, msgSeq+uint64(n))
	}
	if len(p.t.Events) > 0 {
		queueEvents(b, p.t.Events, true)
	}
	res.OutboxIDs = make([]uint64, len(p.t.Outbox))
	for i, o := range p.t.Outbox {
		b.Queue(`INSERT INTO outbox (contact_id, address, data, attempts, not_before, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			o.ContactID, o.Address, nonNil(o.Data), o.Attempts, nullTime(o.NotBefore), pgTime(o.CreatedAt)).
			QueryRow(func(r pgx.Row) error { return r.Scan(&res.OutboxIDs[i]) })
	}
	if len(p.t.Outbox) == 0 {
		res.OutboxIDs = nil
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return res, err
		}
	}
	if ch := p.t.UpdateTicket; ch != nil {
		tk, err := updateTicketTx(ctx, tx, ch.ID, ch.Fn, p.now)
		if err != nil {
			return res, err
		}
		if tk.ContactID != cid {
			return res, fmt.Errorf("store: turn for %q updates ticket %d of contact %q", cid, tk.ID, tk.ContactID)
		}
		res.TicketID = tk.ID
	}
	if p.t.OpenTicket != nil {
		tk := *p.t.OpenTicket
		if err := openTicketTx(ctx, tx, &tk); err != nil {
			return res, err
		}
		res.TicketID = tk.ID
	}
	return res, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func nullJSON[T any](v []T) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

func queueMessage(b *pgx.Batch, m store.Message, seq uint64) {
	var via any
	if len(m.Via) > 0 {
		via = m.Via
	}
	b.Queue(`INSERT INTO messages (contact_id, seq, dir, channel, address, text, payload, buttons, attachments,
		sender, sender_name, at, via) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		m.ContactID, seq, m.Dir, m.Channel, m.Address, m.Text, m.Payload, nullJSON(m.Buttons), nullJSON(m.Attachments),
		m.Sender, m.SenderName, pgTime(m.At), via)
}

// queueEvents inserts events: as one record sharing one seq (a turn's), or
// each with its own.
func queueEvents(b *pgx.Batch, evs []store.Event, shared bool) {
	for i, e := range evs {
		seq, idx := "nextval('event_seq')", 0
		if shared && i > 0 {
			seq, idx = "currval('event_seq')", i
		}
		var data any
		if len(e.Data) > 0 {
			data = e.Data
		}
		b.Queue(`INSERT INTO events (seq, idx, at, contact_id, type, flow, node, data)
			VALUES (`+seq+`, $1, $2, $3, $4, $5, $6, $7)`,
			idx, pgTime(e.At), e.ContactID, e.Type, e.Flow, e.Node, data)
	}
}

// recordEventKey records key for contactID at now, or fails with
// ErrDuplicate when it was recorded at or after notBefore. An expired
// record is taken over.
func recordEventKey(ctx context.Context, tx pgx.Tx, contactID, key string, now, notBefore time.Time) error {
	h := sha256.Sum256([]byte(key))
	tag, err := tx.Exec(ctx, `INSERT INTO event_keys (contact_id, key_hash, at) VALUES ($1, $2, $3)
		ON CONFLICT (contact_id, key_hash) DO UPDATE SET at = EXCLUDED.at WHERE event_keys.at < $4`,
		contactID, h[:], now, notBefore)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: event %q: %w", key, store.ErrDuplicate)
	}
	return nil
}

// consumeInbox deletes inbox entry seq, which must be contactID's.
func consumeInbox(ctx context.Context, tx pgx.Tx, cid string, seq uint64) error {
	var owner string
	err := tx.QueryRow(ctx, "DELETE FROM inbox WHERE seq = $1 RETURNING contact_id", seq).Scan(&owner)
	if noRows(err) {
		return fmt.Errorf("store: turn for %q: inbox entry %d: %w", cid, seq, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if owner != cid {
		return fmt.Errorf("store: turn for %q: inbox entry %d belongs to contact %q", cid, seq, owner)
	}
	return nil
}
