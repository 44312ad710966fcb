package store

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Dedupe of channel event keys.
//
// A contact's recent event keys live next to its session, in the sessions
// bucket under contact id + 0x00 + 'e': up to dedupeRing entries of
// [8 bytes of SHA-256(key)][4 bytes unix seconds], oldest first. A turn
// rewrites that value on the page it dirties for the session anyway; a
// bucket keyed by event key would cost a page per active contact on every
// commit, since its keys cluster by sender, not by time.
//
// A channel redelivers an event it did not see acknowledged, and a contact's
// events are acknowledged in order, so a redelivery is among the contact's
// latest events: the last dedupeRing of them, within the retention, are
// kept. (The Telegram poller asks for at most that many updates a batch,
// since a crash redelivers an unconfirmed batch whole.) Keys recorded in the dedupe bucket by schema 3 are still honoured
// until PruneDedupe removes them.
const (
	dedupeRing = 64
	ringEntry  = 12
)

// ringKey is where contactID's recent event keys live in the sessions bucket.
func ringKey(contactID string) []byte {
	k := make([]byte, len(contactID)+2)
	copy(k, contactID)
	k[len(contactID)+1] = 'e'
	return k
}

// auxKey splits a sessions-bucket key that is not a session (a history head
// or an event ring) into its contact id; ok is false for a session key.
func auxKey(k []byte) (contactID string, ok bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		return "", false
	}
	return string(k[:i]), true
}

// eventHash is what the ring keeps of an event key.
func eventHash(key string) [8]byte {
	sum := sha256.Sum256([]byte(key))
	return [8]byte(sum[:8])
}

// recordEventKey records key for contactID at now, or fails with
// ErrDuplicate when the contact's ring (entries from notBefore on) or the
// legacy dedupe bucket has it.
func recordEventKey(tx *bolt.Tx, contactID, key string, now, notBefore time.Time) error {
	if tx.Bucket(bDedupe).Get([]byte(key)) != nil {
		return fmt.Errorf("store: event %q: %w", key, ErrDuplicate)
	}
	sessions := tx.Bucket(bSessions)
	rk := ringKey(contactID)
	old := sessions.Get(rk)
	if len(old)%ringEntry != 0 {
		return fmt.Errorf("store: event ring of %q: %d bytes, not a multiple of %d", contactID, len(old), ringEntry)
	}
	h := eventHash(key)
	cutoff := uint32(max(notBefore.Unix(), 0))
	ring := make([]byte, 0, min(len(old)+ringEntry, dedupeRing*ringEntry))
	// Keep the newest entries that are within the retention, leaving room
	// for the new one.
	start := max(0, len(old)/ringEntry-(dedupeRing-1)) * ringEntry
	for i := 0; i < len(old); i += ringEntry {
		e := old[i : i+ringEntry]
		if be32(e[8:]) < cutoff {
			continue
		}
		if bytes.Equal(e[:8], h[:]) {
			return fmt.Errorf("store: event %q: %w", key, ErrDuplicate)
		}
		if i >= start {
			ring = append(ring, e...)
		}
	}
	ring = append(ring, h[:]...)
	ring = append(ring, byte(now.Unix()>>24), byte(now.Unix()>>16), byte(now.Unix()>>8), byte(now.Unix()))
	return sessions.Put(rk, ring)
}

func be32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// mergeRings gives into the union of both contacts' recent event keys
// (newest kept), so a redelivery to either one's channels is still
// recognised after a merge; with drop, from's ring is removed.
func mergeRings(tx *bolt.Tx, intoID, fromID string, drop bool) error {
	sessions := tx.Bucket(bSessions)
	a, b := sessions.Get(ringKey(intoID)), sessions.Get(ringKey(fromID))
	if len(b) == 0 {
		return nil
	}
	type entry struct {
		e  []byte
		at uint32
	}
	var all []entry
	for _, r := range [][]byte{a, b} {
		for i := 0; i+ringEntry <= len(r); i += ringEntry {
			all = append(all, entry{r[i : i+ringEntry], be32(r[i+8:])})
		}
	}
	slices.SortStableFunc(all, func(x, y entry) int { return cmp.Compare(x.at, y.at) })
	all = all[max(0, len(all)-dedupeRing):]
	ring := make([]byte, 0, len(all)*ringEntry)
	for _, e := range all {
		ring = append(ring, e.e...)
	}
	if err := sessions.Put(ringKey(intoID), ring); err != nil {
		return err
	}
	if drop {
		return sessions.Delete(ringKey(fromID))
	}
	return nil
}

// checkRing reports a malformed event ring.
func checkRing(k, v []byte, add addFunc) {
	if len(v)%ringEntry != 0 || len(v) > dedupeRing*ringEntry {
		add("event ring %q: %d bytes", k, len(v))
	}
}
