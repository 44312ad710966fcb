package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Bucket names.
var (
	bMeta            = []byte("meta")
	bContacts        = []byte("contacts")
	bIdentities      = []byte("identities")
	bSessions        = []byte("sessions")
	bHistory         = []byte("history") // schema < 4; see migrateV4
	bMessages        = []byte("messages")
	bEvents          = []byte("events")
	bInbox           = []byte("inbox")
	bDedupe          = []byte("dedupe")
	bDedupeTime      = []byte("dedupe_time")
	bOutbox          = []byte("outbox")
	bTickets         = []byte("tickets")
	bTicketOpen      = []byte("ticket_open")
	bTicketContact   = []byte("ticket_contact")
	bAgents          = []byte("agents")
	bAgentNames      = []byte("agent_names")
	bMerges          = []byte("merges")
	bLinkCodes       = []byte("link_codes")
	bLinkAttempts    = []byte("link_attempts")
	bConsoleSessions = []byte("console_sessions")

	keySchema = []byte("schema")
)

// A migration moves the file from version-1 to version. It runs in one
// transaction together with the recording of the new version, so a crash
// leaves the file at the old version or the new one, never between.
type migration struct {
	version uint64
	name    string
	up      func(tx *bolt.Tx) error
}

// migrations is ordered by version, dense from 1. Append only: a released
// migration is never edited, a change is a new entry.
var migrations = []migration{
	{1, "primary buckets", migrateV1},
	{2, "derived indexes: open tickets, tickets per contact, agent names, dedupe by time", migrateV2},
	{3, "contact linking: merge records, link codes, link attempts", migrateV3},
	{4, "history as one log with per-contact chains", migrateV4},
	{5, "agent console sessions", migrateV5},
}

// SchemaVersion is the schema this binary writes.
func SchemaVersion() uint64 { return migrations[len(migrations)-1].version }

func migrateV1(tx *bolt.Tx) error {
	for _, name := range [][]byte{bMeta, bContacts, bIdentities, bSessions, bHistory, bEvents,
		bInbox, bDedupe, bOutbox, bTickets, bAgents} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// migrateV2 builds the indexes from the primary records. Indexes are
// derived data: this function is also the way to rebuild them.
func migrateV2(tx *bolt.Tx) error {
	for _, name := range [][]byte{bTicketOpen, bTicketContact, bAgentNames, bDedupeTime} {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return fmt.Errorf("reset bucket %s: %w", name, err)
			}
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	err := tx.Bucket(bTickets).ForEach(func(k, v []byte) error {
		var t Ticket
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("ticket %d: %w", be64(k), err)
		}
		if err := tx.Bucket(bTicketContact).Put(ticketContactKey(t.ContactID, be64(k)), nil); err != nil {
			return err
		}
		if t.Status != TicketResolved {
			// Keys iterate in id order: the newest open ticket wins, as it
			// would have under the v2 rules.
			return tx.Bucket(bTicketOpen).Put([]byte(t.ContactID), k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bAgents).ForEach(func(k, v []byte) error {
		var a agentRecord
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("agent %s: %w", k, err)
		}
		return tx.Bucket(bAgentNames).Put([]byte(strings.ToLower(a.Name)), k)
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bDedupe).ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("dedupe key %q: value of %d bytes, want 8", k, len(v))
		}
		return tx.Bucket(bDedupeTime).Put(dedupeTimeKey(v, k), nil)
	})
}

func migrateV3(tx *bolt.Tx) error {
	for _, name := range [][]byte{bMerges, bLinkCodes, bLinkAttempts} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// prepareSchema checks the file's version and, read-write, applies the
// migrations it lacks, each in its own transaction.
func (db *DB) prepareSchema() error {
	var have uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		have = schemaOf(tx)
		return nil
	})
	if err != nil {
		return err
	}
	want := SchemaVersion()
	switch {
	case have > want:
		return fmt.Errorf("file has schema version %d, this binary knows up to %d (use a newer parley): %w",
			have, want, ErrSchema)
	case have == want:
		return nil
	case db.readOnly:
		return fmt.Errorf("file has schema version %d, this binary needs %d; open it read-write once to migrate: %w",
			have, want, ErrSchema)
	}
	return runMigrations(db.bolt, have, migrations)
}

func runMigrations(bdb *bolt.DB, have uint64, list []migration) error {
	for _, m := range list {
		if m.version <= have {
			continue
		}
		err := bdb.Update(func(tx *bolt.Tx) error {
			if got := schemaOf(tx); got != m.version-1 {
				return fmt.Errorf("schema moved to %d while migrating", got)
			}
			if err := m.up(tx); err != nil {
				return err
			}
			meta, err := tx.CreateBucketIfNotExists(bMeta)
			if err != nil {
				return err
			}
			return meta.Put(keySchema, u64(m.version))
		})
		if err != nil {
			return fmt.Errorf("migration to schema %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// schemaOf reads the recorded version; a new file has none (0).
func schemaOf(tx *bolt.Tx) uint64 {
	meta := tx.Bucket(bMeta)
	if meta == nil {
		return 0
	}
	v := meta.Get(keySchema)
	if len(v) != 8 {
		return 0
	}
	return be64(v)
}

// Key helpers. Numbers are big-endian so keys sort numerically.

func u64(v uint64) []byte {
	var b [8]byte
	putU64(b[:], v)
	return b[:]
}

func putU64(b []byte, v uint64) {
	_ = b[7]
	b[0], b[1], b[2], b[3] = byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32)
	b[4], b[5], b[6], b[7] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

func be64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// compositeKey is contact + 0x00 + BE(n). Contact ids never contain 0x00.
func compositeKey(contactID string, seq uint64) []byte {
	k := make([]byte, len(contactID)+9)
	copy(k, contactID)
	putU64(k[len(contactID)+1:], seq)
	return k
}

// ticketContactKey is contact + 0x00 + BE(ticket id).
func ticketContactKey(contactID string, id uint64) []byte { return compositeKey(contactID, id) }

// splitComposite splits contact + 0x00 + BE(n); ok is false for a malformed key.
func splitComposite(k []byte) (contactID string, n uint64, ok bool) {
	if len(k) < 10 || k[len(k)-9] != 0 || bytes.IndexByte(k[:len(k)-9], 0) >= 0 {
		return "", 0, false
	}
	return string(k[:len(k)-9]), be64(k[len(k)-8:]), true
}

// lastComposite returns the largest n stored under contact's prefix, 0 if none.
func lastComposite(b *bolt.Bucket, contactID string) uint64 {
	c := b.Cursor()
	// contact + 0x01 sorts right after every contact + 0x00 + ... key.
	seek := append([]byte(contactID), 1)
	k, _ := c.Seek(seek)
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if id, n, ok := splitComposite(k); ok && id == contactID {
		return n
	}
	return 0
}

func dedupeTimeKey(nanos, eventKey []byte) []byte {
	k := make([]byte, 0, 8+len(eventKey))
	return append(append(k, nanos...), eventKey...)
}

// appendBucket returns a bucket whose keys only grow (sequence or time
// keys) set up for appending: bbolt splits a full node at FillPercent, and
// the default 0.5 leaves every page of an append-only bucket half empty
// forever, doubling its pages and the pages each commit writes. Keys that
// land in the middle (an event with an old At) stay correct; their page
// just splits sooner.
func appendBucket(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = 1.0
	return b
}
