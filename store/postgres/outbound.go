package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// The outbound API's triggers, by the bbolt store's rules
// (store/outbound.go): a trigger goes to the inbox, or is parked until its
// contact's conversation is free, with its idempotency record and its
// cascade's first state in the same transaction.

// Idempotency returns the record of key, ok false when none.
func (db *DB) Idempotency(key string) (store.Idempotent, bool, error) {
	var rec store.Idempotent
	err := db.pool.QueryRow(context.Background(), "SELECT doc FROM idempotency WHERE key = $1", key).Scan(&rec)
	if noRows(err) {
		return store.Idempotent{}, false, nil
	}
	if err != nil {
		return store.Idempotent{}, false, mapErr(err)
	}
	rec.At = rec.At.UTC()
	return rec, true, nil
}

// EnqueueTrigger durably records a trigger in the inbox (seq is its inbox
// seq) or, with Park, among the parked triggers (seq numbers it there),
// together with its idempotency record and cascade. prior is set, and
// nothing written, when the idempotency key was recorded before.
func (db *DB) EnqueueTrigger(ctx context.Context, e store.TriggerEntry) (seq uint64, prior *store.Idempotent, err error) {
	if err := store.ValidContactID(e.ContactID); err != nil {
		return 0, nil, err
	}
	if len(e.Data) > store.MaxValue {
		return 0, nil, fmt.Errorf("store: trigger data of %d bytes, limit %d", len(e.Data), store.MaxValue)
	}
	now := db.now()
	var idem []byte
	if e.Idem != nil {
		if e.Idem.Key == "" || len(e.Idem.Key) > store.MaxEventKey {
			return 0, nil, fmt.Errorf("store: idempotency key must be 1 to %d bytes", store.MaxEventKey)
		}
		rec := *e.Idem
		rec.At = now
		if idem, err = json.Marshal(rec); err != nil {
			return 0, nil, err
		}
	}
	if e.CascadeID != "" {
		if err := store.ValidCascade(e.CascadeID, e.Cascade); err != nil {
			return 0, nil, err
		}
	}
	data := e.Data
	if data == nil {
		data = []byte{}
	}
	err = db.tx(ctx, func(tx pgx.Tx) error {
		seq, prior = 0, nil
		if err := tx.QueryRow(ctx, "SELECT id FROM contacts WHERE id = $1 FOR SHARE", e.ContactID).Scan(new(string)); noRows(err) {
			return fmt.Errorf("store: trigger for contact %q: %w", e.ContactID, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		if e.Idem != nil {
			// ON CONFLICT DO NOTHING waits for a concurrent insert of the
			// same key, so two retries racing record one trigger.
			tag, err := tx.Exec(ctx, "INSERT INTO idempotency (key, doc, at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
				e.Idem.Key, idem, now)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				var rec store.Idempotent
				if err := tx.QueryRow(ctx, "SELECT doc FROM idempotency WHERE key = $1", e.Idem.Key).Scan(&rec); err != nil {
					return fmt.Errorf("store: idempotency key %q: %w", e.Idem.Key, err)
				}
				rec.At = rec.At.UTC()
				prior = &rec
				return nil
			}
		}
		if e.CascadeID != "" {
			cascade := e.Cascade
			if cascade == nil {
				cascade = []byte{}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO cascades (id, data) VALUES ($1, $2)
				ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data`, e.CascadeID, cascade); err != nil {
				return err
			}
		}
		if e.Park {
			return tx.QueryRow(ctx, "INSERT INTO trigger_wait (contact_id, data) VALUES ($1, $2) RETURNING seq",
				e.ContactID, data).Scan(&seq)
		}
		return tx.QueryRow(ctx, "INSERT INTO inbox (contact_id, data, at) VALUES ($1, $2, $3) RETURNING seq",
			e.ContactID, e.Data, now).Scan(&seq)
	})
	if err != nil {
		return 0, nil, err
	}
	return seq, prior, nil
}

// WaitingTriggers lists the parked triggers, per contact in the order they
// came.
func (db *DB) WaitingTriggers() ([]store.WaitingTrigger, error) {
	rows, err := db.pool.Query(context.Background(), "SELECT contact_id, seq, data FROM trigger_wait ORDER BY contact_id, seq")
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.WaitingTrigger, error) {
		var w store.WaitingTrigger
		return w, r.Scan(&w.ContactID, &w.Seq, &w.Data)
	})
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// ReleaseTrigger moves a parked trigger to the inbox in one transaction
// and returns its inbox entry; ErrNotFound when it is no longer parked.
func (db *DB) ReleaseTrigger(ctx context.Context, contactID string, seq uint64) (store.InboxEntry, error) {
	var out store.InboxEntry
	now := db.now()
	err := db.tx(ctx, func(tx pgx.Tx) error {
		out = store.InboxEntry{ContactID: contactID, At: now}
		err := tx.QueryRow(ctx, "DELETE FROM trigger_wait WHERE contact_id = $1 AND seq = $2 RETURNING data", contactID, seq).Scan(&out.Data)
		if noRows(err) {
			return fmt.Errorf("store: waiting trigger %d of %q: %w", seq, contactID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, "INSERT INTO inbox (contact_id, data, at) VALUES ($1, $2, $3) RETURNING seq",
			contactID, out.Data, now).Scan(&out.Seq)
	})
	return out, err
}

// ParkTrigger moves a trigger from the inbox back among the parked ones
// (its contact's conversation became busy before it ran), in one
// transaction.
func (db *DB) ParkTrigger(ctx context.Context, inboxSeq uint64, contactID string, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM inbox WHERE seq = $1", inboxSeq)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("store: inbox entry %d: %w", inboxSeq, store.ErrNotFound)
		}
		_, err = tx.Exec(ctx, "INSERT INTO trigger_wait (contact_id, data) VALUES ($1, $2)", contactID, data)
		if _, ok := foreignKeyViolation(err); ok {
			return fmt.Errorf("store: park trigger of contact %q: %w", contactID, store.ErrNotFound)
		}
		return err
	})
}

// PruneIdempotency forgets idempotency keys recorded before before and
// returns how many.
func (db *DB) PruneIdempotency(ctx context.Context, before time.Time) (int, error) {
	// at < before, with at in microseconds: before the next whole one.
	if c := pgTime(before); !c.Equal(before) {
		before = c.Add(time.Microsecond)
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM idempotency WHERE at < $1", before)
	if err != nil {
		return 0, mapErr(err)
	}
	return int(tag.RowsAffected()), nil
}

// moveWaitingTriggers gives intoID the parked triggers of fromID (a merge),
// after intoID's own, in their order.
func moveWaitingTriggers(ctx context.Context, tx pgx.Tx, intoID, fromID string) error {
	_, err := tx.Exec(ctx, `WITH moved AS (DELETE FROM trigger_wait WHERE contact_id = $2 RETURNING seq, data)
		INSERT INTO trigger_wait (contact_id, data) SELECT $1, data FROM moved ORDER BY seq`, intoID, fromID)
	return err
}
