package postgres

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// Enqueue durably records an inbound event for contactID; a redelivered
// eventKey (within the dedupe retention) writes nothing and reports dup.
func (db *DB) Enqueue(ctx context.Context, contactID, eventKey string, data []byte) (seq uint64, dup bool, err error) {
	if err := store.ValidContactID(contactID); err != nil {
		return 0, false, err
	}
	if len(eventKey) > store.MaxEventKey {
		return 0, false, fmt.Errorf("store: event key of %d bytes, limit %d", len(eventKey), store.MaxEventKey)
	}
	if len(data) > store.MaxValue {
		return 0, false, fmt.Errorf("store: inbox data of %d bytes, limit %d", len(data), store.MaxValue)
	}
	now := db.now()
	var hash any // NULL: no dedupe for this event
	if eventKey != "" {
		h := sha256.Sum256([]byte(eventKey))
		hash = h[:]
	}
	// One statement, so one round trip and its own transaction: the key is
	// recorded (or an expired record taken over) and the entry inserted
	// only when the contact exists and the key is new. The share lock
	// orders it against a merge or erasure of the contact.
	for attempt := 0; ; attempt++ {
		var found int
		var got *uint64
		err = db.pool.QueryRow(ctx, `WITH c AS (SELECT id FROM contacts WHERE id = $1 FOR SHARE),
			k AS (INSERT INTO event_keys (contact_id, key_hash, at) SELECT $1, $2::bytea, $3 FROM c WHERE $2::bytea IS NOT NULL
				ON CONFLICT (contact_id, key_hash) DO UPDATE SET at = EXCLUDED.at WHERE event_keys.at < $4 RETURNING 1),
			i AS (INSERT INTO inbox (contact_id, event_key, data, at) SELECT $1, $5, $6, $3 FROM c
				WHERE $2::bytea IS NULL OR EXISTS (SELECT 1 FROM k) RETURNING seq)
			SELECT (SELECT count(*) FROM c), (SELECT seq FROM i)`,
			contactID, hash, now, now.Add(-db.retain), eventKey, data).Scan(&found, &got)
		if retryable(err) && attempt < 4 {
			continue
		}
		switch {
		case err != nil:
			return 0, false, mapErr(err)
		case found == 0:
			return 0, false, fmt.Errorf("store: enqueue for contact %q: %w", contactID, store.ErrNotFound)
		case got == nil:
			return 0, true, nil
		}
		return *got, false, nil
	}
}

// PendingInbox returns the entries no Turn has consumed yet, in Seq order.
func (db *DB) PendingInbox() ([]store.InboxEntry, error) {
	rows, err := db.pool.Query(context.Background(), "SELECT seq, contact_id, event_key, data, at FROM inbox ORDER BY seq")
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.InboxEntry, error) {
		var e store.InboxEntry
		err := r.Scan(&e.Seq, &e.ContactID, &e.EventKey, &e.Data, &e.At)
		e.At = e.At.UTC()
		return e, err
	})
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// PruneDedupe forgets event keys older than the retention and returns how
// many it removed. The store runs it by itself (see janitor).
func (db *DB) PruneDedupe(ctx context.Context) (int, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM event_keys WHERE at < $1", db.now().Add(-db.retain))
	if err != nil {
		return 0, mapErr(err)
	}
	return int(tag.RowsAffected()), nil
}

const outboxSelect = "SELECT id, contact_id, address, data, attempts, not_before, created_at FROM outbox"

func scanOutbox(r pgx.CollectableRow) (store.OutboxEntry, error) {
	var o store.OutboxEntry
	var nb *time.Time
	err := r.Scan(&o.ID, &o.ContactID, &o.Address, &o.Data, &o.Attempts, &nb, &o.CreatedAt)
	o.NotBefore, o.CreatedAt = goTime(nb), o.CreatedAt.UTC()
	return o, err
}

// PendingOutbox returns every undelivered entry in ID order.
func (db *DB) PendingOutbox() ([]store.OutboxEntry, error) {
	rows, err := db.pool.Query(context.Background(), outboxSelect+" ORDER BY id")
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, scanOutbox)
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// DeleteOutbox removes a delivered entry; ErrNotFound if it is gone.
func (db *DB) DeleteOutbox(ctx context.Context, id uint64) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM outbox WHERE id = $1", id)
	if err != nil {
		return mapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: outbox entry %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// DeleteOutboxes removes delivered entries in one statement and returns how
// many were still there.
func (db *DB) DeleteOutboxes(ctx context.Context, ids ...uint64) (int, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM outbox WHERE id = ANY($1)", ids)
	if err != nil {
		return 0, mapErr(err)
	}
	return int(tag.RowsAffected()), nil
}

// RescheduleOutbox records a failed attempt: the entry keeps its place in
// ID order and is due again at notBefore.
func (db *DB) RescheduleOutbox(ctx context.Context, id uint64, attempts int, notBefore time.Time) error {
	if attempts < 0 {
		return fmt.Errorf("store: reschedule outbox entry %d: negative attempts %d", id, attempts)
	}
	tag, err := db.pool.Exec(ctx, "UPDATE outbox SET attempts = $2, not_before = $3 WHERE id = $1", id, attempts, nullTime(notBefore))
	if err != nil {
		return mapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: outbox entry %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// OutboxDepth is the number of undelivered entries, counted in the
// database (so it covers every replica); -1 when the database cannot say.
func (db *DB) OutboxDepth() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM outbox").Scan(&n); err != nil {
		return -1
	}
	return n
}

// AppendEvents records analytics events outside a turn, each with a seq of
// its own. Events without At get the current time.
func (db *DB) AppendEvents(ctx context.Context, evs ...store.Event) error {
	if len(evs) == 0 {
		return nil
	}
	now := db.now()
	prepared := make([]store.Event, len(evs))
	for i, e := range evs {
		if e.ContactID != "" {
			if err := store.ValidContactID(e.ContactID); err != nil {
				return fmt.Errorf("store: events[%d]: %w", i, err)
			}
		}
		if err := store.ValidEvent(e); err != nil {
			return fmt.Errorf("store: events[%d]: %w", i, err)
		}
		if e.At.IsZero() {
			e.At = now
		}
		prepared[i] = e
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		queueEvents(b, prepared, false)
		return tx.SendBatch(ctx, b).Close()
	})
}

