package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Outbound: triggers that start a flow for a contact from outside (the
// outbound API), their idempotency keys, and the triggers parked until the
// contact's conversation is free.
//
// Buckets (created on first write; a missing bucket reads as empty):
//
//	idempotency     scope + 0x00 + key -> JSON Idempotent
//	trigger_wait    contact id + 0x00 + BE(seq) -> opaque trigger data

var (
	bIdempotency = []byte("idempotency")
	bTriggerWait = []byte("trigger_wait")
)

// Idempotent is what a request with an Idempotency-Key produced: a retry
// with the same key and body gets Result again, one with another body is
// refused.
type Idempotent struct {
	Key      string    `json:"key"`
	BodyHash string    `json:"body_hash"`
	Result   []byte    `json:"result"` // opaque: the caller's response
	At       time.Time `json:"at"`
}

// TriggerEntry is one trigger to record with EnqueueTrigger.
type TriggerEntry struct {
	ContactID string
	Data      []byte // opaque, as an inbox entry's
	// Park keeps the trigger in trigger_wait instead of the inbox: the
	// contact's conversation is busy; ReleaseTrigger moves it on later.
	Park bool
	// Idem, when set, is recorded with the trigger in the same transaction;
	// if its key is already recorded nothing is written and the recorded
	// one is returned.
	Idem *Idempotent
	// Cascade, when set, is stored under CascadeID in the same transaction
	// (the trigger is a cascade's first step; store/cascade.go).
	CascadeID string
	Cascade   []byte
}

func idemKey(key string) []byte { return []byte(key) }

// Idempotency returns the record of key, ok false when none.
func (db *DB) Idempotency(key string) (Idempotent, bool, error) {
	var rec Idempotent
	ok := false
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bIdempotency)
		if b == nil {
			return nil
		}
		v := b.Get(idemKey(key))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &rec)
	})
	return rec, ok, err
}

// EnqueueTrigger durably records a trigger in the inbox (seq is its inbox
// sequence) or, with Park, in trigger_wait (seq numbers it there), together
// with its idempotency record. prior is set, and nothing written, when the
// idempotency key was recorded before.
func (db *DB) EnqueueTrigger(ctx context.Context, e TriggerEntry) (seq uint64, prior *Idempotent, err error) {
	if err := validContactID(e.ContactID); err != nil {
		return 0, nil, err
	}
	if len(e.Data) > maxValue {
		return 0, nil, fmt.Errorf("store: trigger data of %d bytes, limit %d", len(e.Data), maxValue)
	}
	now := db.now()
	var idem []byte
	if e.Idem != nil {
		if e.Idem.Key == "" || len(e.Idem.Key) > maxEventKey {
			return 0, nil, fmt.Errorf("store: idempotency key must be 1 to %d bytes", maxEventKey)
		}
		rec := *e.Idem
		rec.At = now
		if idem, err = json.Marshal(rec); err != nil {
			return 0, nil, err
		}
	}
	in := InboxEntry{ContactID: e.ContactID, Data: e.Data, At: now}
	tail, err := encodeInboxTail(&in)
	if err != nil {
		return 0, nil, fmt.Errorf("store: encode trigger for %q: %w", e.ContactID, err)
	}
	err = db.write(ctx, func(tx *bolt.Tx) error {
		seq, prior = 0, nil
		if tx.Bucket(bContacts).Get([]byte(e.ContactID)) == nil {
			return fmt.Errorf("store: trigger for contact %q: %w", e.ContactID, ErrNotFound)
		}
		if e.Idem != nil {
			b, err := tx.CreateBucketIfNotExists(bIdempotency)
			if err != nil {
				return err
			}
			if v := b.Get(idemKey(e.Idem.Key)); v != nil {
				var rec Idempotent
				if err := json.Unmarshal(v, &rec); err != nil {
					return fmt.Errorf("store: idempotency key %q: %w", e.Idem.Key, err)
				}
				prior = &rec
				return nil
			}
			if err := b.Put(idemKey(e.Idem.Key), idem); err != nil {
				return err
			}
		}
		if e.CascadeID != "" {
			if err := putCascade(tx, e.CascadeID, e.Cascade); err != nil {
				return err
			}
		}
		if e.Park {
			w, err := tx.CreateBucketIfNotExists(bTriggerWait)
			if err != nil {
				return err
			}
			s, err := w.NextSequence()
			if err != nil {
				return err
			}
			seq = s
			return w.Put(compositeKey(e.ContactID, s), bytes.Clone(e.Data))
		}
		s, err := putInbox(tx, tail)
		seq = s
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return seq, prior, nil
}

// putInbox appends an encoded inbox entry (encodeInboxTail) and returns its
// sequence.
func putInbox(tx *bolt.Tx, tail []byte) (uint64, error) {
	in := appendBucket(tx, bInbox)
	s, err := in.NextSequence()
	if err != nil {
		return 0, err
	}
	rec := make([]byte, 0, len(`{"seq":`)+20+len(tail))
	rec = strconv.AppendUint(append(rec, `{"seq":`...), s, 10)
	return s, in.Put(u64(s), append(rec, tail...))
}

// WaitingTrigger is a parked trigger.
type WaitingTrigger struct {
	ContactID string
	Seq       uint64
	Data      []byte
}

// WaitingTriggers lists the parked triggers, per contact in the order they
// came.
func (db *DB) WaitingTriggers() ([]WaitingTrigger, error) {
	var out []WaitingTrigger
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bTriggerWait)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			cid, seq, ok := splitComposite(k)
			if !ok {
				return fmt.Errorf("store: trigger_wait key %x malformed", k)
			}
			out = append(out, WaitingTrigger{ContactID: cid, Seq: seq, Data: bytes.Clone(v)})
			return nil
		})
	})
	return out, err
}

