package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PendingOutbox returns every undelivered entry in ID order (the order the
// replies were produced). The dispatcher honours NotBefore itself.
func (db *DB) PendingOutbox() ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
			o, err := decodeOutbox(k, v)
			if err != nil {
				return err
			}
			out = append(out, o)
			return nil
		})
	})
	return out, err
}

func decodeOutbox(k, v []byte) (OutboxEntry, error) {
	var o OutboxEntry
	if err := json.Unmarshal(v, &o); err != nil {
		return o, fmt.Errorf("store: outbox entry %d: %w", be64(k), err)
	}
	o.ID = be64(k)
	return o, nil
}

// DeleteOutbox removes a delivered (or permanently failed) entry;
// ErrNotFound if it is already gone.
func (db *DB) DeleteOutbox(ctx context.Context, id uint64) error {
	err := db.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		if b.Get(u64(id)) == nil {
			return fmt.Errorf("store: outbox entry %d: %w", id, ErrNotFound)
		}
		return b.Delete(u64(id))
	})
	if err == nil {
		db.outboxDepth.Add(-1)
	}
	return err
}

// DeleteOutboxes removes delivered entries in one write and returns how
// many were still there (an id already gone is skipped, not an error): the
// runtime collects removals from all conversations into it.
func (db *DB) DeleteOutboxes(ctx context.Context, ids ...uint64) (int, error) {
	n := 0
	err := db.write(ctx, func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bOutbox)
		for _, id := range ids {
			if b.Get(u64(id)) == nil {
				continue
			}
			if err := b.Delete(u64(id)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	db.outboxDepth.Add(-int64(n))
	return n, nil
}

// RescheduleOutbox records a failed attempt: the entry keeps its place in
// ID order and is due again at notBefore.
func (db *DB) RescheduleOutbox(ctx context.Context, id uint64, attempts int, notBefore time.Time) error {
	if attempts < 0 {
		return fmt.Errorf("store: reschedule outbox entry %d: negative attempts %d", id, attempts)
	}
	notBefore = notBefore.UTC().Round(0)
	return db.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		v := b.Get(u64(id))
		if v == nil {
			return fmt.Errorf("store: outbox entry %d: %w", id, ErrNotFound)
		}
		o, err := decodeOutbox(u64(id), v)
		if err != nil {
			return err
		}
		o.Attempts, o.NotBefore, o.ID = attempts, notBefore, 0
		return putJSON(b, u64(id), o)
	})
}

// OutboxDepth is the number of undelivered entries (kept in memory; for
// metrics and back-pressure).
func (db *DB) OutboxDepth() int { return int(db.outboxDepth.Load()) }

// Events calls fn for every event with from <= At < to, in time order (ties
// in Seq order, and in recording order within a turn, whose events share
// one Seq). A zero from starts at the beginning, a zero to has no end. fn
// runs outside any transaction.
func (db *DB) Events(from, to time.Time, fn func(Event) error) error {
	var lo, hi []byte
	if !from.IsZero() {
		lo = timeKey(from)
	}
	if !to.IsZero() {
		hi = timeKey(to)
	}
	return scanChunks(db, bEvents, lo, hi, func(k, v []byte) error {
		if len(k) != 16 {
			return fmt.Errorf("store: event key %x: want 16 bytes", k)
		}
		evs, err := decodeEvents(v)
		if err != nil {
			return fmt.Errorf("store: event %d: %w", be64(k[8:]), err)
		}
		for _, e := range evs {
			e.Seq = be64(k[8:])
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// AppendEvents records analytics events outside a turn (for example from
// the handoff queue). Events without At get the current time.
func (db *DB) AppendEvents(ctx context.Context, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	now := db.now()
	prepared := make([]preparedEvent, len(evs))
	for i, e := range evs {
		if e.ContactID != "" {
			if err := validContactID(e.ContactID); err != nil {
				return fmt.Errorf("store: events[%d]: %w", i, err)
			}
		}
		var err error
		if prepared[i], err = prepareEvent(e, now); err != nil {
			return fmt.Errorf("store: events[%d]: %w", i, err)
		}
	}
	return db.write(ctx, func(tx *bolt.Tx) error { return putEvents(tx, prepared) })
}
