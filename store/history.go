package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// History layout (schema 4).
//
// Messages of every contact go to one append-only log keyed by a global
// sequence, so a commit of many conversations' turns fills a few log pages
// instead of dirtying one page per contact. Each entry starts with the
// contact's previous entry and the message's per-contact seq:
//
//	messages  BE(global seq) -> BE(prev global seq) + BE(seq) + JSON Message
//
// A contact's newest entry is found through its head, kept in the sessions
// bucket under the contact id + 0x00, right after the session itself: a turn
// writes both, and they share a page.
//
//	sessions  contact id + 0x00 -> BE(global seq of newest) + BE(its seq)
//
// Reading a contact's history walks the chain back from the head; every
// step is one point lookup in the log.

const msgHeader = 16

// headKey is where a contact's history head lives in the sessions bucket.
func headKey(contactID string) []byte {
	k := make([]byte, len(contactID)+1)
	copy(k, contactID)
	return k
}

// isHeadKey tells a head key from a session key or an event ring (contact
// ids never hold 0x00).
func isHeadKey(k []byte) bool { return bytes.IndexByte(k, 0) == len(k)-1 }

type head struct{ last, seq uint64 }

func readHead(sessions *bolt.Bucket, contactID string) (head, error) {
	v := sessions.Get(headKey(contactID))
	if v == nil {
		return head{}, nil
	}
	if len(v) != 16 {
		return head{}, fmt.Errorf("store: history head of %q: %d bytes, want 16", contactID, len(v))
	}
	return head{be64(v), be64(v[8:])}, nil
}

func putHead(sessions *bolt.Bucket, contactID string, h head) error {
	if h.seq == 0 {
		return sessions.Delete(headKey(contactID))
	}
	v := make([]byte, 16)
	putU64(v, h.last)
	putU64(v[8:], h.seq)
	return sessions.Put(headKey(contactID), v)
}

// withHeader returns JSON data with room for the log entry header in front.
func withHeader(data []byte) []byte {
	return append(make([]byte, msgHeader, msgHeader+len(data)), data...)
}

// appendMessages appends entries (JSON behind msgHeader bytes of room, which
// are filled here) to contactID's history and returns their seqs.
func appendMessages(tx *bolt.Tx, contactID string, entries [][]byte) ([]uint64, error) {
	sessions := tx.Bucket(bSessions)
	h, err := readHead(sessions, contactID)
	if err != nil {
		return nil, err
	}
	log := appendBucket(tx, bMessages)
	seqs := make([]uint64, len(entries))
	for i, e := range entries {
		g, err := log.NextSequence()
		if err != nil {
			return nil, err
		}
		h.seq++
		putU64(e, h.last)
		putU64(e[8:], h.seq)
		if err := log.Put(u64(g), e); err != nil {
			return nil, err
		}
		h.last, seqs[i] = g, h.seq
	}
	return seqs, putHead(sessions, contactID, h)
}

// walkHistory calls fn on contactID's entries from the newest back, until fn
// returns false. It fails on a broken chain rather than looping: each step
// must go to a smaller global seq and the seq below.
func walkHistory(tx *bolt.Tx, contactID string, fn func(g, seq uint64, data []byte) bool) error {
	h, err := readHead(tx.Bucket(bSessions), contactID)
	if err != nil {
		return err
	}
	log := tx.Bucket(bMessages)
	for g, seq := h.last, h.seq; seq > 0; seq-- {
		v := log.Get(u64(g))
		if len(v) < msgHeader {
			return fmt.Errorf("store: history of %q: entry %d (seq %d) missing", contactID, g, seq)
		}
		if got := be64(v[8:]); got != seq {
			return fmt.Errorf("store: history of %q: entry %d has seq %d, want %d", contactID, g, got, seq)
		}
		if !fn(g, seq, v[msgHeader:]) {
			return nil
		}
		prev := be64(v)
		if (prev == 0) != (seq == 1) || prev >= g {
			return fmt.Errorf("store: history of %q: entry %d (seq %d) links to %d", contactID, g, seq, prev)
		}
		g = prev
	}
	return nil
}