// ReleaseTrigger moves a parked trigger to the inbox in one transaction
// and returns its inbox entry; ErrNotFound when it is no longer parked.
func (db *DB) ReleaseTrigger(ctx context.Context, contactID string, seq uint64) (InboxEntry, error) {
	var out InboxEntry
	now := db.now()
	err := db.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bTriggerWait)
		var v []byte
		if b != nil {
			v = b.Get(compositeKey(contactID, seq))
		}
		if v == nil {
			return fmt.Errorf("store: waiting trigger %d of %q: %w", seq, contactID, ErrNotFound)
		}
		out = InboxEntry{ContactID: contactID, Data: bytes.Clone(v), At: now}
		tail, err := encodeInboxTail(&out)
		if err != nil {
			return err
		}
		if out.Seq, err = putInbox(tx, tail); err != nil {
			return err
		}
		return b.Delete(compositeKey(contactID, seq))
	})
	return out, err
}

// ParkTrigger moves a trigger from the inbox back to trigger_wait (its
// contact's conversation became busy before it ran), in one transaction.
func (db *DB) ParkTrigger(ctx context.Context, inboxSeq uint64, contactID string, data []byte) error {
	return db.write(ctx, func(tx *bolt.Tx) error {
		in := tx.Bucket(bInbox)
		if in.Get(u64(inboxSeq)) == nil {
			return fmt.Errorf("store: inbox entry %d: %w", inboxSeq, ErrNotFound)
		}
		w, err := tx.CreateBucketIfNotExists(bTriggerWait)
		if err != nil {
			return err
		}
		s, err := w.NextSequence()
		if err != nil {
			return err
		}
		if err := w.Put(compositeKey(contactID, s), bytes.Clone(data)); err != nil {
			return err
		}
		return in.Delete(u64(inboxSeq))
	})
}

// PruneIdempotency forgets idempotency keys recorded before before and
// returns how many. It writes nothing when none is that old (a server at
// rest does not touch its file).
func (db *DB) PruneIdempotency(ctx context.Context, before time.Time) (int, error) {
	var old [][]byte
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bIdempotency)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var rec Idempotent
			if json.Unmarshal(v, &rec) == nil && rec.At.Before(before) {
				old = append(old, bytes.Clone(k))
			}
			return nil
		})
	})
	if err != nil || len(old) == 0 {
		return 0, err
	}
	n := 0
	err = db.write(ctx, func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bIdempotency)
		for _, k := range old {
			if b.Get(k) == nil {
				continue
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// moveWaitingTriggers gives intoID the parked triggers of fromID (a merge).
func moveWaitingTriggers(tx *bolt.Tx, intoID, fromID string) error {
	b := tx.Bucket(bTriggerWait)
	if b == nil {
		return nil
	}
	prefix := append([]byte(fromID), 0)
	type kv struct{ k, v []byte }
	var moved []kv
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		moved = append(moved, kv{bytes.Clone(k), bytes.Clone(v)})
	}
	for _, m := range moved {
		s, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(compositeKey(intoID, s), m.v); err != nil {
			return err
		}
		if err := b.Delete(m.k); err != nil {
			return err
		}
	}
	return nil
}

// dropOutboundState removes what triggers and consent keep about the
// contacts in ids (an erasure): parked triggers carry params, consent
// records their ids.
func dropOutboundState(tx *bolt.Tx, ids map[string]bool) error {
	if b := tx.Bucket(bTriggerWait); b != nil {
		var keys [][]byte
		_ = b.ForEach(func(k, _ []byte) error {
			if cid, _, ok := splitComposite(k); ok && ids[cid] {
				keys = append(keys, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	return dropConsent(tx, ids)
}
