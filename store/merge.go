package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// MergeContacts folds contact from into contact into, in one transaction,
// for linking a customer's channels ("one customer across channels"):
//
//   - from's identities now resolve to into;
//   - the two histories are merged by time (stable, into's first on ties)
//     and renumbered 1..n, so an agent reads one conversation;
//   - from's tickets, pending inbox and outbox entries move to into
//     (ErrTicketOpen if both have an open ticket: resolve one first);
//   - into keeps its session (from's is used only if into has none), and
//     gains the name, lang and fields it lacks;
//   - a "contact_merged" event is recorded and from is deleted.
//
// It rewrites both histories: meant for a rare, explicit link, not a hot path.
func (db *DB) MergeContacts(ctx context.Context, intoID, fromID string) (Contact, error) {
	if err := validContactID(intoID); err != nil {
		return Contact{}, err
	}
	if err := validContactID(fromID); err != nil {
		return Contact{}, err
	}
	if intoID == fromID {
		return Contact{}, fmt.Errorf("store: merge contact %q into itself", intoID)
	}
	now := db.now()
	ev, err := prepareEvent(Event{Type: "contact_merged", ContactID: intoID, Data: map[string]string{"from": fromID}}, now)
	if err != nil {
		return Contact{}, err
	}
	var out Contact
	err = db.write(ctx, func(tx *bolt.Tx) error {
		into, err := getContact(tx, intoID)
		if err != nil {
			return err
		}
		from, err := getContact(tx, fromID)
		if err != nil {
			return err
		}
		open := tx.Bucket(bTicketOpen)
		if a, b := open.Get([]byte(intoID)), open.Get([]byte(fromID)); a != nil && b != nil {
			return fmt.Errorf("store: merge %q into %q: both have an open ticket (%d and %d): %w",
				fromID, intoID, be64(b), be64(a), ErrTicketOpen)
		}
		if err := mergeHistory(tx, intoID, fromID); err != nil {
			return err
		}
		if err := moveTickets(tx, intoID, fromID); err != nil {
			return err
		}
		if err := moveQueued(tx, bInbox, intoID, fromID); err != nil {
			return err
		}
		if err := moveQueued(tx, bOutbox, intoID, fromID); err != nil {
			return err
		}
		sessions := tx.Bucket(bSessions)
		if s := sessions.Get([]byte(fromID)); s != nil {
			if sessions.Get([]byte(intoID)) == nil {
				if err := sessions.Put([]byte(intoID), bytes.Clone(s)); err != nil {
					return err
				}
			}
			if err := sessions.Delete([]byte(fromID)); err != nil {
				return err
			}
		}
		ids := tx.Bucket(bIdentities)
		for _, identity := range from.Identities {
			if !slices.Contains(into.Identities, identity) {
				into.Identities = append(into.Identities, identity)
			}
			if err := ids.Put([]byte(identity), []byte(intoID)); err != nil {
				return err
			}
		}
		if into.Name == "" {
			into.Name = from.Name
		}
		if into.Lang == "" {
			into.Lang = from.Lang
		}
		for k, v := range from.Fields {
			if _, ok := into.Fields[k]; !ok {
				if into.Fields == nil {
					into.Fields = map[string]string{}
				}
				into.Fields[k] = v
			}
		}
		into.UpdatedAt = now
		if err := putJSON(tx.Bucket(bContacts), []byte(intoID), into); err != nil {
			return err
		}
		if err := tx.Bucket(bContacts).Delete([]byte(fromID)); err != nil {
			return err
		}
		out = into
		return putEvents(tx, []preparedEvent{ev})
	})
	if err != nil {
		return Contact{}, err
	}
	return out, nil
}

// mergeHistory rewrites both histories as into's, ordered by time.
func mergeHistory(tx *bolt.Tx, intoID, fromID string) error {
	h := tx.Bucket(bHistory)
	load := func(cid string) ([]Message, error) {
		var ms []Message
		c := h.Cursor()
		for k, v := c.Seek(historyKey(cid, 0)); k != nil; k, v = c.Next() {
			id, seq, ok := splitComposite(k)
			if !ok || id != cid {
				break
			}
			m, err := decodeMessage(seq, v)
			if err != nil {
				return nil, err
			}
			ms = append(ms, m)
		}
		return ms, nil
	}
	a, err := load(intoID)
	if err != nil {
		return err
	}
	b, err := load(fromID)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	for _, m := range b {
		if err := h.Delete(historyKey(fromID, m.Seq)); err != nil {
			return err
		}
	}
	all := append(a, b...)
	slices.SortStableFunc(all, func(x, y Message) int { return x.At.Compare(y.At) })
	for i, m := range all {
		m.ContactID, m.Seq = intoID, 0
		if err := putJSON(h, historyKey(intoID, uint64(i+1)), m); err != nil {
			return err
		}
	}
	return nil
}

func moveTickets(tx *bolt.Tx, intoID, fromID string) error {
	idx, open := tx.Bucket(bTicketContact), tx.Bucket(bTicketOpen)
	var ids []uint64
	c := idx.Cursor()
	for k, _ := c.Seek(ticketContactKey(fromID, 0)); k != nil; k, _ = c.Next() {
		id, n, ok := splitComposite(k)
		if !ok || id != fromID {
			break
		}
		ids = append(ids, n)
	}
	for _, n := range ids {
		t, err := getTicket(tx, n)
		if err != nil {
			return err
		}
		t.ContactID = intoID
		if err := putJSON(tx.Bucket(bTickets), u64(n), t); err != nil {
			return err
		}
		if err := idx.Delete(ticketContactKey(fromID, n)); err != nil {
			return err
		}
		if err := idx.Put(ticketContactKey(intoID, n), nil); err != nil {
			return err
		}
		if t.Status != TicketResolved {
			if err := open.Put([]byte(intoID), u64(n)); err != nil {
				return err
			}
		}
	}
	return open.Delete([]byte(fromID))
}

// moveQueued re-owns from's inbox or outbox entries; both queues are short.
func moveQueued(tx *bolt.Tx, bucket []byte, intoID, fromID string) error {
	b := tx.Bucket(bucket)
	type kv struct{ k, v []byte }
	var moved []kv
	err := b.ForEach(func(k, v []byte) error {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("store: %s entry %d: %w", bucket, be64(k), err)
		}
		var owner string
		if err := json.Unmarshal(m["contact_id"], &owner); err != nil || owner != fromID {
			return nil
		}
		m["contact_id"], _ = json.Marshal(intoID)
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		moved = append(moved, kv{bytes.Clone(k), data})
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range moved {
		if err := b.Put(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}