// Events calls fn for every event with from <= At < to, in time order (ties
// in Seq order, and in recording order within a turn). A zero from starts
// at the beginning, a zero to has no end. fn runs between queries.
func (db *DB) Events(from, to time.Time, fn func(store.Event) error) error {
	type key struct {
		at  time.Time
		seq uint64
		idx int
	}
	var last *key
	hi := nullTime(to)
	lo := nullTime(from)
	for {
		var rows pgx.Rows
		var err error
		const cols = "SELECT seq, idx, at, contact_id, type, flow, node, data FROM events"
		if last == nil {
			rows, err = db.pool.Query(context.Background(), cols+
				" WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2) ORDER BY at, seq, idx LIMIT $3",
				lo, hi, chunk)
		} else {
			rows, err = db.pool.Query(context.Background(), cols+
				" WHERE (at, seq, idx) > ($1, $2, $3) AND ($4::timestamptz IS NULL OR at < $4) ORDER BY at, seq, idx LIMIT $5",
				last.at, last.seq, last.idx, hi, chunk)
		}
		if err != nil {
			return mapErr(err)
		}
		var keys []key
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Event, error) {
			var e store.Event
			var k key
			err := r.Scan(&e.Seq, &k.idx, &e.At, &e.ContactID, &e.Type, &e.Flow, &e.Node, &e.Data)
			e.At = e.At.UTC()
			k.at, k.seq = e.At, e.Seq
			keys = append(keys, k)
			return e, err
		})
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < chunk {
			return nil
		}
		last = &keys[len(keys)-1]
	}
}

// Position returns the value stored under key, "" when there is none.
func (db *DB) Position(key string) (string, error) {
	var v string
	err := db.pool.QueryRow(context.Background(), "SELECT value FROM positions WHERE key = $1", key).Scan(&v)
	if noRows(err) {
		return "", nil
	}
	return v, mapErr(err)
}

// SetPosition stores value under key.
func (db *DB) SetPosition(ctx context.Context, key, value string) error {
	if key == "" || len(key) > 200 || len(value) > 1024 {
		return fmt.Errorf("store: position %q: key of 1..200 bytes and a value of at most 1024 wanted", key)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO positions (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, key, value)
	return mapErr(err)
}

const messageSelect = `SELECT contact_id, seq, dir, channel, address, text, payload, buttons, attachments,
	sender, sender_name, at, via FROM messages`

func scanMessage(r pgx.CollectableRow) (store.Message, error) {
	var m store.Message
	err := r.Scan(&m.ContactID, &m.Seq, &m.Dir, &m.Channel, &m.Address, &m.Text, &m.Payload, &m.Buttons, &m.Attachments,
		&m.Sender, &m.SenderName, &m.At, &m.Via)
	m.At = m.At.UTC()
	return m, err
}

func readMessages(ctx context.Context, q querier, sql string, args ...any) ([]store.Message, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, scanMessage)
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// History returns up to limit messages of the contact with Seq > afterSeq,
// oldest first; limit <= 0 means all.
func (db *DB) History(contactID string, afterSeq uint64, limit int) ([]store.Message, error) {
	lim := any(nil)
	if limit > 0 {
		lim = limit
	}
	return readMessages(context.Background(), db.pool,
		messageSelect+" WHERE contact_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", contactID, afterSeq, lim)
}

// LastMessages returns the contact's last n messages, oldest first.
func (db *DB) LastMessages(contactID string, n int) ([]store.Message, error) {
	if n <= 0 {
		return nil, nil
	}
	ms, err := readMessages(context.Background(), db.pool,
		messageSelect+" WHERE contact_id = $1 ORDER BY seq DESC LIMIT $2", contactID, n)
	slices.Reverse(ms)
	return ms, err
}

// LastInboundAddress returns the address of the contact's newest customer
// message that came from one of the contact's identities now, "" when none.
func (db *DB) LastInboundAddress(contactID string) (string, error) {
	var addr string
	err := db.pool.QueryRow(context.Background(), `SELECT m.address FROM messages m
		JOIN identities i ON i.identity = m.address AND i.contact_id = m.contact_id
		WHERE m.contact_id = $1 AND m.dir = 'in' ORDER BY m.seq DESC LIMIT 1`, contactID).Scan(&addr)
	if noRows(err) {
		var one int
		if err := db.pool.QueryRow(context.Background(), "SELECT 1 FROM contacts WHERE id = $1", contactID).Scan(&one); noRows(err) {
			return "", fmt.Errorf("store: contact %q: %w", contactID, store.ErrNotFound)
		}
		return "", nil
	}
	return addr, mapErr(err)
}