// History returns up to limit messages of the contact with Seq > afterSeq,
// oldest first; limit <= 0 means all.
func (db *DB) History(contactID string, afterSeq uint64, limit int) ([]Message, error) {
	var out []Message
	err := db.view(func(tx *bolt.Tx) error {
		// The walk goes newest first; what is kept is the oldest limit of
		// those after afterSeq, so collect them all (values only point into
		// the mmap) and decode the part returned.
		type ref struct {
			seq  uint64
			data []byte
		}
		var refs []ref
		err := walkHistory(tx, contactID, func(_, seq uint64, data []byte) bool {
			if seq <= afterSeq {
				return false
			}
			refs = append(refs, ref{seq, data})
			return true
		})
		if err != nil {
			return err
		}
		slices.Reverse(refs)
		if limit > 0 && len(refs) > limit {
			refs = refs[:limit]
		}
		out = make([]Message, 0, len(refs))
		for _, r := range refs {
			m, err := decodeMessage(r.seq, r.data)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// LastMessages returns the contact's last n messages, oldest first.
func (db *DB) LastMessages(contactID string, n int) ([]Message, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []Message
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		out, err = lastMessages(tx, contactID, n)
		return err
	})
	return out, err
}

// lastMessages reads the contact's last n messages (all for n <= 0) inside
// tx, oldest first.
func lastMessages(tx *bolt.Tx, cid string, n int) ([]Message, error) {
	var ms []Message
	var derr error
	err := walkHistory(tx, cid, func(_, seq uint64, data []byte) bool {
		m, err := decodeMessage(seq, data)
		if err != nil {
			derr = err
			return false
		}
		ms = append(ms, m)
		return n <= 0 || len(ms) < n
	})
	if err == nil {
		err = derr
	}
	slices.Reverse(ms)
	return ms, err
}

func decodeMessage(seq uint64, v []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(v, &m); err != nil {
		return m, fmt.Errorf("store: message %d: %w", seq, err)
	}
	m.Seq = seq
	return m, nil
}

// loadHistory reads a contact's whole history inside tx, oldest first.
func loadHistory(tx *bolt.Tx, cid string) ([]Message, error) { return lastMessages(tx, cid, 0) }

// rewriteHistory replaces cid's whole history with ms, renumbered 1..n.
func rewriteHistory(tx *bolt.Tx, cid string, ms []Message) error {
	var old []uint64
	if err := walkHistory(tx, cid, func(g, _ uint64, _ []byte) bool {
		old = append(old, g)
		return true
	}); err != nil {
		return err
	}
	log := tx.Bucket(bMessages)
	for _, g := range old {
		if err := log.Delete(u64(g)); err != nil {
			return err
		}
	}
	if err := putHead(tx.Bucket(bSessions), cid, head{}); err != nil {
		return err
	}
	entries := make([][]byte, len(ms))
	for i, m := range ms {
		m.ContactID, m.Seq = cid, 0
		e, err := appendMessage(make([]byte, msgHeader, msgHeader+messageSize(&m)), &m)
		if err != nil {
			return fmt.Errorf("store: message of %q: %w", cid, err)
		}
		entries[i] = e
	}
	_, err := appendMessages(tx, cid, entries)
	return err
}

// mergeHistory rewrites both histories as into's, ordered by time; from's
// messages get merge id mid pushed on their Via.
func mergeHistory(tx *bolt.Tx, intoID, fromID string, mid uint64) error {
	a, err := loadHistory(tx, intoID)
	if err != nil {
		return err
	}
	b, err := loadHistory(tx, fromID)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	if err := rewriteHistory(tx, fromID, nil); err != nil {
		return err
	}
	for i := range b {
		b[i].Via = append(slices.Clone(b[i].Via), mid)
	}
	all := append(a, b...)
	slices.SortStableFunc(all, func(x, y Message) int { return x.At.Compare(y.At) })
	return rewriteHistory(tx, intoID, all)
}

// checkHistory walks every contact's chain and then looks for log entries
// no chain reaches.
func checkHistory(tx *bolt.Tx, add addFunc) {
	contacts, merges := tx.Bucket(bContacts), tx.Bucket(bMerges)
	reached := 0
	_ = tx.Bucket(bSessions).ForEach(func(k, v []byte) error {
		if !isHeadKey(k) {
			return nil
		}
		id := string(k[:len(k)-1])
		if contacts.Get([]byte(id)) == nil {
			add("history of missing contact %q", id)
		}
		err := walkHistory(tx, id, func(g, seq uint64, data []byte) bool {
			reached++
			var m Message
			if err := json.Unmarshal(data, &m); err != nil {
				add("history of %q seq %d: %v", id, seq, err)
			} else if m.ContactID != id || (m.Dir != DirIn && m.Dir != DirOut) {
				add("history of %q seq %d: contact %q, dir %q", id, seq, m.ContactID, m.Dir)
			} else if len(m.Via) > 0 {
				last := m.Via[len(m.Via)-1]
				for _, mid := range m.Via {
					if merges.Get(u64(mid)) == nil {
						add("history of %q seq %d: via merge %d, which is not recorded", id, seq, mid)
					}
				}
				if rec, err := getMerge(tx, last); err == nil && (rec.IntoID != id || rec.Undone()) {
					add("history of %q seq %d: last via merge %d is into %q (undone %v)", id, seq, last, rec.IntoID, rec.Undone())
				}
			}
			return true
		})
		if err != nil {
			add("%v", err)
		}
		return nil
	})
	if n := tx.Bucket(bMessages).Stats().KeyN; n != reached {
		add("history: %d log entries, %d reached from contacts' heads", n, reached)
	}
}

// migrateV4 moves the history from per-contact keys to the log. Contacts
// come in id order and each one's messages in seq order, so every contact's
// entries get increasing global seqs and its chain is rebuilt as it goes.
func migrateV4(tx *bolt.Tx) error {
	log, err := tx.CreateBucketIfNotExists(bMessages)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bMessages, err)
	}
	log.FillPercent = 1.0
	old := tx.Bucket(bHistory)
	if old == nil {
		return nil
	}
	sessions := tx.Bucket(bSessions)
	var cur string
	var h head
	flush := func() error {
		if cur == "" {
			return nil
		}
		return putHead(sessions, cur, h)
	}
	err = old.ForEach(func(k, v []byte) error {
		id, _, ok := splitComposite(k)
		if !ok {
			return fmt.Errorf("history key %x: malformed", k)
		}
		if id != cur {
			if err := flush(); err != nil {
				return err
			}
			cur, h = id, head{}
		}
		g, err := log.NextSequence()
		if err != nil {
			return err
		}
		h.seq++
		e := withHeader(v)
		putU64(e, h.last)
		putU64(e[8:], h.seq)
		h.last = g
		return log.Put(u64(g), e)
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	return tx.DeleteBucket(bHistory)
}
