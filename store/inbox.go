package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// InboxEntry is an inbound event recorded before the channel was
// acknowledged and not yet processed by a committed Turn.
type InboxEntry struct {
	Seq       uint64    `json:"seq"`
	ContactID string    `json:"contact_id"`
	EventKey  string    `json:"event_key,omitempty"`
	Data      []byte    `json:"data"`
	At        time.Time `json:"at"`
}

const maxEventKey = 512

// Enqueue durably records an inbound event for contactID. eventKey is the
// channel's event id ("tg:42"): when it was recorded before (within the
// dedupe retention), nothing is written and dup is true, so a redelivered
// event is processed once. An empty eventKey disables dedupe for the event.
// Acknowledge the channel only after Enqueue returned nil.
func (db *DB) Enqueue(ctx context.Context, contactID, eventKey string, data []byte) (seq uint64, dup bool, err error) {
	if err := validContactID(contactID); err != nil {
		return 0, false, err
	}
	if len(eventKey) > maxEventKey {
		return 0, false, fmt.Errorf("store: event key of %d bytes, limit %d", len(eventKey), maxEventKey)
	}
	if len(data) > maxValue {
		return 0, false, fmt.Errorf("store: inbox data of %d bytes, limit %d", len(data), maxValue)
	}
	now := db.now()
	e := InboxEntry{ContactID: contactID, EventKey: eventKey, Data: data, At: now}
	// Everything but the sequence is encoded here, outside the writer; the
	// transaction only splices the assigned number in front.
	tail, err := encodeInboxTail(&e)
	if err != nil {
		return 0, false, fmt.Errorf("store: encode inbox entry for %q: %w", contactID, err)
	}
	err = db.write(ctx, func(tx *bolt.Tx) error {
		seq, dup = 0, false
		if tx.Bucket(bContacts).Get([]byte(contactID)) == nil {
			return fmt.Errorf("store: enqueue for contact %q: %w", contactID, ErrNotFound)
		}
		if eventKey != "" {
			if err := recordEventKey(tx, contactID, eventKey, now, now.Add(-db.retain)); errors.Is(err, ErrDuplicate) {
				dup = true
				return nil
			} else if err != nil {
				return err
			}
		}
		in := appendBucket(tx, bInbox)
		s, err := in.NextSequence()
		if err != nil {
			return err
		}
		rec := make([]byte, 0, len(`{"seq":`)+20+len(tail))
		rec = strconv.AppendUint(append(rec, `{"seq":`...), s, 10)
		if err := in.Put(u64(s), append(rec, tail...)); err != nil {
			return err
		}
		seq = s
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return seq, dup, nil
}

// PendingInbox returns the entries no Turn has consumed yet, in Seq order:
// after a restart the runtime processes them before new events.
func (db *DB) PendingInbox() ([]InboxEntry, error) {
	var out []InboxEntry
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bInbox).ForEach(func(k, v []byte) error {
			var e InboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("store: inbox entry %d: %w", be64(k), err)
			}
			e.Seq = be64(k)
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// pruneChunk bounds one prune transaction, so a large backlog of expired
// keys never makes one huge write.
const pruneChunk = 2000

// PruneDedupe forgets event keys recorded longer ago than the retention and
// returns how many it removed. The store runs it hourly by itself.
func (db *DB) PruneDedupe(ctx context.Context) (int, error) {
	cutoff := timeKey(db.now().Add(-db.retain))
	// Look before writing: an empty write still costs a commit and fsync.
	var due bool
	if err := db.view(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bDedupeTime).Cursor().First()
		due = k != nil && bytes.Compare(k[:8], cutoff) < 0
		return nil
	}); err != nil || !due {
		return 0, err
	}
	total := 0
	for {
		n := 0
		err := db.write(ctx, func(tx *bolt.Tx) error {
			n = 0
			dd, idx := tx.Bucket(bDedupe), tx.Bucket(bDedupeTime)
			c := idx.Cursor()
			var del [][]byte
			for k, _ := c.First(); k != nil && n < pruneChunk && bytes.Compare(k[:8], cutoff) < 0; k, _ = c.Next() {
				del = append(del, bytes.Clone(k))
				n++
			}
			for _, k := range del {
				if err := idx.Delete(k); err != nil {
					return err
				}
				if err := dd.Delete(k[8:]); err != nil {
					return err
				}
			}
			return nil
		})
		total += n
		if err != nil || n < pruneChunk {
			return total, err
		}
	}
}

// timeKey is BE(unix nanoseconds); times before 1970 clamp to 0.
func timeKey(t time.Time) []byte {
	if t.Before(time.Unix(0, 0)) {
		return u64(0)
	}
	return u64(uint64(t.UnixNano()))
}
